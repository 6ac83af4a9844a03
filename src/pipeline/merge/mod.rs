//! Organisation audits: many repositories' audits ([`shard`]s) combined into
//! one report, each distinct secret one credential listing every
//! repository, path and first commit that holds it.
//!
//! This stage comes after `audit` and before the reporters: it reads shards
//! (untrusted files other jobs wrote), checks that one keyflare version and
//! one rule set made them, groups credentials by fingerprint across
//! repositories, optionally verifies each distinct secret once with one
//! [`crate::verify::Verifier`] (so one rate budget for the whole
//! organisation), and hands an [`OrgAudit`] to [`render`]. It prints
//! nothing; the command ([`cmd`]) decides exit codes.
//!
//! Determinism: everything is ordered by content (repository names,
//! fingerprints, commit instants), never by the order shards were given or
//! read, and no clock or duration is rendered, so the same shards give
//! byte-identical reports.

pub mod shard;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::rules::{RuleSet, Severity, VerifyKind};
use crate::verify::{Candidate, Verification, VerifyMethod, VerifyStatus};
use shard::{Repository, Shard, ShardCommit, ShardPlace};

/// A digest of the compiled rules: ids, severities, kinds, verification
/// and every pattern's regex and keywords, in load order. Two builds that
/// find the same things give the same digest.
pub fn rules_digest(rules: &RuleSet) -> String {
    let mut h = Sha256::new();
    h.update(b"keyflare-rules/v1\0");
    for r in rules.rules() {
        let line = format!(
            "{}\0{}\0{:?}\0{}\0{:?}\0{:?}\0{:?}\0{}\0",
            r.id,
            r.severity.as_str(),
            r.kind,
            r.priority,
            r.verify,
            r.keywords,
            r.public_prefix,
            r.secret
        );
        h.update(line.as_bytes());
        for p in &r.patterns {
            h.update(p.source().as_bytes());
            h.update(format!("\0{:?}\0{:?}\0{}\0", p.keywords, p.near, p.near_lines).as_bytes());
        }
        h.update(b"\n");
    }
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

pub use crate::error::MergeError;

/// How to merge.
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// Read shards from another keyflare version or rule set, with a
    /// warning, instead of refusing them.
    pub allow_mixed: bool,
    /// This keyflare's version (what shards are compared with).
    pub version: String,
    /// This keyflare's [`rules_digest`].
    pub rules_digest: String,
}

/// Counts for one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoSummary {
    /// Which repository.
    pub repository: Repository,
    /// Distinct credentials.
    pub credentials: usize,
    /// Of which verified live.
    pub active: usize,
    /// Of which still in HEAD or the working tree.
    pub present: usize,
    /// The highest severity among them.
    pub worst: Option<Severity>,
    /// Commits walked.
    pub commits_scanned: usize,
    /// What its audit could not read.
    pub warnings: usize,
}

impl RepoSummary {
    /// Worst first: live credentials, then severity, then present ones,
    /// then how many; ties by name.
    fn rank(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse((self.active, self.worst, self.present, self.credentials)),
            &self.repository,
        )
    }
}

/// Where one repository holds a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoPlaces {
    /// The repository's name.
    pub repository: String,
    /// Paths, sorted.
    pub places: Vec<ShardPlace>,
    /// The repository's earliest introducing commit.
    pub first: Option<ShardCommit>,
    /// Where it left the repository's HEAD line, if it did.
    pub removed: Option<ShardCommit>,
    /// Whether HEAD holds it.
    pub in_head: bool,
    /// Whether the working tree holds it.
    pub in_worktree: bool,
}

/// One credential of the organisation: one secret, wherever it is.
#[derive(Clone, Debug)]
pub struct OrgCredential {
    /// Rule + hash of the secret.
    pub fingerprint: String,
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name (the id if this keyflare does not know the rule).
    pub rule_name: String,
    /// The rule's severity (high if unknown).
    pub severity: Severity,
    /// How it is verified.
    pub verify_kind: VerifyKind,
    /// As reports show it redacted.
    pub shown: String,
    /// The secret, if the shards kept it.
    pub secret: Option<String>,
    /// Emails seen next to it, in any repository (sorted).
    pub emails: Vec<String>,
    /// Account ids seen next to it (sorted).
    pub account_ids: Vec<String>,
    /// The verdict: this merge's, or the most alarming a shard recorded.
    pub verification: Option<Verification>,
    /// Every repository that holds it, by name.
    pub repositories: Vec<RepoPlaces>,
}

impl OrgCredential {
    /// The verdict, if any.
    pub fn status(&self) -> Option<VerifyStatus> {
        self.verification.as_ref().map(|v| v.status)
    }

    /// Still in some HEAD or working tree.
    pub fn present(&self) -> bool {
        self.repositories.iter().any(|r| r.in_head || r.in_worktree)
    }

    /// The earliest introducing commit in any repository, with the
    /// repository's name.
    pub fn first(&self) -> Option<(&str, &ShardCommit)> {
        self.repositories
            .iter()
            .filter_map(|r| r.first.as_ref().map(|c| (r.repository.as_str(), c)))
            .min_by_key(|(name, c)| (c.time, *name, c.commit.as_str()))
    }

    /// Most urgent largest, as for one repository's audit: live Global API
    /// Keys, live credentials, severity, still present, status; then the
    /// more repositories the worse.
    fn urgency(&self) -> (bool, bool, Severity, bool, u8, usize) {
        let active = self.status() == Some(VerifyStatus::Active);
        (
            active && self.verify_kind == VerifyKind::GlobalKey,
            active,
            self.severity,
            self.present(),
            status_rank(self.status()),
            self.repositories.len(),
        )
    }
}

/// Unknown/unverified over inactive over invalid, live above all.
fn status_rank(s: Option<VerifyStatus>) -> u8 {
    match s {
        Some(VerifyStatus::Active) => 4,
        None | Some(VerifyStatus::Unknown) => 3,
        Some(VerifyStatus::Inactive) => 2,
        Some(VerifyStatus::Invalid) => 1,
    }
}

/// The organisation audit, ready to render.
#[derive(Clone, Debug)]
pub struct OrgAudit {
    /// Repositories, worst first.
    pub repositories: Vec<RepoSummary>,
    /// Credentials, most urgent first.
    pub credentials: Vec<OrgCredential>,
    /// Whether this merge verified.
    pub verified: bool,
    /// Shards from another version or rule set (with `--allow-mixed`).
    pub mixed: Vec<String>,
    /// What the repositories' audits could not read, "repo: warning".
    pub warnings: Vec<String>,
    /// Commits walked over all repositories.
    pub commits_scanned: usize,
    /// Files and blobs read over all repositories.
    pub files_scanned: u64,
}

impl OrgAudit {
    /// Credentials verified live.
    pub fn active(&self) -> usize {
        self.credentials
            .iter()
            .filter(|c| c.status() == Some(VerifyStatus::Active))
            .count()
    }
}

/// Combines shards (`(file name, shard)`, in any order) into one audit.
/// Refuses two shards of one repository, and (without
/// [`MergeOptions::allow_mixed`]) shards another keyflare version or rule
/// set made.
pub fn merge(
    mut shards: Vec<(String, Shard)>,
    rules: &RuleSet,
    opts: &MergeOptions,
) -> Result<OrgAudit, MergeError> {
    // Content order, not input order; the file name only breaks ties
    // between shards of one repository (refused below).
    shards.sort_by(|a, b| (&a.1.repository, &a.0).cmp(&(&b.1.repository, &b.0)));
    for pair in shards.windows(2) {
        if pair[0].1.repository.name == pair[1].1.repository.name {
            return Err(MergeError::Input(format!(
                "{} and {} are both audits of {}: give one shard per repository",
                pair[0].0,
                pair[1].0,
                crate::escape::text(&pair[0].1.repository.name)
            )));
        }
    }
    let mut mixed = Vec::new();
    for (file, s) in &shards {
        if s.version == opts.version && s.rules_digest == opts.rules_digest {
            continue;
        }
        // The report names the repository, not the file: file names must
        // not change the output.
        let what = format!(
            "{} was audited by keyflare {} with rule set {}; this is keyflare {} with rule set {}",
            crate::escape::text(&s.repository.name),
            crate::escape::text(&s.version),
            crate::escape::text(&s.rules_digest),
            opts.version,
            opts.rules_digest
        );
        if !opts.allow_mixed {
            return Err(MergeError::Input(format!(
                "{file}: {what}: re-run its audit with this keyflare, or pass --allow-mixed to merge it anyway \
                 (a keyflare.toml in the repository that adds or disables rules also changes the rule set)"
            )));
        }
        mixed.push(what);
    }
    let mut by_print: BTreeMap<String, OrgCredential> = BTreeMap::new();
    let mut repositories = Vec::new();
    let mut warnings = Vec::new();
    let (mut commits, mut files) = (0usize, 0u64);
    for (_, s) in shards {
        let name = s.repository.name.clone();
        commits = commits.saturating_add(s.audit.commits_scanned);
        files = files.saturating_add(s.audit.files_scanned);
        warnings.extend(s.audit.warnings.iter().map(|w| format!("{name}: {w}")));
        let mut summary = RepoSummary {
            repository: s.repository,
            credentials: s.audit.credentials.len(),
            active: 0,
            present: 0,
            worst: None,
            commits_scanned: s.audit.commits_scanned,
            warnings: s.audit.warnings.len(),
        };
        for c in s.audit.credentials {
            let rule = rules.get(&c.rule_id);
            let severity = rule.map_or(Severity::High, |r| r.severity);
            summary.worst = summary.worst.max(Some(severity));
            if c.in_head || c.in_worktree {
                summary.present += 1;
            }
            let mut places = c.places;
            places.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
            let here = RepoPlaces {
                repository: name.clone(),
                places,
                first: c.first,
                removed: c.removed,
                in_head: c.in_head,
                in_worktree: c.in_worktree,
            };
            let shard_verdict = c
                .verification
                .as_ref()
                .and_then(shard::ShardVerification::to_verification);
            let entry = by_print
                .entry(c.fingerprint.clone())
                .or_insert_with(|| OrgCredential {
                    fingerprint: c.fingerprint.clone(),
                    rule_id: c.rule_id.clone(),
                    rule_name: rule.map_or_else(|| c.rule_id.clone(), |r| r.name.clone()),
                    severity,
                    verify_kind: rule.map_or_else(
                        || VerifyKind::Unsupported("a rule this keyflare does not know".into()),
                        |r| r.verify.clone(),
                    ),
                    shown: c.shown.clone(),
                    secret: None,
                    emails: Vec::new(),
                    account_ids: Vec::new(),
                    verification: None,
                    repositories: Vec::new(),
                });
            if entry.secret.is_none() {
                entry.secret = c.secret;
            }
            entry.emails.extend(c.emails);
            entry.account_ids.extend(c.account_ids);
            // The most alarming verdict a shard recorded stands.
            if status_rank_alarm(shard_verdict.as_ref())
                > status_rank_alarm(entry.verification.as_ref())
            {
                entry.verification = shard_verdict;
            }
            entry.repositories.push(here);
        }
        repositories.push(summary);
    }
    let mut credentials: Vec<OrgCredential> = by_print
        .into_values()
        .map(|mut c| {
            c.emails.sort();
            c.emails.dedup();
            c.account_ids.sort();
            c.account_ids.dedup();
            c
        })
        .collect();
    sort_credentials(&mut credentials);
    let mut audit = OrgAudit {
        repositories,
        credentials,
        verified: false,
        mixed,
        warnings,
        commits_scanned: commits,
        files_scanned: files,
    };
    recount(&mut audit);
    Ok(audit)
}

/// For picking among shards' verdicts: live, then inactive, invalid, unknown.
fn status_rank_alarm(v: Option<&Verification>) -> u8 {
    match v.map(|v| v.status) {
        Some(VerifyStatus::Active) => 4,
        Some(VerifyStatus::Inactive) => 3,
        Some(VerifyStatus::Invalid) => 2,
        Some(VerifyStatus::Unknown) => 1,
        None => 0,
    }
}

fn sort_credentials(credentials: &mut [OrgCredential]) {
    credentials.sort_by(|a, b| {
        b.urgency()
            .cmp(&a.urgency())
            .then_with(|| {
                let t = |c: &OrgCredential| c.first().map_or((true, 0), |(_, f)| (false, f.time));
                t(a).cmp(&t(b))
            })
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
}

/// Fills each repository's live count from the credentials' verdicts and
/// orders repositories worst first.
fn recount(audit: &mut OrgAudit) {
    let mut active: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &audit.credentials {
        if c.status() == Some(VerifyStatus::Active) {
            for r in &c.repositories {
                *active.entry(r.repository.as_str()).or_default() += 1;
            }
        }
    }
    let counts: BTreeMap<String, usize> = active
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for r in &mut audit.repositories {
        r.active = counts.get(&r.repository.name).copied().unwrap_or(0);
    }
    audit.repositories.sort_by(|a, b| a.rank().cmp(&b.rank()));
}

/// Verifies every credential once with `verifier` (one rate budget for
/// them all), replacing the shards' verdicts. Credentials whose kind has no
/// safe check get `unknown` without a request. Every credential must carry
/// its secret (shards written with `--keep-secrets`).
pub fn verify(audit: &mut OrgAudit, verifier: &crate::verify::Verifier) -> Result<(), MergeError> {
    let mut candidates = Vec::new();
    let mut slots = Vec::new();
    for (i, c) in audit.credentials.iter_mut().enumerate() {
        let method = match &c.verify_kind {
            VerifyKind::UserToken => VerifyMethod::UserToken,
            VerifyKind::AccountToken => VerifyMethod::AccountToken,
            VerifyKind::LegacyToken => VerifyMethod::LegacyToken,
            VerifyKind::GlobalKey => VerifyMethod::GlobalKey,
            VerifyKind::Unsupported(why) => {
                c.verification = Some(Verification::new(
                    VerifyStatus::Unknown,
                    format!("not checked: {why}"),
                ));
                continue;
            }
        };
        let Some(secret) = &c.secret else {
            return Err(MergeError::Input(format!(
                "credential {} (in {}) has no secret in its shard: --verify needs shards \
                 written with `keyflare audit --keep-secrets`",
                c.fingerprint,
                c.repositories
                    .first()
                    .map_or("?".into(), |r| crate::escape::text(&r.repository)
                        .into_owned())
            )));
        };
        candidates.push(Candidate {
            method,
            secret: secret.clone(),
            emails: c.emails.clone(),
            account_ids: c.account_ids.clone(),
        });
        slots.push(i);
    }
    let results = verifier.verify_all(&candidates);
    for (i, v) in slots.into_iter().zip(results) {
        if let Some(c) = audit.credentials.get_mut(i) {
            c.verification = Some(v);
        }
    }
    audit.verified = true;
    sort_credentials(&mut audit.credentials);
    recount(audit);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_digest_follows_the_rules() {
        let a = RuleSet::builtin().expect("rules");
        let mut b = RuleSet::builtin().expect("rules");
        assert_eq!(rules_digest(&a), rules_digest(&b));
        assert!(rules_digest(&a).starts_with("sha256:"));
        b.disable(&["kf.cloudflare.user-api-token".to_string()]);
        assert_ne!(rules_digest(&a), rules_digest(&b));
    }
}

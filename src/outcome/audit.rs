//! Audits: one row per credential across a working tree and all of history.
//!
//! This module is pure: it takes the findings of a history scan and of a
//! working-tree scan (already verified, or not), plus the history facts the
//! git source found ([`HistoryFacts`]), and groups them by credential (rule +
//! secret, i.e. fingerprint). It reads nothing and prints nothing; the
//! renderers in `report/` turn an [`Audit`] into Markdown or HTML.
//!
//! Definitions, used by every renderer:
//! - **first commit**: the earliest commit (author date, then walk order)
//!   that introduced the secret at any path, on any ref.
//! - **removed in**: if the secret is not in HEAD's tree, the commit of
//!   HEAD's first-parent line whose tree no longer held it at any path (the
//!   last such commit if it came back in between). Its parent is the last
//!   commit of that line that had it.
//! - **last seen**: for a secret still in HEAD, HEAD; for a removed one, the
//!   removal commit; for one that never reached HEAD's line (a side branch,
//!   a tag), the latest commit that introduced it.
//!
//! Outcome: the audit model. It may not touch a source, the scan stage, the
//! verifier's network or a renderer.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::finding::{CommitInfo, Finding, FindingClass};
use crate::rules::{RuleSet, Severity, VerifyKind};
use crate::verify::VerifyStatus;

/// What an audit wants to know beyond a history report.
#[derive(Debug, Default)]
pub struct HistoryFacts {
    /// Commits walked (all refs).
    pub commits: usize,
    /// Per credential, by fingerprint.
    pub secrets: HashMap<String, SecretFacts>,
}

/// Where one credential was last written and where it left HEAD's line.
#[derive(Clone, Debug, Default)]
pub struct SecretFacts {
    /// The latest commit (in walk order) that introduced it at some path:
    /// the last time anyone wrote it.
    pub last_introduced: Option<CommitInfo>,
    /// The commit of HEAD's first-parent line whose tree no longer held it,
    /// if it is no longer in HEAD (see [`crate::source::git::lifetime`]).
    pub removed: Option<CommitInfo>,
    /// Commits of HEAD's first-parent line whose tree holds it.
    pub commits_holding: usize,
}

/// A whole audit, ready to render.
#[derive(Debug)]
pub struct Audit {
    /// What was audited, as the user named it (a path or a URL, with any
    /// password in the URL removed).
    pub target: String,
    /// Credentials, most urgent first.
    pub credentials: Vec<Credential>,
    /// Commits walked (all refs); 0 without history.
    pub commits_scanned: usize,
    /// Distinct blobs and working-tree files read.
    pub files_scanned: u64,
    /// Whether history was scanned (a git repository).
    pub history: bool,
    /// Whether a working tree was scanned.
    pub worktree: bool,
    /// Whether verification ran.
    pub verified: bool,
    /// HEAD's commit id, for a git repository with a HEAD.
    pub head: Option<String>,
    /// Wall time of the whole audit (clone, scans, verification).
    pub duration: Duration,
    /// What the audit did not cover.
    pub notices: Vec<String>,
    /// What could not be read.
    pub warnings: Vec<String>,
    /// Documented example values and hygiene notes found: not credentials,
    /// so not in [`Audit::credentials`]; counted apart.
    pub others: crate::outcome::ClassCounts,
    /// "2 suppressed (by markers 1, config 1, baseline 0)" and suppressions
    /// not applied, as [`crate::outcome::Summary::describe_suppressed`] says
    /// it; None when nothing was suppressed.
    pub suppressed: Option<String>,
}

/// One place a credential is or was.
#[derive(Clone, Debug)]
pub struct Place {
    /// `/`-separated, relative to the repository root.
    pub path: String,
    /// 1-based line (in the introducing version, or the working tree).
    pub line: usize,
    /// The commit that brought it to this path (a rename or copy's, for a
    /// secret first written elsewhere: [`CommitInfo::arrival`]); `None` if
    /// it was never committed there (working tree only).
    pub introduced: Option<CommitInfo>,
    /// Whether the working-tree file holds it.
    pub in_worktree: bool,
}

/// One credential: every finding of one rule + secret.
#[derive(Clone, Debug)]
pub struct Credential {
    /// A representative finding (the earliest): rule, secret, verification.
    pub finding: Finding,
    /// Every path, sorted.
    pub places: Vec<Place>,
    /// The earliest introducing commit (see the module docs).
    pub first: Option<CommitInfo>,
    /// The latest introducing commit.
    pub last_introduced: Option<CommitInfo>,
    /// Where it left HEAD's line, if it did.
    pub removed: Option<CommitInfo>,
    /// Commits of HEAD's first-parent line that hold it.
    pub commits_holding: usize,
    /// Whether HEAD's tree holds it anywhere.
    pub in_head: bool,
    /// Whether the working tree holds it anywhere.
    pub in_worktree: bool,
    /// "rolled at …" / "deleted at …", from a `keyflare respond` record (`--responses`).
    pub response: Option<String>,
}

/// Where a credential stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// In HEAD's tree (and maybe the working tree).
    InHead,
    /// Only in the working tree: never committed, or changed since HEAD.
    WorktreeOnly,
    /// Removed from HEAD's line; still in history.
    Removed,
    /// Never on HEAD's first-parent line: only other refs hold it.
    OtherRefs,
}

impl Credential {
    /// The verification verdict, if verification ran.
    pub fn status(&self) -> Option<VerifyStatus> {
        self.finding.verification.as_ref().map(|v| v.status)
    }

    /// Whether this is a Global API Key (every permission of its user).
    pub fn is_global_key(&self) -> bool {
        self.finding.verify_kind == VerifyKind::GlobalKey
    }

    /// Where it stands now.
    pub fn presence(&self) -> Presence {
        if self.in_head {
            Presence::InHead
        } else if self.in_worktree {
            Presence::WorktreeOnly
        } else if self.removed.is_some() {
            Presence::Removed
        } else {
            Presence::OtherRefs
        }
    }

    /// Whether any commit holds it (so history must be purged).
    pub fn committed(&self) -> bool {
        self.first.is_some()
    }

    /// The last commit known to matter (see the module docs).
    pub fn last_seen(&self) -> Option<&CommitInfo> {
        match self.presence() {
            Presence::Removed => self.removed.as_ref(),
            _ => self.last_introduced.as_ref(),
        }
    }

    /// Sort key, most urgent largest: active Global API Keys, other active
    /// credentials, then severity, then still present over history-only,
    /// then unknown/unverified over inactive over invalid.
    fn urgency(&self) -> (bool, bool, Severity, bool, u8) {
        let active = self.status() == Some(VerifyStatus::Active);
        let status = match self.status() {
            Some(VerifyStatus::Active) => 4,
            None | Some(VerifyStatus::Unknown) => 3,
            Some(VerifyStatus::Inactive) => 2,
            Some(VerifyStatus::Invalid) => 1,
        };
        (
            active && self.is_global_key(),
            active,
            self.finding.severity,
            self.in_head || self.in_worktree,
            status,
        )
    }
}

/// Groups `history` (findings of a history scan, each at its introducing
/// commit) and `tree` (findings of the working tree) by credential, fills in
/// `facts`, and orders them by urgency (ties: earliest first commit first).
/// Hygiene notes and documented examples (not credentials) are left out.
pub fn group(history: &[Finding], tree: &[Finding], facts: &HistoryFacts) -> Vec<Credential> {
    let mut by_print: BTreeMap<&str, (Vec<&Finding>, Vec<&Finding>)> = BTreeMap::new();
    let leak = |f: &&Finding| f.class() == FindingClass::Credential;
    for f in history.iter().filter(leak) {
        by_print.entry(&f.fingerprint).or_default().0.push(f);
    }
    for f in tree.iter().filter(leak) {
        by_print.entry(&f.fingerprint).or_default().1.push(f);
    }
    let none = SecretFacts::default();
    let mut out: Vec<Credential> = by_print
        .into_iter()
        .map(|(print, (hist, wt))| {
            credential(&hist, &wt, facts.secrets.get(print).unwrap_or(&none))
        })
        .collect();
    out.sort_by(|a, b| {
        Reverse(a.urgency())
            .cmp(&Reverse(b.urgency()))
            .then_with(|| date_key(a.first.as_ref()).cmp(&date_key(b.first.as_ref())))
    });
    out
}

/// Sorts commits by date (the instant, whatever the author's offset),
/// undated last.
fn date_key(c: Option<&CommitInfo>) -> (bool, i64) {
    match c {
        Some(c) => (false, c.time),
        None => (true, 0),
    }
}

fn credential(hist: &[&Finding], wt: &[&Finding], facts: &SecretFacts) -> Credential {
    let mut places: BTreeMap<&str, Place> = BTreeMap::new();
    for f in hist {
        let here = f.commit.as_ref().map(CommitInfo::arrival);
        let p = places.entry(&f.path).or_insert_with(|| Place {
            path: f.path.clone(),
            line: f.line,
            introduced: here.clone(),
            in_worktree: false,
        });
        // The earliest introduction at this path wins.
        if date_key(here.as_ref()) < date_key(p.introduced.as_ref()) {
            p.introduced = here;
            p.line = f.line;
        }
    }
    for f in wt {
        let p = places.entry(&f.path).or_insert_with(|| Place {
            path: f.path.clone(),
            line: f.line,
            introduced: None,
            in_worktree: false,
        });
        p.in_worktree = true;
    }
    let places: Vec<Place> = places.into_values().collect();
    let first = hist
        .iter()
        .filter_map(|f| f.commit.as_ref())
        .min_by_key(|c| date_key(Some(c)))
        .cloned();
    let representative = hist
        .iter()
        .find(|f| f.commit.as_ref().map(|c| &c.commit) == first.as_ref().map(|c| &c.commit))
        .or_else(|| hist.first())
        .or_else(|| wt.first())
        .map(|f| (*f).clone())
        .expect("a group has at least one finding");
    // Verification is per secret: any finding of the group carries it.
    let mut representative = representative;
    if representative.verification.is_none() {
        representative.verification = hist.iter().chain(wt).find_map(|f| f.verification.clone());
    }
    let in_head = hist
        .iter()
        .any(|f| f.commit.as_ref().is_some_and(|c| c.in_head));
    Credential {
        finding: representative,
        first,
        last_introduced: facts.last_introduced.clone(),
        removed: facts.removed.clone(),
        commits_holding: facts.commits_holding,
        in_head,
        in_worktree: !wt.is_empty(),
        response: None,
        places,
    }
}

/// One event of the timeline.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    /// When (RFC 3339, the author's offset).
    pub date: &'a str,
    /// The same instant in seconds since the epoch.
    pub time: i64,
    /// The commit.
    pub commit: &'a str,
    /// Introduced (true) or removed (false).
    pub introduced: bool,
    /// Index into [`Audit::credentials`].
    pub credential: usize,
}

/// Each credential's introduction and (if removed) removal, oldest first.
pub fn timeline(credentials: &[Credential]) -> Vec<Event<'_>> {
    let mut events = Vec::new();
    for (i, c) in credentials.iter().enumerate() {
        if let Some(f) = &c.first {
            events.push(Event {
                date: &f.date,
                time: f.time,
                commit: &f.commit,
                introduced: true,
                credential: i,
            });
        }
        if let (Presence::Removed, Some(r)) = (c.presence(), &c.removed) {
            events.push(Event {
                date: &r.date,
                time: r.time,
                commit: &r.commit,
                introduced: false,
                credential: i,
            });
        }
    }
    events.sort_by_key(|e| (e.time, !e.introduced));
    events
}

/// One item of a credential's remediation checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What to do, in a few words.
    pub title: String,
    /// How: sentences, one per entry.
    pub details: Vec<String>,
    /// A command to run, if any (never holds the secret).
    pub command: Option<String>,
}

/// The placeholder the purge command uses instead of the secret.
pub const PLACEHOLDER: &str = "SECRET_FROM_YOUR_PASSWORD_MANAGER";

/// Files whose name says they exist to hold secrets: purging the whole file
/// from history is simpler than replacing text in it.
fn secrets_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name == ".env"
        || name.starts_with(".env.")
        || name.ends_with(".env")
        || name.ends_with(".tfvars")
        || name.ends_with(".pem")
        || name.ends_with(".key")
        || name.contains("secret")
        || name.contains("credential")
        || name == ".dev.vars"
}

/// The remediation checklist of `c`: roll or revoke it (the rule's own
/// steps), replace it with a scoped token, move it out of the code, purge it
/// from history and have collaborators re-clone. No step holds the secret.
pub fn remediation(c: &Credential, rules: &RuleSet) -> Vec<Step> {
    let rule = rules.get(&c.finding.rule_id);
    let rule_steps: &[String] = rule.map(|r| r.steps.as_slice()).unwrap_or(&[]);
    let mut steps = Vec::new();
    let mut roll = vec![rule_steps
        .first()
        .cloned()
        .or_else(|| rule.map(|r| r.remediation.clone()))
        .unwrap_or_else(|| "Roll or revoke it in the Cloudflare dashboard.".into())];
    match c.status() {
        Some(VerifyStatus::Active) => {
            roll.push("Cloudflare accepted it during this audit: it works right now.".into())
        }
        Some(VerifyStatus::Invalid) => roll.push(
            "Cloudflare rejected it during this audit: confirm it is revoked in the dashboard and \
             that nothing still depends on it."
                .into(),
        ),
        Some(VerifyStatus::Inactive) => roll.push(
            "Cloudflare reports it disabled or expired: delete it so it cannot be re-enabled."
                .into(),
        ),
        _ => {}
    }
    if let Some(r) = rule {
        roll.extend(r.references.iter().map(|u| format!("Reference: {u}")));
    }
    steps.push(Step {
        title: "Roll or revoke the credential".into(),
        details: roll,
        command: None,
    });
    let mut scoped = vec![
        "Create an API token with only the permission groups the code uses (e.g. Zone > DNS > Edit \
         rather than account-wide access), limited to the accounts and zones it works on."
            .into(),
        "Add client IP address filtering for the hosts or CI runners that call the API, and a TTL \
         (an expiry date) so a future leak ends by itself."
            .into(),
    ];
    if let Some(b) = c
        .finding
        .verification
        .as_ref()
        .and_then(|v| v.blast_radius.as_ref())
    {
        scoped.push(format!(
            "The leaked credential reached {} account(s) and {} zone(s): keep the replacement to \
             the ones the code needs.",
            b.account_count, b.zone_count
        ));
    }
    if let Some(s) = rule_steps.get(1) {
        scoped.push(s.clone());
    }
    steps.push(Step {
        title: "Replace it with a scoped API token".into(),
        details: scoped,
        command: None,
    });
    steps.push(Step {
        title: "Move it to an environment variable or a secret store".into(),
        details: vec![
            "Read it from the environment (CLOUDFLARE_API_TOKEN) or a secret store \
             (`wrangler secret put`, your CI's encrypted secrets, Vault), never from a file in \
             the repository; add such files to .gitignore."
                .into(),
        ],
        command: None,
    });
    if c.committed() {
        let whole_files: Vec<&str> = c
            .places
            .iter()
            .filter(|p| secrets_file(&p.path))
            .map(|p| p.path.as_str())
            .collect();
        let mut details = vec![
            "Deleting the file is not enough: every clone still has the commits. Rewrite \
             history on a fresh mirror clone."
                .into(),
            format!(
                "Put the real value in a local file outside the repository that is never \
                 committed (here ../keyflare-purge.txt, one line `{PLACEHOLDER}==>REMOVED` with \
                 the placeholder replaced by the secret), run the command, then delete that file."
            ),
        ];
        if !whole_files.is_empty() {
            let paths: Vec<String> = whole_files
                .iter()
                .map(|p| format!("--path {}", shell_quote(p)))
                .collect();
            details.push(format!(
                "If {} only exist(s) to hold secrets, drop the file(s) from every commit \
                 instead: `git filter-repo --invert-paths {}`.",
                whole_files.join(", "),
                paths.join(" ")
            ));
        }
        details.push(
            "Then force-push every branch and tag (`git push --force --mirror`) and ask the \
             hosting provider to drop cached views of old commits if it keeps them."
                .into(),
        );
        steps.push(Step {
            title: "Purge it from git history".into(),
            details,
            command: Some("git filter-repo --replace-text ../keyflare-purge.txt".into()),
        });
        steps.push(Step {
            title: "Tell collaborators to re-clone".into(),
            details: vec![
                "Old clones and forks still hold the secret and would push it back: everyone \
                 re-clones (no merge or rebase from old clones), and forks are deleted or \
                 rewritten too."
                    .into(),
            ],
            command: None,
        });
    } else {
        steps.push(Step {
            title: "Remove it from the working tree before it is committed".into(),
            details: vec![
                "It is not in any commit yet: delete it from the file and keep it out of the next \
                 commit (`keyflare scan --staged` in a pre-commit hook)."
                    .into(),
            ],
            command: None,
        });
    }
    steps
}

/// Quotes a path for a POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Totals for a report header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Credentials (distinct secrets).
    pub credentials: usize,
    /// Of which active.
    pub active: usize,
    /// Distinct paths holding any.
    pub files: usize,
    /// Still in HEAD or the working tree.
    pub present: usize,
}

impl Audit {
    /// Counts for the header.
    pub fn totals(&self) -> Totals {
        let mut files: HashMap<&str, ()> = HashMap::new();
        for c in &self.credentials {
            for p in &c.places {
                files.insert(&p.path, ());
            }
        }
        Totals {
            credentials: self.credentials.len(),
            active: self
                .credentials
                .iter()
                .filter(|c| c.status() == Some(VerifyStatus::Active))
                .count(),
            files: files.len(),
            present: self
                .credentials
                .iter()
                .filter(|c| c.in_head || c.in_worktree)
                .count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_compare_as_instants() {
        let at = |date: &str, time: i64| CommitInfo {
            commit: "c".into(),
            author: "a".into(),
            date: date.into(),
            time,
            in_head: true,
            ..CommitInfo::default()
        };
        // Earlier as an instant, later as text.
        let tokyo = at("2023-11-15T08:00:00+09:00", 1_700_002_800);
        let utc = at("2023-11-15T00:00:00+00:00", 1_700_006_400);
        assert!(date_key(Some(&tokyo)) < date_key(Some(&utc)));
        assert!(date_key(Some(&utc)) < date_key(None));
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("config/.env"), "config/.env");
        assert_eq!(shell_quote("it's here"), "'it'\\''s here'");
    }

    #[test]
    fn secret_files() {
        assert!(secrets_file("deploy/.env.production"));
        assert!(secrets_file("prod.tfvars"));
        assert!(!secrets_file("src/main.py"));
    }
}

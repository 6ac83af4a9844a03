//! Shards: what `keyflare audit --format json` adds to its JSON so that
//! `keyflare merge` can combine many repositories' audits, and how `merge`
//! reads them back.
//!
//! Writing adds three top-level fields to the audit's JSON (every existing
//! field stays as it was): `repository` (name, URL, HEAD), `rules_digest`
//! (which compiled rule set made it; `version` already says which keyflare)
//! and `audit` (one record per credential: places, first commit, removal,
//! verification). The secret itself is in a record only when the audit was
//! asked to keep it (`--keep-secrets`), for `merge --verify`.
//!
//! Reading treats a shard as hostile input (other jobs wrote it): the file
//! size, the number of credentials and places and every string's length are
//! capped, fingerprints must be what keyflare writes, and a kept secret must
//! hash to its fingerprint. A shard that breaks any rule is refused whole,
//! with its file name; nothing of it is used.
//!
//! Stage: pipeline (input of `merge`). It never verifies or renders.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::CommitInfo;
use crate::outcome::audit::{Audit, Credential, Place};
use crate::verify::{Verification, VerifyStatus};

/// The shard layout this build writes and reads (`audit.format`).
pub const SHARD_FORMAT: u32 = 1;
/// Largest shard file read, in bytes.
pub const MAX_SHARD_BYTES: u64 = 64 << 20;
/// Most credentials one shard may hold.
pub const MAX_CREDENTIALS: usize = 100_000;
/// Most places one credential may list.
pub const MAX_PLACES: usize = 10_000;
/// Longest string a shard may hold (a path, an author, a detail).
pub const MAX_STRING: usize = 4096;
/// Most emails or account ids one credential may carry.
pub const MAX_CONTEXT: usize = 16;

/// Which repository a shard is about.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Repository {
    /// `owner/repo` (from the URL or the directory name, or
    /// `--repository-name`).
    pub name: String,
    /// The URL audited (credentials removed), if it was one.
    #[serde(default)]
    pub url: Option<String>,
    /// HEAD's commit id, if it was a git repository with a HEAD.
    #[serde(default)]
    pub head: Option<String>,
}

/// A commit as a shard records it (with its instant, which the scan JSON
/// leaves out).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardCommit {
    /// Commit id.
    pub commit: String,
    /// "Name <email>".
    pub author: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// The same instant, seconds since the epoch: what ordering uses.
    pub time: i64,
}

/// One place of a credential.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardPlace {
    /// Path in the repository.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// The commit that brought it here, if committed.
    #[serde(default)]
    pub introduced: Option<ShardCommit>,
    /// Whether the working tree holds it here.
    #[serde(default)]
    pub in_worktree: bool,
}

/// A verification verdict as a shard records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardVerification {
    /// active, inactive, invalid or unknown.
    pub status: String,
    /// Why.
    #[serde(default)]
    pub detail: String,
}

/// One credential of one repository.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardCredential {
    /// Rule + hash of the secret (32 hex): the same secret in two
    /// repositories has the same fingerprint.
    pub fingerprint: String,
    /// The rule that found it.
    pub rule_id: String,
    /// The secret as the report shows it (redacted unless `--no-redact`).
    pub shown: String,
    /// The secret itself: only with `--keep-secrets`, for `merge --verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Emails found next to a Global API Key (verification needs one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// Account ids found next to an account token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_ids: Vec<String>,
    /// The audit's own verdict, if it verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<ShardVerification>,
    /// Every place, sorted by path.
    pub places: Vec<ShardPlace>,
    /// The earliest introducing commit.
    #[serde(default)]
    pub first: Option<ShardCommit>,
    /// Where it left HEAD's line, if it did.
    #[serde(default)]
    pub removed: Option<ShardCommit>,
    /// Whether HEAD's tree holds it.
    #[serde(default)]
    pub in_head: bool,
    /// Whether the working tree holds it.
    #[serde(default)]
    pub in_worktree: bool,
}

/// The `audit` field of a shard.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardAudit {
    /// [`SHARD_FORMAT`].
    pub format: u32,
    /// Whether [`ShardCredential::secret`] is filled in (`--keep-secrets`):
    /// the file is then as sensitive as the secrets.
    pub secrets_included: bool,
    /// Commits walked.
    pub commits_scanned: usize,
    /// Files and blobs read.
    pub files_scanned: u64,
    /// Whether history was scanned.
    pub history: bool,
    /// Whether the audit verified.
    pub verified: bool,
    /// What could not be read (the audit is incomplete if not empty).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Credentials, in the audit's order.
    pub credentials: Vec<ShardCredential>,
}

/// A shard as `merge` reads it: only the fields it needs (the findings are
/// skipped).
#[derive(Clone, Debug, Deserialize)]
pub struct Shard {
    /// Must be "keyflare".
    pub tool: String,
    /// The keyflare version that wrote it.
    pub version: String,
    /// Which rule set found its credentials.
    pub rules_digest: String,
    /// Which repository.
    pub repository: Repository,
    /// The credentials.
    pub audit: ShardAudit,
}

fn commit(c: &CommitInfo) -> ShardCommit {
    ShardCommit {
        commit: c.commit.clone(),
        author: c.author.clone(),
        date: c.date.clone(),
        time: c.time,
    }
}

fn place(p: &Place) -> ShardPlace {
    ShardPlace {
        path: p.path.clone(),
        line: p.line,
        introduced: p.introduced.as_ref().map(commit),
        in_worktree: p.in_worktree,
    }
}

fn credential(c: &Credential, keep_secrets: bool, no_redact: bool) -> ShardCredential {
    let f = &c.finding;
    ShardCredential {
        fingerprint: f.fingerprint.clone(),
        rule_id: f.rule_id.clone(),
        shown: f.shown_secret(no_redact).to_string(),
        secret: keep_secrets.then(|| f.secret.expose().to_string()),
        emails: f.emails.clone(),
        account_ids: f.account_ids.clone(),
        verification: f.verification.as_ref().map(|v| ShardVerification {
            status: status_name(v.status).to_string(),
            detail: v.detail.clone(),
        }),
        places: c.places.iter().map(place).collect(),
        first: c.first.as_ref().map(commit),
        removed: c.removed.as_ref().map(commit),
        in_head: c.in_head,
        in_worktree: c.in_worktree,
    }
}

/// The lowercase name JSON uses for a status.
pub fn status_name(s: VerifyStatus) -> &'static str {
    match s {
        VerifyStatus::Active => "active",
        VerifyStatus::Inactive => "inactive",
        VerifyStatus::Invalid => "invalid",
        VerifyStatus::Unknown => "unknown",
    }
}

/// The status a name stands for.
pub fn parse_status(s: &str) -> Option<VerifyStatus> {
    Some(match s {
        "active" => VerifyStatus::Active,
        "inactive" => VerifyStatus::Inactive,
        "invalid" => VerifyStatus::Invalid,
        "unknown" => VerifyStatus::Unknown,
        _ => return None,
    })
}

impl ShardVerification {
    /// As the verifier's type.
    pub fn to_verification(&self) -> Option<Verification> {
        Some(Verification::new(
            parse_status(&self.status)?,
            self.detail.clone(),
        ))
    }
}

/// The fields `keyflare audit --format json` adds to its JSON: see the
/// module docs.
pub fn shard_fields(
    audit: &Audit,
    repository: Repository,
    rules_digest: &str,
    keep_secrets: bool,
    no_redact: bool,
) -> serde_json::Map<String, serde_json::Value> {
    let body = ShardAudit {
        format: SHARD_FORMAT,
        secrets_included: keep_secrets,
        commits_scanned: audit.commits_scanned,
        files_scanned: audit.files_scanned,
        history: audit.history,
        verified: audit.verified,
        warnings: audit.warnings.clone(),
        credentials: audit
            .credentials
            .iter()
            .map(|c| credential(c, keep_secrets, no_redact))
            .collect(),
    };
    let mut map = serde_json::Map::new();
    // These types serialize to JSON objects without fail (strings and numbers only).
    map.insert(
        "repository".into(),
        serde_json::to_value(repository).unwrap_or_default(),
    );
    map.insert("rules_digest".into(), rules_digest.into());
    map.insert(
        "audit".into(),
        serde_json::to_value(body).unwrap_or_default(),
    );
    map
}

/// The repository name for a target: `--repository-name` if given, else
/// `owner/repo` from a URL's last two path segments (`.git` dropped), else
/// the directory's name.
pub fn repository_name(target: &str, is_url: bool) -> String {
    let trimmed = target.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    if is_url {
        // git@host:owner/repo and scheme://host/owner/repo alike.
        let path = match trimmed.split_once("://") {
            Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
            None => trimmed.split_once(':').map_or(trimmed, |(_, p)| p),
        };
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match parts.as_slice() {
            [.., owner, repo] => format!("{owner}/{repo}"),
            [repo] => (*repo).to_string(),
            [] => trimmed.to_string(),
        }
    } else {
        let p = Path::new(trimmed);
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        abs.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| trimmed.to_string())
    }
}

/// Why a shard was refused.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ShardError {
    /// What is wrong, in a sentence.
    pub message: String,
}

fn bad(message: impl Into<String>) -> ShardError {
    ShardError {
        message: message.into(),
    }
}

/// Reads a shard file: at most [`MAX_SHARD_BYTES`], then [`parse`].
pub fn read(path: &Path) -> Result<Shard, ShardError> {
    let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_SHARD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_SHARD_BYTES {
        return Err(bad(format!(
            "larger than {} MiB: not a shard keyflare wrote",
            MAX_SHARD_BYTES >> 20
        )));
    }
    parse(&bytes)
}

/// Parses and checks a shard (see the module docs for what is checked).
pub fn parse(bytes: &[u8]) -> Result<Shard, ShardError> {
    if bytes.len() as u64 > MAX_SHARD_BYTES {
        return Err(bad("too large"));
    }
    let shard: Shard = serde_json::from_slice(bytes).map_err(|e| {
        bad(format!(
            "not a keyflare audit shard ({e}); write one with `keyflare audit --format json`"
        ))
    })?;
    check(&shard)?;
    Ok(shard)
}

fn check_str(what: &str, s: &str) -> Result<(), ShardError> {
    if s.len() > MAX_STRING {
        return Err(bad(format!("{what} longer than {MAX_STRING} bytes")));
    }
    Ok(())
}

fn check_commit(c: &ShardCommit) -> Result<(), ShardError> {
    check_str("commit id", &c.commit)?;
    check_str("author", &c.author)?;
    check_str("date", &c.date)
}

fn check(s: &Shard) -> Result<(), ShardError> {
    if s.tool != "keyflare" {
        return Err(bad("not written by keyflare (`tool` is not \"keyflare\")"));
    }
    if s.audit.format != SHARD_FORMAT {
        return Err(bad(format!(
            "shard format {} (this keyflare reads format {SHARD_FORMAT})",
            s.audit.format
        )));
    }
    check_str("version", &s.version)?;
    check_str("rules_digest", &s.rules_digest)?;
    check_str("repository name", &s.repository.name)?;
    if s.repository.name.trim().is_empty() {
        return Err(bad("empty repository name"));
    }
    for v in [&s.repository.url, &s.repository.head]
        .into_iter()
        .flatten()
    {
        check_str("repository field", v)?;
    }
    if s.audit.warnings.len() > MAX_PLACES {
        return Err(bad("too many warnings"));
    }
    for w in &s.audit.warnings {
        check_str("warning", w)?;
    }
    if s.audit.credentials.len() > MAX_CREDENTIALS {
        return Err(bad(format!("more than {MAX_CREDENTIALS} credentials")));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &s.audit.credentials {
        let hex = c.fingerprint.len() == 32
            && c.fingerprint
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(bad(
                "a credential's fingerprint is not 32 lowercase hex digits",
            ));
        }
        if !seen.insert(c.fingerprint.as_str()) {
            return Err(bad(format!("credential {} is listed twice", c.fingerprint)));
        }
        check_str("rule id", &c.rule_id)?;
        check_str("secret", &c.shown)?;
        if let Some(secret) = &c.secret {
            check_str("secret", secret)?;
            // A kept secret must be the one its fingerprint names: a shard
            // cannot attach another repository's credential to a secret.
            if crate::finding::fingerprint(&c.rule_id, secret) != c.fingerprint {
                return Err(bad(format!(
                    "credential {}: the kept secret does not match its fingerprint",
                    c.fingerprint
                )));
            }
        }
        if c.emails.len() > MAX_CONTEXT || c.account_ids.len() > MAX_CONTEXT {
            return Err(bad("too many emails or account ids"));
        }
        for e in c.emails.iter().chain(&c.account_ids) {
            check_str("email or account id", e)?;
        }
        if let Some(v) = &c.verification {
            if parse_status(&v.status).is_none() {
                return Err(bad(format!("unknown verification status {:?}", v.status)));
            }
            check_str("verification detail", &v.detail)?;
        }
        if c.places.len() > MAX_PLACES {
            return Err(bad(format!(
                "a credential with more than {MAX_PLACES} places"
            )));
        }
        for p in &c.places {
            check_str("path", &p.path)?;
            if let Some(i) = &p.introduced {
                check_commit(i)?;
            }
        }
        for x in [&c.first, &c.removed].into_iter().flatten() {
            check_commit(x)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls_and_paths() {
        assert_eq!(
            repository_name("https://github.com/acme/api.git", true),
            "acme/api"
        );
        assert_eq!(repository_name("git@github.com:acme/web", true), "acme/web");
        assert_eq!(
            repository_name("file:///srv/git/acme/tools/", true),
            "acme/tools"
        );
        assert_eq!(repository_name("/tmp/some/dir-name", false), "dir-name");
    }

    #[test]
    fn hostile_shards_are_refused() {
        assert!(parse(b"").is_err());
        assert!(parse(b"[]").is_err());
        let good = serde_json::json!({
            "tool": "keyflare", "version": "0.1.0", "rules_digest": "x",
            "repository": {"name": "a/b"},
            "audit": {"format": 1, "secrets_included": false, "commits_scanned": 0,
                      "files_scanned": 0, "history": false, "verified": false,
                      "credentials": []}
        });
        assert!(parse(good.to_string().as_bytes()).is_ok());
        let mut bad_print = good.clone();
        bad_print["audit"]["credentials"] = serde_json::json!([{
            "fingerprint": "XYZ", "rule_id": "r", "shown": "***", "places": []
        }]);
        assert!(parse(bad_print.to_string().as_bytes()).is_err());
        let mut wrong_secret = good.clone();
        wrong_secret["audit"]["credentials"] = serde_json::json!([{
            "fingerprint": crate::finding::fingerprint("r", "one"),
            "rule_id": "r", "shown": "***", "secret": "two", "places": []
        }]);
        let e = parse(wrong_secret.to_string().as_bytes()).expect_err("mismatch");
        assert!(e.message.contains("does not match"), "{e}");
        let mut long = good;
        long["repository"]["name"] = "x".repeat(MAX_STRING + 1).into();
        assert!(parse(long.to_string().as_bytes()).is_err());
    }
}

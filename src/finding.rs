//! Findings: what the matcher found, where, and how bad it is.
//!
//! A finding carries its secret in a [`Secret`], whose `Debug` and `Display`
//! redact it, so that no log line or error message can print it by accident.
//! Reporters show [`Finding::shown_secret`], which is redacted unless the
//! user asked for `--no-redact`.
//!
//! Stage: findings, between the matcher and the outcome. It never reads a
//! source, filters, sends a request or renders.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rules::{Rule, RuleKind, Severity, VerifyKind};
use crate::verify::Verification;

/// How a value was encoded where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// Base64, standard or URL-safe (PEM bodies included).
    Base64,
    /// Percent-encoding (URLs, query strings, form bodies).
    Percent,
    /// Backslash escapes in a JSON or YAML double-quoted string.
    Escape,
}

impl Encoding {
    /// The name reports use ("base64", "percent", "escape").
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Percent => "percent",
            Encoding::Escape => "escape",
        }
    }
}

/// How a secret's text was encoded where it was found, outermost encoding
/// first (a base64 value inside a percent-encoded one: percent, base64).
/// Reports show it as the encodings' names joined by " > " ("base64",
/// "base64 > percent"), and serialise it as that string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decoded(Vec<Encoding>);

impl Decoded {
    /// Found inside one encoded value.
    pub fn new(outer: Encoding) -> Decoded {
        Decoded(vec![outer])
    }

    /// Found inside a value encoded with `inner`, inside this one.
    pub fn then(&self, inner: Encoding) -> Decoded {
        let mut chain = self.0.clone();
        chain.push(inner);
        Decoded(chain)
    }

    /// The encodings, outermost first.
    pub fn encodings(&self) -> &[Encoding] {
        &self.0
    }
}

impl fmt::Display for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" > ")?;
            }
            f.write_str(e.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for Decoded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A credential's text. Only [`Secret::expose`] gives it out.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    /// The secret itself: for verification and `--no-redact` only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Shows at most the public prefix (`cfut_`) and the last 4 characters, and
/// the last 4 only when the secret is long enough that they give nothing away.
pub fn redact(secret: &str, public_prefix: Option<&str>) -> String {
    let prefix = match public_prefix {
        Some(p) if secret.starts_with(p) => p,
        _ => "",
    };
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() >= 24 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{prefix}***{tail}")
    } else {
        format!("{prefix}***")
    }
}

/// A stable id for a finding: the rule and a hash of the secret, never the
/// secret itself. It survives line moves, renames and rebases, and differs
/// for a different secret on the same line.
pub fn fingerprint(rule_id: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"keyflare/v1\0");
    h.update(rule_id.as_bytes());
    h.update(b"\0");
    h.update(secret.as_bytes());
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// What to do about a secret that only history holds (`in_head` false).
pub const HISTORY_REMEDIATION: &str = "rotate it, then purge it from history \
     (e.g. git filter-repo) — deleting the file is not enough";

/// A path as every report shows it: control characters (newline, carriage
/// return, escape, bell...) and bidirectional overrides are written as Rust
/// escapes (`\n`, `\u{1b}`) by [`crate::escape::text`], so
/// a file name from the scanned tree can neither forge report lines nor send
/// escape sequences to the terminal that shows the report. Other paths are
/// unchanged.
pub fn printable_path(path: &str) -> String {
    crate::escape::text(path).into_owned()
}

/// How many places a finding lists at most (HEAD's paths, a move's
/// sources): a secret copied into hundreds of files would drown the report.
pub const PLACES_SHOWN: usize = 5;

/// Where in git history a finding was introduced (git sources only).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit that first wrote the secret: at this path, or, when the
    /// secret came here by a rename or copy ([`CommitInfo::moved`]), at
    /// [`CommitInfo::first_path`].
    pub commit: String,
    /// Its author, "Name <email>".
    pub author: String,
    /// Its author date, RFC 3339.
    pub date: String,
    /// The same instant in seconds since the epoch: dates are ordered by
    /// it, never by reading `date` back (not in JSON).
    #[serde(skip)]
    pub time: i64,
    /// Whether HEAD's tree still holds the secret at any path (see
    /// [`CommitInfo::head_paths`]). False means only history has it, so
    /// history must be purged.
    pub in_head: bool,
    /// Whether HEAD's tree holds the secret at this finding's path.
    pub in_head_at_path: bool,
    /// Where HEAD's tree holds the secret: sorted, at most
    /// [`PLACES_SHOWN`]; [`CommitInfo::head_path_count`] counts them all.
    pub head_paths: Vec<String>,
    /// How many paths of HEAD's tree hold the secret.
    pub head_path_count: usize,
    /// Set when the secret came to this path by a rename or copy: the path
    /// where [`CommitInfo::commit`] wrote it.
    pub first_path: Option<String>,
    /// The commit that brought the secret to this path, when that is not
    /// the commit that first wrote it.
    pub moved: Option<Move>,
}

/// A commit that brought a secret already in history to a new path.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Move {
    /// The commit.
    pub commit: String,
    /// Its author, "Name <email>".
    pub author: String,
    /// Its author date, RFC 3339.
    pub date: String,
    /// Paths that held the secret in its first parent (at most
    /// [`PLACES_SHOWN`]): those the commit took it from, if any (a rename),
    /// else those that kept it (a copy); empty when no path did (it came
    /// from another branch, merged in).
    pub from: Vec<String>,
    /// True for a rename (`from` lost the secret in that commit), false for
    /// a copy.
    pub renamed: bool,
}

impl CommitInfo {
    /// Where the secret stands now, for reports: "still in HEAD", "no
    /// longer at this path, but still in HEAD at P", or the remediation for
    /// a secret only history holds.
    pub fn presence(&self) -> String {
        if self.in_head_at_path {
            "still in HEAD".to_string()
        } else if self.in_head {
            let mut at = self.head_paths.join(", ");
            if self.head_path_count > self.head_paths.len() {
                at.push_str(&format!(
                    " and {} more",
                    self.head_path_count - self.head_paths.len()
                ));
            }
            format!("no longer at this path, but still in HEAD at {at}")
        } else {
            format!("only in history: {HISTORY_REMEDIATION}")
        }
    }

    /// The commit that brought the secret to this path: the move's, or
    /// [`CommitInfo::commit`] when the secret was written here.
    pub fn arrival(&self) -> CommitInfo {
        match &self.moved {
            Some(m) => CommitInfo {
                commit: m.commit.clone(),
                author: m.author.clone(),
                date: m.date.clone(),
                ..self.clone()
            },
            None => self.clone(),
        }
    }

    /// "moved here from P in commit C" / "copied here in commit C", for a
    /// secret that came to this path from another; None otherwise.
    pub fn move_note(&self) -> Option<String> {
        let m = self.moved.as_ref()?;
        let short = m.commit.get(..12).unwrap_or(&m.commit);
        let verb = if m.renamed { "moved" } else { "copied" };
        Some(if m.from.is_empty() {
            // Its parent held it nowhere: it came from another branch.
            format!("also added here in commit {short}")
        } else {
            format!("{verb} here from {} in commit {short}", m.from.join(", "))
        })
    }
}

/// One credential (or hygiene problem) at one place.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The rule's stable id.
    pub rule_id: String,
    /// The rule's human name.
    pub rule_name: String,
    /// How urgent.
    pub severity: Severity,
    /// Credential or hygiene.
    pub kind: RuleKind,
    /// Path relative to the scan root, `/`-separated, control characters
    /// escaped ([`printable_path`]).
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (Unicode code points).
    pub column: usize,
    /// Column just past the secret.
    pub end_column: usize,
    /// The secret; redacted everywhere unless `--no-redact`.
    pub secret: Secret,
    /// What reports show by default.
    pub redacted: String,
    /// False for matches that are not secret (a plaintext URL).
    pub sensitive: bool,
    /// Stable id: rule + hash of the secret.
    pub fingerprint: String,
    /// The name the secret was assigned to, if the pattern saw one.
    pub key: Option<String>,
    /// Emails seen near a Global API Key.
    pub emails: Vec<String>,
    /// Account ids seen near an account token.
    pub account_ids: Vec<String>,
    /// How verification checks this kind.
    pub verify_kind: VerifyKind,
    /// The verification result, with `--verify`.
    pub verification: Option<Verification>,
    /// Where in history it came from, for git sources.
    pub commit: Option<CommitInfo>,
    /// How the secret's text was encoded where it was found ("base64",
    /// "base64 > base64", "percent", "escape"); None if it was in plain sight.
    /// `line`/`column` then point at the encoded text.
    pub decoded: Option<Decoded>,
    /// Set when the secret is a value that Cloudflare or a well-known tool
    /// publishes as an example: where it was published. Such a finding is
    /// reported as a documented example, not as a leak.
    pub documented_example: Option<String>,
    /// For a documented example: how many other places held the same value
    /// (reported once, here).
    pub example_repeats: usize,
    /// The inline allow marker on the secret's line (`keyflare:allow`,
    /// `gitleaks:allow`, `pragma: allowlist secret`), as the matcher saw it.
    /// Only [`crate::pipeline::filter::suppress`] decides what it does.
    pub marker: Option<String>,
    /// Set when a suppression (marker, configuration, baseline) covers this
    /// finding: what it is, where it lives, and whether it was applied.
    pub suppression: Option<Suppression>,
}

/// What kind of suppression covers a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    /// An inline marker on the secret's line.
    Marker,
    /// `allow_values` or `allow_patterns` in the configuration.
    ConfigAllow,
    /// `exclude` in the configuration.
    ConfigExclude,
    /// An entry of the baseline.
    Baseline,
}

impl SuppressionKind {
    /// How reports name where it lives; the reason that follows names the
    /// entry ("allow_values entry …", "exclude entry …", "entry 3 (…)").
    pub fn describe(self) -> &'static str {
        match self {
            SuppressionKind::Marker => "inline marker",
            SuppressionKind::ConfigAllow | SuppressionKind::ConfigExclude => "configuration",
            SuppressionKind::Baseline => "baseline",
        }
    }
}

/// Whether a suppression was applied, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionStatus {
    /// Applied: the finding is reported as suppressed and does not count.
    Applied,
    /// Not applied: the scanned range itself added the suppression, and
    /// `--trust-range-suppressions` was not given.
    AddedByThisChange,
    /// Not applied: verification found the credential live.
    LiveCredential,
}

/// A suppression that covers a finding, and where it lives. It never holds
/// a secret: an `allow_values` entry is named by the finding's redacted form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// Marker, configuration allow or exclude, baseline.
    pub kind: SuppressionKind,
    /// Applied or not, and why not.
    pub status: SuppressionStatus,
    /// Which entry: "`keyflare:allow`", "exclude entry \"vendor/**\"",
    /// "entry 3 (rule fingerprint)"; reports put the kind's label before it.
    pub reason: String,
    /// The file it lives in (the marker's file, the configuration, the
    /// baseline), as reports show paths.
    pub file: String,
    /// Its line in that file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The configuration key (`exclude`, `allow_values`, `allow_patterns`)
    /// or `entries` for a baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Suppression {
    /// Where it lives: "path:line" or "path".
    pub fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }

    /// One line for reports: "inline marker `keyflare:allow` at a.env:3".
    pub fn describe(&self) -> String {
        format!(
            "{} {} at {}",
            self.kind.describe(),
            self.reason,
            self.place()
        )
    }
}

/// What a finding is, for `--fail-on` and for the words reports use: a
/// credential (a leak), a documented example value, or a hygiene note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingClass {
    /// A secret that may grant access.
    Credential,
    /// A published example value ([`Finding::documented_example`]).
    Example,
    /// A credential-handling problem, not a secret ([`RuleKind::Hygiene`]).
    Note,
}

impl Finding {
    /// What this finding is: a hygiene rule's match is a note, a published
    /// example is an example, anything else a credential.
    pub fn class(&self) -> FindingClass {
        if self.kind == RuleKind::Hygiene {
            FindingClass::Note
        } else if self.documented_example.is_some() {
            FindingClass::Example
        } else {
            FindingClass::Credential
        }
    }

    /// Builds a finding from a match of `rule` at `path`.
    pub fn new(rule: &Rule, path: &str, m: crate::matcher::Match) -> Finding {
        let redacted = if rule.secret {
            redact(&m.secret, rule.public_prefix.as_deref())
        } else {
            m.secret.clone()
        };
        Finding {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            severity: rule.severity,
            kind: rule.kind,
            path: printable_path(path),
            line: m.line,
            column: m.column,
            end_column: m.end_column,
            fingerprint: fingerprint(&rule.id, &m.secret),
            secret: Secret::new(m.secret),
            redacted,
            sensitive: rule.secret,
            key: m.key,
            emails: m.emails,
            account_ids: m.account_ids,
            verify_kind: rule.verify.clone(),
            verification: None,
            commit: None,
            decoded: None,
            documented_example: None,
            example_repeats: 0,
            marker: m.marker,
            suppression: None,
        }
    }

    /// "base64 → api-token": how the secret was decoded and the name it
    /// was stored under, for reports. None for secrets in plain sight.
    pub fn decoded_note(&self) -> Option<String> {
        let how = self.decoded.as_ref()?;
        Some(match &self.key {
            Some(k) => format!("{how} \u{2192} {k}"),
            None => how.to_string(),
        })
    }

    /// True if a suppression covers this finding and was applied.
    pub fn suppressed(&self) -> bool {
        self.suppression
            .as_ref()
            .is_some_and(|s| s.status == SuppressionStatus::Applied)
    }

    /// The secret as reports show it.
    pub fn shown_secret(&self, no_redact: bool) -> &str {
        if no_redact || !self.sensitive {
            self.secret.expose()
        } else {
            &self.redacted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_chains_read_and_serialise_as_their_names() {
        let one = Decoded::new(Encoding::Base64);
        assert_eq!(one.to_string(), "base64");
        let two = one.then(Encoding::Percent).then(Encoding::Escape);
        assert_eq!(two.to_string(), "base64 > percent > escape");
        assert_eq!(
            serde_json::to_string(&two).expect("a string"),
            "\"base64 > percent > escape\""
        );
        assert_eq!(two.encodings()[0], Encoding::Base64);
    }

    #[test]
    fn redaction_shows_prefix_and_tail_only() {
        let s = "cfut_Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo1234d0d5d5e6";
        assert_eq!(redact(s, Some("cfut_")), "cfut_***d5e6");
        assert_eq!(redact("short-value", None), "***");
        assert_eq!(
            format!("{:?}", Secret::new(s.into())),
            "Secret(<57 bytes redacted>)"
        );
        assert!(!format!("{}", Secret::new(s.into())).contains("Q7mK"));
    }

    #[test]
    fn fingerprints_are_stable_and_secret_free() {
        let a = fingerprint("r", "secret-one");
        assert_eq!(a, fingerprint("r", "secret-one"));
        assert_ne!(a, fingerprint("r", "secret-two"));
        assert_ne!(a, fingerprint("q", "secret-one"));
        assert_eq!(a.len(), 32);
        // Secret free: hex of a hash, with no piece of the secret in it, even
        // for a secret that is itself hex of the same length.
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()), "{a}");
        assert!(!a.contains("secret"), "{a}");
        let hex = "0123456789abcdef0123456789abcdef";
        let b = fingerprint("r", hex);
        assert_ne!(b, hex);
        assert!(
            hex.as_bytes()
                .windows(8)
                .all(|w| !b.as_bytes().windows(8).any(|x| x == w)),
            "{b}"
        );
    }
}

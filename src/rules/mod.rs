//! Rules: credential kinds as data.
//!
//! The built-in rules live in `rules/*.toml` and are embedded at build time;
//! a rule file names each credential kind, the patterns that find it and what
//! makes a match credible (checksum, nearby keywords, entropy), and the
//! companions (`[[companion]]`: the values verification needs, such as the
//! email beside a Global API Key, and the regexes that find them) that rules
//! name. This module parses and compiles them; `rules check` checks every
//! rule and companion against its own examples.
//! It knows nothing about files or output: the matcher runs the compiled rules.
//!
//! Stage: rules, data only. It never scans: the matcher runs the rules, and
//! `rules check` is a pipeline driver.

pub mod credibility;
pub mod lead;
pub mod shape;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

use crate::rules::credibility::Credibility;
use crate::rules::shape::SecretShape;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The rule files compiled into the binary, as (file name, contents).
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    (
        "companions.toml",
        include_str!("../../rules/companions.toml"),
    ),
    (
        "cloudflare.toml",
        include_str!("../../rules/cloudflare.toml"),
    ),
    (
        "cloudflare-tools.toml",
        include_str!("../../rules/cloudflare-tools.toml"),
    ),
];

/// The same files as JSON, converted by build.rs: parsing JSON is several
/// times cheaper, and start-up is most of a small scan's time.
const BUILTIN_RULES_JSON: &[(&str, &str)] = &[
    (
        "companions.toml",
        include_str!(concat!(env!("OUT_DIR"), "/companions.json")),
    ),
    (
        "cloudflare.toml",
        include_str!(concat!(env!("OUT_DIR"), "/cloudflare.json")),
    ),
    (
        "cloudflare-tools.toml",
        include_str!(concat!(env!("OUT_DIR"), "/cloudflare-tools.json")),
    ),
];

/// The most a pattern's `near_bytes` may ask for: context checks stay cheap.
const MAX_NEAR_BYTES: usize = 64 * 1024;

/// The most a companion's `window_bytes` and `whole_blob_bytes` may ask
/// for: companions are looked for near every match, and a large file's
/// chunks overlap by more than this ([`crate::scan::large`]).
const MAX_COMPANION_BYTES: usize = 64 * 1024;

/// The most values a companion may keep.
const MAX_COMPANION_VALUES: usize = 64;

/// Compiled regexes are bounded so that a hostile extra rule cannot exhaust
/// memory: the compile fails with a clear error instead.
const REGEX_SIZE_LIMIT: usize = 8 << 20;
const DFA_SIZE_LIMIT: usize = 16 << 20;

/// How far (bytes) the context checks look on each side of a match, whatever
/// the line count says: minified files have enormous lines.
pub const NEAR_BYTES: usize = 2048;

/// Keywords are prefilter literals; longer ones make no sense and would not
/// fit the prefilter's chunk overlap.
pub const MAX_KEYWORD_LEN: usize = 128;

/// How urgent a finding is. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Hygiene problems that are a way to leak, not a leak.
    Low,
    /// Secrets with a narrow reach.
    Medium,
    /// Credentials that reach an account's resources.
    High,
    /// Credentials with every permission of a user.
    Critical,
}

impl Severity {
    /// The lowercase name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a rule finds a credential or a practice that leaks credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A secret that grants access.
    #[default]
    Credential,
    /// A credential-handling problem (plaintext API URL, committed .env...).
    Hygiene,
}

/// An offline check that a candidate is a real credential of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// The last 8 lowercase hex digits are the CRC32 (IEEE) of the 40
    /// characters before them (Cloudflare's scannable formats).
    Crc32,
}

/// A structural check that needs decoding, named in the rule file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    /// base64 of a JSON object with `a` (account tag), `t` (tunnel id) and `s` (secret).
    TunnelToken,
}

/// Which Cloudflare API call can tell whether a candidate is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyKind {
    /// `GET /user/tokens/verify` with a Bearer token.
    UserToken,
    /// `GET /accounts/{id}/tokens/verify`: needs an account id.
    AccountToken,
    /// A pre-2026 token: user endpoint, then the account one if ids are known.
    LegacyToken,
    /// `GET /user` with X-Auth-Key and X-Auth-Email: needs the email.
    GlobalKey,
    /// No safe read-only check; the text says why.
    Unsupported(String),
}

impl<'de> Deserialize<'de> for VerifyKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "user-token" => VerifyKind::UserToken,
            "account-token" => VerifyKind::AccountToken,
            "legacy-token" => VerifyKind::LegacyToken,
            "global-key" => VerifyKind::GlobalKey,
            other => match other.strip_prefix("none:") {
                Some(why) => VerifyKind::Unsupported(why.trim().to_string()),
                None => {
                    return Err(serde::de::Error::custom(format!(
                        "unknown verify kind {other:?} (expected user-token, account-token, \
                         legacy-token, global-key or \"none: <why>\")"
                    )))
                }
            },
        })
    }
}

/// What verification uses a companion's values as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanionKind {
    /// The account email that goes with a Global API Key.
    Email,
    /// 32-hex account ids that account tokens are verified against.
    AccountId,
}

/// A value found near a credential that verification needs (the account's
/// email beside a Global API Key, account ids beside account tokens): a
/// `[[companion]]` of a rule file, compiled. Rules name companions by id;
/// the matcher looks for them near each of the rule's matches.
#[derive(Debug)]
pub struct Companion {
    /// What rules name (`email`, `account_id`).
    pub id: String,
    /// What verification uses the values as.
    pub kind: CompanionKind,
    /// In priority order: the first that finds anything wins. Each has at
    /// least one capture group; a value is the first group that took part.
    regexes: Vec<LazyRegex>,
    /// How far (bytes) it looks on each side of a match.
    pub window_bytes: usize,
    /// Blobs up to this size are searched whole (0: never).
    pub whole_blob_bytes: usize,
    /// At most this many distinct values are kept.
    pub max: usize,
    /// Texts in which it must find `finds` first.
    pub examples: Vec<CompanionExample>,
    /// Texts in which it must find nothing.
    pub negative_examples: Vec<String>,
}

impl Companion {
    /// The regexes, in priority order. Built-in ones are compiled on first
    /// use (tests compile every one), the others when loaded.
    pub fn regexes(&self) -> impl ExactSizeIterator<Item = &Regex> {
        self.regexes.iter().map(LazyRegex::get)
    }
}

/// A companion's example: searched around the whole text, `finds` must be
/// the first value found.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanionExample {
    /// The text searched.
    pub text: String,
    /// The first value the companion must find in it.
    pub finds: String,
}

/// An example in a rule file: plain text, or text with the path it lives at
/// (for rules that look at file names).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Example {
    /// Text scanned as if it were in `example.txt`.
    Text(String),
    /// Text scanned as if it were at `path`.
    AtPath {
        /// Where the example pretends to live.
        path: String,
        /// Its content.
        text: String,
    },
}

impl Example {
    /// The path and text to scan.
    pub fn parts(&self) -> (&str, &str) {
        match self {
            Example::Text(t) => ("example.txt", t),
            Example::AtPath { path, text } => (path, text),
        }
    }
}

/// One way a rule finds its credential.
#[derive(Debug)]
pub struct Pattern {
    /// See [`Pattern::regex`].
    regex: LazyRegex,
    /// Read from the source on first use.
    shape: OnceLock<Option<SecretShape>>,
    /// Compiled on first use, like the regex.
    lead: OnceLock<Option<lead::Lead>>,
    /// Lowercased prefilter keywords for this pattern alone; empty: the rule's.
    pub keywords: Vec<String>,
    /// Lowercased keywords, one of which must be within `near_lines` lines
    /// (or in the path) for a match to count. Empty: no such condition.
    pub near: Vec<String>,
    /// How many lines before and after the match `near` looks at.
    pub near_lines: usize,
    /// How many bytes before and after the match `near` looks at, at most
    /// (minified files have enormous lines). Default 2048.
    pub near_bytes: usize,
    /// Lowercased keywords, one of which must be somewhere in the blob or its path.
    pub in_file: Vec<String>,
    /// The pattern only applies to paths this matches.
    pub path: Option<LazyRegex>,
    /// Texts the rule must find.
    pub examples: Vec<Example>,
    /// Texts the rule must not find.
    pub negative_examples: Vec<Example>,
}

impl Pattern {
    /// Where this pattern's secret can be, when windows around runs of its
    /// characters hold every match (see [`crate::rules::shape`]).
    pub fn shape(&self) -> Option<&SecretShape> {
        self.shape
            .get_or_init(|| SecretShape::of(self.regex.source()))
            .as_ref()
    }

    /// What must stand right before the secret, when it can rule out runs
    /// before the regex runs (see [`crate::rules::lead`]).
    pub fn lead(&self) -> Option<&lead::Lead> {
        self.lead
            .get_or_init(|| self.shape()?.lead_of(self.regex.source()))
            .as_ref()
    }

    /// The regex: has a `secret` group, and maybe a `key` group (the name the
    /// secret is assigned to). Built-in patterns are compiled on first use
    /// (tests compile every one); patterns from other files were compiled
    /// when loaded, so this cannot fail for them either.
    pub fn regex(&self) -> &Regex {
        self.regex.get()
    }

    /// The regex's source, uncompiled (for a digest of the rule set).
    pub fn source(&self) -> &str {
        self.regex.source()
    }
}

/// A regex compiled on first use, so that a scan never pays for the rules
/// its prefilter rules out: compiling every built-in regex took more time
/// than a pre-commit hook's whole scan of a small change.
#[derive(Debug)]
pub struct LazyRegex {
    source: String,
    compiled: OnceLock<Regex>,
}

impl LazyRegex {
    /// Compiled now when `eager` (rules from users: a bad regex is an error
    /// at load time), else on first use.
    fn new(source: String, eager: bool, what: &str) -> Result<LazyRegex, String> {
        let compiled = OnceLock::new();
        if eager {
            let _ = compiled.set(compile_regex(&source, what)?);
        }
        Ok(LazyRegex { source, compiled })
    }

    /// Compiles it now if not yet done.
    fn compile(&self, what: &str) -> Result<&Regex, String> {
        if let Some(r) = self.compiled.get() {
            return Ok(r);
        }
        let regex = compile_regex(&self.source, what)?;
        Ok(self.compiled.get_or_init(|| regex))
    }

    /// The source, with fragments expanded.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compiled regex. Built-in regexes are all compiled by the tests
    /// and those from other files when loaded, so this cannot fail for a
    /// loaded rule; if it did, a regex that matches nothing keeps a broken
    /// pattern from taking the scan down.
    pub fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            compile_regex(&self.source, "regex").unwrap_or_else(|_| {
                RegexBuilder::new(r"[^\x00-\xff]")
                    .unicode(false)
                    .build()
                    .expect("a fixed, valid regex")
            })
        })
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable id (`kf.cloudflare.user-api-token`), used in reports and allow comments.
    pub id: String,
    /// Human name.
    pub name: String,
    /// What it finds, in one sentence.
    pub description: String,
    /// How urgent a finding is.
    pub severity: Severity,
    /// Credential or hygiene.
    pub kind: RuleKind,
    /// When two rules find the same text, the higher priority wins.
    pub priority: i32,
    /// Literals (case-insensitive) one of which must be in the blob or its path
    /// before the rule's regexes run: the prefilter.
    pub keywords: Vec<String>,
    /// The public part of the secret that redaction may show (`cfut_`).
    pub public_prefix: Option<String>,
    /// Offline checksum a match must pass.
    pub checksum: Option<Checksum>,
    /// Structural check a match must pass.
    pub validator: Option<Validator>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub min_entropy: Option<f64>,
    /// Checks that tell a random value from a name or a piece of a longer
    /// run (`max_word_share`, `not_like_key`, `not_cut`).
    pub credibility: Credibility,
    /// A match whose `key` group matches this is not a credential (zone ids...).
    pub deny_keys: Option<LazyRegex>,
    /// The rule only applies to paths this matches.
    pub path: Option<LazyRegex>,
    /// False for hygiene rules whose match is not secret (a URL): not redacted.
    pub secret: bool,
    /// What reports call the match ("header", "url"): a hygiene rule's match
    /// is not a secret and must not read as one. None: "secret".
    pub shown_as: Option<String>,
    /// Hygiene rules only: one note per file naming the keys it matched, not
    /// one per line, and values plainly not secret dropped (see
    /// [`crate::pipeline::filter::notes`]).
    pub per_file: bool,
    /// How verification checks it.
    pub verify: VerifyKind,
    /// What to collect near a match for verification: indexes into
    /// [`RuleSet::companions`], in the order the rule names them.
    pub companions: Vec<usize>,
    /// One or two lines: what to do.
    pub remediation: String,
    /// The full plan, as ordered steps.
    pub steps: Vec<String>,
    /// Documentation links.
    pub references: Vec<String>,
    /// The ways the rule finds its credential.
    pub patterns: Vec<Pattern>,
}

/// All rules, in load order.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Companions of the files loaded so far: a later file's rules may name them.
    companions: Vec<Companion>,
    /// Fragments of the files loaded so far: a later file may use them.
    fragments: BTreeMap<String, String>,
}

/// A rule example that did not behave: the text of a `keyflare rules check` failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule (or `companion <id>`).
    pub rule_id: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule_id, self.message)
    }
}

fn compile_regex(pattern: &str, what: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        // ASCII semantics: secrets are ASCII, and Unicode word boundaries
        // would force the slow engines on non-ASCII input.
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("{what}: bad regex: {e}"))
}

mod load;

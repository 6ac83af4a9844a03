//! Rules: credential kinds as data.
//!
//! The built-in rules live in `rules/*.toml` and are embedded at build time;
//! a rule file names each credential kind, the patterns that find it and what
//! makes a match credible (checksum, nearby keywords, entropy). This module
//! parses and compiles them and checks every rule against its own examples.
//! It knows nothing about files or output: the matcher runs the compiled rules.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

use crate::credibility::Credibility;
use crate::shape::SecretShape;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The rule files compiled into the binary, as (file name, contents).
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    ("cloudflare.toml", include_str!("../rules/cloudflare.toml")),
    (
        "cloudflare-tools.toml",
        include_str!("../rules/cloudflare-tools.toml"),
    ),
];

/// The same files as JSON, converted by build.rs: parsing JSON is several
/// times cheaper, and start-up is most of a small scan's time.
const BUILTIN_RULES_JSON: &[(&str, &str)] = &[
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

/// Compiled regexes are bounded so that a hostile extra rule cannot exhaust
/// memory: the compile fails with a clear error instead.
const REGEX_SIZE_LIMIT: usize = 8 << 20;
const DFA_SIZE_LIMIT: usize = 16 << 20;
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

/// Values found near a credential that verification needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Companion {
    /// The account email that goes with a Global API Key.
    Email,
    /// 32-hex account ids that account tokens are verified against.
    AccountId,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    fragments: BTreeMap<String, String>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    name: String,
    description: String,
    severity: Severity,
    #[serde(default)]
    kind: RuleKind,
    #[serde(default)]
    priority: i32,
    keywords: Vec<String>,
    #[serde(default)]
    public_prefix: Option<String>,
    #[serde(default)]
    checksum: Option<Checksum>,
    #[serde(default)]
    validator: Option<Validator>,
    #[serde(default)]
    min_entropy: Option<f64>,
    #[serde(default)]
    max_word_share: Option<f64>,
    #[serde(default)]
    not_like_key: bool,
    #[serde(default)]
    not_cut: bool,
    #[serde(default)]
    deny_keys: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default = "default_true")]
    secret: bool,
    #[serde(default)]
    shown_as: Option<String>,
    #[serde(default)]
    per_file: bool,
    #[serde(default)]
    verify: Option<VerifyKind>,
    #[serde(default)]
    companions: Vec<Companion>,
    remediation: String,
    #[serde(default)]
    steps: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    patterns: Vec<PatternDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternDef {
    regex: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    near: Vec<String>,
    #[serde(default = "default_near_lines")]
    near_lines: usize,
    #[serde(default = "default_near_bytes")]
    near_bytes: usize,
    #[serde(default)]
    in_file: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    examples: Vec<Example>,
    #[serde(default)]
    negative_examples: Vec<Example>,
}

fn default_true() -> bool {
    true
}

fn default_near_lines() -> usize {
    5
}

fn default_near_bytes() -> usize {
    crate::matcher::NEAR_BYTES
}

/// One way a rule finds its credential.
#[derive(Debug)]
pub struct Pattern {
    /// See [`Pattern::regex`].
    regex: LazyRegex,
    /// Read from the source on first use.
    shape: OnceLock<Option<SecretShape>>,
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
    /// characters hold every match (see [`crate::shape`]).
    pub fn shape(&self) -> Option<&SecretShape> {
        self.shape
            .get_or_init(|| SecretShape::of(self.regex.source()))
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
    /// [`crate::notes`]).
    pub per_file: bool,
    /// How verification checks it.
    pub verify: VerifyKind,
    /// What to collect near a match for verification.
    pub companions: Vec<Companion>,
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
    /// Fragments of the files loaded so far: a later file may use them.
    fragments: BTreeMap<String, String>,
}

impl RuleSet {
    /// The rules embedded in the binary.
    pub fn builtin() -> Result<RuleSet, Error> {
        let mut set = RuleSet {
            rules: Vec::new(),
            fragments: BTreeMap::new(),
        };
        for (name, json) in BUILTIN_RULES_JSON {
            let file = serde_json::from_str(json).map_err(|e| Error::Rules {
                file: name.to_string(),
                message: e.to_string(),
            })?;
            set.add_parsed(name, file, false)?;
        }
        Ok(set)
    }

    /// Parses a rule file and adds its rules; ids must stay unique. The
    /// file may use the fragments of files added before it, but not redefine
    /// them.
    pub fn add_file(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let file: RuleFile = toml::from_str(text).map_err(|e| Error::Rules {
            file: name.to_string(),
            message: e.to_string(),
        })?;
        // Rules from users are compiled now: a regex over the size limits is
        // a clear error at load time, not a surprise during the scan.
        self.add_parsed(name, file, true)
    }

    fn add_parsed(&mut self, name: &str, file: RuleFile, eager: bool) -> Result<(), Error> {
        let mut fragments = self.fragments.clone();
        for (k, v) in file.fragments {
            if fragments.get(&k).is_some_and(|old| *old != v) {
                return Err(Error::Rules {
                    file: name.to_string(),
                    message: format!("fragment {k} is already defined differently"),
                });
            }
            fragments.insert(k, v);
        }
        let mut seen: HashSet<String> = self.rules.iter().map(|r| r.id.clone()).collect();
        for def in file.rules {
            let rule = compile_rule(def, &fragments, eager).map_err(|message| Error::Rules {
                file: name.to_string(),
                message,
            })?;
            if !seen.insert(rule.id.clone()) {
                return Err(Error::Rules {
                    file: name.to_string(),
                    message: format!("duplicate rule id {}", rule.id),
                });
            }
            self.rules.push(rule);
        }
        self.fragments = fragments;
        Ok(())
    }

    /// Drops the rules whose ids are listed.
    pub fn disable(&mut self, ids: &[String]) {
        self.rules.retain(|r| !ids.contains(&r.id));
    }

    /// Compiles every regex now (built-in ones are otherwise compiled on
    /// first use) and checks each pattern has a `secret` group: `keyflare
    /// rules check` and the tests call it.
    pub fn compile_all(&self) -> Result<(), Error> {
        let bad = |message: String| Error::Rules {
            file: "(built-in)".to_string(),
            message,
        };
        for rule in &self.rules {
            for (what, lazy) in [("deny_keys", &rule.deny_keys), ("path", &rule.path)] {
                if let Some(lazy) = lazy {
                    lazy.compile(&format!("rule {} {what}", rule.id))
                        .map_err(bad)?;
                }
            }
            for (i, p) in rule.patterns.iter().enumerate() {
                let what = format!("rule {} pattern {}", rule.id, i + 1);
                let regex = p.regex.compile(&what).map_err(bad)?;
                if !regex.capture_names().any(|n| n == Some("secret")) {
                    return Err(bad(format!("{what}: needs a capture group named `secret`")));
                }
                if let Some(path) = &p.path {
                    path.compile(&format!("{what} path")).map_err(bad)?;
                }
            }
        }
        Ok(())
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

fn expand(text: &str, fragments: &BTreeMap<String, String>, what: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{what}: unclosed {{{{ in pattern"))?;
        let name = &after[..end];
        // `${{ secrets.X }}`-like text in a pattern is not a fragment.
        match fragments.get(name) {
            Some(f) => out.push_str(f),
            None if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                return Err(format!("{what}: unknown fragment {{{{{name}}}}}"));
            }
            None => {
                out.push_str("{{");
                out.push_str(name);
                out.push_str("}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
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

fn compile_rule(
    def: RuleDef,
    fragments: &BTreeMap<String, String>,
    eager: bool,
) -> Result<Rule, String> {
    let id = def.id.clone();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    {
        return Err(format!("rule id {id:?} must be non-empty [A-Za-z0-9._-]"));
    }
    if def.patterns.is_empty() {
        return Err(format!("rule {id}: no patterns"));
    }
    if def.keywords.is_empty() || def.keywords.iter().any(|k| k.is_empty()) {
        return Err(format!(
            "rule {id}: needs non-empty keywords (the prefilter)"
        ));
    }
    let mut patterns = Vec::new();
    for (i, p) in def.patterns.into_iter().enumerate() {
        let what = format!("rule {id} pattern {}", i + 1);
        let source = expand(&p.regex, fragments, &what)?;
        let regex = LazyRegex::new(source, eager, &what)?;
        let has_secret = match regex.compiled.get() {
            Some(r) => r.capture_names().any(|n| n == Some("secret")),
            None => regex.source.contains("(?P<secret>") || regex.source.contains("(?<secret>"),
        };
        if !has_secret {
            return Err(format!("{what}: needs a capture group named `secret`"));
        }
        let path = match p.path {
            Some(p) => Some(LazyRegex::new(p, eager, &format!("{what} path"))?),
            None => None,
        };
        if p.near_bytes == 0 || p.near_bytes > MAX_NEAR_BYTES {
            return Err(format!(
                "{what}: near_bytes must be between 1 and {MAX_NEAR_BYTES}"
            ));
        }
        patterns.push(Pattern {
            regex,
            shape: OnceLock::new(),
            keywords: p.keywords.iter().map(|k| k.to_ascii_lowercase()).collect(),
            near: p.near.iter().map(|k| k.to_ascii_lowercase()).collect(),
            near_lines: p.near_lines,
            near_bytes: p.near_bytes,
            in_file: p.in_file.iter().map(|k| k.to_ascii_lowercase()).collect(),
            path,
            examples: p.examples,
            negative_examples: p.negative_examples,
        });
    }
    let deny_keys = match def.deny_keys {
        Some(d) => {
            let what = format!("rule {id} deny_keys");
            Some(LazyRegex::new(expand(&d, fragments, &what)?, eager, &what)?)
        }
        None => None,
    };
    let path = match def.path {
        Some(p) => Some(LazyRegex::new(p, eager, &format!("rule {id} path"))?),
        None => None,
    };
    Ok(Rule {
        id: def.id,
        name: def.name,
        description: def.description,
        severity: def.severity,
        kind: def.kind,
        priority: def.priority,
        keywords: def
            .keywords
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect(),
        public_prefix: def.public_prefix,
        checksum: def.checksum,
        validator: def.validator,
        min_entropy: def.min_entropy,
        credibility: Credibility {
            max_word_share: def.max_word_share,
            not_like_key: def.not_like_key,
            not_cut: def.not_cut,
        },
        deny_keys,
        path,
        secret: def.secret,
        shown_as: def.shown_as,
        per_file: def.per_file,
        verify: def
            .verify
            .unwrap_or_else(|| VerifyKind::Unsupported("no check defined for this rule".into())),
        companions: def.companions,
        remediation: def.remediation,
        steps: def.steps,
        references: def.references,
        patterns,
    })
}

/// A rule example that did not behave: the text of a `keyflare rules check` failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule.
    pub rule_id: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule_id, self.message)
    }
}

/// Runs every rule over its own examples: each positive example must yield a
/// finding of that rule, each negative example none. Also checks that every
/// rule has at least one of each.
///
/// Examples go through the whole scan stage (decoding included), so an
/// example may show a credential in its encoded form.
pub fn check_examples(set: &RuleSet) -> Vec<ExampleFailure> {
    if let Err(e) = set.compile_all() {
        return vec![ExampleFailure {
            rule_id: "(compile)".to_string(),
            message: e.to_string(),
        }];
    }
    let scanner = crate::scan::Scanner::new(set, crate::scan::ScanOptions::default());
    let stats = crate::source::Stats::default();
    let found_by = |path: &str, text: &str, id: &str, focus: Option<Range<usize>>| {
        let focus = focus.as_ref().map(std::slice::from_ref);
        scanner
            .scan_focused(path, text.as_bytes(), focus, &stats)
            .iter()
            .any(|f| f.rule_id == id)
    };
    let mut failures = Vec::new();
    for rule in set.rules() {
        let fail = |message: String| ExampleFailure {
            rule_id: rule.id.clone(),
            message,
        };
        let positives: usize = rule.patterns.iter().map(|p| p.examples.len()).sum();
        let negatives: usize = rule
            .patterns
            .iter()
            .map(|p| p.negative_examples.len())
            .sum();
        if positives == 0 {
            failures.push(fail("has no examples".into()));
        }
        if negatives == 0 {
            failures.push(fail("has no negative_examples".into()));
        }
        // Each credibility check must be what keeps one of the rule's
        // negative examples out: a check no example exercises is untested.
        for check in rule.credibility.checks() {
            let exercised = rule.patterns.iter().any(|p| {
                p.negative_examples.iter().any(|ex| {
                    let text = ex.parts().1.as_bytes();
                    p.regex().captures_iter(text).any(|c| {
                        let key = c.name("key").map(|k| k.as_bytes());
                        c.name("secret").is_some_and(|m| {
                            !rule
                                .credibility
                                .passes(check, text, m.start(), m.end(), key)
                        })
                    })
                })
            });
            if !exercised {
                failures.push(fail(format!(
                    "{} rejects none of the negative examples",
                    check.name()
                )));
            }
        }
        for (pi, pattern) in rule.patterns.iter().enumerate() {
            // Each example alone, then in the middle of a large file (where
            // the matcher searches only windows around likely secrets), then
            // there as the only lines a change added.
            for ex in &pattern.examples {
                let (path, text) = ex.parts();
                let (big, at) = padded(text);
                let added = at..at + text.len();
                for (how, text, focus) in [
                    ("", text.to_string(), None),
                    (" inside a large file", big.clone(), None),
                    (" as lines added to a large file", big, Some(added)),
                ] {
                    if !found_by(path, &text, &rule.id, focus) {
                        failures.push(fail(format!(
                            "pattern {} example not found{how}: {:?}",
                            pi + 1,
                            abbreviate(ex.parts().1)
                        )));
                    }
                }
            }
            for ex in &pattern.negative_examples {
                let (path, text) = ex.parts();
                for (alone, text) in [(true, text.to_string()), (false, padded(text).0)] {
                    if found_by(path, &text, &rule.id, None) {
                        failures.push(fail(format!(
                            "pattern {} negative example was found{}: {:?}",
                            pi + 1,
                            if alone { "" } else { " inside a large file" },
                            abbreviate(ex.parts().1)
                        )));
                    }
                }
            }
        }
    }
    failures
}

/// `text` between two 12 KB stretches of ordinary code, with long hex and
/// identifier runs (what the matcher's windows are built around) but no
/// credential or keyword; and where `text` starts in it.
fn padded(text: &str) -> (String, usize) {
    let filler: String = (0..200)
        .map(|i| {
            format!(
                "fn helper_{i}(value: &str) -> usize {{ value.len() * {i} }}\n\
                 const DIGEST_{i}: &str = \"{:064x}\";\n",
                (i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
            )
        })
        .collect();
    (format!("{filler}{text}\n{filler}"), filler.len())
}

fn abbreviate(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_expand_and_unknown_ones_fail() {
        let mut f = BTreeMap::new();
        f.insert("a".to_string(), "x+".to_string());
        assert_eq!(expand("^{{a}}$", &f, "t").unwrap(), "^x+$");
        assert!(expand("{{b}}", &f, "t").is_err());
        assert!(expand("{{a", &f, "t").is_err());
    }

    #[test]
    fn builtin_rules_from_json_are_the_toml_files() {
        let mut from_toml = RuleSet {
            rules: Vec::new(),
            fragments: BTreeMap::new(),
        };
        for (name, text) in BUILTIN_RULE_FILES {
            let file: RuleFile = toml::from_str(text).unwrap();
            from_toml.add_parsed(name, file, false).unwrap();
        }
        let builtin = RuleSet::builtin().unwrap();
        assert!(builtin.rules().len() > 10);
        // Nothing compiled in either: Debug shows every field as loaded.
        assert_eq!(format!("{builtin:?}"), format!("{from_toml:?}"));
    }

    #[test]
    fn bad_rule_files_are_clear_errors() {
        let mut set = RuleSet {
            rules: Vec::new(),
            fragments: BTreeMap::new(),
        };
        let err = set.add_file("x.toml", "[[rule]]\nid = 1").unwrap_err();
        assert!(err.to_string().contains("x.toml"), "{err}");
        let no_secret_group = r#"
[[rule]]
id = "t.x"
name = "x"
description = "x"
severity = "low"
keywords = ["x"]
remediation = "x"
[[rule.patterns]]
regex = 'x+'
"#;
        let err = set.add_file("y.toml", no_secret_group).unwrap_err();
        assert!(err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn later_files_use_earlier_fragments_but_cannot_redefine_them() {
        let mut set = RuleSet::builtin().unwrap();
        let uses = r#"
[[rule]]
id = "t.frag"
name = "x"
description = "x"
severity = "low"
keywords = ["x"]
remediation = "x"
[[rule.patterns]]
regex = 'k{{assign}}(?P<secret>x+){{end}}'
"#;
        set.add_file("uses.toml", uses).unwrap();
        let redefines = "[fragments]\nend = 'z'\n";
        let err = set.add_file("redef.toml", redefines).unwrap_err();
        assert!(err.to_string().contains("fragment end"), "{err}");
        let near_bytes = uses
            .replace("t.frag", "t.near")
            .replace("regex =", "near_bytes = 0\nregex =");
        let err = set.add_file("near.toml", &near_bytes).unwrap_err();
        assert!(err.to_string().contains("near_bytes"), "{err}");
    }

    #[test]
    fn user_regexes_fail_at_load_builtin_ones_compile_on_use() {
        let rule = |extra: &str| {
            format!(
                "[[rule]]\nid = \"t.lazy\"\nname = \"x\"\ndescription = \"x\"\n\
                 severity = \"low\"\nkeywords = [\"x\"]\nremediation = \"x\"\n{extra}\n\
                 [[rule.patterns]]\nregex = '(?P<key>k)=(?P<secret>x+)'\n"
            )
        };
        for extra in ["path = '('", "deny_keys = '['"] {
            let mut set = RuleSet::builtin().unwrap();
            let err = set.add_file("u.toml", &rule(extra)).unwrap_err();
            assert!(err.to_string().contains("bad regex"), "{extra}: {err}");
        }
        let set = RuleSet::builtin().unwrap();
        let lazies = || {
            set.rules().iter().flat_map(|r| {
                let own = [&r.deny_keys, &r.path].into_iter().flatten();
                let patterns = r
                    .patterns
                    .iter()
                    .flat_map(|p| std::iter::once(&p.regex).chain(&p.path));
                own.chain(patterns)
            })
        };
        assert!(lazies().count() > set.rules().len());
        assert!(lazies().all(|l| l.compiled.get().is_none()));
        set.compile_all().unwrap();
        assert!(lazies().all(|l| l.compiled.get().is_some()));
    }

    #[test]
    fn exploding_regex_is_refused() {
        let err = compile_regex("(?:a{100}){100}{100}", "t").unwrap_err();
        assert!(err.contains("bad regex"), "{err}");
    }
}

//! Team configuration: `keyflare.toml` at the scan root, or `--config FILE`.
//!
//! ```toml
//! exclude = ["vendor/**", "*.min.js"]        # paths whose findings are suppressed (globs)
//! disable_rules = ["kf.cloudflare.hygiene.global-key-auth"]
//! allow_values = ["cfut_..."]                # exact secrets that are not findings
//! allow_patterns = ['^cfut_Test']            # regexes over the secret
//! verify = false                             # default for --verify
//! fail_on = "any"                            # default for --fail-on ("any,notes", "all"...)
//! vendored_notes = false                     # default for --vendored-notes
//! baseline = ".keyflare-baseline.json"        # default for --baseline (relative to this file)
//! strict_examples = false                    # default for --strict-examples
//!
//! [[rule]]                                   # extra rules, as in rules/*.toml
//! id = "acme.internal-cf-proxy-token"
//! ...
//! [[companion]]                              # extra companions, as in rules/companions.toml
//! ...
//! ```
//! A bad file is an error naming the file, the line and what is wrong.
//!
//! Pipeline, filter stage: reads its own file only; never a source, never a
//! renderer.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use crate::error::Error;
use crate::finding::Finding;
use crate::rules::RuleSet;

/// The file looked for at the scan root when `--config` is not given.
pub const DEFAULT_FILE: &str = "keyflare.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    disable_rules: Vec<String>,
    #[serde(default)]
    allow_values: Vec<String>,
    #[serde(default)]
    allow_patterns: Vec<String>,
    #[serde(default)]
    verify: Option<bool>,
    #[serde(default)]
    fail_on: Option<String>,
    #[serde(default)]
    vendored_notes: Option<bool>,
    baseline: Option<PathBuf>,
    strict_examples: Option<bool>,
    // Parsed by the rule loader.
    #[serde(default)]
    rule: Option<toml::Value>,
    #[serde(default)]
    companion: Option<toml::Value>,
    #[serde(default)]
    fragments: Option<toml::Value>,
}

/// A loaded configuration.
#[derive(Debug, Default)]
pub struct Config {
    /// Where it came from, if anywhere.
    pub path: Option<PathBuf>,
    /// Globs of paths whose findings are suppressed (still scanned).
    pub exclude: Vec<String>,
    /// The same globs compiled once, for [`Config::excludes`].
    exclude_set: Exclude,
    /// Rule ids to drop.
    pub disable_rules: Vec<String>,
    allow_values: Vec<String>,
    allow_patterns: Vec<Regex>,
    /// `allow_patterns` as written, in the same order.
    allow_pattern_texts: Vec<String>,
    /// The file's text, for the line of an entry ([`Config::line_of`]).
    text: String,
    /// Default for `--verify`.
    pub verify: Option<bool>,
    /// Default for `--fail-on` (validated on load, with the flag's parser).
    pub fail_on: Option<String>,
    /// Default for `--vendored-notes`.
    pub vendored_notes: Option<bool>,
    /// Default for `--baseline`, resolved against the configuration file's
    /// directory: a committed baseline applies wherever the scan starts.
    pub baseline: Option<PathBuf>,
    /// Default for `--strict-examples`.
    pub strict_examples: Option<bool>,
    rules_text: Option<String>,
}

impl Config {
    /// Loads `explicit` if given (it must exist), else `keyflare.toml` in
    /// `root` if present, else the empty configuration.
    pub fn load(explicit: Option<&Path>, root: Option<&Path>) -> Result<Config, Error> {
        let path = match (explicit, root) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(r)) if r.join(DEFAULT_FILE).is_file() => r.join(DEFAULT_FILE),
            _ => return Ok(Config::default()),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Path {
            path: path.clone(),
            source,
        })?;
        Config::parse(&text, &path)
    }

    /// Parses configuration text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
        let bad = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let file: ConfigFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let allow_patterns = file
            .allow_patterns
            .iter()
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| bad(format!("allow_patterns: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let exclude_set = Exclude::new(&file.exclude).map_err(|e| bad(format!("exclude: {e}")))?;
        if let Some(f) = &file.fail_on {
            parse_fail_on(f).map_err(|e| bad(format!("fail_on: {e}")))?;
        }
        let rules_text =
            if file.rule.is_some() || file.companion.is_some() || file.fragments.is_some() {
                let mut t = toml::map::Map::new();
                if let Some(r) = file.rule {
                    t.insert("rule".into(), r);
                }
                if let Some(c) = file.companion {
                    t.insert("companion".into(), c);
                }
                if let Some(f) = file.fragments {
                    t.insert("fragments".into(), f);
                }
                Some(toml::to_string(&toml::Value::Table(t)).map_err(|e| bad(e.to_string()))?)
            } else {
                None
            };
        Ok(Config {
            path: Some(path.to_path_buf()),
            exclude: file.exclude,
            exclude_set,
            disable_rules: file.disable_rules,
            allow_values: file.allow_values,
            allow_patterns,
            allow_pattern_texts: file.allow_patterns,
            text: text.to_string(),
            verify: file.verify,
            fail_on: file.fail_on,
            vendored_notes: file.vendored_notes,
            baseline: file
                .baseline
                .map(|b| path.parent().map_or_else(|| b.clone(), |dir| dir.join(&b))),
            strict_examples: file.strict_examples,
            rules_text,
        })
    }

    /// Adds the configuration's extra rules and drops its disabled ones.
    pub fn apply_to_rules(&self, rules: &mut RuleSet) -> Result<(), Error> {
        if let (Some(text), Some(path)) = (&self.rules_text, &self.path) {
            rules.add_file(&path.display().to_string(), text)?;
        }
        for id in &self.disable_rules {
            if rules.get(id).is_none() {
                return Err(Error::Config {
                    path: self.path.clone().unwrap_or_default(),
                    message: format!("disable_rules: no rule {id:?} (`keyflare rules` lists them)"),
                });
            }
        }
        rules.disable(&self.disable_rules);
        Ok(())
    }

    /// True if the finding's secret is allowlisted.
    pub fn allows(&self, f: &Finding) -> bool {
        self.allow_hit(f).is_some()
    }

    /// The entry that allowlists the finding's secret, if any.
    pub fn allow_hit(&self, f: &Finding) -> Option<AllowHit<'_>> {
        let s = f.secret.expose();
        if let Some(v) = self.allow_values.iter().find(|v| *v == s) {
            return Some(AllowHit {
                key: "allow_values",
                entry: v,
            });
        }
        let i = self.allow_patterns.iter().position(|p| p.is_match(s))?;
        Some(AllowHit {
            key: "allow_patterns",
            entry: self.allow_pattern_texts.get(i)?,
        })
    }

    /// `allow_values` as written (secrets: never to be shown).
    pub fn allow_values(&self) -> &[String] {
        &self.allow_values
    }

    /// `allow_patterns` as written.
    pub fn allow_pattern_texts(&self) -> &[String] {
        &self.allow_pattern_texts
    }

    /// True if `path` (relative, `/`-separated) is excluded.
    /// The globs were compiled into one set when the file was loaded:
    /// compiling them per call took most of the filter's time.
    pub fn excludes(&self, path: &str) -> bool {
        self.exclude_set.matches(path)
    }

    /// The first `exclude` glob that matches `path`, if any.
    pub fn exclude_hit(&self, path: &str) -> Option<&str> {
        let i = self.exclude_set.first_match(path)?;
        self.exclude.get(i).map(String::as_str)
    }

    /// The 1-based line of the file where `entry` is first written, if it is.
    pub fn line_of(&self, entry: &str) -> Option<usize> {
        if entry.is_empty() {
            return None;
        }
        self.text
            .lines()
            .position(|l| l.contains(entry))
            .map(|i| i + 1)
    }
}

/// The `exclude` globs compiled once, matching as [`Config::excludes`] does,
/// in every kind of scan (tree, history, range, staged), and as a
/// `.gitignore` line would: a glob that matches a directory covers
/// everything under it (`node_modules`, `vendor/`), a glob without a `/`
/// matches at any depth (`*.min.js`, `secrets.env`), a leading `/` anchors
/// it to the root, a trailing `/` matches directories only; `*` also
/// crosses `/`, as `exclude` always did. Excluded paths are still read:
/// their findings are kept as suppressed ([`super::suppress`]).
#[derive(Clone, Debug, Default)]
pub struct Exclude {
    set: globset::GlobSet,
    /// Per compiled glob: the entry it comes from, and whether it matches
    /// directories only.
    from: Vec<(usize, bool)>,
}

impl Exclude {
    /// Compiles `globs`.
    pub fn new(globs: &[String]) -> Result<Exclude, globset::Error> {
        let mut set = globset::GlobSetBuilder::new();
        let mut from = Vec::new();
        for (i, g) in globs.iter().enumerate() {
            let mut text = g.as_str();
            let dir_only = text.len() > 1 && text.ends_with('/');
            if dir_only {
                text = &text[..text.len() - 1];
            }
            let anchored = text.len() > 1 && text.starts_with('/');
            if anchored {
                text = &text[1..];
            }
            let mut variants = vec![text.to_string()];
            if !anchored && !text.contains('/') {
                variants.push(format!("**/{text}"));
            }
            for v in variants {
                set.add(
                    globset::GlobBuilder::new(&v)
                        .literal_separator(false)
                        .build()?,
                );
                from.push((i, dir_only));
            }
        }
        Ok(Exclude {
            set: set.build()?,
            from,
        })
    }

    /// True if `path` (relative to the scan root, `/`-separated) or a
    /// directory or archive above it matches.
    pub fn matches(&self, path: &str) -> bool {
        self.first_match(path).is_some()
    }

    /// The index of the first glob that matches `path` or a directory or
    /// archive above it.
    pub fn first_match(&self, path: &str) -> Option<usize> {
        if self.set.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        let mut consider = |candidate: &str, is_dir: bool| {
            for k in self.set.matches(candidate) {
                let (i, dir_only) = self.from[k];
                if is_dir || !dir_only {
                    best = Some(best.map_or(i, |b| b.min(i)));
                }
            }
        };
        consider(path, false);
        for (at, sep) in path.match_indices(['/', '!']) {
            // An archive's member (`bundle.zip!a/.env`) is excluded with
            // the archive, a file: as a directory's files are with it.
            if at > 0 {
                consider(&path[..at], sep == "/");
            }
        }
        best
    }
}

/// The configuration entry that allowlists a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowHit<'c> {
    /// `allow_values` or `allow_patterns`.
    pub key: &'static str,
    /// The entry as written (for `allow_values`, the secret: never shown).
    pub entry: &'c str,
}

/// Which credentials fail the run (`--fail-on any|active|none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOnCredentials {
    /// Any credential.
    Any,
    /// Only credentials verification found live.
    Active,
    /// None.
    None,
}

/// What makes the exit code 1: a level for credentials, and whether
/// documented examples and hygiene notes count too (by default they don't:
/// they are not leaks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailPolicy {
    /// Which credentials.
    pub credentials: FailOnCredentials,
    /// Documented example values fail too.
    pub examples: bool,
    /// Hygiene notes fail too.
    pub notes: bool,
}

impl Default for FailPolicy {
    fn default() -> FailPolicy {
        FailPolicy {
            credentials: FailOnCredentials::Any,
            examples: false,
            notes: false,
        }
    }
}

impl FailPolicy {
    /// Whether `f` makes the run fail.
    pub fn fails(&self, f: &Finding) -> bool {
        use crate::finding::FindingClass;
        match f.class() {
            FindingClass::Credential => match self.credentials {
                FailOnCredentials::Any => true,
                FailOnCredentials::Active => f
                    .verification
                    .as_ref()
                    .is_some_and(|v| v.status == crate::verify::VerifyStatus::Active),
                FailOnCredentials::None => false,
            },
            FindingClass::Example => self.examples,
            FindingClass::Note => self.notes,
        }
    }
}

/// Parses `--fail-on` and the `fail_on` key: `any`, `active` or `none` for
/// credentials (at most one; default any), plus `examples` and/or `notes`,
/// comma-separated; `all` is `any,examples,notes`.
pub fn parse_fail_on(s: &str) -> Result<FailPolicy, String> {
    let mut policy = FailPolicy::default();
    let mut level: Option<&str> = None;
    for word in s.split(',').map(str::trim) {
        match word {
            "any" | "active" | "none" | "all" => match level.replace(word) {
                Some(prev) if prev != word => {
                    return Err(format!(
                        "--fail-on takes one of any, active, none (or all), got both {prev} and {word}"
                    ))
                }
                _ => {}
            },
            "examples" | "example" => policy.examples = true,
            "notes" | "note" => policy.notes = true,
            other => {
                return Err(format!(
                    "unknown --fail-on value {other:?}: use any, active or none, plus examples and/or notes (comma-separated), or all"
                ))
            }
        }
    }
    policy.credentials = match level {
        Some("active") => FailOnCredentials::Active,
        Some("none") => FailOnCredentials::None,
        _ => FailOnCredentials::Any,
    };
    if level == Some("all") {
        policy.examples = true;
        policy.notes = true;
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_and_line() {
        let err = Config::parse("exclude = [\n  3,\n]\n", Path::new("k.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("k.toml") && msg.contains("line 2"), "{msg}");
        let err = Config::parse("colour = 1\n", Path::new("k.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let err = Config::parse("fail_on = \"sometimes\"\n", Path::new("k.toml")).unwrap_err();
        assert!(err.to_string().contains("fail_on"), "{err}");
    }

    #[test]
    fn excludes_and_allows() {
        let c = Config::parse(
            "exclude = [\"vendor/**\", \"*.min.js\"]\nallow_patterns = ['^cfut_Q7mK']\n",
            Path::new("k.toml"),
        )
        .unwrap();
        assert!(c.excludes("vendor/a/b.txt"));
        assert!(c.excludes("web/app.min.js"));
        assert!(!c.excludes("src/main.rs"));
        // allow_patterns: a finding whose secret matches is allowed, another is not.
        let rules = RuleSet::builtin().unwrap();
        let finding = |body: &str| {
            let t = format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()));
            let line = format!("CLOUDFLARE_API_TOKEN={t}\n");
            let m = crate::matcher::Matcher::new(&rules)
                .scan_blob(".env", line.as_bytes())
                .pop()
                .expect("the token is found");
            Finding::new(&rules.rules()[m.rule], ".env", m)
        };
        assert!(c.allows(&finding("Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo")));
        assert!(!c.allows(&finding("Zx8vB2mN4pQ7rS1tU3wY5zA8cD0eF2gH4jK6lM8n")));
    }

    #[test]
    fn baseline_is_relative_to_the_file_and_history_excludes_match_as_config_does() {
        let c = Config::parse(
            "baseline = \"known.json\"\nexclude = [\"fixtures/**\", \"rules/*.toml\"]\n",
            Path::new("repo/keyflare.toml"),
        )
        .unwrap();
        assert_eq!(c.baseline.as_deref(), Some(Path::new("repo/known.json")));
        let set = Exclude::new(&c.exclude).unwrap();
        assert!(set.matches("fixtures/tree/.env") && c.excludes("fixtures/tree/.env"));
        assert!(set.matches("rules/examples.toml"));
        assert!(!set.matches("src/fixtures.rs") && !set.matches("docs/rules/a.toml"));
        assert!(!Exclude::default().matches("anything"));
    }

    #[test]
    fn excludes_match_as_a_gitignore_line_would() {
        let globs: Vec<String> = [
            "node_modules",
            "build/",
            "/top.env",
            "*.min.js",
            "vendor/**",
            "rules/*.toml",
            "dist/bundle.tar.xz",
        ]
        .iter()
        .map(|g| g.to_string())
        .collect();
        let set = Exclude::new(&globs).unwrap();
        let hit = |p: &str| set.first_match(p);
        // A directory covers what is under it, at any depth without a `/`.
        assert_eq!(hit("node_modules/a/index.js"), Some(0));
        assert_eq!(hit("web/node_modules/a.js"), Some(0));
        assert_eq!(hit("node_modules"), Some(0));
        // A trailing `/`: directories only.
        assert_eq!(hit("build/out.txt"), Some(1));
        assert_eq!(hit("src/build/out.txt"), Some(1));
        assert_eq!(hit("build"), None);
        // A leading `/`: the root only.
        assert_eq!(hit("top.env"), Some(2));
        assert_eq!(hit("sub/top.env"), None);
        assert_eq!(hit("web/app.min.js"), Some(3));
        assert_eq!(hit("vendor/a/b.txt"), Some(4));
        assert_eq!(hit("src/vendor/b.txt"), None);
        assert_eq!(hit("rules/a.toml"), Some(5));
        assert_eq!(hit("docs/rules/a.toml"), None);
        assert_eq!(hit("src/main.rs"), None);
        // An archive covers its members, at any depth of nesting.
        assert_eq!(hit("dist/bundle.tar.xz"), Some(6));
        assert_eq!(hit("dist/bundle.tar.xz!app/.env"), Some(6));
        assert_eq!(hit("dist/bundle.tar.xz!a.zip!b/.env"), Some(6));
        assert_eq!(hit("dist/bundle.tar.xz.sig"), None);
        assert_eq!(hit("web/app.min.js!x"), Some(3));
        assert_eq!(hit("build!x"), None);
        // The first entry that matches is named.
        let two = Exclude::new(&["**".to_string(), "vendor/**".to_string()]).unwrap();
        assert_eq!(two.first_match("vendor/x"), Some(0));
    }
}

//! Rules, loading: parses rule files (TOML, or the JSON the build made of
//! the built-in ones), expands fragments and compiles the patterns into a
//! [`RuleSet`]. Data in, data out: it never scans.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    fragments: BTreeMap<String, String>,
    #[serde(default, rename = "companion")]
    companions: Vec<CompanionDef>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompanionDef {
    id: String,
    kind: CompanionKind,
    regexes: Vec<String>,
    #[serde(default = "default_companion_window")]
    window_bytes: usize,
    #[serde(default)]
    whole_blob_bytes: usize,
    #[serde(default = "default_companion_max")]
    max: usize,
    #[serde(default)]
    examples: Vec<CompanionExample>,
    #[serde(default)]
    negative_examples: Vec<String>,
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
    companions: Vec<String>,
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
    NEAR_BYTES
}

fn default_companion_window() -> usize {
    4096
}

fn default_companion_max() -> usize {
    4
}

impl RuleSet {
    /// The rules embedded in the binary.
    pub fn builtin() -> Result<RuleSet, Error> {
        let mut set = RuleSet::empty();
        for (name, json) in BUILTIN_RULES_JSON {
            let file = serde_json::from_str(json).map_err(|e| Error::Rules {
                file: name.to_string(),
                message: e.to_string(),
            })?;
            set.add_parsed(name, file, false)?;
        }
        Ok(set)
    }

    /// A set with no rules and no companions.
    fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            companions: Vec::new(),
            fragments: BTreeMap::new(),
        }
    }

    /// Parses a rule file and adds its companions and rules; ids must stay
    /// unique. The file may use the fragments of files added before it, but
    /// not redefine them; its rules may name its own companions and those
    /// of files added before it. Nothing is added if anything is wrong.
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
        let bad = |message: String| Error::Rules {
            file: name.to_string(),
            message,
        };
        let mut companions: Vec<Companion> = Vec::new();
        for def in file.companions {
            let companion = compile_companion(def, &fragments, eager).map_err(bad)?;
            if self
                .companions
                .iter()
                .chain(&companions)
                .any(|c| c.id == companion.id)
            {
                return Err(bad(format!("duplicate companion id {}", companion.id)));
            }
            companions.push(companion);
        }
        let known: Vec<&str> = self
            .companions
            .iter()
            .chain(&companions)
            .map(|c| c.id.as_str())
            .collect();
        let mut seen: HashSet<String> = self.rules.iter().map(|r| r.id.clone()).collect();
        let mut rules = Vec::new();
        for def in file.rules {
            let rule = compile_rule(def, &fragments, &known, eager).map_err(bad)?;
            if !seen.insert(rule.id.clone()) {
                return Err(bad(format!("duplicate rule id {}", rule.id)));
            }
            rules.push(rule);
        }
        self.companions.extend(companions);
        self.rules.extend(rules);
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
        for c in &self.companions {
            for (i, lazy) in c.regexes.iter().enumerate() {
                let what = format!("companion {} regex {}", c.id, i + 1);
                let regex = lazy.compile(&what).map_err(bad)?;
                if regex.captures_len() < 2 {
                    return Err(bad(format!("{what}: needs a capture group (the value)")));
                }
            }
        }
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

    /// The companions, in load order: what rules' `companions` index.
    pub fn companions(&self) -> &[Companion] {
        &self.companions
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

/// Ids are what rules and allow comments name.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
}

fn compile_companion(
    def: CompanionDef,
    fragments: &BTreeMap<String, String>,
    eager: bool,
) -> Result<Companion, String> {
    let id = def.id;
    if !valid_id(&id) {
        return Err(format!(
            "companion id {id:?} must be non-empty [A-Za-z0-9._-]"
        ));
    }
    if def.regexes.is_empty() {
        return Err(format!("companion {id}: no regexes"));
    }
    if def.window_bytes == 0 || def.window_bytes > MAX_COMPANION_BYTES {
        return Err(format!(
            "companion {id}: window_bytes must be between 1 and {MAX_COMPANION_BYTES}"
        ));
    }
    if def.whole_blob_bytes > MAX_COMPANION_BYTES {
        return Err(format!(
            "companion {id}: whole_blob_bytes must be at most {MAX_COMPANION_BYTES}"
        ));
    }
    if def.max == 0 || def.max > MAX_COMPANION_VALUES {
        return Err(format!(
            "companion {id}: max must be between 1 and {MAX_COMPANION_VALUES}"
        ));
    }
    let mut regexes = Vec::new();
    for (i, r) in def.regexes.iter().enumerate() {
        let what = format!("companion {id} regex {}", i + 1);
        let regex = LazyRegex::new(expand(r, fragments, &what)?, eager, &what)?;
        let has_group = match regex.compiled.get() {
            Some(r) => r.captures_len() >= 2,
            None => regex.source.contains('('),
        };
        if !has_group {
            return Err(format!("{what}: needs a capture group (the value)"));
        }
        regexes.push(regex);
    }
    Ok(Companion {
        id,
        kind: def.kind,
        regexes,
        window_bytes: def.window_bytes,
        whole_blob_bytes: def.whole_blob_bytes,
        max: def.max,
        examples: def.examples,
        negative_examples: def.negative_examples,
    })
}

fn compile_rule(
    def: RuleDef,
    fragments: &BTreeMap<String, String>,
    companions: &[&str],
    eager: bool,
) -> Result<Rule, String> {
    let id = def.id.clone();
    if !valid_id(&id) {
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
            lead: OnceLock::new(),
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
    let mut named = Vec::new();
    for c in &def.companions {
        let Some(i) = companions.iter().position(|k| k == c) else {
            return Err(format!(
                "rule {id}: unknown companion {c:?} (known: {})",
                companions.join(", ")
            ));
        };
        if !named.contains(&i) {
            named.push(i);
        }
    }
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
        companions: named,
        remediation: def.remediation,
        steps: def.steps,
        references: def.references,
        patterns,
    })
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
        let mut from_toml = RuleSet::empty();
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
        let mut set = RuleSet::empty();
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

    fn companion_rule(companion: &str) -> String {
        format!(
            "[[rule]]\nid = \"t.comp\"\nname = \"x\"\ndescription = \"x\"\n\
             severity = \"low\"\nkeywords = [\"x\"]\nremediation = \"x\"\n\
             companions = [{companion:?}]\n[[rule.patterns]]\nregex = '(?P<secret>x+)'\n"
        )
    }

    #[test]
    fn builtin_companions_are_data_and_rules_name_them() {
        let set = RuleSet::builtin().unwrap();
        let ids: Vec<&str> = set.companions().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["email", "account_id"]);
        let global = set.get("kf.cloudflare.global-api-key").unwrap();
        assert_eq!(global.companions, [0]);
        let account = set.get("kf.cloudflare.account-api-token").unwrap();
        assert_eq!(
            set.companions()[account.companions[0]].kind,
            CompanionKind::AccountId
        );
        let lazies = || set.companions().iter().flat_map(|c| &c.regexes);
        assert!(lazies().all(|l| l.compiled.get().is_none()));
        set.compile_all().unwrap();
        assert!(lazies().all(|l| l.compiled.get().is_some()));
    }

    #[test]
    fn unknown_companions_are_load_errors_and_files_may_add_companions() {
        let mut set = RuleSet::builtin().unwrap();
        let err = set
            .add_file("u.toml", &companion_rule("zone"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("u.toml"), "{err}");
        assert!(err.contains("unknown companion \"zone\""), "{err}");
        // Nothing of a refused file was added: the same rule id loads now.
        let extra = "[[companion]]\nid = \"acme.email\"\nkind = \"email\"\n\
                     regexes = ['acme-mail: (\\S+@\\S+)']\n";
        let file = format!("{extra}{}", companion_rule("acme.email"));
        set.add_file("c.toml", &file).unwrap();
        let rule = set.get("t.comp").unwrap();
        let companion = &set.companions()[rule.companions[0]];
        assert_eq!(
            (companion.id.as_str(), companion.kind),
            ("acme.email", CompanionKind::Email)
        );
        assert_eq!(
            (
                companion.window_bytes,
                companion.whole_blob_bytes,
                companion.max
            ),
            (4096, 0, 4)
        );
        let bad = [
            (extra.to_string(), "duplicate companion id acme.email"),
            ("[[companion]]\nid = \"t.b\"\nkind = \"email\"\nregexes = ['(']\n".into(), "bad regex"),
            ("[[companion]]\nid = \"t.g\"\nkind = \"email\"\nregexes = ['x']\n".into(), "capture group"),
            ("[[companion]]\nid = \"t.n\"\nkind = \"email\"\nregexes = []\n".into(), "no regexes"),
            ("[[companion]]\nid = \"t w\"\nkind = \"email\"\nregexes = ['(x)']\n".into(), "companion id"),
            (
                "[[companion]]\nid = \"t.w\"\nkind = \"email\"\nregexes = ['(x)']\nwindow_bytes = 0\n".into(),
                "window_bytes",
            ),
            (
                "[[companion]]\nid = \"t.h\"\nkind = \"email\"\nregexes = ['(x)']\nwhole_blob_bytes = 1000000\n".into(),
                "whole_blob_bytes",
            ),
            ("[[companion]]\nid = \"t.m\"\nkind = \"email\"\nregexes = ['(x)']\nmax = 0\n".into(), "max"),
            ("[[companion]]\nid = \"t.k\"\nkind = \"zone\"\nregexes = ['(x)']\n".into(), "unknown variant"),
        ];
        for (text, why) in bad {
            let err = set.add_file("bad.toml", &text).unwrap_err().to_string();
            assert!(
                err.contains("bad.toml") && err.contains(why),
                "{why}: {err}"
            );
        }
    }

    #[test]
    fn exploding_regex_is_refused() {
        let err = compile_regex("(?:a{100}){100}{100}", "t").unwrap_err();
        assert!(err.contains("bad regex"), "{err}");
    }
}

//! Documented examples: credential values that Cloudflare and well-known
//! tools publish, recognised after the scan.
//!
//! Runs on the scan's findings, before allowlists, baselines and
//! verification. A published example (listed as data in
//! `rules/examples.toml`, each with its source) grants nothing but is copied
//! into many files: one SDK repository holds its README's example token
//! hundreds of times. So a finding whose value is on the list gets
//! [`Finding::documented_example`] set (its class becomes
//! [`crate::finding::FindingClass::Example`]), the lowest severity, and only
//! the first place it was seen is kept, with a count of the others. Strict
//! mode (`--strict-examples`) leaves the findings as they are. How examples
//! are worded and whether they fail the build is the reporters' and the
//! binary's business.
//!
//! Pipeline, filter stage: marks findings; never reads a source or renders.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::Error;
use crate::finding::Finding;
use crate::rules::{ExampleFailure, RuleSet, Severity};

/// The built-in list.
const BUILTIN: &str = include_str!("../../../rules/examples.toml");

/// One published example value.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedExample {
    /// The exact value.
    pub value: String,
    /// The rule that finds it.
    pub rule: String,
    /// Who publishes it, and where.
    pub source: String,
    /// A line shaped like the published one; `{value}` stands for the value.
    pub context: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExamplesFile {
    #[serde(default, rename = "example")]
    examples: Vec<DocumentedExample>,
}

/// The list of documented examples.
#[derive(Clone, Debug, Default)]
pub struct Examples {
    entries: Vec<DocumentedExample>,
}

impl Examples {
    /// The list embedded in the binary.
    pub fn builtin() -> Result<Examples, Error> {
        Examples::parse("examples.toml", BUILTIN)
    }

    /// Parses a list; `name` names it in errors.
    pub fn parse(name: &str, text: &str) -> Result<Examples, Error> {
        let file: ExamplesFile = toml::from_str(text).map_err(|e| Error::Rules {
            file: name.to_string(),
            message: e.to_string(),
        })?;
        Ok(Examples {
            entries: file.examples,
        })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[DocumentedExample] {
        &self.entries
    }

    /// The published example whose value is `value`, if any.
    pub fn lookup(&self, value: &str) -> Option<&DocumentedExample> {
        self.entries.iter().find(|e| e.value == value)
    }

    /// Marks the findings whose value is a documented example, at the lowest
    /// severity, and keeps one finding per value: the earliest (by commit
    /// date for history, else by path and line); the others are counted in
    /// its [`Finding::example_repeats`]. With `strict`, changes nothing.
    /// Returns a notice for the report when anything was collapsed.
    pub fn mark(&self, findings: &mut Vec<Finding>, strict: bool) -> Option<String> {
        if strict || self.entries.is_empty() {
            return None;
        }
        // The index of the kept finding for each example value.
        let mut kept: HashMap<String, usize> = HashMap::new();
        let mut drop = vec![false; findings.len()];
        let mut places = 0usize;
        for i in 0..findings.len() {
            let Some(example) = self.lookup(findings[i].secret.expose()) else {
                continue;
            };
            places += 1;
            findings[i].documented_example = Some(example.source.clone());
            findings[i].severity = Severity::Low;
            match kept.get(&example.value) {
                Some(&k) if !earlier(&findings[i], &findings[k]) => drop[i] = true,
                Some(&k) => {
                    drop[k] = true;
                    kept.insert(example.value.clone(), i);
                }
                None => {
                    kept.insert(example.value.clone(), i);
                }
            }
        }
        if places == 0 {
            return None;
        }
        let mut repeats: HashMap<&str, usize> = HashMap::new();
        for (f, d) in findings.iter().zip(&drop) {
            if *d {
                *repeats.entry(f.secret.expose()).or_default() += 1;
            }
        }
        let repeats: HashMap<String, usize> = repeats
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let mut i = 0;
        findings.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
        for f in findings.iter_mut() {
            if f.documented_example.is_some() {
                f.example_repeats = repeats.get(f.secret.expose()).copied().unwrap_or(0);
            }
        }
        let values = kept.len();
        Some(format!(
            "{values} documented example value{} (published by Cloudflare or a well-known tool) \
             seen at {places} place{}: each reported once, as a documented example \
             (--strict-examples reports every place as a finding)",
            if values == 1 { "" } else { "s" },
            if places == 1 { "" } else { "s" },
        ))
    }

    /// Checks the list against the rules: each value's context line must be
    /// found by its rule, with the value as the secret. `keyflare rules
    /// check` and the tests call it.
    pub fn check(&self, rules: &RuleSet) -> Vec<ExampleFailure> {
        let scanner = crate::scan::Scanner::new(rules, crate::scan::ScanOptions::default());
        let stats = crate::source::Stats::default();
        let mut failures = Vec::new();
        for e in &self.entries {
            let fail = |message: String| ExampleFailure {
                rule_id: e.rule.clone(),
                message,
            };
            if rules.get(&e.rule).is_none() {
                failures.push(fail(format!(
                    "documented example names no rule: {}",
                    e.source
                )));
                continue;
            }
            if !e.context.contains("{value}") {
                failures.push(fail("documented example context has no {value}".into()));
                continue;
            }
            let text = e.context.replace("{value}", &e.value);
            let found = scanner
                .scan_focused("example.txt", text.as_bytes(), None, &stats)
                .iter()
                .any(|f| f.rule_id == e.rule && f.secret.expose() == e.value);
            if !found {
                failures.push(fail(format!(
                    "documented example not found by its rule in its context: {}",
                    e.context
                )));
            }
        }
        failures
    }
}

/// Whether `a` was seen before `b`: commit date first (history), then path
/// and position.
fn earlier(a: &Finding, b: &Finding) -> bool {
    let key = |f: &Finding| {
        (
            f.commit.as_ref().map(|c| c.date.clone()),
            f.path.clone(),
            f.line,
            f.column,
        )
    };
    key(a) < key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_parses_and_every_value_is_found_by_its_rule() {
        let examples = Examples::builtin().unwrap();
        assert!(examples.entries().len() >= 4);
        let rules = RuleSet::builtin().unwrap();
        let failures = examples.check(&rules);
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn a_wrong_context_is_a_failure() {
        let examples = Examples::parse(
            "t.toml",
            "[[example]]\nvalue = \"abc\"\nrule = \"kf.cloudflare.api-token.legacy\"\n\
             source = \"s\"\ncontext = \"x = {value}\"\n",
        )
        .unwrap();
        let failures = examples.check(&RuleSet::builtin().unwrap());
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(Examples::parse("t.toml", "[[example]]\nvalue = 1\n").is_err());
    }
}

//! Pipeline: `keyflare rules check`. Runs every rule over its own positive
//! and negative examples through the whole scan stage (decoding included),
//! so an example may show a credential in its encoded form; and every
//! companion over its own examples, through the matcher's companion search.
//! Here the rules meet the scanner; the rules module itself never scans.

use std::ops::Range;

use crate::matcher::companion_near;
use crate::rules::{Companion, ExampleFailure, RuleSet};
use crate::scan::{ScanOptions, Scanner};
use crate::source::Stats;

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
    let scanner = Scanner::new(set, ScanOptions::default());
    let stats = Stats::default();
    let found_by = |path: &str, text: &str, id: &str, focus: Option<Range<usize>>| {
        let focus = focus.as_ref().map(std::slice::from_ref);
        scanner
            .scan_focused(path, text.as_bytes(), focus, &stats)
            .iter()
            .any(|f| f.rule_id == id)
    };
    let mut failures = Vec::new();
    for companion in set.companions() {
        failures.extend(check_companion(companion));
    }
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

/// Runs a companion over its own examples, each searched around the whole
/// text, alone and then in the middle of a large file: each positive
/// example's first value must be its `finds`, each negative example must
/// give nothing, and each regex must be the one that finds some positive
/// example's value (a fallback no example reaches is untested).
fn check_companion(companion: &Companion) -> Vec<ExampleFailure> {
    let fail = |message: String| ExampleFailure {
        rule_id: format!("companion {}", companion.id),
        message,
    };
    let mut failures = Vec::new();
    if companion.examples.is_empty() {
        failures.push(fail("has no examples".into()));
    }
    if companion.negative_examples.is_empty() {
        failures.push(fail("has no negative_examples".into()));
    }
    let search = |text: &str, alone: bool| {
        if alone {
            companion_near(companion, text.as_bytes(), 0, text.len())
        } else {
            let (big, at) = padded(text);
            companion_near(companion, big.as_bytes(), at, at + text.len())
        }
    };
    let mut used = vec![false; companion.regexes().len()];
    for ex in &companion.examples {
        for alone in [true, false] {
            let how = if alone { "" } else { " inside a large file" };
            match search(&ex.text, alone) {
                Some((i, values)) if values.first() == Some(&ex.finds) => {
                    if let Some(u) = used.get_mut(i) {
                        *u = true;
                    }
                }
                Some((_, values)) => failures.push(fail(format!(
                    "example finds {values:?}, not {:?} first{how}: {:?}",
                    ex.finds,
                    abbreviate(&ex.text)
                ))),
                None => failures.push(fail(format!(
                    "example finds nothing{how}: {:?}",
                    abbreviate(&ex.text)
                ))),
            }
        }
    }
    for text in &companion.negative_examples {
        for alone in [true, false] {
            if let Some((_, values)) = search(text, alone) {
                failures.push(fail(format!(
                    "negative example finds {values:?}{}: {:?}",
                    if alone { "" } else { " inside a large file" },
                    abbreviate(text)
                )));
            }
        }
    }
    for (i, used) in used.iter().enumerate() {
        if !used {
            failures.push(fail(format!(
                "regex {} finds the first value of none of the examples",
                i + 1
            )));
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

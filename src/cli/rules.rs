//! Command line, `rules`, `rules check` and `explain`: the rule set listed,
//! checked against its examples, or one rule described.
//!
//! It never loads or checks rules itself: `rules` and `pipeline::rules_check` do.

use super::args::{RulesAction, RulesArgs};
use super::exit::{EXIT_CLEAN, EXIT_FINDINGS};
use crate::error::Error;
use crate::rules::RuleSet;

pub(super) fn rules(args: RulesArgs) -> Result<u8, Error> {
    let set = RuleSet::builtin()?;
    match args.action {
        Some(RulesAction::Check) => {
            let mut failures = crate::pipeline::rules_check::check_examples(&set);
            failures.extend(crate::pipeline::filter::examples::Examples::builtin()?.check(&set));
            for f in &failures {
                println!("FAIL {f}");
            }
            let examples: usize = set
                .rules()
                .iter()
                .flat_map(|r| &r.patterns)
                .map(|p| p.examples.len() + p.negative_examples.len())
                .sum();
            println!(
                "{} rules, {examples} examples: {}",
                set.rules().len(),
                if failures.is_empty() {
                    "all pass"
                } else {
                    "FAILED"
                }
            );
            Ok(if failures.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            })
        }
        None => {
            for r in set.rules() {
                println!("{:<42} {:<8} {}", r.id, r.severity, r.description);
            }
            Ok(EXIT_CLEAN)
        }
    }
}

pub(super) fn explain(id: &str) -> Result<u8, Error> {
    let set = RuleSet::builtin()?;
    let Some(r) = set.get(id) else {
        return Err(Error::Usage(format!(
            "no rule {id:?}; `keyflare rules` lists them"
        )));
    };
    println!(
        "{} ({})\nseverity: {}\n\n{}\n\n{}\n",
        r.name, r.id, r.severity, r.description, r.remediation
    );
    for (i, s) in r.steps.iter().enumerate() {
        println!("{}. {}", i + 1, s);
    }
    if !r.references.is_empty() {
        println!();
        for u in &r.references {
            println!("{u}");
        }
    }
    Ok(EXIT_CLEAN)
}

//! Every rule against its own examples, and the rule set's invariants.

use keyflare::pipeline::rules_check::check_examples;
use keyflare::rules::{RuleKind, RuleSet};

#[test]
fn every_rule_passes_its_examples_and_negative_examples() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let failures = check_examples(&set);
    assert!(
        failures.is_empty(),
        "rule example failures:\n{}",
        failures
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_issue_kind_has_a_rule() {
    let set = RuleSet::builtin().expect("rules");
    for id in [
        "kf.cloudflare.global-api-key",
        "kf.cloudflare.user-api-token",
        "kf.cloudflare.account-api-token",
        "kf.cloudflare.global-api-key.legacy",
        "kf.cloudflare.api-token.legacy",
        "kf.cloudflare.wrangler-oauth-token",
        "kf.cloudflare.origin-ca-key",
        "kf.cloudflare.tunnel-token",
        "kf.cloudflare.access-service-token",
        "kf.cloudflare.r2-secret-access-key",
        "kf.cloudflare.turnstile-secret-key",
        "kf.cloudflare.hygiene.plaintext-api",
        "kf.cloudflare.hygiene.global-key-auth",
        "kf.cloudflare.hygiene.committed-env-secret",
        "kf.cloudflare.cloudflared-origin-cert",
        "kf.cloudflare.api-token.kubernetes",
        "kf.cloudflare.terraform-state-api-token",
        "kf.cloudflare.hygiene.terraform-state",
    ] {
        assert!(set.get(id).is_some(), "missing rule {id}");
    }
}

#[test]
fn credential_rules_say_how_to_rotate_and_purge() {
    let set = RuleSet::builtin().expect("rules");
    for rule in set
        .rules()
        .iter()
        .filter(|r| r.kind == RuleKind::Credential)
    {
        let steps = rule.steps.join("\n").to_lowercase();
        assert!(
            ["roll", "rotate", "change", "revoke", "delete"]
                .iter()
                .any(|w| steps.contains(w)),
            "{}: no rotation step",
            rule.id
        );
        assert!(
            steps.contains("history"),
            "{}: no history purge step",
            rule.id
        );
        assert!(
            [
                "secret store",
                "environment variable",
                "secret put",
                "secrets",
                "out of"
            ]
            .iter()
            .any(|w| steps.contains(w)),
            "{}: no step about moving it out of code",
            rule.id
        );
        assert!(!rule.remediation.is_empty());
    }
}

#[test]
fn new_format_examples_carry_valid_checksums() {
    // The examples are the documentation of the format: a wrong checksum in a
    // positive example would teach the wrong thing.
    let set = RuleSet::builtin().expect("rules");
    let re = regex::Regex::new(r"cf(?:k|ut|at)_[A-Za-z0-9]{40}[a-f0-9]{8}").expect("regex");
    let mut checked = 0;
    for rule in set.rules() {
        for p in &rule.patterns {
            for ex in &p.examples {
                for m in re.find_iter(ex.parts().1) {
                    assert!(
                        keyflare::matcher::crc32_suffix_ok(m.as_str().as_bytes()),
                        "{}: example token with a bad checksum",
                        rule.id
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 4, "only {checked} new-format examples");
}

#[test]
fn extra_rule_files_cannot_reuse_ids_or_explode() {
    let mut set = RuleSet::builtin().expect("rules");
    let dup = r#"
[[rule]]
id = "kf.cloudflare.user-api-token"
name = "dup"
description = "dup"
severity = "low"
keywords = ["x"]
remediation = "x"
[[rule.patterns]]
regex = '(?P<secret>x)'
"#;
    let err = set.add_file("extra.toml", dup).expect_err("duplicate id");
    assert!(err.to_string().contains("duplicate rule id"), "{err}");
    let huge = dup
        .replace("kf.cloudflare.user-api-token", "t.huge")
        .replace("(?P<secret>x)", "(?P<secret>(?:x{1000}){1000}{1000})");
    let err = set.add_file("extra.toml", &huge).expect_err("size limit");
    assert!(err.to_string().contains("bad regex"), "{err}");
}

#[test]
fn every_builtin_pattern_compiles_within_the_size_limits() {
    // Built-in patterns compile lazily during scans; this compiles them all.
    let set = RuleSet::builtin().expect("rules");
    set.compile_all().expect("every built-in pattern compiles");
}

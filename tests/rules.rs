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

#[test]
fn extra_companions_feed_matches_and_their_examples_are_checked() {
    let mut set = RuleSet::builtin().expect("rules");
    let builtin: Vec<String> = set.rules().iter().map(|r| r.id.clone()).collect();
    let file = r#"
[[companion]]
id = "acme.owner"
kind = "email"
regexes = ['owner: (\S+@\S+\.[a-z]+)', '(\S+@acme\.test)']
window_bytes = 64
examples = [{ text = "owner: ops@example.com", finds = "ops@example.com" }]
negative_examples = ["owner: nobody"]

[[rule]]
id = "acme.key"
name = "ACME key"
description = "x"
severity = "low"
keywords = ["acmekey_"]
companions = ["acme.owner", "email"]
remediation = "x"
[[rule.patterns]]
regex = '(?P<secret>acmekey_[a-z0-9]{16})'
examples = ["k = acmekey_q8z3m1x7k2v9w4p6"]
negative_examples = ["k = acmekey_short"]
"#;
    set.add_file("acme.toml", file).expect("loads");
    let matcher = keyflare::matcher::Matcher::new(&set);
    let data =
        b"owner: ops@example.com\nk = acmekey_q8z3m1x7k2v9w4p6\ncontact someone@example.org\n";
    let found = matcher.scan_blob("f.txt", data);
    assert_eq!(found.len(), 1, "{found:?}");
    // The rule's companions in the order it names them, duplicates dropped.
    assert_eq!(found[0].emails, ["ops@example.com", "someone@example.org"]);
    assert!(found[0].account_ids.is_empty());

    set.disable(&builtin);
    let failures: Vec<String> = check_examples(&set).iter().map(|f| f.to_string()).collect();
    assert_eq!(
        failures,
        ["companion acme.owner: regex 2 finds the first value of none of the examples"]
    );
}

//! Living with findings: baselines, configuration, extra rules.

mod support;

use predicates::prelude::*;
use serde_json::Value;
use support::{assert_no_secret, fixture_secrets, fixture_tree, keyflare};

fn token(seed: u8) -> String {
    let body: String = (0..40)
        .map(|i| {
            let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
            alphabet[(i * 7 + seed as usize * 13 + (i * i) % 11) % alphabet.len()] as char
        })
        .collect();
    format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()))
}

fn findings(dir: &std::path::Path, extra: &[&str]) -> (Vec<Value>, i32) {
    let out = keyflare()
        .arg("scan")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    (
        // A report without its findings array is a failure, not "no findings".
        v["findings"].as_array().cloned().expect("a findings array"),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn baseline_round_trip() {
    let (_t, dir) = fixture_tree("tree");
    let base = dir.join(".keyflare-baseline.json");
    keyflare()
        .arg("baseline")
        .arg(&dir)
        .arg("-o")
        .arg(&base)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("wrote"));
    let text = std::fs::read(&base).expect("baseline");
    assert_no_secret(&text, &fixture_secrets(), "baseline");

    // Re-scan: nothing new.
    let b = base.to_str().expect("utf8");
    let (f, code) = findings(&dir, &["--baseline", b]);
    assert_eq!((f.len(), code), (0, 0));

    // A moved line is still suppressed.
    let env = dir.join(".env");
    let old = std::fs::read_to_string(&env).expect("read");
    std::fs::write(&env, format!("# moved down\n\n{old}")).expect("write");
    let (f, _) = findings(&dir, &["--baseline", b]);
    assert!(f.is_empty(), "{f:?}");

    // A different secret on the same line is reported.
    let fresh = token(9);
    let new_text = old
        .lines()
        .map(|l| {
            if l.starts_with("CLOUDFLARE_API_TOKEN=") {
                format!("CLOUDFLARE_API_TOKEN={fresh}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&env, new_text).expect("write");
    let (f, code) = findings(&dir, &["--baseline", b]);
    assert_eq!(code, 1);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["path"], ".env");

    // A malformed baseline is exit 2 naming the file.
    std::fs::write(&base, "{\"version\": 1}").expect("write");
    keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--baseline", b])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".keyflare-baseline.json"));
}

#[test]
fn config_excludes_disables_allows_and_adds_rules() {
    let (_t, dir) = fixture_tree("tree");
    let (all, _) = findings(&dir, &[]);
    std::fs::write(
        dir.join("keyflare.toml"),
        r#"
exclude = ["web/**", "*.bin"]
disable_rules = ["kf.cloudflare.hygiene.plaintext-api"]
allow_patterns = ['^v1\.0-']

[[rule]]
id = "acme.internal-token"
name = "ACME internal proxy token"
description = "Tokens of our internal Cloudflare proxy."
severity = "medium"
keywords = ["acmecf_"]
remediation = "Revoke it in the proxy console."
steps = ["Revoke it in the proxy console, then purge it from history.", "Keep it in the secret store."]
[[rule.patterns]]
regex = '\b(?P<secret>acmecf_[a-z0-9]{24})\b'
examples = ["t = acmecf_0a1b2c3d4e5f6a7b8c9d0e1f"]
negative_examples = ["t = acmecf_short"]
"#,
    )
    .expect("write config");
    std::fs::write(
        dir.join("proxy.cfg"),
        "token = acmecf_9z8y7x6w5v4u3t2s1r0q9p8o\n",
    )
    .expect("write");
    let (f, code) = findings(&dir, &[]);
    assert_eq!(code, 1);
    let rules: Vec<&str> = f
        .iter()
        .map(|x| x["rule_id"].as_str().unwrap_or(""))
        .collect();
    let paths: Vec<&str> = f.iter().map(|x| x["path"].as_str().unwrap_or("")).collect();
    assert!(!paths
        .iter()
        .any(|p| p.starts_with("web/") || p.ends_with(".bin")));
    assert!(!rules.contains(&"kf.cloudflare.hygiene.plaintext-api"));
    assert!(
        !rules.contains(&"kf.cloudflare.origin-ca-key"),
        "allow_patterns"
    );
    assert!(rules.contains(&"acme.internal-token"));
    // The extra rule also finds its own example in keyflare.toml: the config
    // file is scanned like any other.
    let outside_config = f.iter().filter(|x| x["path"] != "keyflare.toml").count();
    assert_eq!(outside_config, all.len() - 4 + 1);
}

#[test]
fn bad_configs_are_exit_2_with_file_and_line() {
    let (_t, dir) = fixture_tree("tree");
    let cfg = dir.join("keyflare.toml");
    for (text, needle) in [
        ("exclude = [\n  3\n]\n", "line 2"),
        ("verfiy = true\n", "unknown field"),
        ("fail_on = \"later\"\n", "fail_on"),
        ("disable_rules = [\"kf.nope\"]\n", "kf.nope"),
        ("[[rule]]\nid = \"x\"\n", "missing field `name`"),
        ("allow_patterns = ['(']\n", "allow_patterns"),
    ] {
        std::fs::write(&cfg, text).expect("write");
        keyflare()
            .arg("scan")
            .arg(&dir)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("keyflare.toml"))
            .stderr(predicate::str::contains(needle));
    }
    keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--config", "/no/such/keyflare.toml"])
        .assert()
        .code(2);
}

#[test]
fn config_fail_on_and_flags_override() {
    let (_t, dir) = fixture_tree("tree");
    std::fs::write(dir.join("keyflare.toml"), "fail_on = \"none\"\n").expect("write");
    keyflare().arg("scan").arg(&dir).assert().code(0);
    keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--fail-on", "any"])
        .assert()
        .code(1);
}

//! Other scanners' Cloudflare test cases (gitleaks, betterleaks, trufflehog,
//! kingfisher, osv-scalibr), rebuilt with synthetic values by
//! `tests/data/peers/make_cases.py`: keyflare must find every case the peers
//! find (same secret), and none of their negatives. Where keyflare disagrees
//! on purpose (a bad checksum, an undocumented layout), the case says so.

use keyflare::source::blob::Blob;
use keyflare::source::Stats;
use keyflare::{RuleSet, ScanOptions, Scanner};
use serde_json::Value;

#[test]
fn peer_scanner_cases() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/peers/cases.json");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("cases")).expect("json");
    assert!(cases.len() >= 150);
    let rules = RuleSet::builtin().expect("rules");
    let scanner = Scanner::new(&rules, ScanOptions::default());
    let stats = Stats::default();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let text = case["text"].as_str().expect("text");
        let blob = Blob::file(format!("case_{i:03}.txt"), text.as_bytes().to_vec());
        let findings = keyflare::scan_blob(&scanner, &blob, &stats);
        let found = match case["secret"].as_str() {
            Some(secret) => findings.iter().any(|f| f.secret.expose() == secret),
            None => findings.iter().any(|f| !f.rule_id.contains("hygiene")),
        };
        let expected = case["expect"] == "found";
        if found != expected {
            failures.push(format!(
                "case {i} [{}] expected {}: {:.120}",
                case["source"].as_str().unwrap_or(""),
                case["expect"],
                text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! `keyflare respond`'s report reader on arbitrary bytes: `respond::read_report` refuses a
//! malformed or hostile report with an error that names it, or returns targets that are safe
//! to act on: a secret only when it hashes to its finding's fingerprint, no control character
//! in a path, account ids of 32 lowercase hex. The record reader (`Record::parse`, used by
//! `audit --responses`) gets the same bytes.
#![no_main]

use std::sync::OnceLock;

use keyflare::finding::fingerprint;
use keyflare::pipeline::respond::{read_report, Record};
use keyflare::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules load"))
}

fuzz_target!(|data: &[u8]| {
    match read_report("fuzz.json", data, rules()) {
        Err(e) => assert!(e.to_string().starts_with("report fuzz.json: "), "{e}"),
        Ok(targets) => {
            for t in &targets {
                if let Some(s) = &t.secret {
                    assert_eq!(fingerprint(&t.rule_id, s.expose()), t.fingerprint);
                }
                assert!(!t.path.chars().any(char::is_control));
                assert!(rules().get(&t.rule_id).is_some());
                for a in &t.account_ids {
                    assert!(a.len() == 32 && a.bytes().all(|b| b.is_ascii_hexdigit()));
                }
            }
        }
    }
    if let Ok(record) = Record::parse("fuzz.json", data) {
        for e in &record.entries {
            assert!(!e.detail.chars().any(char::is_control));
            let _ = record.response_for(&e.fingerprint);
        }
    }
});

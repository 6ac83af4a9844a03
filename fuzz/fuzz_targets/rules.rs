//! `RuleSet::add_file` on arbitrary text: must return Ok or an error that
//! names the file, never panic. A file that loads must also build a matcher
//! that can scan.
#![no_main]

use std::sync::{Mutex, OnceLock};

use keyflare::matcher::Matcher;
use keyflare::RuleSet;
use libfuzzer_sys::fuzz_target;

/// One rule set for the whole run, emptied before each input: compiling the
/// built-in rules for every input would cost most of the fuzzing time.
fn empty_set() -> std::sync::MutexGuard<'static, RuleSet> {
    static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
    let mut set = SET
        .get_or_init(|| Mutex::new(RuleSet::builtin().expect("built-in rules")))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let ids: Vec<String> = set.rules().iter().map(|r| r.id.clone()).collect();
    set.disable(&ids);
    set
}

fuzz_target!(|text: &str| {
    let mut set = empty_set();
    match set.add_file("fuzz.toml", text) {
        Ok(()) => {
            let m = Matcher::new(&set);
            let _ = m.scan_blob(".env", text.as_bytes());
        }
        Err(e) => assert!(e.to_string().contains("fuzz.toml"), "{e}"),
    }
});

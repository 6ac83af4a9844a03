//! `keyflare.toml` on arbitrary text: `Config::parse` returns a config or an
//! error that names the file, never panics; what parses answers `excludes`
//! for any path, and its rules and `disable_rules` apply to a rule set or fail
//! with an error that names the file.
#![no_main]

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use keyflare::pipeline::filter::config::Config;
use keyflare::RuleSet;
use libfuzzer_sys::fuzz_target;

/// The built-in rules, loaded once and reused: the config adds its own rules
/// on a fresh copy only when it has any (compiling is what costs).
fn builtin() -> std::sync::MutexGuard<'static, RuleSet> {
    static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(RuleSet::builtin().expect("built-in rules")))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fuzz_target!(|text: &str| {
    let path = Path::new("fuzzdir/keyflare.toml");
    match Config::parse(text, path) {
        Ok(config) => {
            for probe in ["", "a", "src/.env", "../x", "/etc/passwd", text] {
                let _ = config.excludes(probe);
            }
            let mut set = builtin();
            let before: Vec<String> = set.rules().iter().map(|r| r.id.clone()).collect();
            if let Err(e) = config.apply_to_rules(&mut set) {
                assert!(e.to_string().contains("keyflare.toml"), "{e}");
            }
            // Put the shared set back the way it was for the next input.
            drop(set);
            let mut set = builtin();
            if !set.rules().iter().map(|r| &r.id).eq(before.iter()) {
                *set = RuleSet::builtin().expect("built-in rules");
            }
        }
        Err(e) => assert!(e.to_string().contains("keyflare.toml"), "{e}"),
    }
});

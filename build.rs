//! Converts the built-in rule files (rules/*.toml) to JSON for embedding.
//!
//! Parsing the TOML at every start was a third of a small scan's start-up;
//! the same data as JSON parses several times faster. The TOML stays the one
//! source: this conversion is mechanical, and a test checks both give the
//! same rules.

use std::path::Path;

/// The same list as `BUILTIN_RULE_FILES` in src/rules/mod.rs (a test there
/// compares the rules from both).
const RULE_FILES: [&str; 3] = [
    "companions.toml",
    "cloudflare.toml",
    "cloudflare-tools.toml",
];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in RULE_FILES {
        let source = Path::new("rules").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
        // A syntax error fails the build here, with the TOML parser's message.
        let value: toml::Value =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        let json = serde_json::to_string(&value).expect("TOML values convert to JSON");
        let target = Path::new(&out).join(name.replace(".toml", ".json"));
        std::fs::write(&target, json)
            .unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
    }
    println!("cargo:rerun-if-changed=build.rs");
}

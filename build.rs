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
    avx512_intrinsics();
}

/// AVX-512 intrinsics are stable from Rust 1.89; keyflare builds with 1.85
/// too, without the anchor search that uses them (`src/kernel/literals.rs`).
fn avx512_intrinsics() {
    println!("cargo:rustc-check-cfg=cfg(avx512_intrinsics)");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // "rustc 1.95.0 (59807616e 2026-04-14)": the minor version.
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo:rustc-cfg=avx512_intrinsics");
    }
}

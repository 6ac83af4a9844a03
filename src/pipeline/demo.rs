//! A built-in source for `keyflare demo`: the files of `examples/demo/` (a
//! made-up Worker project with three planted problems), compiled into the
//! binary so that the demo runs the same scan stage on any install, with no
//! files to find and nothing written to disk.
//!
//! Every value in them is synthetic (the `cfut_` token carries a correct
//! CRC32 checksum so that the scannable-format rule accepts it); none was
//! ever a credential.
//!
//! Pipeline: the demo driver. It never filters, verifies or renders.

use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::outcome::Report;
use crate::rules::RuleSet;
use crate::scan::{ScanOptions, Scanner};
use crate::source::Stats;

/// The demo project's files: path (as `keyflare scan examples/demo` names
/// it) and contents.
pub const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../examples/demo/README.md")),
    (
        "certbot/cloudflare.ini",
        include_str!("../../examples/demo/certbot/cloudflare.ini"),
    ),
    (
        "src/index.js",
        include_str!("../../examples/demo/src/index.js"),
    ),
    (
        "wrangler.toml",
        include_str!("../../examples/demo/wrangler.toml"),
    ),
];

/// Scans the demo project with `rules`, as a tree scan of `examples/demo`
/// would.
pub fn scan_demo(rules: &RuleSet) -> Report {
    let started = Instant::now();
    let stats = Stats::default();
    let scanner = Scanner::new(rules, ScanOptions::default());
    let mut findings = Vec::new();
    for (path, text) in FILES {
        stats.blobs.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        findings.extend(scanner.scan_focused(path, text.as_bytes(), None, &stats));
    }
    // "tree": reported as files, as `keyflare scan examples/demo` would.
    Report::new(findings, &stats, "tree", started.elapsed())
}

//! Pipeline, tree driver: walks a working tree (the fs source), scans each
//! file whole or, when too large to hold, in chunks (the scan stage), and
//! collects an outcome. It never filters, verifies or renders.

use std::sync::Mutex;
use std::time::Instant;

use crate::error::Error;
use crate::finding::Finding;
use crate::outcome::Report;
use crate::rules::RuleSet;
use crate::scan::{large, ScanOptions, Scanner};
use crate::source::{self, Stats};

/// Scans a working tree (directories and files) with `rules`. For git
/// sources see [`crate::pipeline::git`].
pub fn scan_tree(
    opts: &source::fs::FsOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<Report, Error> {
    scan_tree_with_stats(opts, scan, rules, &Stats::default())
}

/// [`scan_tree`], counting into `stats` as it goes (for a progress display).
pub fn scan_tree_with_stats(
    opts: &source::fs::FsOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
    stats: &Stats,
) -> Result<Report, Error> {
    let started = Instant::now();
    let scanner = Scanner::new(rules, scan.clone());
    let findings = Mutex::new(Vec::new());
    let layout = large::Layout::default();
    source::fs::walk(opts, stats, |entry| {
        let found = match entry {
            source::fs::Entry::Whole(blob) => scan_blob(&scanner, &blob, stats),
            source::fs::Entry::Large { path, file, len } => {
                match large::scan_file(&scanner, &path, &file, len, opts.threads, &layout, stats) {
                    Ok(found) => found,
                    Err(e) => {
                        stats.warn(format!("cannot read {path}: {e}"));
                        Vec::new()
                    }
                }
            }
        };
        if !found.is_empty() {
            if let Ok(mut all) = findings.lock() {
                all.extend(found);
            }
        }
    })?;
    let findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Report::new(findings, stats, "tree", started.elapsed()))
}

/// Scans one blob from any source (a file, a git object): opens it if it is
/// an archive, matches it and its decoded values, and turns the matches into
/// findings. Warnings (zip bombs, limits) go to `stats`.
pub fn scan_blob(scanner: &Scanner<'_>, blob: &source::blob::Blob, stats: &Stats) -> Vec<Finding> {
    scanner.scan_blob(blob, stats)
}

//! Pipeline, tree driver: walks a working tree (the fs source), scans each
//! file whole (a blob, through the blob step, `pipeline::blob`) or, when too
//! large to hold, in chunks (the scan stage), and collects an outcome. It never filters, verifies or renders; it reads
//! the paths the configuration excludes too, counting their read problems
//! apart (the filter stage suppresses their findings).

use std::sync::Mutex;
use std::time::Instant;

use crate::error::Error;
use crate::finding::Finding;
use crate::outcome::Report;
use crate::pipeline::blob::{hits_in, scoped};
use crate::pipeline::filter::config::Exclude;
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
    let excluded =
        Exclude::new(&opts.exclude).map_err(|e| Error::Usage(format!("exclude: {e}")))?;
    source::fs::walk(opts, stats, |entry| {
        let found = scoped(excluded.matches(entry.path()), stats, |stats| {
            scan_entry(&scanner, entry, opts, &layout, stats)
        });
        if !found.is_empty() {
            if let Ok(mut all) = findings.lock() {
                all.extend(found);
            }
        }
    })?;
    let findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Report::new(findings, stats, "tree", started.elapsed()))
}

/// Scans one entry of the walk; a file that cannot be read is a warning.
fn scan_entry(
    scanner: &Scanner<'_>,
    entry: source::fs::Entry,
    opts: &source::fs::FsOptions,
    layout: &large::Layout,
    stats: &Stats,
) -> Vec<Finding> {
    match entry {
        source::fs::Entry::Whole(blob) => hits_in(scanner, &blob, stats)
            .into_iter()
            .map(|h| h.finding)
            .collect(),
        source::fs::Entry::Large { path, file, len } => {
            match large::scan_file(scanner, &path, &file, len, opts.threads, layout, stats) {
                Ok(found) => found,
                Err(e) => {
                    stats.warn(source::Warning::Unreadable {
                        path,
                        error: e.into(),
                    });
                    Vec::new()
                }
            }
        }
        source::fs::Entry::Unreadable { path, error } => {
            stats.warn(source::Warning::Unreadable {
                path,
                error: error.into(),
            });
            Vec::new()
        }
    }
}

/// Scans one blob from any source (a file, a git object): opens it if it is
/// an archive, matches it and its decoded values, and turns the matches into
/// findings. Warnings (zip bombs, limits) go to `stats`.
pub fn scan_blob(
    scanner: &Scanner<'_>,
    blob: &source::blob::Blob<'_>,
    stats: &Stats,
) -> Vec<Finding> {
    scanner.scan_blob(blob, stats)
}

//! Pipeline, tree driver: walks a working tree (the fs source), hands each
//! file to the blob step (`pipeline::blob`) as a blob, whether read whole or,
//! when too large to hold, open to be read in chunks, and collects an
//! outcome. It never filters, verifies or renders; it reads the paths the
//! configuration excludes too, counting their read problems apart (the
//! filter stage suppresses their findings).

use std::sync::Mutex;
use std::time::Instant;

use crate::error::Error;
use crate::finding::Finding;
use crate::outcome::Report;
use crate::pipeline::blob::{hits_of, scoped};
use crate::pipeline::filter::config::Exclude;
use crate::rules::RuleSet;
use crate::scan::{ScanOptions, Scanner};
use crate::source::fs::Entry;
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
    let scanner = Scanner::new(rules, scan.clone()).with_threads(opts.threads);
    let findings = Mutex::new(Vec::new());
    let excluded =
        Exclude::new(&opts.exclude).map_err(|e| Error::Usage(format!("exclude: {e}")))?;
    source::fs::walk(opts, stats, |entry| {
        let found: Vec<Finding> = match entry {
            Entry::Blob(blob) => hits_of(&scanner, &blob, &excluded, stats)
                .into_iter()
                .map(|h| h.finding)
                .collect(),
            // A file that cannot be read is a warning.
            Entry::Unreadable { path, error } => {
                scoped(excluded.matches(&path), stats, |stats| {
                    stats.warn(source::Warning::Unreadable {
                        path: path.clone(),
                        error: error.into(),
                    })
                });
                Vec::new()
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
pub fn scan_blob(
    scanner: &Scanner<'_>,
    blob: &source::blob::Blob<'_>,
    stats: &Stats,
) -> Vec<Finding> {
    scanner.scan_blob(blob, stats)
}

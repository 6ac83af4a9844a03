//! keyflare: find leaked Cloudflare credentials, tell whether they are live,
//! and say how to fix them.
//!
//! The pipeline runs one way: sources ([`source`]: a working tree, git
//! history, a commit range, the index) read blobs ([`blob`]), the [`scan`]
//! stage opens archives ([`archive`]) and decodes encoded values ([`decode`])
//! while the [`matcher`] runs the [`rules`] over each blob and what came out
//! of it, matches become [`finding`]s,
//! the optional [`verify`] stage asks Cloudflare whether they are live, and
//! [`report`] renders them. [`cli`] parses flags into that pipeline; the binary
//! only maps the outcome to an exit code.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod archive;
pub mod baseline;
pub mod blob;
pub mod cli;
pub mod config;
pub mod decode;
pub mod error;
pub mod finding;
mod git_scan;
pub mod matcher;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod verify;

use std::sync::Mutex;
use std::time::Instant;

pub use error::Error;
pub use finding::Finding;
pub use git_scan::{scan_history, scan_range, scan_staged};
pub use report::{Report, Summary};
pub use rules::RuleSet;
pub use scan::{ScanOptions, Scanner};

use source::Stats;

/// Scans a working tree (directories and files) with `rules`. For git
/// sources see [`scan_history`], [`scan_range`] and [`scan_staged`].
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
    source::fs::walk(opts, stats, |blob| {
        let found = scan_blob(&scanner, &blob, stats);
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
pub fn scan_blob(scanner: &Scanner<'_>, blob: &blob::Blob, stats: &Stats) -> Vec<Finding> {
    scanner.scan_blob(blob, stats)
}

/// Asks Cloudflare about each finding's credential (each distinct one once)
/// and records the answer on every finding that holds it. Hygiene findings
/// and kinds with no safe read-only check get `unknown` with the reason,
/// without a request.
pub fn verify_findings(findings: &mut [Finding], verifier: &verify::Verifier) {
    use rules::{RuleKind, VerifyKind};
    use verify::{Candidate, Verification, VerifyMethod, VerifyStatus};
    let mut candidates = Vec::new();
    let mut slots = Vec::new();
    for (i, f) in findings.iter_mut().enumerate() {
        if f.kind != RuleKind::Credential {
            continue;
        }
        let method = match &f.verify_kind {
            VerifyKind::UserToken => VerifyMethod::UserToken,
            VerifyKind::AccountToken => VerifyMethod::AccountToken,
            VerifyKind::LegacyToken => VerifyMethod::LegacyToken,
            VerifyKind::GlobalKey => VerifyMethod::GlobalKey,
            VerifyKind::Unsupported(why) => {
                f.verification = Some(Verification {
                    status: VerifyStatus::Unknown,
                    detail: format!("not checked: {why}"),
                    blast_radius: None,
                });
                continue;
            }
        };
        candidates.push(Candidate {
            method,
            secret: f.secret.expose().to_string(),
            emails: f.emails.clone(),
            account_ids: f.account_ids.clone(),
        });
        slots.push(i);
    }
    let results = verifier.verify_all(&candidates);
    for (i, v) in slots.into_iter().zip(results) {
        findings[i].verification = Some(v);
    }
}

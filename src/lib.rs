//! keyflare: find leaked Cloudflare credentials, tell whether they are live,
//! and say how to fix them.
//!
//! The pipeline runs one way: sources ([`source`]: a working tree, git
//! history, a commit range, the index) read blobs ([`blob`]), the [`scan`]
//! stage opens archives ([`archive`]) and decodes encoded values ([`decode`])
//! while the [`matcher`] runs the [`rules`] over each blob and what came out
//! of it (a file too large to hold is scanned in chunks: [`large`]), matches
//! become [`finding`]s,
//! the optional [`verify`] stage asks Cloudflare whether they are live, and
//! [`report`] renders them. [`cli`] parses flags into that pipeline; the binary
//! only maps the outcome to an exit code.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

// zlib-rs under zlib's C names: libgit2 (C) then inflates git objects with it
// instead of the system's libz, a sixth less CPU on a history scan.
use libz_rs_sys as _;

pub mod archive;
pub mod audit;
pub mod baseline;
pub mod blob;
pub mod cli;
pub mod config;
pub mod credibility;
pub mod decode;
pub mod demo;
pub mod error;
pub mod escape;
pub mod examples;
pub mod finding;
mod git_scan;
pub mod large;
pub mod literals;
pub mod matcher;
pub mod merge;
pub mod notes;
pub mod report;
pub mod rules;
pub mod runs;
pub mod scan;
pub mod shape;
pub mod source;
pub mod verify;

use std::sync::Mutex;
use std::time::Instant;

pub use error::Error;
pub use finding::Finding;
pub use git_scan::{
    audit_history, scan_history, scan_range, scan_staged, HistoryFacts, SecretFacts,
};
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
        // A published example grants nothing; asking Cloudflare about it
        // would only spend the rate limit.
        if f.documented_example.is_some() {
            f.verification = Some(Verification {
                status: VerifyStatus::Unknown,
                detail: "not checked: a published example value".to_string(),
                blast_radius: None,
            });
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

/// What `keyflare audit` scans and how.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// A local path (read in place, never written) or a git URL (mirrored
    /// into a temporary directory, removed afterwards).
    pub target: String,
    /// Blobs and files larger than this are skipped.
    pub max_file_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Honour .gitignore in the working tree.
    pub respect_ignore: bool,
    /// Globs the working-tree scan skips.
    pub exclude: Vec<String>,
    /// Archives and decoding, as for a scan.
    pub scan: ScanOptions,
}

/// Audits a repository: every ref's history and the working tree (if
/// there is one), `drop_allowed` applied to each scan's report, every
/// distinct credential verified once (with a verifier), grouped by
/// credential. Also returns the merged findings (history first; working-
/// tree findings only where history has no finding of that credential at
/// that path) as a report, for the JSON and SARIF renderers.
pub fn audit(
    opts: &AuditOptions,
    rules: &RuleSet,
    verifier: Option<&verify::Verifier>,
    drop_allowed: impl Fn(&mut Report),
) -> Result<(audit::Audit, Report), Error> {
    use source::git::{clone, GitOptions};
    let started = Instant::now();
    let remote = clone::is_url(&opts.target);
    let mirror = if remote {
        Some(clone::mirror(&opts.target)?)
    } else {
        None
    };
    let path = match &mirror {
        Some(m) => m.repo.clone(),
        None => std::path::PathBuf::from(&opts.target),
    };
    let mut notices = Vec::new();
    let mut head = None;
    let (history, facts, worktree) = match source::git::open(&path) {
        Ok(repo) => {
            let workdir = repo.workdir().map(std::path::Path::to_path_buf);
            head = repo
                .head()
                .ok()
                .and_then(|h| h.target())
                .map(|o| o.to_string());
            drop(repo);
            let g = GitOptions {
                repo: path.clone(),
                max_file_size: opts.max_file_size,
                threads: opts.threads,
                all_objects: false,
                recurse_submodules: false,
                exclude: opts.exclude.clone(),
            };
            let (report, facts) = audit_history(&g, &opts.scan, rules)?;
            (Some(report), facts, workdir)
        }
        Err(Error::NotRepository { .. }) => {
            notices.push("not a git repository: only the files were scanned".to_string());
            (None, HistoryFacts::default(), Some(path.clone()))
        }
        Err(e) => return Err(e),
    };
    let is_git = history.is_some();
    let tree = match &worktree {
        Some(root) => Some(scan_tree(
            &source::fs::FsOptions {
                roots: vec![root.clone()],
                max_file_size: opts.max_file_size,
                threads: opts.threads,
                respect_ignore: opts.respect_ignore,
                exclude: opts.exclude.clone(),
            },
            &opts.scan,
            rules,
        )?),
        None => None,
    };
    let mut hist = history
        .unwrap_or_else(|| Report::new(Vec::new(), &Stats::default(), "audit", Default::default()));
    drop_allowed(&mut hist);
    let mut tree = tree
        .unwrap_or_else(|| Report::new(Vec::new(), &Stats::default(), "tree", Default::default()));
    drop_allowed(&mut tree);
    // One verification pass over both, so each secret is sent once.
    if let Some(v) = verifier {
        let split = hist.findings.len();
        let mut all: Vec<Finding> = std::mem::take(&mut hist.findings);
        all.append(&mut tree.findings);
        verify_findings(&mut all, v);
        tree.findings = all.split_off(split);
        hist.findings = all;
    }
    let credentials = audit::group(&hist.findings, &tree.findings, &facts);
    let mut merged = hist;
    let known: std::collections::HashSet<(String, String)> = merged
        .findings
        .iter()
        .map(|f| (f.path.clone(), f.fingerprint.clone()))
        .collect();
    merged.findings.extend(
        tree.findings
            .iter()
            .filter(|f| !known.contains(&(f.path.clone(), f.fingerprint.clone())))
            .cloned(),
    );
    merged.findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
    });
    merged.summary.source = "audit".into();
    merged.summary.files_scanned += tree.summary.files_scanned;
    merged.summary.bytes_scanned += tree.summary.bytes_scanned;
    merged.summary.skipped_too_large += tree.summary.skipped_too_large;
    merged.summary.skipped_special += tree.summary.skipped_special;
    merged.warnings.extend(tree.warnings.iter().cloned());
    merged.summary.errors = merged.warnings.len() as u64;
    merged.notices.extend(tree.notices.iter().cloned());
    merged.notices.extend(notices);
    merged.summary.recount(&merged.findings);
    let target = if remote {
        source::git::clone::display_url(&opts.target)
    } else {
        opts.target.clone()
    };
    let audit = audit::Audit {
        target,
        credentials,
        commits_scanned: facts.commits,
        files_scanned: merged.summary.files_scanned,
        history: is_git,
        worktree: worktree.is_some(),
        verified: verifier.is_some(),
        head,
        duration: started.elapsed(),
        notices: merged.notices.clone(),
        warnings: merged.warnings.clone(),
        others: report::ClassCounts::of(&merged.findings),
    };
    merged.summary.duration_ms = audit.duration.as_millis() as u64;
    // The mirror (if any) is removed here, when it goes out of scope.
    drop(mirror);
    Ok((audit, merged))
}

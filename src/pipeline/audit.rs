//! Pipeline, audit driver: history and working tree of one repository in
//! one run, each filtered, verified together (each secret sent once), then
//! grouped by credential into the audit model and merged into one outcome
//! for the JSON and SARIF renderers. It never renders.

use std::time::Instant;

use crate::error::Error;
use crate::finding::Finding;
use crate::outcome::audit::{self, HistoryFacts};
use crate::outcome::{self, Report};
use crate::pipeline::filter::examples::Examples;
use crate::pipeline::filter::suppress::Trust;
use crate::pipeline::filter::Filters;
use crate::pipeline::git::audit_history;
use crate::pipeline::tree::scan_tree;
use crate::pipeline::verify::verify_findings;
use crate::rules::RuleSet;
use crate::scan::ScanOptions;
use crate::source::{self, Stats};
use crate::verify;

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
    /// The configuration's `exclude` globs: scanned, their findings
    /// suppressed by the filters.
    pub exclude: Vec<String>,
    /// Archives and decoding, as for a scan.
    pub scan: ScanOptions,
}

/// Audits a repository: every ref's history and the working tree (if
/// there is one), documented examples marked and `filters` applied to each
/// scan's report (as a scan of a tree or a history does), every
/// distinct credential verified once (with a verifier), grouped by
/// credential. Also returns the merged findings (history first; working-
/// tree findings only where history has no finding of that credential at
/// that path) as a report, for the JSON and SARIF renderers.
pub fn audit(
    opts: &AuditOptions,
    rules: &RuleSet,
    verifier: Option<&verify::Verifier>,
    filters: &Filters,
) -> Result<(audit::Audit, Report), Error> {
    use source::git::{clone, GitOptions};
    let started = Instant::now();
    let examples = Examples::builtin()?;
    let filter = |r: &mut Report| filters.apply(r, rules, &examples, &Trust::default());
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
    filter(&mut hist);
    let mut tree = tree
        .unwrap_or_else(|| Report::new(Vec::new(), &Stats::default(), "tree", Default::default()));
    filter(&mut tree);
    // One verification pass over both, suppressed findings included (a
    // live credential is never silenced), so each secret is sent once.
    if let Some(v) = verifier {
        let cuts = [
            hist.findings.len(),
            hist.suppressed.len(),
            tree.findings.len(),
        ];
        let mut all: Vec<Finding> = std::mem::take(&mut hist.findings);
        all.append(&mut hist.suppressed);
        all.append(&mut tree.findings);
        all.append(&mut tree.suppressed);
        verify_findings(&mut all, v);
        let mut rest = all.split_off(cuts[0]);
        hist.findings = all;
        let mut rest2 = rest.split_off(cuts[1]);
        hist.suppressed = rest;
        tree.suppressed = rest2.split_off(cuts[2]);
        tree.findings = rest2;
        crate::pipeline::filter::suppress::lift_live(&mut hist);
        crate::pipeline::filter::suppress::lift_live(&mut tree);
    }
    let notice = crate::pipeline::git::history_notice(&hist.findings);
    hist.notices.extend(notice);
    let credentials = audit::group(&hist.findings, &tree.findings, &facts);
    let mut merged = hist;
    add_unseen(&mut merged.findings, &tree.findings);
    add_unseen(&mut merged.suppressed, &tree.suppressed);
    for list in [&mut merged.findings, &mut merged.suppressed] {
        list.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
        });
    }
    merged.summary.source = "audit".into();
    merged.summary.files_scanned += tree.summary.files_scanned;
    merged.summary.bytes_scanned += tree.summary.bytes_scanned;
    merged.summary.skipped_too_large += tree.summary.skipped_too_large;
    merged.summary.skipped_special += tree.summary.skipped_special;
    merged.warnings.extend(tree.warnings.iter().cloned());
    merged.summary.errors = merged.warnings.len() as u64;
    merged.notices.extend(tree.notices.iter().cloned());
    merged.notices.extend(notices);
    merged.recount();
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
        warnings: merged.warnings.iter().map(ToString::to_string).collect(),
        others: outcome::ClassCounts::of(&merged.findings),
        suppressed: merged.summary.describe_suppressed(),
    };
    merged.summary.duration_ms = audit.duration.as_millis() as u64;
    // The mirror (if any) is removed here, when it goes out of scope.
    drop(mirror);
    Ok((audit, merged))
}

/// Appends the tree's findings that history does not already hold at the
/// same path with the same secret (history's copy has the commit).
fn add_unseen(history: &mut Vec<Finding>, tree: &[Finding]) {
    let known: std::collections::HashSet<(&str, &str)> = history
        .iter()
        .map(|f| (f.path.as_str(), f.fingerprint.as_str()))
        .collect();
    let unseen: Vec<Finding> = tree
        .iter()
        .filter(|f| !known.contains(&(f.path.as_str(), f.fingerprint.as_str())))
        .cloned()
        .collect();
    history.extend(unseen);
}

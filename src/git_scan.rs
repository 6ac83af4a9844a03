//! Git scans: runs the matcher over what the git sources hand out and turns
//! matches into findings attributed to commits.
//!
//! History: each distinct blob is matched once per path it appears under
//! (rules may look at the path), a secret is reported once per path, at the
//! commit that introduced it, and `in_head` says whether HEAD's tree still
//! holds it anywhere. Ranges and the index: only matches on added lines
//! whose secret the replaced versions did not hold; for ranges, also not
//! secrets BASE already had.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use crate::error::Error;
use crate::finding::{CommitInfo, Finding, HISTORY_REMEDIATION};
use crate::report::Report;
use crate::rules::RuleSet;
use crate::scan::{ScanOptions, Scanner};
use crate::source::git::{self, changes, history, CommitMeta, GitOptions};
use crate::source::Stats;

/// A finding before attribution: which commit introduced it.
struct Hit {
    finding: Finding,
    commit: Option<usize>,
}

type Key = (String, String, String);

fn key(f: &Finding) -> Key {
    (
        f.path.clone(),
        f.rule_id.clone(),
        f.secret.expose().to_string(),
    )
}

/// Keeps one hit per (path, rule, secret): the earliest commit's (hits with
/// no commit come last).
fn earliest(hits: Vec<Hit>) -> Vec<Hit> {
    let mut best: HashMap<Key, Hit> = HashMap::new();
    for h in hits {
        let k = key(&h.finding);
        let order = |c: Option<usize>| c.unwrap_or(usize::MAX);
        match best.get(&k) {
            Some(b)
                if (order(b.commit), b.finding.line, b.finding.column)
                    <= (order(h.commit), h.finding.line, h.finding.column) => {}
            _ => {
                best.insert(k, h);
            }
        }
    }
    best.into_values().collect()
}

fn attribute(meta: &CommitMeta, in_head: bool) -> CommitInfo {
    CommitInfo {
        commit: meta.id.clone(),
        author: meta.author.clone(),
        date: meta.date.clone(),
        in_head,
    }
}

/// Whether `hay` holds `secret` (also when `hay` is UTF-16).
fn holds(hay: &[u8], secret: &str) -> bool {
    let finder = memchr::memmem::Finder::new(secret.as_bytes());
    finder.find(hay).is_some()
        || crate::blob::utf16_to_utf8(hay).is_some_and(|t| finder.find(&t).is_some())
}

fn history_notice(findings: &[Finding]) -> Option<String> {
    let n = findings
        .iter()
        .filter(|f| f.commit.as_ref().is_some_and(|c| !c.in_head))
        .count();
    (n > 0).then(|| {
        format!(
            "{n} finding{} only in history (not in HEAD): for each, {HISTORY_REMEDIATION}",
            if n == 1 { " is" } else { "s are" }
        )
    })
}

/// Scans every blob reachable from any ref of the repository at
/// `opts.repo` (see [`history`]).
pub fn scan_history(
    opts: &GitOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<Report, Error> {
    let started = Instant::now();
    let repo = git::open(&opts.repo)?;
    let stats = Stats::default();
    let plan = history::plan(&repo, opts, &stats)?;
    drop(repo);
    let scanner = Scanner::new(rules, scan.clone());
    let hits = Mutex::new(Vec::new());
    // Secrets seen in a blob of HEAD's tree, by (rule, secret).
    let in_head = Mutex::new(HashSet::new());
    history::read(&plan, opts, &stats, |blob| {
        let mut local = Vec::new();
        for site in &blob.sites {
            for f in scan_bytes(&scanner, &site.path, blob.data, &stats) {
                local.push(Hit {
                    finding: f,
                    commit: site.commit,
                });
            }
        }
        if local.is_empty() {
            return;
        }
        if blob.in_head {
            if let Ok(mut h) = in_head.lock() {
                h.extend(
                    local
                        .iter()
                        .map(|h| (h.finding.rule_id.clone(), h.finding.secret.clone())),
                );
            }
        }
        if let Ok(mut all) = hits.lock() {
            all.extend(local);
        }
    })?;
    let hits = earliest(hits.into_inner().unwrap_or_else(|e| e.into_inner()));
    let in_head = in_head.into_inner().unwrap_or_else(|e| e.into_inner());
    let wanted: BTreeSet<usize> = hits.iter().filter_map(|h| h.commit).collect();
    let metas = plan.commit_metas(&wanted);
    let findings: Vec<Finding> = hits
        .into_iter()
        .map(|h| {
            let mut f = h.finding;
            if let Some(meta) = h.commit.and_then(|c| metas.get(&c)) {
                let still = in_head.contains(&(f.rule_id.clone(), f.secret.clone()));
                f.commit = Some(attribute(meta, still));
            }
            f
        })
        .collect();
    let mut notices = plan.notices.clone();
    notices.extend(history_notice(&findings));
    if findings
        .iter()
        .any(|f| f.path.starts_with("(unreachable)/"))
    {
        notices.push(
            "some findings are in objects no ref reaches: after rotating, drop them with \
             `git reflog expire --expire-unreachable=now --all && git gc --prune=now`"
                .into(),
        );
    }
    let mut report = Report::new(findings, &stats, "git", started.elapsed());
    report.notices = notices;
    Ok(report)
}

/// Scans only what the commits of `range` (`BASE..HEAD` or `BASE...HEAD`)
/// add, as a pull request's check needs (see [`changes`]).
pub fn scan_range(
    opts: &GitOptions,
    range: &str,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<Report, Error> {
    let started = Instant::now();
    let repo = git::open(&opts.repo)?;
    let stats = Stats::default();
    let scanner = Scanner::new(rules, scan.clone());
    let mut hits = Vec::new();
    let scan = changes::range(&repo, range, opts, &stats, |c| {
        hits.extend(
            added_findings(&scanner, &c, &stats)
                .into_iter()
                .map(|f| Hit {
                    finding: f,
                    commit: c.commit,
                }),
        );
    })?;
    let mut hits = earliest(hits);
    // A secret BASE already had is not the range's doing, wherever it moved.
    if let (Some(base), false) = (scan.base_tree, hits.is_empty()) {
        let secrets: Vec<String> = hits
            .iter()
            .map(|h| h.finding.secret.expose().to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let needles: Vec<&[u8]> = secrets.iter().map(|s| s.as_bytes()).collect();
        let found = changes::tree_contains(&repo, base, &needles, opts.max_file_size, &stats);
        let old: HashSet<&str> = secrets
            .iter()
            .zip(found)
            .filter(|(_, f)| *f)
            .map(|(s, _)| s.as_str())
            .collect();
        hits.retain(|h| !old.contains(h.finding.secret.expose()));
    }
    let mut head_files: HashMap<String, Option<Vec<u8>>> = HashMap::new();
    let findings: Vec<Finding> = hits
        .into_iter()
        .map(|h| {
            let mut f = h.finding;
            if let Some(meta) = h.commit.and_then(|c| scan.commits.get(c)) {
                let content = head_files.entry(f.path.clone()).or_insert_with(|| {
                    scan.head_tree
                        .and_then(|t| changes::blob_at(&repo, t, &f.path))
                });
                let still = content
                    .as_deref()
                    .is_some_and(|c| holds(c, f.secret.expose()));
                f.commit = Some(attribute(meta, still));
            }
            f
        })
        .collect();
    let mut notices = scan.notices;
    notices.extend(history_notice(&findings));
    let mut report = Report::new(findings, &stats, "range", started.elapsed());
    report.notices = notices;
    Ok(report)
}

/// Scans only what the index adds to HEAD, as a pre-commit hook needs (see
/// [`changes`]). Works before the first commit.
pub fn scan_staged(
    opts: &GitOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<Report, Error> {
    let started = Instant::now();
    let repo = git::open(&opts.repo)?;
    let stats = Stats::default();
    let scanner = Scanner::new(rules, scan.clone());
    let mut findings = Vec::new();
    let notices = changes::staged(&repo, opts, &stats, |c| {
        findings.extend(added_findings(&scanner, &c, &stats));
    })?;
    let mut report = Report::new(findings, &stats, "staged", started.elapsed());
    report.notices = notices;
    Ok(report)
}

/// Matches on the lines a change added, whose secret no replaced version held.
fn added_findings(scanner: &Scanner<'_>, c: &changes::Change<'_>, stats: &Stats) -> Vec<Finding> {
    scan_bytes(scanner, c.path, c.data, stats)
        .into_iter()
        .filter(|f| c.added.contains(f.line))
        .filter(|f| !c.before.iter().any(|b| holds(b, f.secret.expose())))
        .collect()
}

/// Scans a git blob like a file: archives are opened and encoded values
/// decoded, so history gets the same treatment as the working tree.
fn scan_bytes(scanner: &Scanner<'_>, path: &str, data: &[u8], stats: &Stats) -> Vec<Finding> {
    let blob = crate::blob::Blob {
        path: path.to_string(),
        data: data.to_vec(),
    };
    scanner.scan_blob(&blob, stats)
}

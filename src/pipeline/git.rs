//! Git scans: hands each blob the git sources read to the blob step
//! (`pipeline::blob`), which scans it and tags its findings with
//! the blob's origin, and resolves those tags into findings attributed to
//! commits.
//!
//! History: each distinct blob is matched once per path it appears under
//! (rules may look at the path), a secret is reported once per path, and
//! attribution comes afterwards, from the matches alone: each finding goes
//! to the first commit (walk order, topological) that held its secret at any
//! path, so a rename or copy is not a new leak; the commit that brought it to
//! the finding's path is listed as the move, with the paths its first parent
//! held it at (a few tree lookups per moved finding, no blob is read again).
//! `in_head` says whether HEAD's tree holds the secret anywhere,
//! `in_head_at_path` whether it does at the finding's path. Ranges and the
//! index: only matches on added lines whose secret the replaced versions did
//! not hold; for ranges, also not secrets BASE already had.
//!
//! Pipeline, git driver: sources and the scan stage meet here. It never
//! filters, verifies or renders.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use crate::error::Error;
use crate::finding::{CommitInfo, Finding, Move, HISTORY_REMEDIATION, PLACES_SHOWN};
use crate::matcher::Volume;
use crate::outcome::audit::{HistoryFacts, SecretFacts};
use crate::outcome::Report;
use crate::pipeline::blob::{hits_of, holds, Hit};
use crate::pipeline::filter::config::Exclude;
use crate::rules::RuleSet;
use crate::scan::{ScanOptions, Scanner};
use crate::source::git::{self, changes, history, CommitMeta, GitOptions};
use crate::source::Stats;

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
        time: meta.time,
        in_head,
        in_head_at_path: in_head,
        ..CommitInfo::default()
    }
}

/// Sets where HEAD holds the secret: `paths` (sorted) and whether the
/// finding's own path is one of them.
fn place_in_head(c: &mut CommitInfo, path: &str, paths: Option<&BTreeSet<String>>) {
    let paths = paths
        .map(|p| p.iter().collect::<Vec<_>>())
        .unwrap_or_default();
    c.in_head = !paths.is_empty();
    c.in_head_at_path = paths.iter().any(|p| *p == path);
    c.head_path_count = paths.len();
    c.head_paths = paths
        .into_iter()
        .take(PLACES_SHOWN)
        .map(String::clone)
        .collect();
}

/// How many other paths of a secret are looked up for a move's sources:
/// a secret copied into hundreds of files must not cost hundreds of tree
/// lookups per finding.
const MOVE_CANDIDATES: usize = 16;

/// One secret of a history scan (rule, secret, repository): its paths.
#[derive(Default)]
struct Spread {
    /// Per path: the earliest commit holding it there, and the blobs there
    /// that hold it.
    paths: HashMap<String, (usize, HashSet<git2::Oid>)>,
    /// The earliest commit holding it anywhere, and the (smallest) path
    /// there.
    first: Option<(usize, String)>,
}

/// Groups hits by secret (within one repository: commit order means
/// nothing across submodules) for attributing moves.
fn spreads(hits: &[Hit], plan: &history::Plan) -> HashMap<(Option<u16>, String, String), Spread> {
    let mut out: HashMap<(Option<u16>, String, String), Spread> = HashMap::new();
    for h in hits {
        let Some(c) = h.commit else { continue };
        let f = &h.finding;
        let key = (
            plan.repo_of(c),
            f.rule_id.clone(),
            f.secret.expose().to_string(),
        );
        let s = out.entry(key).or_default();
        let e = s
            .paths
            .entry(f.path.clone())
            .or_insert_with(|| (c, HashSet::new()));
        e.0 = e.0.min(c);
        e.1.extend(h.blob);
        if s.first
            .as_ref()
            .is_none_or(|(fc, fp)| (c, &f.path) < (*fc, fp))
        {
            s.first = Some((c, f.path.clone()));
        }
    }
    out
}

/// The paths worth checking as the source of a move of `s` to `path` in
/// commit `at`: those that held it earlier, the same file name first, then
/// the most recent.
fn move_candidates<'s>(
    s: &'s Spread,
    path: &str,
    at: usize,
) -> Vec<(&'s str, &'s HashSet<git2::Oid>)> {
    let name = |p: &str| p.rsplit('/').next().unwrap_or("").to_string();
    let own = name(path);
    let mut c: Vec<(&str, usize, &HashSet<git2::Oid>)> = s
        .paths
        .iter()
        .filter(|(p, (first, _))| p.as_str() != path && *first < at)
        .map(|(p, (first, blobs))| (p.as_str(), *first, blobs))
        .collect();
    c.sort_by(|a, b| (name(b.0) == own, b.1, a.0).cmp(&(name(a.0) == own, a.1, b.0)));
    c.into_iter()
        .take(MOVE_CANDIDATES)
        .map(|(p, _, b)| (p, b))
        .collect()
}

/// "N findings only in history (not in HEAD): ...", for the findings a
/// history or range scan reports: callers add it once the filters have
/// run, so that suppressed findings (an excluded fixture deleted long ago)
/// do not count.
pub fn history_notice(findings: &[Finding]) -> Option<String> {
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
/// `opts.repo` (see [`history`]). The notice about findings only in
/// history is the caller's, after filtering ([`history_notice`]).
pub fn scan_history(
    opts: &GitOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<Report, Error> {
    history_scan(opts, scan, rules, false).map(|(report, _)| report)
}

/// [`scan_history`], plus what an audit needs: each credential's last
/// introduction and its removal from HEAD's first-parent line.
pub fn audit_history(
    opts: &GitOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<(Report, HistoryFacts), Error> {
    history_scan(opts, scan, rules, true)
}

fn history_scan(
    opts: &GitOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
    track: bool,
) -> Result<(Report, HistoryFacts), Error> {
    let started = Instant::now();
    let repo = git::open(&opts.repo)?;
    let stats = Stats::default();
    let scanner = Scanner::new(rules, scan.clone());
    let hits = Mutex::new(Vec::new());
    // With `track`: which blob holds which credential (fingerprint).
    let holders: Mutex<Vec<(git2::Oid, String)>> = Mutex::new(Vec::new());
    let excluded = excluded(opts)?;
    let plan = history::scan(repo, opts, &stats, |blob| {
        let local = hits_of(&scanner, &blob, &excluded, &stats);
        if local.is_empty() {
            return;
        }
        if track {
            if let Ok(mut h) = holders.lock() {
                h.extend(
                    local
                        .iter()
                        .filter_map(|h| Some((h.blob?, h.finding.fingerprint.clone()))),
                );
            }
        }
        if let Ok(mut all) = hits.lock() {
            all.extend(local);
        }
    })?;
    let hits = hits.into_inner().unwrap_or_else(|e| e.into_inner());
    // The latest introducing commit of each credential, before `earliest`
    // keeps only the first per path.
    let mut latest: HashMap<String, usize> = HashMap::new();
    if track {
        for h in &hits {
            if let Some(c) = h.commit {
                let e = latest.entry(h.finding.fingerprint.clone()).or_insert(c);
                *e = (*e).max(c);
            }
        }
    }
    // Where HEAD holds each secret, by (rule, secret).
    let mut in_head: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    for h in hits.iter().filter(|h| h.at_head) {
        let f = &h.finding;
        in_head
            .entry((f.rule_id.clone(), f.secret.expose().to_string()))
            .or_default()
            .insert(f.path.clone());
    }
    let spreads = spreads(&hits, &plan);
    let hits = earliest(hits);
    let spread_of = |h: &Hit| {
        let c = h.commit?;
        let f = &h.finding;
        spreads.get(&(
            plan.repo_of(c),
            f.rule_id.clone(),
            f.secret.expose().to_string(),
        ))
    };
    let wanted: BTreeSet<usize> = hits
        .iter()
        .filter_map(|h| h.commit)
        .chain(
            hits.iter()
                .filter_map(|h| spread_of(h)?.first.as_ref().map(|f| f.0)),
        )
        .chain(latest.values().copied())
        .collect();
    let metas = plan.commit_metas(&wanted);
    let watched: Vec<String> = spreads
        .values()
        .flat_map(|s| s.paths.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut mover = plan.mover(watched);
    let findings: Vec<Finding> = hits
        .iter()
        .map(|h| {
            let mut f = h.finding.clone();
            let Some((c, meta)) = h.commit.and_then(|c| Some((c, metas.get(&c)?))) else {
                return f;
            };
            let first = spread_of(h).and_then(|s| Some((s, s.first.as_ref()?)));
            let mut info = match first {
                // Held at another path by an earlier commit, an ancestor:
                // a move or copy.
                Some((s, (fc, fp))) if *fc < c && mover.descends(c, *fc) => match metas.get(fc) {
                    Some(first_meta) => {
                        let src = mover.sources(
                            c,
                            &f.path,
                            &move_candidates(s, &f.path, c),
                            |p| s.paths.get(p).map(|(_, b)| b),
                            PLACES_SHOWN,
                        );
                        let mut info = attribute(first_meta, false);
                        info.first_path = Some(fp.clone());
                        info.moved = Some(Move {
                            commit: meta.id.clone(),
                            author: meta.author.clone(),
                            date: meta.date.clone(),
                            from: src.from,
                            renamed: src.renamed,
                        });
                        info
                    }
                    None => attribute(meta, false),
                },
                _ => attribute(meta, false),
            };
            let key = (f.rule_id.clone(), f.secret.expose().to_string());
            place_in_head(&mut info, &f.path, in_head.get(&key));
            f.commit = Some(info);
            f
        })
        .collect();
    let mut notices = plan.notices.clone();
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
    let mut facts = HistoryFacts {
        commits: plan.commit_count(),
        secrets: HashMap::new(),
    };
    if track {
        let holders = holders.into_inner().unwrap_or_else(|e| e.into_inner());
        facts.secrets = lifetimes(opts, &findings, &holders, &latest, &metas, &stats)?;
    }
    let mut report = Report::new(findings, &stats, "git", started.elapsed());
    report.notices.extend(notices);
    Ok((report, facts))
}

/// Puts together each credential's [`SecretFacts`]: its latest introduction
/// (from the walk) and its removal (from [`git::lifetime::removals`]).
fn lifetimes(
    opts: &GitOptions,
    findings: &[Finding],
    holders: &[(git2::Oid, String)],
    latest: &HashMap<String, usize>,
    metas: &HashMap<usize, CommitMeta>,
    stats: &Stats,
) -> Result<HashMap<String, SecretFacts>, Error> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut prints: Vec<&str> = Vec::new();
    let mut watched: HashMap<git2::Oid, Vec<usize>> = HashMap::new();
    for (blob, print) in holders {
        let next = prints.len();
        let i = *index.entry(print.as_str()).or_insert(next);
        if i == next {
            prints.push(print.as_str());
        }
        let list = watched.entry(*blob).or_default();
        if !list.contains(&i) {
            list.push(i);
        }
    }
    let repo = git::open(&opts.repo)?;
    let lives = git::lifetime::removals(&repo, &watched, prints.len(), stats)?;
    let head_has = |print: &str| {
        findings
            .iter()
            .any(|f| f.fingerprint == print && f.commit.as_ref().is_some_and(|c| c.in_head))
    };
    let mut out = HashMap::new();
    for (i, print) in prints.iter().enumerate() {
        let still = head_has(print);
        let last_introduced = latest
            .get(*print)
            .and_then(|c| metas.get(c))
            .map(|m| attribute(m, still));
        let removed = lives[i]
            .removed
            .as_ref()
            .filter(|_| !still)
            .map(|m| attribute(m, false));
        out.insert(
            print.to_string(),
            SecretFacts {
                last_introduced,
                removed,
                commits_holding: lives[i].commits_holding,
            },
        );
    }
    Ok(out)
}

/// Scans only what the commits of `range` (`BASE..HEAD` or `BASE...HEAD`)
/// add, as a pull request's check needs (see [`changes`]).
pub fn scan_range(
    opts: &GitOptions,
    range: &str,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<Report, Error> {
    let (started, repo, stats, scanner) = open_changes(opts, scan, rules, Volume::Bulk)?;
    let excluded = excluded(opts)?;
    let mut hits = Vec::new();
    let scan = changes::range(&repo, range, opts, &stats, |blob| {
        hits.extend(hits_of(&scanner, &blob, &excluded, &stats));
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
    let mut findings: Vec<Finding> = hits
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
    // Secrets gone from their path may still be in HEAD at another: only
    // then is HEAD's whole tree read.
    let gone: Vec<String> = findings
        .iter()
        .filter(|f| f.commit.as_ref().is_some_and(|c| !c.in_head_at_path))
        .map(|f| f.secret.expose().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let (Some(head), false) = (scan.head_tree, gone.is_empty()) {
        let needles: Vec<&[u8]> = gone.iter().map(|s| s.as_bytes()).collect();
        let holders = changes::tree_holders(&repo, head, &needles, opts.max_file_size, &stats);
        let at: HashMap<&str, BTreeSet<String>> = gone
            .iter()
            .map(String::as_str)
            .zip(holders.into_iter().map(|p| p.into_iter().collect()))
            .collect();
        for f in &mut findings {
            if let Some(c) = f.commit.as_mut().filter(|c| !c.in_head_at_path) {
                place_in_head(c, &f.path, at.get(f.secret.expose()));
            }
        }
    }
    let notices = scan.notices;
    let mut report = Report::new(findings, &stats, "range", started.elapsed());
    report.notices.extend(notices);
    Ok(report)
}

/// What the base commit of `range` held at each of `files` (paths on disk,
/// such as keyflare.toml and the baseline): None for a file outside the
/// repository's working tree (the range cannot have changed it), Some(None)
/// for a file the base lacks.
pub fn base_versions(
    repo: &std::path::Path,
    range: &str,
    files: &[&std::path::Path],
) -> Result<Vec<Option<Option<Vec<u8>>>>, Error> {
    let repo = git::open(repo)?;
    let (base, _) = changes::range_ends(&repo, range)?;
    let tree = repo
        .find_commit(base)
        .map_err(crate::error::GitOp::ReadCommit.err())?
        .tree_id();
    let top = repo.workdir().and_then(|w| std::fs::canonicalize(w).ok());
    Ok(files
        .iter()
        .map(|f| {
            let top = top.as_ref()?;
            let abs = std::fs::canonicalize(f).ok()?;
            let rel = abs.strip_prefix(top).ok()?;
            // git paths are `/`-separated.
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some(changes::blob_at(&repo, tree, &rel.join("/")))
        })
        .collect())
}

/// Scans only what the index adds to HEAD, as a pre-commit hook needs (see
/// [`changes`]). Works before the first commit.
pub fn scan_staged(
    opts: &GitOptions,
    scan: &ScanOptions,
    rules: &RuleSet,
) -> Result<Report, Error> {
    // A staged change is kilobytes: automata cheap to build beat fast ones.
    let (started, repo, stats, scanner) = open_changes(opts, scan, rules, Volume::Little)?;
    let excluded = excluded(opts)?;
    let mut findings = Vec::new();
    let notices = changes::staged(&repo, opts, &stats, |blob| {
        let found = hits_of(&scanner, &blob, &excluded, &stats);
        findings.extend(found.into_iter().map(|h| h.finding));
    })?;
    let mut report = Report::new(findings, &stats, "staged", started.elapsed());
    report.notices.extend(notices);
    Ok(report)
}

/// What a range or staged scan starts with: the clock, the repository,
/// counters and a scanner built for `volume` of text.
fn open_changes<'r>(
    opts: &GitOptions,
    scan: &ScanOptions,
    rules: &'r RuleSet,
    volume: Volume,
) -> Result<(Instant, git2::Repository, Stats, Scanner<'r>), Error> {
    let started = Instant::now();
    let repo = git::open(&opts.repo)?;
    Ok((
        started,
        repo,
        Stats::default(),
        Scanner::built_for(rules, scan.clone(), volume),
    ))
}

/// The configuration's `exclude` globs, compiled.
fn excluded(opts: &GitOptions) -> Result<Exclude, Error> {
    Exclude::new(&opts.exclude).map_err(|e| Error::Usage(format!("exclude: {e}")))
}

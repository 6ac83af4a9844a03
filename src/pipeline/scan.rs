//! Pipeline, scan driver: one run of `keyflare scan` from a plan to an
//! outcome. The source (a working tree, a history, a range, the index) is
//! scanned, documented examples are marked, the filters set aside what is
//! suppressed (with what a range's base held, so that suppressions the
//! range adds are told apart), the verifier checks what is left and what
//! was suppressed, and a notice says what history alone holds. It never
//! renders and never decides an exit code: the command line does both.

use std::path::Path;

use crate::error::Error;
use crate::outcome::Report;
use crate::pipeline::filter::baseline::Baseline;
use crate::pipeline::filter::config::Config;
use crate::pipeline::filter::examples::Examples;
use crate::pipeline::filter::{suppress, Filters};
use crate::rules::RuleSet;
use crate::scan::ScanOptions;
use crate::source::fs::FsOptions;
use crate::source::git::GitOptions;
use crate::source::Stats;
use crate::verify::Verifier;

/// What one scan reads and what it does with the findings: the command
/// line makes it from the flags and the configuration.
#[derive(Debug)]
pub struct ScanPlan {
    /// Where the blobs come from.
    pub source: Source,
    /// Archives and decoding.
    pub scan: ScanOptions,
    /// The filter stage's settings.
    pub filters: Filters,
    /// With a range: `--trust-range-suppressions`, apply the suppressions
    /// the range itself adds.
    pub trust_range: bool,
    /// Set to check each credential with Cloudflare.
    pub verifier: Option<Verifier>,
}

/// The source of a scan.
#[derive(Debug)]
pub enum Source {
    /// Files and directories.
    Tree(FsOptions),
    /// Every blob reachable in a repository's history (`--git`).
    History(GitOptions),
    /// What the commits of a range add (`--range BASE..HEAD`).
    Range(GitOptions, String),
    /// What is staged (`--staged`).
    Staged(GitOptions),
}

/// The scan stage's work, handed to the caller's progress hook.
pub type Work<'a> = &'a mut dyn FnMut() -> Result<Report, Error>;

/// Runs `plan`: the source scanned with `rules`, then the filters, the
/// verifier and the history notice. A working tree's walk runs inside
/// `progress(stats, work)`, which must call `work` once and may show the
/// counters in `stats` meanwhile (the git sources count nothing there).
pub fn run(
    plan: &ScanPlan,
    rules: &RuleSet,
    progress: impl FnOnce(&Stats, Work<'_>) -> Result<Report, Error>,
) -> Result<Report, Error> {
    let scan = &plan.scan;
    let mut report = match &plan.source {
        Source::Tree(opts) => {
            let stats = Stats::default();
            progress(&stats, &mut || {
                crate::pipeline::tree::scan_tree_with_stats(opts, scan, rules, &stats)
            })?
        }
        Source::History(g) => crate::pipeline::git::scan_history(g, scan, rules)?,
        Source::Range(g, range) => crate::pipeline::git::scan_range(g, range, scan, rules)?,
        Source::Staged(g) => crate::pipeline::git::scan_staged(g, scan, rules)?,
    };
    // What the range's base held, so that suppressions the range adds are
    // told apart; its notices follow the examples' (filters.apply's).
    let (trust, range_notices) = match &plan.source {
        Source::Range(g, range) => {
            let (base, notices) = range_base(&g.repo, range, &plan.filters)?;
            let trust = suppress::Trust {
                range: Some(base),
                trust_range: plan.trust_range,
            };
            (trust, notices)
        }
        _ => (suppress::Trust::default(), Vec::new()),
    };
    plan.filters
        .apply(&mut report, rules, &Examples::builtin()?, &trust);
    report.notices.extend(range_notices);
    if let Some(v) = &plan.verifier {
        // Suppressed findings are verified too: a live credential is never
        // silenced (filter::suppress::lift_live).
        let reported = report.findings.len();
        report.findings.append(&mut report.suppressed);
        crate::pipeline::verify::verify_findings(&mut report.findings, v);
        report.suppressed = report.findings.split_off(reported);
        suppress::lift_live(&mut report);
        report.recount();
    }
    if matches!(plan.source, Source::History(_) | Source::Range(..)) {
        let notice = crate::pipeline::git::history_notice(&report.findings);
        report.notices.extend(notice);
    }
    Ok(report)
}

/// What the base of a scanned range held of the configuration and the
/// baseline, so that entries the range added are told apart, and notices
/// saying which of the two files the range changed.
fn range_base(
    repo: &Path,
    range: &str,
    filters: &Filters,
) -> Result<(suppress::RangeBase, Vec<String>), Error> {
    use suppress::{ConfigEntries, RangeBase};
    let config = &filters.config;
    let baseline = filters.baseline.as_ref();
    let baseline_path = baseline.map(Baseline::path);
    let mut files = Vec::new();
    files.extend(config.path.as_deref());
    let config_at = config.path.as_ref().map(|_| 0);
    let baseline_at = baseline_path.map(|p| {
        files.push(p);
        files.len() - 1
    });
    let versions = crate::pipeline::git::base_versions(repo, range, &files)?;
    let version = |i: Option<usize>| i.and_then(|i| versions.get(i).cloned().flatten());
    let mut notices = Vec::new();
    let changed = |name: &Path, now: &[u8], then: &Option<Vec<u8>>| {
        (then.as_deref() != Some(now)).then(|| {
            format!(
                "this range changes {}: suppressions it adds there are not applied unless --trust-range-suppressions",
                crate::finding::printable_path(&name.display().to_string())
            )
        })
    };
    // The configuration: outside the repository (or none), nothing to
    // compare; a base version that does not parse granted nothing.
    let config_base = match (version(config_at), &config.path) {
        (Some(then), Some(path)) => {
            let now = std::fs::read(path).unwrap_or_default();
            notices.extend(changed(path, &now, &then));
            let base = then
                .and_then(|t| Config::parse(&String::from_utf8_lossy(&t), path).ok())
                .map(|c| ConfigEntries::of(&c))
                .unwrap_or_default();
            Some(base)
        }
        _ => None,
    };
    let baseline_base = match (version(baseline_at), baseline_path) {
        (Some(then), Some(path)) => {
            let now = std::fs::read(path).unwrap_or_default();
            notices.extend(changed(path, &now, &then));
            Some(
                then.and_then(|t| Baseline::parse(&t, path).ok())
                    .map(|b| b.keys())
                    .unwrap_or_default(),
            )
        }
        _ => None,
    };
    Ok((
        RangeBase {
            config: config_base,
            baseline: baseline_base,
        },
        notices,
    ))
}

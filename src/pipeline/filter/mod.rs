//! Pipeline, filter stage: what decides which findings a run keeps and how
//! they are marked, in one place: the team configuration (excluded paths,
//! allowed values, extra rules), the baseline, documented examples and
//! hygiene notes. It reads findings and rules; it never reads a source or
//! renders a report.

pub mod baseline;
pub mod config;
pub mod examples;
pub mod notes;

use std::path::PathBuf;

use crate::outcome::Report;
use crate::rules::RuleSet;
use baseline::Baseline;
use config::Config;

/// Drops what the configuration allows or excludes, shapes the hygiene
/// notes ([`crate::pipeline::filter::notes`]: values are allowlisted before a file's notes are
/// folded into one), then drops what the baseline already knows, before
/// anything is verified.
pub fn apply(
    report: &mut Report,
    config: &Config,
    rules: &RuleSet,
    notes: &notes::NoteOptions,
    baseline: Option<&Baseline>,
) {
    let before = report.findings.len();
    report
        .findings
        .retain(|f| !config.allows(f) && !config.excludes(&f.path));
    let allowed = before - report.findings.len();
    notes::shape(&mut report.findings, rules, notes);
    if let Some(b) = baseline {
        let before = report.findings.len();
        report.findings.retain(|f| !b.contains(f));
        let known = before - report.findings.len();
        if known > 0 {
            report.notices.push(format!(
                "{known} finding(s) already in the baseline were not reported"
            ));
        }
    }
    if allowed > 0 {
        report.notices.push(format!(
            "{allowed} finding(s) allowed by the configuration were not reported"
        ));
    }
    report.summary.recount(&report.findings);
}

/// The notes stage's options: submodule paths from `.gitmodules` in the
/// single directory scanned and, for git modes (and audits), in HEAD's tree.
/// HEAD's list is enough for history: a commit that has a submodule holds
/// only a gitlink at its path, so notes under it come from the submodule's
/// own history (`--recurse-submodules`), which HEAD still lists.
pub fn note_options(vendored: bool, paths: &[PathBuf], git: bool) -> notes::NoteOptions {
    let mut submodules = Vec::new();
    if let [root] = paths {
        if let Ok(text) = std::fs::read_to_string(root.join(".gitmodules")) {
            submodules.extend(notes::submodule_paths(&text));
        }
        if git {
            if let Some(text) = crate::source::git::head_file(root, ".gitmodules") {
                submodules.extend(notes::submodule_paths(&text));
            }
        }
    }
    submodules.sort();
    submodules.dedup();
    notes::NoteOptions {
        vendored,
        submodules,
    }
}

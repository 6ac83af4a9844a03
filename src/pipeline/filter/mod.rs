//! Pipeline, filter stage: what decides which findings a run keeps and how
//! they are marked, in one place: the team configuration (excluded paths,
//! allowed values, extra rules), the baseline, documented examples and
//! hygiene notes. It reads findings and rules; it never reads a source or
//! renders a report.

pub mod baseline;
pub mod config;
pub mod examples;
pub mod notes;
pub mod suppress;

use std::path::PathBuf;

use crate::outcome::Report;
use crate::rules::RuleSet;
use baseline::Baseline;
use config::Config;
use examples::Examples;
use suppress::Trust;

/// The filter stage's settings for one run, as the configuration and the
/// flags set them: scan and audit filter alike.
#[derive(Debug, Default)]
pub struct Filters {
    /// The team configuration (allowed values, excluded paths).
    pub config: Config,
    /// Which hygiene notes are kept.
    pub notes: notes::NoteOptions,
    /// Findings already known, set aside.
    pub baseline: Option<Baseline>,
    /// Report documented examples at every place, as ordinary findings.
    pub strict_examples: bool,
}

impl Filters {
    /// Marks documented examples (their notice goes to the report), then
    /// [`apply`]: what is suppressed is set aside.
    pub fn apply(&self, report: &mut Report, rules: &RuleSet, examples: &Examples, trust: &Trust) {
        if let Some(notice) = examples.mark(&mut report.findings, self.strict_examples) {
            report.notices.push(notice);
        }
        apply(
            report,
            &self.config,
            rules,
            &self.notes,
            self.baseline.as_ref(),
            trust,
        );
    }
}

/// Sets aside what inline markers and the configuration suppress (allowed
/// values, excluded paths), shapes the hygiene notes
/// ([`crate::pipeline::filter::notes`]: values are allowlisted before a
/// file's notes are folded into one), then sets aside what the baseline
/// already knows, before anything is verified. Nothing is dropped: what is
/// suppressed moves to [`Report::suppressed`], and what `trust` refuses
/// (suppressions a scanned range added) stays a finding with its
/// suppression named ([`suppress`] decides).
pub fn apply(
    report: &mut Report,
    config: &Config,
    rules: &RuleSet,
    notes: &notes::NoteOptions,
    baseline: Option<&Baseline>,
    trust: &Trust,
) {
    suppress::partition(report, |f| suppress::by_marker_or_config(f, config, trust));
    notes::shape(&mut report.findings, rules, notes);
    if let Some(b) = baseline {
        suppress::partition(report, |f| suppress::by_baseline(f, b, trust));
    }
    report.recount();
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

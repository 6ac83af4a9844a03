//! Outcome: the result of a run ([`Report`], its [`Summary`], and
//! [`ClassCounts`]), owned by no stage. Sources and the scan stage fill it,
//! the filters and the verifier amend it, reporters and the exit code read
//! it. It may not touch a source, the matcher or a renderer: it is data.

pub mod audit;

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;

use crate::finding::{Finding, FindingClass};
use crate::rules::Severity;
use crate::source::{Stats, Warning};

/// The result of a scan: findings and what was scanned.
#[derive(Debug)]
pub struct Report {
    /// Sorted by path, line, column.
    pub findings: Vec<Finding>,
    /// Counts for the closing summary.
    pub summary: Summary,
    /// Things that could not be read; the scan went on without them.
    /// Each prints (and serialises) as its text.
    pub warnings: Vec<Warning>,
    /// Notes about what the scan covered (partial history, skipped submodules...).
    pub notices: Vec<String>,
    /// Findings a suppression (inline marker, configuration, baseline)
    /// covers and that were applied: kept, with the suppression, for the
    /// reports; they never count for `--fail-on`. Sorted like `findings`.
    pub suppressed: Vec<Finding>,
}

/// What was scanned and found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    /// "tree", "git", "range" or "staged".
    pub source: String,
    /// Files (or blobs) scanned.
    pub files_scanned: u64,
    /// Their bytes.
    pub bytes_scanned: u64,
    /// Files skipped for exceeding --max-file-size.
    pub skipped_too_large: u64,
    /// FIFOs, sockets, devices and symlinks skipped.
    pub skipped_special: u64,
    /// Members of archives scanned.
    pub archive_members: u64,
    /// Encoded values (base64, percent, escapes) decoded and scanned.
    pub decoded_values: u64,
    /// Unreadable files or objects.
    pub errors: u64,
    /// Number of findings.
    pub findings: usize,
    /// Distinct credentials (rule + secret) among them: the leaks.
    pub credentials: usize,
    /// Distinct documented example values among them (not leaks).
    pub examples: usize,
    /// Hygiene notes among them (not leaks), one per place.
    pub notes: usize,
    /// Findings per severity.
    pub critical: usize,
    /// Findings per severity.
    pub high: usize,
    /// Findings per severity.
    pub medium: usize,
    /// Findings per severity.
    pub low: usize,
    /// Wall time of the scan.
    pub duration_ms: u64,
    /// Findings suppressed (not counted above): by inline markers, the
    /// configuration and the baseline.
    pub suppressed: usize,
    /// Of those, by inline markers.
    pub suppressed_by_markers: usize,
    /// Of those, by the configuration (`allow_*`, `exclude`).
    pub suppressed_by_config: usize,
    /// Of those, by the baseline.
    pub suppressed_by_baseline: usize,
    /// Findings above whose suppression the scanned range itself added, so
    /// that it was not applied.
    pub suppressions_added_by_this_change: usize,
    /// Findings above whose suppression was lifted because the credential
    /// verified active.
    pub suppressions_lifted_live: usize,
}

impl Report {
    /// Sorts the findings and fills the summary from the source's stats.
    pub fn new(mut findings: Vec<Finding>, stats: &Stats, source: &str, took: Duration) -> Report {
        findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
        });
        let mut warnings = stats.warnings.lock().map(|w| w.clone()).unwrap_or_default();
        // Threads add them in any order: sorted, every run of one scan
        // prints them (and writes them into JSON and SARIF) alike.
        warnings.sort_by_cached_key(Warning::to_string);
        let mut summary = Summary {
            source: source.to_string(),
            files_scanned: stats.blobs.load(Ordering::Relaxed),
            bytes_scanned: stats.bytes.load(Ordering::Relaxed),
            skipped_too_large: stats.skipped_large.load(Ordering::Relaxed),
            skipped_special: stats.skipped_special.load(Ordering::Relaxed),
            archive_members: stats.archive_members.load(Ordering::Relaxed),
            decoded_values: stats.decoded_values.load(Ordering::Relaxed),
            errors: warnings.len() as u64,
            duration_ms: took.as_millis() as u64,
            ..Summary::default()
        };
        summary.recount(&findings);
        let mut excluded: Vec<String> = stats
            .excluded_warnings
            .lock()
            .map(|w| w.iter().map(Warning::to_string).collect())
            .unwrap_or_default();
        // Threads add them in any order; sorted, the notice names the same
        // one in every run.
        excluded.sort();
        let notices = match excluded.as_slice() {
            [] => Vec::new(),
            [first, rest @ ..] => vec![format!(
                "{} problem{} reading paths the configuration excludes, not counted as errors (first: {first})",
                rest.len() + 1,
                if rest.is_empty() { "" } else { "s" }
            )],
        };
        Report {
            findings,
            summary,
            warnings,
            notices,
            suppressed: Vec::new(),
        }
    }

    /// Recomputes the summary's counts of findings and suppressions.
    pub fn recount(&mut self) {
        self.summary.recount(&self.findings);
        self.summary
            .count_suppressed(&self.findings, &self.suppressed);
    }
}

impl Summary {
    /// Recomputes the finding counts (after filtering or verification).
    pub fn recount(&mut self, findings: &[Finding]) {
        self.findings = findings.len();
        let classes = ClassCounts::of(findings);
        self.credentials = classes.credentials;
        self.examples = classes.examples;
        self.notes = classes.notes;
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        self.critical = count(Severity::Critical);
        self.high = count(Severity::High);
        self.medium = count(Severity::Medium);
        self.low = count(Severity::Low);
    }
}

impl Summary {
    /// Counts suppressions: those applied (`suppressed`, by kind) and those
    /// refused on reported findings.
    pub fn count_suppressed(&mut self, findings: &[Finding], suppressed: &[Finding]) {
        use crate::finding::{SuppressionKind as K, SuppressionStatus as S};
        let kind = |k: K| {
            suppressed
                .iter()
                .filter(|f| f.suppression.as_ref().is_some_and(|s| s.kind == k))
                .count()
        };
        self.suppressed = suppressed.len();
        self.suppressed_by_markers = kind(K::Marker);
        self.suppressed_by_config = kind(K::ConfigAllow) + kind(K::ConfigExclude);
        self.suppressed_by_baseline = kind(K::Baseline);
        let status = |st: S| {
            findings
                .iter()
                .filter(|f| f.suppression.as_ref().is_some_and(|s| s.status == st))
                .count()
        };
        self.suppressions_added_by_this_change = status(S::AddedByThisChange);
        self.suppressions_lifted_live = status(S::LiveCredential);
    }

    /// "3 suppressed (by markers 1, config 1, baseline 1)", plus the
    /// suppressions not applied; None when there are none of either.
    pub fn describe_suppressed(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.suppressed > 0 {
            parts.push(format!(
                "{} suppressed (by markers {}, config {}, baseline {})",
                self.suppressed,
                self.suppressed_by_markers,
                self.suppressed_by_config,
                self.suppressed_by_baseline
            ));
        }
        if self.suppressions_added_by_this_change > 0 {
            parts.push(format!(
                "{} suppressed by this change, not applied (--trust-range-suppressions applies them)",
                self.suppressions_added_by_this_change
            ));
        }
        if self.suppressions_lifted_live > 0 {
            parts.push(format!(
                "{} suppression{} lifted: the credential is live",
                self.suppressions_lifted_live,
                if self.suppressions_lifted_live == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// How many of each class a report holds: credentials and documented
/// examples as distinct values (a secret in five places is one credential),
/// notes one per place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassCounts {
    /// Distinct credentials.
    pub credentials: usize,
    /// Distinct documented example values.
    pub examples: usize,
    /// Notes.
    pub notes: usize,
}

impl ClassCounts {
    /// Counts `findings`.
    pub fn of(findings: &[Finding]) -> ClassCounts {
        let mut seen = std::collections::HashSet::new();
        let mut c = ClassCounts::default();
        for f in findings {
            match f.class() {
                FindingClass::Note => c.notes += 1,
                FindingClass::Credential if seen.insert(f.fingerprint.as_str()) => {
                    c.credentials += 1
                }
                FindingClass::Example if seen.insert(f.fingerprint.as_str()) => c.examples += 1,
                _ => {}
            }
        }
        c
    }

    /// "2 credentials, 1 documented example, 3 notes": credentials always
    /// ("no credentials"), the others when there are any.
    pub fn describe(&self) -> String {
        let credentials = match self.credentials {
            0 => "no credentials".to_string(),
            1 => "1 credential".to_string(),
            n => format!("{n} credentials"),
        };
        match self.others() {
            Some(others) => format!("{credentials}, {others}"),
            None => credentials,
        }
    }

    /// "1 documented example, 3 notes", or None when there are neither.
    pub fn others(&self) -> Option<String> {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        if self.examples > 0 {
            parts.push(plural(
                self.examples,
                "documented example",
                "documented examples",
            ));
        }
        if self.notes > 0 {
            parts.push(plural(self.notes, "note", "notes"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

//! Suppressions: the one place that decides whether a finding is suppressed
//! or stays active, and says why.
//!
//! Four things can suppress a finding: an inline marker on the secret's line
//! (`keyflare:allow`, `gitleaks:allow`, `pragma: allowlist secret`), the
//! configuration's `allow_values`/`allow_patterns`, its `exclude` globs, and
//! a baseline entry. None of them drops a finding silently: a suppressed
//! finding moves to [`Report::suppressed`] with a [`Suppression`] that names
//! the kind and where it lives, and every report counts them.
//!
//! Why not simply trust them: a change can grant itself a suppression. A
//! pull request that adds a token can add a marker on the same line, an
//! `exclude = ["**"]`, or a baseline entry for it, and a scanner that reads
//! its configuration from the pull request's checkout would then pass it.
//! So in a range scan a suppression the range itself added does not apply
//! ([`SuppressionStatus::AddedByThisChange`]) unless the user trusts them
//! (`--trust-range-suppressions`): the finding stays a finding and counts
//! for `--fail-on`. And a credential that verification finds live is never
//! silenced ([`lift_live`]): suppressions are for examples, test values and
//! revoked credentials, not for working keys.
//!
//! Pipeline, filter stage: reads findings, the configuration and the
//! baseline (and what the range's base held of them); never a source.

use std::collections::HashSet;

use super::baseline::Baseline;
use super::config::Config;
use crate::finding::{printable_path, Finding, Suppression, SuppressionKind, SuppressionStatus};
use crate::outcome::Report;
use crate::verify::VerifyStatus;

/// What the base of a scanned range held of the configuration and the
/// baseline: entries not there were added by the range.
#[derive(Debug, Default, Clone)]
pub struct RangeBase {
    /// The base's configuration entries; None when the configuration is no
    /// file of the repository (given with `--config` from elsewhere), so that
    /// the range cannot have changed it. A base without the file holds an
    /// empty set: every entry is new.
    pub config: Option<ConfigEntries>,
    /// The base's baseline entries ([`Baseline::keys`]); None when the
    /// baseline is no file of the repository.
    pub baseline: Option<HashSet<String>>,
}

/// A configuration's suppressing entries, for comparing two versions.
#[derive(Debug, Default, Clone)]
pub struct ConfigEntries {
    /// `exclude` globs.
    pub exclude: HashSet<String>,
    /// `allow_values` (secrets: compared, never shown).
    pub allow_values: HashSet<String>,
    /// `allow_patterns` as written.
    pub allow_patterns: HashSet<String>,
}

impl ConfigEntries {
    /// The entries of `config`.
    pub fn of(config: &Config) -> ConfigEntries {
        ConfigEntries {
            exclude: config.exclude.iter().cloned().collect(),
            allow_values: config.allow_values().iter().cloned().collect(),
            allow_patterns: config.allow_pattern_texts().iter().cloned().collect(),
        }
    }
}

/// How far suppressions are trusted in this run.
#[derive(Debug, Default, Clone)]
pub struct Trust {
    /// Set for a range scan: what its base held.
    pub range: Option<RangeBase>,
    /// `--trust-range-suppressions`: apply what the range added too.
    pub trust_range: bool,
}

impl Trust {
    /// Whether a suppression the range added is refused.
    fn refuses_range(&self) -> bool {
        self.range.is_some() && !self.trust_range
    }

    fn status(&self, added_by_range: bool) -> SuppressionStatus {
        if added_by_range && self.refuses_range() {
            SuppressionStatus::AddedByThisChange
        } else {
            SuppressionStatus::Applied
        }
    }
}

/// The suppression an inline marker or the configuration grants `f`, if
/// any: an applied one before one the range added.
pub fn by_marker_or_config(f: &Finding, config: &Config, trust: &Trust) -> Option<Suppression> {
    let base = trust.range.as_ref().and_then(|r| r.config.as_ref());
    let mut found = Vec::new();
    if let Some(marker) = &f.marker {
        // A range scan reports only secrets on lines the range added or
        // changed, and a marker covers its own line only: in a range scan
        // every marker that covers a finding is one the range wrote.
        found.push(Suppression {
            kind: SuppressionKind::Marker,
            status: trust.status(true),
            reason: format!("`{marker}`"),
            file: f.path.clone(),
            line: Some(f.line),
            key: None,
        });
    }
    let config_file = config
        .path
        .as_ref()
        .map(|p| printable_path(&p.display().to_string()))
        .unwrap_or_default();
    if let Some(hit) = config.allow_hit(f) {
        let added = base.is_some_and(|b| match hit.key {
            "allow_values" => !b.allow_values.contains(hit.entry),
            _ => !b.allow_patterns.contains(hit.entry),
        });
        let reason = match hit.key {
            // The entry is the secret itself: name it as reports show it.
            "allow_values" => format!("allow_values entry {}", f.shown_secret(false)),
            key => format!("{key} entry {:?}", hit.entry),
        };
        found.push(Suppression {
            kind: SuppressionKind::ConfigAllow,
            status: trust.status(added),
            reason: crate::escape::text(&reason).into_owned(),
            file: config_file.clone(),
            line: config.line_of(hit.entry),
            key: Some(hit.key.to_string()),
        });
    }
    if let Some(glob) = config.exclude_hit(&f.path) {
        let added = base.is_some_and(|b| !b.exclude.contains(glob));
        found.push(Suppression {
            kind: SuppressionKind::ConfigExclude,
            status: trust.status(added),
            reason: crate::escape::text(&format!("exclude entry {glob:?}")).into_owned(),
            file: config_file,
            line: config.line_of(glob),
            key: Some("exclude".into()),
        });
    }
    pick(found)
}

/// The suppression `baseline` grants `f`, if any.
pub fn by_baseline(f: &Finding, baseline: &Baseline, trust: &Trust) -> Option<Suppression> {
    let (index, key) = baseline.entry_of(f)?;
    let base = trust.range.as_ref().and_then(|r| r.baseline.as_ref());
    let added = base.is_some_and(|b| !b.contains(&key));
    Some(Suppression {
        kind: SuppressionKind::Baseline,
        status: trust.status(added),
        reason: format!("entry {} ({} {})", index + 1, f.rule_id, f.fingerprint),
        file: printable_path(&baseline.path().display().to_string()),
        line: baseline.line_of(&f.fingerprint),
        key: Some("entries".into()),
    })
}

/// The first applied suppression, else the first the range added.
fn pick(found: Vec<Suppression>) -> Option<Suppression> {
    let applied = found
        .iter()
        .position(|s| s.status == SuppressionStatus::Applied);
    let i = applied.unwrap_or(0);
    found.into_iter().nth(i)
}

/// Moves each finding `decide` suppresses to `report.suppressed`; a
/// suppression that was not applied stays on its finding, which is still
/// reported. A finding that already carries a refused suppression keeps it
/// unless `decide` applies one.
pub fn partition(report: &mut Report, decide: impl Fn(&Finding) -> Option<Suppression>) {
    let mut kept = Vec::with_capacity(report.findings.len());
    for mut f in std::mem::take(&mut report.findings) {
        match decide(&f) {
            Some(s) if s.status == SuppressionStatus::Applied => {
                f.suppression = Some(s);
                report.suppressed.push(f);
            }
            Some(s) => {
                if f.suppression.is_none() {
                    f.suppression = Some(s);
                }
                kept.push(f);
            }
            None => kept.push(f),
        }
    }
    report.findings = kept;
}

/// After verification: a suppressed credential that is live is reported
/// again, with its suppression named and marked
/// [`SuppressionStatus::LiveCredential`]. A working key is never an
/// example or a test value, whatever a marker or a baseline says.
pub fn lift_live(report: &mut Report) {
    let (live, still): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut report.suppressed)
        .into_iter()
        .partition(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == VerifyStatus::Active)
        });
    report.suppressed = still;
    if live.is_empty() {
        return;
    }
    for mut f in live {
        if let Some(s) = f.suppression.as_mut() {
            s.status = SuppressionStatus::LiveCredential;
        }
        report.findings.push(f);
    }
    report.findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
    });
}

//! The JSON report: `{"version", "findings", "summary", "warnings", "notices"}`.
//!
//! Stage: report. Pure: it never scans, filters or verifies.

use serde::Serialize;

use super::{class_id, remediation_for, steps_for, RenderOptions, Report, Summary};
use crate::error::Error;
use crate::rules::RuleSet;
use crate::verify::Verification;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: &'static str,
    tool: &'static str,
    findings: Vec<JsonFinding<'a>>,
    summary: &'a Summary,
    warnings: &'a [crate::source::Warning],
    notices: &'a [String],
    /// Findings a suppression covers (marker, configuration, baseline),
    /// each with its `suppression`: they do not count for `--fail-on`.
    suppressed: Vec<JsonFinding<'a>>,
    /// Fields a caller adds after these (an audit shard's `repository`,
    /// `rules_digest`, `audit`): additions only.
    #[serde(flatten)]
    extra: &'a serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    severity: &'a str,
    /// "credential" (a leak), "example" (a documented example value) or
    /// "note" (hygiene): what `--fail-on` and the wording go by.
    class: &'static str,
    kind: crate::rules::RuleKind,
    path: &'a str,
    line: usize,
    column: usize,
    end_column: usize,
    secret: &'a str,
    /// Where a documented example value was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    documented_example: Option<&'a str>,
    fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decoded: Option<&'a crate::finding::Decoded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    account_ids: &'a [String],
    remediation: &'a str,
    remediation_steps: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a Verification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_head: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_head_at_path: Option<bool>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    head_paths: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    head_path_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    moved: Option<&'a crate::finding::Move>,
    /// The suppression that covers it: applied (in `suppressed`), or not
    /// applied (in `findings`: added by the scanned range, or the
    /// credential is live).
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<&'a crate::finding::Suppression>,
}

pub(super) fn render(
    report: &Report,
    rules: &RuleSet,
    opts: &RenderOptions,
) -> Result<Vec<u8>, Error> {
    render_with(report, rules, opts, &serde_json::Map::new())
}

/// [`render`], with `extra` fields after the usual ones.
pub(super) fn render_with<'a>(
    report: &'a Report,
    rules: &'a RuleSet,
    opts: &RenderOptions,
    extra: &'a serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<u8>, Error> {
    let one = |f: &'a crate::finding::Finding| JsonFinding {
        rule_id: &f.rule_id,
        rule_name: &f.rule_name,
        severity: f.severity.as_str(),
        class: class_id(f.class()),
        kind: f.kind,
        path: &f.path,
        line: f.line,
        column: f.column,
        end_column: f.end_column,
        secret: f.shown_secret(opts.no_redact),
        documented_example: f.documented_example.as_deref(),
        fingerprint: &f.fingerprint,
        key: f.key.as_deref(),
        decoded: f.decoded.as_ref(),
        email: f.emails.first().map(String::as_str),
        account_ids: &f.account_ids,
        remediation: remediation_for(rules, &f.rule_id),
        remediation_steps: steps_for(rules, &f.rule_id),
        verification: f.verification.as_ref(),
        commit: f.commit.as_ref().map(|c| c.commit.as_str()),
        author: f.commit.as_ref().map(|c| c.author.as_str()),
        date: f.commit.as_ref().map(|c| c.date.as_str()),
        in_head: f.commit.as_ref().map(|c| c.in_head),
        in_head_at_path: f.commit.as_ref().map(|c| c.in_head_at_path),
        head_paths: f.commit.as_ref().map_or(&[], |c| &c.head_paths),
        head_path_count: f
            .commit
            .as_ref()
            .filter(|c| !c.head_paths.is_empty())
            .map(|c| c.head_path_count),
        first_path: f.commit.as_ref().and_then(|c| c.first_path.as_deref()),
        moved: f.commit.as_ref().and_then(|c| c.moved.as_ref()),
        suppression: f.suppression.as_ref(),
    };
    let findings = report.findings.iter().map(one).collect();
    let suppressed = report.suppressed.iter().map(one).collect();
    let doc = JsonReport {
        version: env!("CARGO_PKG_VERSION"),
        tool: "keyflare",
        findings,
        summary: &report.summary,
        warnings: &report.warnings,
        notices: &report.notices,
        suppressed,
        extra,
    };
    let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| Error::Usage(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

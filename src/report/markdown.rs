//! The Markdown report: for a GitHub job summary, an issue or a wiki. One row
//! per credential (a secret in five places is one problem with five
//! locations), live ones first, then what to do.
//!
//! Stage: report. Pure: it never scans, filters or verifies.

use std::fmt::Write;

use super::md_table::{first_five, head, row};
use super::{
    group_by_credential, match_label, remediation_for, ClassCounts, CredentialGroup, RenderOptions,
    Report, EXAMPLE_ADVICE,
};
use crate::escape::{md_code, md_prose, md_text, Md};
use crate::finding::FindingClass;
use crate::rules::RuleSet;
use crate::verify::VerifyStatus;

/// GitHub's job summary takes at most 1 MiB per step; stay well under it.
pub const MAX_BYTES: usize = 900 * 1024;

pub(super) fn render(report: &Report, rules: &RuleSet, opts: &RenderOptions) -> Vec<u8> {
    let mut out = String::new();
    let s = &report.summary;
    let all = group_by_credential(&report.findings);
    let classes = ClassCounts::of(&report.findings);
    let (groups, others): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|g| g.class() == FindingClass::Credential);
    let credential_findings: usize = groups.iter().map(|g| g.findings.len()).sum();
    let active = groups
        .iter()
        .filter(|g| g.status() == Some(VerifyStatus::Active))
        .count();
    let _ = writeln!(out, "## keyflare: Cloudflare credentials\n");
    if groups.is_empty() {
        let _ = writeln!(
            out,
            "No Cloudflare credentials found ({} {} scanned{}).",
            s.files_scanned,
            if s.source == "tree" { "files" } else { "blobs" },
            match classes.others() {
                Some(o) => format!("; {o}"),
                None => String::new(),
            }
        );
    } else {
        let _ = writeln!(
            out,
            "**{} credential{}** in {} finding{}{}{}.\n",
            groups.len(),
            if groups.len() == 1 { "" } else { "s" },
            credential_findings,
            if credential_findings == 1 { "" } else { "s" },
            if active > 0 {
                format!(", **{active} active**")
            } else {
                String::new()
            },
            match classes.others() {
                Some(o) => format!(" ({o}: see below)"),
                None => String::new(),
            }
        );
        head(
            &mut out,
            "severity | credential | secret | status | where | fix",
        );
        let mut truncated = 0;
        for g in &groups {
            if out.len() > MAX_BYTES {
                truncated += 1;
                continue;
            }
            let f = g.first();
            let status = match &f.verification {
                Some(v) if v.status == VerifyStatus::Active => "**ACTIVE**".to_string(),
                Some(v) => format!("{:?}", v.status).to_lowercase(),
                None => "not verified".to_string(),
            };
            let places = first_five(
                g.findings.iter().map(|f| {
                    let mut p = md_code(&format!("{}:{}", f.path, f.line), Md::Cell);
                    if let Some(c) = &f.commit {
                        let short = c.commit.get(..10).unwrap_or(&c.commit);
                        p.push_str(&format!(" ({}", md_text(short)));
                        if !c.in_head {
                            p.push_str(", removed since: still in history");
                        } else if !c.in_head_at_path {
                            p.push_str(", no longer at this path: still in HEAD elsewhere");
                        }
                        p.push(')');
                    }
                    p
                }),
                g.findings.len(),
            );
            row(
                &mut out,
                &[
                    &f.severity,
                    &md_text(&f.rule_name),
                    &md_code(f.shown_secret(opts.no_redact), Md::Cell),
                    &status,
                    &places,
                    &md_prose(remediation_for(rules, &f.rule_id), Md::Cell),
                ],
            );
        }
        if truncated > 0 {
            let _ = writeln!(
                out,
                "\n_{truncated} more credentials not shown (summary size limit); see the JSON or SARIF report._"
            );
        }
        let history_only = report
            .findings
            .iter()
            .filter(|f| f.class() == FindingClass::Credential)
            .filter(|f| f.commit.as_ref().is_some_and(|c| !c.in_head))
            .count();
        let _ = writeln!(out, "\n### What to do next\n");
        let _ = writeln!(
            out,
            "1. Rotate (roll) every credential above first: deleting it from the code does not make it safe. Active ones are live right now."
        );
        let _ = writeln!(
            out,
            "2. Replace each with a scoped API token: least-privilege permissions, only the zones/accounts it needs, client IP filtering and an expiry."
        );
        let _ = writeln!(
            out,
            "3. Load it from an environment variable or a secret store (`wrangler secret put`, your CI's secrets), not from a file in the repository."
        );
        let _ = writeln!(
            out,
            "4. Purge it from git history (`git filter-repo`) and have collaborators re-clone."
        );
        if history_only > 0 {
            let _ = writeln!(
                out,
                "\n> **{history_only} finding{} {} added and removed again within the scanned commits.** Code scanning does not show those (the file no longer has them), but the secret is in the history: rotate it all the same.",
                if history_only == 1 { "" } else { "s" },
                if history_only == 1 { "was" } else { "were" }
            );
        }
        let _ = writeln!(
            out,
            "\n`keyflare explain <rule-id>` prints each rule's full remediation."
        );
    }
    others_section(&mut out, &others, rules, opts);
    suppressions_section(&mut out, report, opts);
    for n in &report.notices {
        let _ = writeln!(out, "\n> note: {}", md_prose(n, Md::Inline));
    }
    out.into_bytes()
}

/// How many suppression rows the summary lists at most.
const SUPPRESSION_ROWS: usize = 50;

/// "N suppressed (by markers M, config C, baseline B)", then one row per
/// suppressed finding and per finding whose suppression was not applied
/// (added by the scanned change, or lifted for a live credential).
fn suppressions_section(out: &mut String, report: &Report, opts: &RenderOptions) {
    use crate::finding::SuppressionStatus;
    let Some(line) = report.summary.describe_suppressed() else {
        return;
    };
    let _ = writeln!(out, "\n### Suppressions\n\n{}.\n", md_text(&line));
    head(out, "where | rule | secret | suppression | applied");
    let rows = report
        .findings
        .iter()
        .filter(|f| f.suppression.is_some())
        .chain(&report.suppressed);
    let mut shown = 0;
    for f in rows {
        let Some(s) = &f.suppression else { continue };
        shown += 1;
        if shown > SUPPRESSION_ROWS || out.len() > MAX_BYTES {
            continue;
        }
        let applied = match s.status {
            SuppressionStatus::Applied => "yes",
            SuppressionStatus::AddedByThisChange => "**no: added by this change**",
            SuppressionStatus::LiveCredential => "**no: the credential is live**",
        };
        row(
            out,
            &[
                &md_code(&format!("{}:{}", f.path, f.line), Md::Cell),
                &md_code(&f.rule_id, Md::Cell),
                &md_code(f.shown_secret(opts.no_redact), Md::Cell),
                &md_text(&s.describe()),
                &applied,
            ],
        );
    }
    if shown > SUPPRESSION_ROWS {
        let _ = writeln!(
            out,
            "\n_{} more not shown; see the JSON or SARIF report._",
            shown - SUPPRESSION_ROWS
        );
    }
}

/// Documented examples and notes, after the credentials: neither is a
/// leak, so neither gets the rotate-and-purge plan.
fn others_section(
    out: &mut String,
    others: &[CredentialGroup<'_>],
    rules: &RuleSet,
    opts: &RenderOptions,
) {
    for (class, title) in [
        (FindingClass::Example, "Documented examples"),
        (FindingClass::Note, "Notes"),
    ] {
        let rows: Vec<&CredentialGroup<'_>> =
            others.iter().filter(|g| g.class() == class).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {title}\n");
        if class == FindingClass::Example {
            let _ = writeln!(
                out,
                "Values published as examples: not leaks, {EXAMPLE_ADVICE}.\n"
            );
            head(out, "kind | example value | published in | where");
        } else {
            let _ = writeln!(
                out,
                "How credentials are handled, not leaked credentials; they do not fail the run unless `--fail-on notes`.\n"
            );
            head(out, "severity | note | matched | where | fix");
        }
        let mut truncated = 0;
        for g in rows {
            if out.len() > MAX_BYTES {
                truncated += 1;
                continue;
            }
            let f = g.first();
            let places = first_five(
                g.findings
                    .iter()
                    .map(|f| md_code(&format!("{}:{}", f.path, f.line), Md::Cell)),
                g.findings.len(),
            );
            let shown = format!(
                "{}: {}",
                md_text(match_label(f, rules)),
                md_code(f.shown_secret(opts.no_redact), Md::Cell)
            );
            if class == FindingClass::Example {
                row(
                    out,
                    &[
                        &md_text(&f.rule_name),
                        &shown,
                        &md_text(f.documented_example.as_deref().unwrap_or("")),
                        &places,
                    ],
                );
            } else {
                row(
                    out,
                    &[
                        &f.severity,
                        &md_text(&f.rule_name),
                        &shown,
                        &places,
                        &md_prose(remediation_for(rules, &f.rule_id), Md::Cell),
                    ],
                );
            }
        }
        if truncated > 0 {
            let _ = writeln!(
                out,
                "\n_{truncated} more not shown (summary size limit); see the JSON or SARIF report._"
            );
        }
    }
}

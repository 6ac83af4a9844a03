//! The Markdown report: for a GitHub job summary, an issue or a wiki. One row
//! per credential (a secret in five places is one problem with five
//! locations), live ones first, then what to do.

use std::fmt::Write;

use super::{group_by_credential, RenderOptions, Report};
use crate::rules::RuleSet;
use crate::verify::VerifyStatus;

/// GitHub's job summary takes at most 1 MiB per step; stay well under it.
pub const MAX_BYTES: usize = 900 * 1024;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub(super) fn render(report: &Report, rules: &RuleSet, opts: &RenderOptions) -> Vec<u8> {
    let mut out = String::new();
    let s = &report.summary;
    let groups = group_by_credential(&report.findings);
    let active = groups
        .iter()
        .filter(|g| g.status() == Some(VerifyStatus::Active))
        .count();
    let _ = writeln!(out, "## keyflare: Cloudflare credentials\n");
    if s.findings == 0 {
        let _ = writeln!(
            out,
            "No Cloudflare credentials found ({} {} scanned).",
            s.files_scanned,
            if s.source == "tree" { "files" } else { "blobs" }
        );
    } else {
        let _ = writeln!(
            out,
            "**{} credential{}** in {} finding{}{}.\n",
            groups.len(),
            if groups.len() == 1 { "" } else { "s" },
            s.findings,
            if s.findings == 1 { "" } else { "s" },
            if active > 0 {
                format!(", **{active} active**")
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            out,
            "| severity | credential | secret | status | where | fix |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
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
            let mut places: Vec<String> = g
                .findings
                .iter()
                .take(5)
                .map(|f| {
                    let mut p = format!("`{}:{}`", f.path, f.line);
                    if let Some(c) = &f.commit {
                        let short = c.commit.get(..10).unwrap_or(&c.commit);
                        p.push_str(&format!(" ({short}"));
                        if !c.in_head {
                            p.push_str(", removed since: still in history");
                        } else if !c.in_head_at_path {
                            p.push_str(", no longer at this path: still in HEAD elsewhere");
                        }
                        p.push(')');
                    }
                    p
                })
                .collect();
            if g.findings.len() > 5 {
                places.push(format!("and {} more", g.findings.len() - 5));
            }
            let fix = rules
                .get(&f.rule_id)
                .map(|r| r.remediation.as_str())
                .unwrap_or("");
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {} |",
                f.severity,
                cell(&f.rule_name),
                cell(f.shown_secret(opts.no_redact)),
                status,
                cell(&places.join("<br>")),
                cell(fix)
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
    for n in &report.notices {
        let _ = writeln!(out, "\n> note: {n}");
    }
    out.into_bytes()
}

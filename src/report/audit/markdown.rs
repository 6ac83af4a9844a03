//! The audit report in Markdown, for an issue or a wiki page: totals, one
//! row per credential (most urgent first), a timeline, and a remediation
//! checklist (`- [ ]`) per credential. Secrets are redacted unless asked.
//!
//! The labels shared with the HTML report live here too.
//!
//! Stage: report. Pure: it never scans, filters or verifies.

use std::fmt::Write;

use super::labels::{
    blast_label, day, last_label, others_line, presence_label, short, status_label,
    suppressed_line, took,
};
use crate::escape::{md_code, md_prose, md_text, Md};
use crate::outcome::audit::{self, Audit};
use crate::report::md_table::{first_five, head, row};
use crate::rules::RuleSet;
use crate::verify::VerifyStatus;

/// Repository, URL and rule text for Markdown ([`crate::escape::md_text`]).
fn text(s: &str) -> String {
    md_text(s)
}

/// A code span in a table cell ([`crate::escape::md_code`]).
fn code(s: &str) -> String {
    md_code(s, Md::Cell)
}

/// Renders the audit as Markdown.
pub(crate) fn render(a: &Audit, rules: &RuleSet, no_redact: bool) -> Vec<u8> {
    let mut out = String::new();
    let t = a.totals();
    let _ = writeln!(out, "# keyflare audit: {}\n", text(&a.target));
    head(
        &mut out,
        "credentials | live | files | commits scanned | files and blobs read | time taken",
    );
    let live = if a.verified {
        format!("**{}**", t.active)
    } else {
        "not verified".into()
    };
    row(
        &mut out,
        &[
            &t.credentials,
            &live,
            &t.files,
            &a.commits_scanned,
            &a.files_scanned,
            &took(a),
        ],
    );
    out.push('\n');
    let scope = match (a.history, a.worktree) {
        (true, true) => "the working tree and every ref's history",
        (true, false) => "every ref's history (no working tree)",
        (false, _) => "the working tree only (not a git repository)",
    };
    let _ = writeln!(out, "Scanned {scope}.");
    if let Some(others) = others_line(a) {
        let _ = writeln!(out, " {others}");
    }
    if let Some(s) = suppressed_line(a) {
        let _ = writeln!(out, " {}", crate::escape::md_text(&s));
    }
    if !a.verified {
        let _ = writeln!(
            out,
            " Credentials were not verified: run with `--verify` to learn which are live."
        );
    }
    if a.credentials.is_empty() {
        let _ = writeln!(out, "\nNo Cloudflare credentials found.");
        notes(&mut out, a);
        return out.into_bytes();
    }
    let _ = writeln!(out, "\n## Credentials, most urgent first\n");
    head(&mut out, "# | credential | secret | status | severity | first commit | last seen | now | paths | blast radius");
    for (i, c) in a.credentials.iter().enumerate() {
        let f = &c.finding;
        let mut status = match c.status() {
            Some(VerifyStatus::Active) => "**ACTIVE**".to_string(),
            _ => status_label(c).to_string(),
        };
        if let Some(r) = &c.response {
            let _ = write!(status, "<br>{}", text(r));
        }
        let first = c
            .first
            .as_ref()
            .map(|f| format!("{} {}", code(short(&f.commit)), day(f)))
            .unwrap_or_else(|| "not committed".into());
        let last = last_label(c)
            .map(|(w, l)| format!("{w} {} {}", code(short(&l.commit)), day(l)))
            .unwrap_or_else(|| "–".into());
        let paths = first_five(c.places.iter().map(|p| code(&p.path)), c.places.len());
        row(
            &mut out,
            &[
                &(i + 1),
                &text(&f.rule_name),
                &code(f.shown_secret(no_redact)),
                &status,
                &f.severity,
                &first,
                &last,
                &text(&presence_label(c)),
                &paths,
                &text(&blast_label(c)),
            ],
        );
    }
    let events = audit::timeline(&a.credentials);
    if !events.is_empty() {
        let _ = writeln!(out, "\n## Timeline\n");
        head(&mut out, "date | event | credential | commit");
        for e in &events {
            let c = &a.credentials[e.credential];
            let credential = format!(
                "#{} {} {}",
                e.credential + 1,
                text(&c.finding.rule_name),
                code(c.finding.shown_secret(no_redact)),
            );
            row(
                &mut out,
                &[
                    &e.date.get(..10).unwrap_or(e.date),
                    &if e.introduced {
                        "introduced"
                    } else {
                        "removed"
                    },
                    &credential,
                    &code(short(e.commit)),
                ],
            );
        }
    }
    let _ = writeln!(out, "\n## Remediation\n");
    for (i, c) in a.credentials.iter().enumerate() {
        let f = &c.finding;
        let _ = writeln!(
            out,
            "### {}. {} {} ({})\n",
            i + 1,
            text(&f.rule_name),
            md_code(f.shown_secret(no_redact), Md::Inline),
            status_label(c)
        );
        for p in &c.places {
            let mut line = format!(
                "- {}",
                md_code(&format!("{}:{}", p.path, p.line), Md::Inline)
            );
            if let Some(ci) = &p.introduced {
                let _ = write!(
                    line,
                    ": introduced in {} on {} by {}",
                    md_code(short(&ci.commit), Md::Inline),
                    text(day(ci)),
                    text(&ci.author)
                );
            }
            if p.in_worktree {
                line.push_str(if p.introduced.is_some() {
                    "; in the working tree"
                } else {
                    ": in the working tree, not committed"
                });
            }
            let _ = writeln!(out, "{line}");
        }
        if c.commits_holding > 0 {
            let _ = writeln!(
                out,
                "\nHeld by {} commit(s) of HEAD's first-parent line.",
                c.commits_holding
            );
        }
        let _ = writeln!(out);
        for step in audit::remediation(c, rules) {
            let _ = writeln!(out, "- [ ] **{}**", text(&step.title));
            for d in &step.details {
                let _ = writeln!(out, "  - {}", md_prose(d, Md::Inline));
            }
            if let Some(cmd) = &step.command {
                let _ = writeln!(out, "\n  ```sh\n  {}\n  ```", crate::escape::text(cmd));
            }
        }
        let _ = writeln!(out);
    }
    notes(&mut out, a);
    out.into_bytes()
}

fn notes(out: &mut String, a: &Audit) {
    if a.notices.is_empty() && a.warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Notes\n");
    for n in &a.notices {
        let _ = writeln!(out, "> note: {}\n", text(n));
    }
    for w in &a.warnings {
        let _ = writeln!(out, "> warning: {}\n", text(w));
    }
}

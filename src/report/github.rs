//! GitHub workflow commands: one `::error`/`::warning` annotation per finding,
//! shown on the pull request's diff. They work where SARIF upload does not
//! (private repositories without code scanning, pull requests from forks).
//!
//! Stage: report. Pure: it never scans, filters or verifies.

use std::fmt::Write;

use super::{class_word, match_label, RenderOptions, Report, EXAMPLE_ADVICE};
use crate::finding::FindingClass;
use crate::rules::{RuleSet, Severity};
use crate::verify::VerifyStatus;

/// Workflow command properties escape `%`, CR, LF, `:` and `,`.
fn property(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Workflow command messages escape `%`, CR and LF.
fn message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(super) fn render(report: &Report, rules: &RuleSet, opts: &RenderOptions) -> Vec<u8> {
    let mut out = String::new();
    for f in &report.findings {
        let active = f
            .verification
            .as_ref()
            .is_some_and(|v| v.status == VerifyStatus::Active);
        let class = f.class();
        // Notes and documented examples are not leaks: a notice, never an
        // error on the diff.
        let level = if class != FindingClass::Credential {
            "notice"
        } else if active || f.severity >= Severity::High {
            "error"
        } else {
            "warning"
        };
        let mut msg = match class {
            FindingClass::Credential => {
                format!("{}: {}.", f.rule_name, f.shown_secret(opts.no_redact))
            }
            other => format!(
                "{} ({}; {}: {}).",
                f.rule_name,
                class_word(other),
                match_label(f, rules),
                f.shown_secret(opts.no_redact)
            ),
        };
        if let Some(source) = &f.documented_example {
            msg.push_str(&format!(" Published in {source}: {EXAMPLE_ADVICE}."));
        }
        if let Some(v) = &f.verification {
            msg.push_str(&format!(" Status: {:?} ({}).", v.status, v.detail));
        }
        if let Some(s) = &f.suppression {
            msg.push_str(&format!(" {}.", super::text::refused(s)));
        }
        if let Some(c) = &f.commit {
            msg.push_str(&format!(" Added in {}.", c.commit));
            if let Some(m) = c.move_note() {
                msg.push_str(&format!(" Then {m}."));
            }
            if !c.in_head {
                msg.push_str(" Removed since, but still in the git history.");
            } else if !c.in_head_at_path {
                msg.push_str(&format!(" {}.", c.presence()));
            }
        }
        // A rule's remediation is written for a leak, not for an example.
        let fix = rules
            .get(&f.rule_id)
            .filter(|_| class != FindingClass::Example);
        if let Some(r) = fix {
            msg.push(' ');
            msg.push_str(&r.remediation);
        }
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},endColumn={},title={}::{}",
            property(&crate::escape::text(&f.path)),
            f.line,
            f.column,
            f.end_column,
            property(&crate::escape::text(&format!("keyflare: {}", f.rule_id))),
            // Escapes first: the log viewer renders ANSI sequences.
            message(&crate::escape::text(&msg))
        );
    }
    // Suppressed findings: one notice with the counts (each is in the
    // JSON and SARIF reports), so that a suppression is never silent.
    if let Some(line) = report.summary.describe_suppressed() {
        if !report.suppressed.is_empty() {
            let _ = writeln!(
                out,
                "::notice title=keyflare: suppressions::{}",
                message(&crate::escape::text(&line))
            );
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(message("50% a:b\r\n"), "50%25 a:b%0D%0A");
    }
}

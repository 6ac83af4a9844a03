//! GitHub workflow commands: one `::error`/`::warning` annotation per finding,
//! shown on the pull request's diff. They work where SARIF upload does not
//! (private repositories without code scanning, pull requests from forks).

use std::fmt::Write;

use super::{RenderOptions, Report};
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
        let level = if active || f.severity >= Severity::High {
            "error"
        } else {
            "warning"
        };
        let mut msg = format!("{}: {}.", f.rule_name, f.shown_secret(opts.no_redact));
        if let Some(v) = &f.verification {
            msg.push_str(&format!(" Status: {:?} ({}).", v.status, v.detail));
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
        if let Some(r) = rules.get(&f.rule_id) {
            msg.push(' ');
            msg.push_str(&r.remediation);
        }
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},endColumn={},title={}::{}",
            property(&f.path),
            f.line,
            f.column,
            f.end_column,
            property(&format!("keyflare: {}", f.rule_id)),
            message(&msg)
        );
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

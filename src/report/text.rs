//! The human report: findings grouped by file, live credentials first, each
//! with its redacted secret and a one-line fix, then a summary line.
//!
//! Stage: report. Pure: it never scans, filters or verifies.

use std::fmt::Write;

use super::{
    class_word, group_by_credential, match_label, ClassCounts, RenderOptions, Report,
    EXAMPLE_ADVICE,
};
use crate::escape::text as esc;
use crate::finding::FindingClass;
use crate::rules::{RuleSet, Severity};
use crate::verify::VerifyStatus;

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.wrap(code, s.as_str())
    }
}

pub(super) fn render(report: &Report, rules: &RuleSet, opts: &RenderOptions) -> Vec<u8> {
    let paint = Paint(opts.color);
    let mut out = String::new();
    // One block per credential: a secret in five places is one problem with
    // five locations. Live ones first, then by severity.
    let groups = group_by_credential(&report.findings);
    for (n, g) in groups.iter().enumerate() {
        let f = g.first();
        let class = g.class();
        // Notes and examples say what they are: they are not leaks.
        let what = match class {
            FindingClass::Credential => String::new(),
            other => format!("{}: ", class_word(other)),
        };
        let _ = writeln!(
            out,
            "{} {}  {what}{}  {}",
            paint.wrap("1", &format!("[{}]", n + 1)),
            paint.severity(f.severity),
            paint.wrap("1", &esc(&f.rule_name)),
            paint.wrap("2", &esc(&f.rule_id))
        );
        let _ = writeln!(
            out,
            "    {}: {}",
            esc(match_label(f, rules)),
            esc(f.shown_secret(opts.no_redact))
        );
        if let Some(source) = &f.documented_example {
            let _ = writeln!(out, "    published in: {}", esc(source));
        }
        for s in g.findings.iter().filter_map(|f| f.suppression.as_ref()) {
            let _ = writeln!(out, "    {}", esc(&refused(s)));
        }
        if let Some(v) = &f.verification {
            let status = match v.status {
                VerifyStatus::Active => paint.wrap("1;31", "ACTIVE"),
                VerifyStatus::Inactive => "inactive".to_string(),
                VerifyStatus::Invalid => "invalid".to_string(),
                VerifyStatus::Unknown => "unknown".to_string(),
            };
            let _ = writeln!(out, "    status: {status} ({})", esc(&v.detail));
            if let Some(b) = &v.blast_radius {
                let _ = writeln!(
                    out,
                    "    reaches: {} account(s) {:?}, {} zone(s) {:?}",
                    b.account_count, b.accounts, b.zone_count, b.zones
                );
            }
        }
        let places = if g.findings.len() == 1 {
            "1 place".to_string()
        } else {
            format!("{} places", g.findings.len())
        };
        let _ = writeln!(out, "    found in {places}:");
        for f in &g.findings {
            let mut line = format!("      {}:{}:{}", esc(&f.path), f.line, f.column);
            if let Some(note) = f.decoded_note() {
                line.push_str(&format!("  (decoded: {})", esc(&note)));
            }
            if let Some(c) = &f.commit {
                let short = c.commit.get(..12).unwrap_or(&c.commit);
                let at = match (&c.first_path, c.move_note()) {
                    (Some(p), Some(m)) => format!(" at {}; {}", esc(p), esc(&m)),
                    _ => String::new(),
                };
                // Notes and examples get no rotate-and-purge advice.
                let presence = if c.in_head || class == FindingClass::Credential {
                    c.presence()
                } else {
                    "no longer in HEAD".to_string()
                };
                line.push_str(&format!(
                    "  (commit {short} by {} on {}{at}; {})",
                    esc(&c.author),
                    esc(&c.date),
                    esc(&presence)
                ));
            }
            let _ = writeln!(out, "{line}");
        }
        if class == FindingClass::Example {
            // The rule's steps (roll it...) are for a leak; this is not one.
            let _ = writeln!(out, "    {EXAMPLE_ADVICE}");
        } else if let Some(rule) = rules.get(&f.rule_id) {
            let _ = writeln!(out, "    fix: {}", esc(&rule.remediation));
            if opts.brief {
                let _ = writeln!(out, "    steps: keyflare explain {}", esc(&rule.id));
            } else {
                for (i, step) in rule.steps.iter().enumerate() {
                    let _ = writeln!(out, "      {}. {}", i + 1, esc(step));
                }
            }
        }
        out.push('\n');
    }
    let files = {
        let mut paths: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        paths.len()
    };
    let s = &report.summary;
    let mut counts = Vec::new();
    for (n, name) in [
        (s.critical, "critical"),
        (s.high, "high"),
        (s.medium, "medium"),
        (s.low, "low"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {name}"));
        }
    }
    let head = if s.findings == 0 {
        paint.wrap("32", "No Cloudflare credentials found")
    } else {
        let noun = if s.findings == 1 {
            "finding"
        } else {
            "findings"
        };
        let classes = ClassCounts::of(&report.findings);
        paint.wrap(
            if classes.credentials > 0 { "1" } else { "32" },
            &format!(
                "{} {noun} ({}) in {} file{}: {}",
                s.findings,
                counts.join(", "),
                files,
                if files == 1 { "" } else { "s" },
                classes.describe()
            ),
        )
    };
    let _ = write!(
        out,
        "{head}; scanned {} {} ({}) in {:.2} s",
        s.files_scanned,
        if s.source == "tree" { "files" } else { "blobs" },
        human_bytes(s.bytes_scanned),
        s.duration_ms as f64 / 1000.0
    );
    if s.archive_members > 0 {
        let _ = write!(out, ", {} archive members", s.archive_members);
    }
    if s.skipped_too_large > 0 {
        let _ = write!(out, ", {} skipped as too large", s.skipped_too_large);
    }
    if s.errors > 0 {
        let _ = write!(out, ", {} not scanned (see warnings)", s.errors);
    }
    out.push('\n');
    if let Some(line) = s.describe_suppressed() {
        let _ = writeln!(out, "{}", esc(&line));
    }
    for f in report.suppressed.iter().take(SUPPRESSED_SHOWN) {
        let by = f
            .suppression
            .as_ref()
            .map(|s| s.describe())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  suppressed: {}:{}:{}  {}  {}  by {}",
            esc(&f.path),
            f.line,
            f.column,
            esc(&f.rule_id),
            esc(f.shown_secret(opts.no_redact)),
            esc(&by)
        );
    }
    if report.suppressed.len() > SUPPRESSED_SHOWN {
        let _ = writeln!(
            out,
            "  ... {} more suppressed not shown; see the JSON or SARIF report",
            report.suppressed.len() - SUPPRESSED_SHOWN
        );
    }
    for n in &report.notices {
        let _ = writeln!(out, "note: {}", esc(n));
    }
    out.into_bytes()
}

/// How many suppressed findings the text report lists at most (all are
/// counted; JSON and SARIF list them all): excluded vendored trees can
/// hold hundreds.
const SUPPRESSED_SHOWN: usize = 50;

/// What a report says of a suppression that was not applied.
pub(super) fn refused(s: &crate::finding::Suppression) -> String {
    use crate::finding::SuppressionStatus;
    match s.status {
        SuppressionStatus::AddedByThisChange => format!(
            "suppressed by this change, not applied: {} (--trust-range-suppressions applies it)",
            s.describe()
        ),
        SuppressionStatus::LiveCredential => format!(
            "suppression lifted, the credential is live: {}",
            s.describe()
        ),
        SuppressionStatus::Applied => format!("suppressed: {}", s.describe()),
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

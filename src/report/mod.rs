//! Reporters: render a scan's findings as text, JSON or SARIF, and an
//! audit ([`crate::outcome::audit::Audit`]) as Markdown or HTML.
//!
//! Rendering is pure (findings in, bytes out); [`write_output`] puts the bytes
//! on stdout or, atomically, in a file. Secrets are shown redacted unless the
//! caller asks for `no_redact`.
//!
//! Stage: report, the last one. It never scans, filters or verifies; only
//! [`write_output`] writes.

mod audit;
mod github;
mod json;
mod markdown;
mod md_table;
pub mod org;
mod sarif;
mod text;

use std::io::Write;
use std::path::Path;

use crate::error::Error;
use crate::finding::{Finding, FindingClass};
pub use crate::outcome::{ClassCounts, Report, Summary};
use crate::rules::{RuleSet, Severity};

/// What reports call a finding's matched text: "secret" for a credential,
/// "example value" for a documented example, and for a note what the rule
/// says it matched ("header", "url", "keys"), never "secret".
pub(crate) fn match_label<'r>(f: &Finding, rules: &'r RuleSet) -> &'r str {
    match f.class() {
        FindingClass::Credential => "secret",
        FindingClass::Example => "example value",
        FindingClass::Note => rules
            .get(&f.rule_id)
            .and_then(|r| r.shown_as.as_deref())
            .unwrap_or("match"),
    }
}

/// What reports say about a documented example instead of a rule's
/// remediation, which is written for a leak.
pub(crate) const EXAMPLE_ADVICE: &str =
    "this value is published as an example and grants no access; \
     if real configuration uses it, replace it with a credential of your own \
     (`--fail-on examples` fails the run on such values)";

/// A finding's class as JSON and SARIF name it: "credential", "example"
/// or "note".
pub(crate) fn class_id(class: FindingClass) -> &'static str {
    match class {
        FindingClass::Credential => "credential",
        FindingClass::Example => "example",
        FindingClass::Note => "note",
    }
}

/// The word for a finding's class in reports.
pub(crate) fn class_word(class: FindingClass) -> &'static str {
    match class {
        FindingClass::Credential => "credential",
        FindingClass::Example => "documented example",
        FindingClass::Note => "note",
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by file.
    Text,
    /// One JSON object: version, findings, summary.
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
    /// Markdown: a job summary, an issue or a wiki page.
    Markdown,
    /// GitHub workflow commands (`::error file=…`): annotations on a pull request.
    Github,
}

/// How to render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Which format.
    pub format: Format,
    /// Show secrets in full.
    pub no_redact: bool,
    /// ANSI colour (text only).
    pub color: bool,
    /// The scan root, for SARIF's originalUriBaseIds.
    pub root: Option<std::path::PathBuf>,
    /// Text only: each fix in one line, its numbered steps left to
    /// `keyflare explain` (the demo, which must fit one screen).
    pub brief: bool,
}

/// Renders `report` in the requested format.
pub fn render(report: &Report, rules: &RuleSet, opts: &RenderOptions) -> Result<Vec<u8>, Error> {
    match opts.format {
        Format::Text => Ok(text::render(report, rules, opts)),
        Format::Json => json::render(report, rules, opts),
        Format::Sarif => sarif::render(report, rules, opts),
        Format::Markdown => Ok(markdown::render(report, rules, opts)),
        Format::Github => Ok(github::render(report, rules, opts)),
    }
}

/// The JSON report with `extra` top-level fields after the usual ones
/// (an audit shard's, see [`crate::pipeline::merge::shard`]).
pub fn render_json_with(
    report: &Report,
    rules: &RuleSet,
    opts: &RenderOptions,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<u8>, Error> {
    json::render_with(report, rules, opts, extra)
}

/// Audit report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    /// Markdown, for an issue or a wiki page.
    Markdown,
    /// One self-contained HTML file (inline CSS, no scripts), to mail or attach.
    Html,
    /// The merged findings as `scan --format json` writes them.
    Json,
    /// The merged findings as `scan --format sarif` writes them.
    Sarif,
}

/// Renders an audit as Markdown or HTML. JSON and SARIF give `None`: they
/// go through [`render`] with the merged findings, as `scan` writes them.
pub fn render_audit(
    audit: &crate::outcome::audit::Audit,
    rules: &RuleSet,
    format: AuditFormat,
    no_redact: bool,
) -> Option<Vec<u8>> {
    match format {
        AuditFormat::Markdown => Some(audit::markdown::render(audit, rules, no_redact)),
        AuditFormat::Html => Some(audit::html::render(audit, rules, no_redact)),
        AuditFormat::Json | AuditFormat::Sarif => None,
    }
}

/// Findings that hold the same credential (same rule, same secret).
pub(crate) struct CredentialGroup<'a> {
    /// In report order; never empty.
    pub findings: Vec<&'a Finding>,
}

impl<'a> CredentialGroup<'a> {
    pub(crate) fn first(&self) -> &'a Finding {
        self.findings[0]
    }

    /// The verification status, shared by every finding of the credential.
    pub(crate) fn status(&self) -> Option<crate::verify::VerifyStatus> {
        self.findings[0].verification.as_ref().map(|v| v.status)
    }

    /// What the group is (one fingerprint: one rule, one value).
    pub(crate) fn class(&self) -> FindingClass {
        self.first().class()
    }

    fn urgency(&self) -> (bool, std::cmp::Reverse<FindingClass>, Severity) {
        (
            self.status() == Some(crate::verify::VerifyStatus::Active),
            // Credentials before documented examples before notes.
            std::cmp::Reverse(self.class()),
            self.first().severity,
        )
    }
}

/// Groups findings by fingerprint (rule + secret), live credentials first,
/// then credentials, documented examples, notes, each by severity, then in
/// report order.
pub(crate) fn group_by_credential(findings: &[Finding]) -> Vec<CredentialGroup<'_>> {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut groups: Vec<CredentialGroup<'_>> = Vec::new();
    for f in findings {
        match index.get(f.fingerprint.as_str()) {
            Some(&i) => groups[i].findings.push(f),
            None => {
                index.insert(&f.fingerprint, groups.len());
                groups.push(CredentialGroup { findings: vec![f] });
            }
        }
    }
    // Stable: equal urgency keeps report order.
    groups.sort_by_key(|g| std::cmp::Reverse(g.urgency()));
    groups
}

/// The remediation of a finding's rule; empty if the rule is unknown.
pub(crate) fn remediation_for<'r>(rules: &'r RuleSet, rule_id: &str) -> &'r str {
    rules
        .get(rule_id)
        .map(|r| r.remediation.as_str())
        .unwrap_or("")
}

/// The remediation of a finding's rule, as steps; empty if the rule is unknown.
pub(crate) fn steps_for<'r>(rules: &'r RuleSet, rule_id: &str) -> &'r [String] {
    rules
        .get(rule_id)
        .map(|r| r.steps.as_slice())
        .unwrap_or(&[])
}

/// Writes the rendered report to stdout, or atomically to `path`: a temporary
/// file in the same directory, created 0600, renamed over the target once
/// complete, so no reader ever sees half a report and an unredacted report is
/// never readable by others. A `path` that is a device or FIFO is written
/// into instead, and a symlink is followed.
pub fn write_output(bytes: &[u8], path: Option<&Path>) -> Result<(), Error> {
    let Some(path) = path else {
        let mut out = std::io::stdout().lock();
        return match out.write_all(bytes).and_then(|_| out.flush()) {
            // A closed pipe (`| head`) is the reader's choice, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|source| Error::Output {
                path: "<stdout>".into(),
                source,
            }),
        };
    };
    let err = |source| Error::Output {
        path: path.to_path_buf(),
        source,
    };
    // Only a regular file (or nothing) is replaced. A device, FIFO or socket
    // (`-o /dev/null`, `-o /dev/stdout` on a pipe) is written into: renaming
    // over it would replace the node itself. A symlink is followed, so that
    // the file it names is replaced and the link stays.
    let resolved;
    let path = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {
            resolved = std::fs::canonicalize(path).map_err(err)?;
            resolved.as_path()
        }
        Ok(m) if !m.is_dir() => {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(err)?;
            return out.write_all(bytes).and_then(|()| out.flush()).map_err(err);
        }
        _ => path,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keyflare-report")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    // The rename alone makes the replacement atomic for every reader. No
    // fsync first: it made durable, across a power cut, a report the next
    // scan rewrites, and cost a pre-commit scan a fifth of its time (~3 ms).
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Match;
    use crate::source::Stats;
    use std::time::Duration;

    /// One finding of `rule_id` at `path`, a documented example if `source`.
    fn finding(rules: &RuleSet, rule_id: &str, secret: &str, source: Option<&str>) -> Finding {
        let index = rules
            .rules()
            .iter()
            .position(|r| r.id == rule_id)
            .expect("rule");
        let m = Match {
            rule: index,
            start: 0,
            end: secret.len(),
            line: 3,
            column: 9,
            end_column: 9 + secret.len(),
            secret: secret.to_string(),
            key: None,
            emails: Vec::new(),
            account_ids: Vec::new(),
            marker: None,
        };
        let mut f = Finding::new(&rules.rules()[index], "sdk/README.md", m);
        f.documented_example = source.map(str::to_string);
        f
    }

    fn render_all(report: &Report, rules: &RuleSet) -> Vec<(Format, String)> {
        [
            Format::Text,
            Format::Json,
            Format::Sarif,
            Format::Markdown,
            Format::Github,
        ]
        .into_iter()
        .map(|format| {
            let opts = RenderOptions {
                format,
                no_redact: false,
                color: false,
                root: None,
                brief: false,
            };
            let bytes = render(report, rules, &opts).expect("render");
            (format, String::from_utf8(bytes).expect("utf-8"))
        })
        .collect()
    }

    /// Threads record warnings in any order; the report has them sorted,
    /// so that two runs of one scan print and write the same thing.
    #[test]
    fn warnings_come_out_in_one_order_whatever_the_threads_did() {
        use crate::source::Warning;
        let unreadable = |p: &str| Warning::Unreadable {
            path: p.into(),
            error: std::io::Error::from(std::io::ErrorKind::PermissionDenied).into(),
        };
        let texts = |order: &[&str]| {
            let stats = Stats::default();
            for p in order {
                stats.warn(unreadable(p));
            }
            let report = Report::new(Vec::new(), &stats, "tree", Duration::ZERO);
            report
                .warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        };
        let sorted = texts(&["a/1", "b/2", "c/3"]);
        assert_eq!(texts(&["c/3", "a/1", "b/2"]), sorted);
        assert!(
            sorted[0].contains("a/1") && sorted[2].contains("c/3"),
            "{sorted:?}"
        );
    }

    /// A warning recorded in the stats reaches the report as the typed
    /// value (its error still there to look at), and the reports that list
    /// warnings show its text: JSON as a string, SARIF as a notification.
    #[test]
    fn typed_warnings_survive_into_the_report() {
        use crate::source::Warning;
        let rules = RuleSet::builtin().expect("rules");
        let stats = Stats::default();
        stats.warn(Warning::Unreadable {
            path: "src/.env".into(),
            error: std::io::Error::from(std::io::ErrorKind::PermissionDenied).into(),
        });
        stats
            .excluded_warnings
            .lock()
            .expect("lock")
            .push(Warning::DecodeLimit {
                path: "vendor/b.txt".into(),
                max_decoded_bytes: 16 << 20,
            });
        let report = Report::new(Vec::new(), &stats, "tree", Duration::ZERO);
        assert_eq!(report.summary.errors, 1);
        match report.warnings.as_slice() {
            [Warning::Unreadable { path, error }] => {
                assert_eq!(path, "src/.env");
                assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
            }
            other => panic!("{other:?}"),
        }
        let text = report.warnings[0].to_string();
        assert_eq!(text, "cannot read src/.env: permission denied");
        assert_eq!(
            report.notices,
            ["1 problem reading paths the configuration excludes, not counted as errors (first: vendor/b.txt: more than 16 MiB of encoded values: the rest were not decoded)"]
        );
        for (format, out) in render_all(&report, &rules) {
            match format {
                Format::Json => {
                    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
                    assert_eq!(v["warnings"], serde_json::json!([text]), "{out}");
                }
                Format::Sarif => assert!(out.contains(&format!("\"text\": \"{text}\"")), "{out}"),
                _ => {}
            }
        }
    }

    /// A documented example reads as one in every format: never "secret:",
    /// never counted as a credential, its source shown, no rotation plan.
    #[test]
    fn documented_examples_are_reported_as_examples() {
        let rules = RuleSet::builtin().expect("rules");
        let value = "Zq8Wm3Lp6Tn1Vx4Rb7Yc2Hd5Jf9Kg0Ns3Qa6Eu1";
        let source = "Cloudflare API reference (example token)";
        let f = finding(
            &rules,
            "kf.cloudflare.api-token.legacy",
            value,
            Some(source),
        );
        assert_eq!(f.class(), FindingClass::Example);
        let report = Report::new(vec![f], &Stats::default(), "tree", Duration::ZERO);
        assert_eq!(
            (report.summary.credentials, report.summary.examples),
            (0, 1)
        );
        for (format, out) in render_all(&report, &rules) {
            assert!(!out.contains(value), "{format:?} shows the value");
            assert!(!out.contains("secret:"), "{format:?}: {out}");
            match format {
                Format::Text => {
                    assert!(
                        out.contains("documented example: Cloudflare API token"),
                        "{out}"
                    );
                    assert!(out.contains("    example value: ***"), "{out}");
                    assert!(
                        out.contains(&format!("    published in: {source}")),
                        "{out}"
                    );
                    assert!(
                        out.contains(": no credentials, 1 documented example;"),
                        "{out}"
                    );
                    assert!(!out.contains("fix: Roll"), "{out}");
                }
                Format::Json => {
                    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
                    assert_eq!(v["findings"][0]["class"], "example");
                    assert_eq!(v["findings"][0]["documented_example"], source);
                    assert_eq!(v["summary"]["examples"], 1);
                    assert_eq!(v["summary"]["credentials"], 0);
                }
                Format::Sarif => {
                    let v: serde_json::Value = serde_json::from_str(&out).expect("sarif");
                    let r = &v["runs"][0]["results"][0];
                    assert_eq!(r["level"], "note");
                    assert_eq!(r["properties"]["class"], "example");
                    assert_eq!(r["properties"]["documented_example"], source);
                }
                Format::Markdown => {
                    assert!(out.contains("No Cloudflare credentials found"), "{out}");
                    assert!(out.contains("### Documented examples"), "{out}");
                    assert!(out.contains(source), "{out}");
                    assert!(!out.contains("What to do next"), "{out}");
                }
                Format::Github => {
                    assert!(out.starts_with("::notice "), "{out}");
                    assert!(
                        out.contains("(documented example; example value: ***"),
                        "{out}"
                    );
                }
            }
        }
    }

    /// Credentials, examples and notes count apart; a credential stays one.
    #[test]
    fn counts_are_split_by_class() {
        let rules = RuleSet::builtin().expect("rules");
        let token = "Zq8Wm3Lp6Tn1Vx4Rb7Yc2Hd5Jf9Kg0Ns3Qa6Eu1";
        let findings = vec![
            finding(&rules, "kf.cloudflare.api-token.legacy", token, None),
            finding(&rules, "kf.cloudflare.api-token.legacy", token, None),
            finding(&rules, "kf.cloudflare.api-token.legacy", "Sx", Some("docs")),
            finding(
                &rules,
                "kf.cloudflare.hygiene.global-key-auth",
                "X-Auth-Key",
                None,
            ),
            finding(
                &rules,
                "kf.cloudflare.hygiene.global-key-auth",
                "x-auth-key",
                None,
            ),
        ];
        let c = ClassCounts::of(&findings);
        assert_eq!((c.credentials, c.examples, c.notes), (1, 1, 2));
        assert_eq!(c.describe(), "1 credential, 1 documented example, 2 notes");
        assert_eq!(match_label(&findings[3], &rules), "header");
        assert_eq!(match_label(&findings[0], &rules), "secret");
    }
}

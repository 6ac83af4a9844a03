//! The SARIF 2.1.0 report, shaped for GitHub code scanning: every rule with
//! its help and `security-severity`, every result with a relative URI, a
//! region and partial fingerprints. At most [`MAX_RESULTS`] results are kept
//! (GitHub drops the rest): the most urgent ones, with a notification saying so.
//!
//! Stage: report. Pure: it never scans, filters or verifies.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use super::{class_id, class_word, match_label, RenderOptions, Report, EXAMPLE_ADVICE};
use crate::error::Error;
use crate::finding::{Finding, FindingClass};
use crate::rules::{Rule, RuleKind, RuleSet, Severity};
use crate::verify::VerifyStatus;

/// GitHub keeps at most 5,000 results per run.
pub const MAX_RESULTS: usize = 5000;
const SRCROOT: &str = "%SRCROOT%";

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// Rule files can come from the scanned repository's configuration: their
/// text is escaped like any other, and a reference is a link only when it
/// is a plain https URL.
fn help_markdown(rule: &Rule) -> String {
    use crate::escape::{md_prose, md_text, Md};
    let mut md = format!(
        "**{}**\n\n{}\n\n{}\n\n",
        md_text(&rule.name),
        md_prose(&rule.description, Md::Inline),
        md_prose(&rule.remediation, Md::Inline)
    );
    for (i, step) in rule.steps.iter().enumerate() {
        md.push_str(&format!("{}. {}\n", i + 1, md_prose(step, Md::Inline)));
    }
    if !rule.references.is_empty() {
        md.push_str("\nReferences:\n");
        for r in &rule.references {
            let plain = r.starts_with("https://")
                && !r.contains(|c: char| c.is_whitespace() || c.is_control() || "<>`".contains(c));
            if plain {
                md.push_str(&format!("- <{r}>\n"));
            } else {
                md.push_str(&format!("- {}\n", md_text(r)));
            }
        }
    }
    md
}

fn help_text(rule: &Rule) -> String {
    let mut t = format!("{}\n\n{}\n", rule.description, rule.remediation);
    for (i, step) in rule.steps.iter().enumerate() {
        t.push_str(&format!("{}. {}\n", i + 1, step.replace('`', "")));
    }
    t
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".to_string(),
        json!(security_severity(rule.severity)),
    );
    props.insert("precision".to_string(), json!("high"));
    let mut tags = vec!["security".to_string(), "cloudflare".to_string()];
    tags.push(match rule.kind {
        RuleKind::Credential => "secret".to_string(),
        RuleKind::Hygiene => "hygiene".to_string(),
    });
    let mut d = ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule_name_identifier(&rule.name))
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.name.clone())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(rule.description.clone())
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help_text(rule))
                .markdown(help_markdown(rule))
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(match rule.kind {
                    // Hygiene: notes, not leaks.
                    RuleKind::Hygiene => ResultLevel::Note.to_string(),
                    RuleKind::Credential => level(rule.severity).to_string(),
                }))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(tags)
                .additional_properties(props)
                .build(),
        )
        .build();
    d.help_uri = rule.references.first().cloned();
    d
}

/// SARIF rule names are identifiers ("CloudflareUserApiToken").
fn rule_name_identifier(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Percent-encodes a relative path for a URI reference.
pub(crate) fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_active(f: &Finding) -> bool {
    matches!(
        f.verification.as_ref().map(|v| v.status),
        Some(VerifyStatus::Active)
    )
}

fn result(
    f: &Finding,
    rules: &RuleSet,
    rule_index: Option<usize>,
    occurrence: usize,
    opts: &RenderOptions,
) -> SarifResult {
    use crate::escape::sarif_text as t;
    let class = f.class();
    let mut text = match class {
        FindingClass::Credential => {
            format!(
                "{} found: {}.",
                t(&f.rule_name),
                t(f.shown_secret(opts.no_redact))
            )
        }
        other => format!(
            "{} ({}): {} {}.",
            t(&f.rule_name),
            class_word(other),
            t(match_label(f, rules)),
            t(f.shown_secret(opts.no_redact))
        ),
    };
    if let Some(source) = &f.documented_example {
        text.push_str(&format!(" Published in {}: {EXAMPLE_ADVICE}.", t(source)));
    }
    if let Some(note) = f.decoded_note() {
        text.push_str(&format!(" Decoded: {}.", t(&note)));
    }
    // An archive member has no file of its own in the repository: point at
    // the archive and say where inside it.
    let (artifact, member) = match f.path.split_once('!') {
        Some((outer, inner)) => (outer, Some(inner)),
        None => (f.path.as_str(), None),
    };
    if let Some(inner) = member {
        text.push_str(&format!(
            " In archive member {}, line {}, column {}.",
            t(inner),
            f.line,
            f.column
        ));
    }
    if let Some(v) = &f.verification {
        text.push_str(
            &format!(" Verification: {:?} ({}).", v.status, t(&v.detail))
                .replace("Active", "ACTIVE"),
        );
    }
    if let Some(c) = &f.commit {
        text.push_str(&format!(
            " Introduced in commit {} by {} on {}.",
            t(&c.commit),
            t(&c.author),
            t(&c.date)
        ));
        if let (Some(p), Some(m)) = (&c.first_path, c.move_note()) {
            text.push_str(&format!(" First written at {}; {}.", t(p), t(&m)));
        }
        if !c.in_head && class == FindingClass::Credential {
            text.push_str(
                " It is only in history: the file may no longer exist. Rotate it, then purge it from history (git filter-repo).",
            );
        } else if !c.in_head_at_path {
            text.push_str(&format!(" {}.", t(&c.presence())));
        }
    }
    let region = match member {
        Some(_) => Region::builder().start_line(1).build(),
        None => Region::builder()
            .start_line(f.line as i64)
            .start_column(f.column as i64)
            .end_column(f.end_column.max(f.column + 1) as i64)
            .build(),
    };
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(uri_path(artifact))
                        .uri_base_id(SRCROOT)
                        .build(),
                )
                .region(region)
                .build(),
        )
        .build();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "primaryLocationLineHash".to_string(),
        format!("{}:{occurrence}", &f.fingerprint[..16]),
    );
    fingerprints.insert("keyflare/v1".to_string(), f.fingerprint.clone());
    let mut props = BTreeMap::new();
    props.insert("severity".to_string(), json!(f.severity.as_str()));
    props.insert("class".to_string(), json!(class_id(class)));
    if let Some(source) = &f.documented_example {
        props.insert("documented_example".to_string(), json!(source));
    }
    if let Some(d) = &f.decoded {
        props.insert("decoded".to_string(), json!(d));
    }
    if let Some(inner) = member {
        props.insert("archive_member".to_string(), json!(inner));
    }
    if let Some(v) = &f.verification {
        props.insert("verification".to_string(), json!(v));
    }
    if let Some(c) = &f.commit {
        props.insert("commit".to_string(), json!(c.commit));
        props.insert("author".to_string(), json!(c.author));
        props.insert("date".to_string(), json!(c.date));
        props.insert("in_head".to_string(), json!(c.in_head));
        props.insert("in_head_at_path".to_string(), json!(c.in_head_at_path));
        if !c.head_paths.is_empty() {
            props.insert("head_paths".to_string(), json!(c.head_paths));
            props.insert("head_path_count".to_string(), json!(c.head_path_count));
        }
        if let Some(p) = &c.first_path {
            props.insert("first_path".to_string(), json!(p));
        }
        if let Some(m) = &c.moved {
            props.insert("moved".to_string(), json!(m));
        }
    }
    // Notes and documented examples are not leaks: level "note" whatever
    // the rule's severity.
    let lvl = if class != FindingClass::Credential {
        ResultLevel::Note
    } else if is_active(f) {
        ResultLevel::Error
    } else {
        level(f.severity)
    };
    if let Some(s) = &f.suppression {
        text.push_str(&format!(" {}.", t(&super::text::refused(s))));
        props.insert("suppression".to_string(), json!(s));
    }
    let mut r = SarifResult::builder()
        .rule_id(f.rule_id.clone())
        .level(lvl)
        .message(Message::builder().text(text).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    r.rule_index = rule_index.map(|i| i as i64);
    if let Some(s) = &f.suppression {
        r.suppressions = suppression(s, opts).map(|s| vec![s]);
    }
    r
}

/// SARIF's `suppression`: "inSource" for an inline marker, "external" for
/// the configuration and the baseline; status "accepted" when applied,
/// "rejected" when not (added by the scanned change, or the credential is
/// live), with the reason as justification and where it lives as location.
fn suppression(
    s: &crate::finding::Suppression,
    opts: &RenderOptions,
) -> Option<serde_sarif::sarif::Suppression> {
    use crate::finding::{SuppressionKind, SuppressionStatus};
    let kind = match s.kind {
        SuppressionKind::Marker => "inSource",
        _ => "external",
    };
    let status = match s.status {
        SuppressionStatus::Applied => "accepted",
        _ => "rejected",
    };
    let justification = match s.status {
        SuppressionStatus::Applied => s.describe(),
        _ => super::text::refused(s),
    };
    // A file under the scanned directory is named relative to it.
    let relative = match &opts.root {
        Some(root) => std::path::Path::new(&s.file)
            .strip_prefix(root)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/")),
        None => None,
    };
    let mut artifact = match (&relative, s.kind) {
        (_, SuppressionKind::Marker) => json!({"uri": uri_path(&s.file), "uriBaseId": SRCROOT}),
        (Some(rel), _) => json!({"uri": uri_path(rel), "uriBaseId": SRCROOT}),
        (None, _) => json!({"uri": uri_path(&s.file)}),
    };
    if s.kind == SuppressionKind::Marker {
        // An archive member's marker: point at the archive.
        if let Some((outer, _)) = s.file.split_once('!') {
            artifact = json!({"uri": uri_path(outer), "uriBaseId": SRCROOT});
        }
    }
    let mut physical = json!({ "artifactLocation": artifact });
    if let Some(line) = s.line.filter(|_| !s.file.contains('!')) {
        physical["region"] = json!({ "startLine": line });
    }
    let value = json!({
        "kind": kind,
        "status": status,
        "justification": crate::escape::sarif_text(&justification),
        "location": { "physicalLocation": physical },
        "properties": { "keyflare": s },
    });
    serde_json::from_value(value).ok()
}

pub(super) fn render(
    report: &Report,
    rules: &RuleSet,
    opts: &RenderOptions,
) -> Result<Vec<u8>, Error> {
    let descriptors: Vec<ReportingDescriptor> = rules.rules().iter().map(descriptor).collect();
    let index: HashMap<&str, usize> = rules
        .rules()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    // Keep the most urgent results when over GitHub's limit.
    let mut chosen: Vec<&Finding> = report.findings.iter().collect();
    let dropped = chosen.len().saturating_sub(MAX_RESULTS);
    if dropped > 0 {
        // Credentials first, then documented examples, then notes.
        chosen.sort_by_key(|f| {
            std::cmp::Reverse((is_active(f), std::cmp::Reverse(f.class()), f.severity))
        });
        chosen.truncate(MAX_RESULTS);
    }
    let mut occurrences: HashMap<(&str, &str), usize> = HashMap::new();
    // Suppressed findings follow, with their suppressions, in the room left.
    let room = MAX_RESULTS.saturating_sub(chosen.len());
    chosen.extend(report.suppressed.iter().take(room));
    let results: Vec<SarifResult> = chosen
        .iter()
        .map(|f| {
            let n = occurrences.entry((&f.path, &f.fingerprint)).or_insert(0);
            *n += 1;
            result(f, rules, index.get(f.rule_id.as_str()).copied(), *n, opts)
        })
        .collect();
    let mut notifications = Vec::new();
    if dropped > 0 {
        notifications.push(
            Notification::builder()
                .message(
                    Message::builder()
                        .text(format!(
                            "{} findings in all; only the {MAX_RESULTS} most severe are in this SARIF file (GitHub code scanning keeps at most {MAX_RESULTS} results per run). Run keyflare with --format json to see every finding.",
                            report.findings.len()
                        ))
                        .build(),
                )
                .level(json!("warning"))
                .build(),
        );
    }
    for w in &report.warnings {
        notifications.push(
            Notification::builder()
                .message(Message::builder().text(w.to_string()).build())
                .level(json!("warning"))
                .build(),
        );
    }
    let mut invocation = Invocation::builder().execution_successful(true).build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    let driver = ToolComponent::builder()
        .name("keyflare")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/keyflare/keyflare")
        .rules(descriptors)
        .build();
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    if let Some(root) = &opts.root {
        if let Ok(abs) = std::fs::canonicalize(root) {
            let mut uri = format!("file://{}", uri_path(&abs.to_string_lossy()));
            if !uri.ends_with('/') {
                uri.push('/');
            }
            let mut bases = BTreeMap::new();
            bases.insert(
                SRCROOT.to_string(),
                ArtifactLocation::builder().uri(uri).build(),
            );
            run.original_uri_base_ids = Some(bases);
        }
    }
    let sarif = Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut out = serde_json::to_vec_pretty(&sarif).map_err(|e| Error::Usage(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_uris() {
        assert_eq!(
            rule_name_identifier("Cloudflare API token (pre-2026 format)"),
            "CloudflareAPITokenPre2026Format"
        );
        assert_eq!(uri_path("a b/c#d.txt"), "a%20b/c%23d.txt");
    }
}

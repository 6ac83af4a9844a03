//! Reporters for an organisation audit: Markdown, one self-contained HTML
//! file, JSON and SARIF 2.1.0.
//!
//! Pure: an [`OrgAudit`] in, bytes out. Every value from a shard
//! (repository names, paths, authors, commit ids, details) is hostile
//! text: it goes through [`crate::escape`] for the format it lands in (HTML
//! escaping after [`crate::escape::text`]); JSON and SARIF are written by
//! `serde_json`. The HTML loads nothing: inline CSS, no scripts, no URL in
//! any `src` or `href`. Nothing here depends on time or input order.
//!
//! Stage: report. It never scans, verifies or merges: it renders what `pipeline::merge` made.

use std::fmt::Write;

use serde::Serialize;
use serde_json::{json, Value};

use crate::escape::{md_code, md_prose, md_text, Md};
use crate::pipeline::merge::shard::ShardCommit;
use crate::pipeline::merge::{OrgAudit, OrgCredential};
use crate::report::md_table::{head, row};
use crate::rules::RuleSet;
use crate::verify::VerifyStatus;

/// Organisation report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OrgFormat {
    /// Markdown, for an issue or a wiki page.
    Markdown,
    /// One self-contained HTML file (inline CSS, no scripts).
    Html,
    /// The organisation audit as JSON.
    Json,
    /// SARIF 2.1.0, one result per credential per repository.
    Sarif,
}

impl OrgFormat {
    /// The format `-o FILE`'s extension names, if any.
    pub fn from_path(path: &std::path::Path) -> Option<OrgFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "md" | "markdown" => OrgFormat::Markdown,
            "html" | "htm" => OrgFormat::Html,
            "json" => OrgFormat::Json,
            "sarif" => OrgFormat::Sarif,
            _ => return None,
        })
    }
}

/// Renders `audit` in `format`; secrets redacted unless `no_redact` (and
/// the shards kept them).
pub fn render(audit: &OrgAudit, rules: &RuleSet, format: OrgFormat, no_redact: bool) -> Vec<u8> {
    match format {
        OrgFormat::Markdown => markdown(audit, rules, no_redact).into_bytes(),
        OrgFormat::Html => html(audit, rules, no_redact).into_bytes(),
        OrgFormat::Json => json_doc(audit, rules, no_redact),
        OrgFormat::Sarif => sarif_doc(audit, rules, no_redact),
    }
}

fn to_bytes(v: &impl Serialize) -> Vec<u8> {
    // Values of strings, numbers and booleans only: serializing cannot fail.
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn shown(c: &OrgCredential, no_redact: bool) -> &str {
    match (&c.secret, no_redact) {
        (Some(s), true) => s,
        _ => &c.shown,
    }
}

fn status_label(c: &OrgCredential) -> &'static str {
    match c.status() {
        Some(VerifyStatus::Active) => "ACTIVE",
        Some(VerifyStatus::Inactive) => "inactive",
        Some(VerifyStatus::Invalid) => "invalid",
        Some(VerifyStatus::Unknown) => "unknown",
        None => "not verified",
    }
}

/// What a live credential reaches (`--blast-radius`), in words.
fn reach(v: &crate::verify::Verification) -> Option<String> {
    let b = v.blast_radius.as_ref()?;
    let mut s = format!("{} account(s), {} zone(s)", b.account_count, b.zone_count);
    let names: Vec<&str> = b
        .accounts
        .iter()
        .chain(&b.zones)
        .take(5)
        .map(String::as_str)
        .collect();
    if !names.is_empty() {
        s.push_str(": ");
        s.push_str(&names.join(", "));
    }
    Some(s)
}

fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

fn day(c: &ShardCommit) -> &str {
    c.date.get(..10).unwrap_or(&c.date)
}

/// How many credentials more than one repository holds.
fn shared(audit: &OrgAudit) -> usize {
    audit
        .credentials
        .iter()
        .filter(|c| c.repositories.len() > 1)
        .count()
}

fn with_credentials(audit: &OrgAudit) -> usize {
    audit
        .repositories
        .iter()
        .filter(|r| r.credentials > 0)
        .count()
}

fn steps<'r>(rules: &'r RuleSet, c: &OrgCredential) -> Vec<&'r str> {
    rules
        .get(&c.rule_id)
        .map(|r| r.steps.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// What to do once per credential, whatever its rule.
const ORG_STEPS: [&str; 3] = [
    "Roll or revoke it once: every repository listed used the same secret.",
    "Give each repository its own scoped API token (only the permission groups it uses, \
     client IP filtering, a TTL), kept in an environment variable or a secret store.",
    "Purge it from the history of every repository listed (`keyflare audit PATH` there \
     gives the exact `git filter-repo` steps), and have collaborators re-clone.",
];

fn place_line(p: &crate::pipeline::merge::shard::ShardPlace) -> String {
    let mut s = format!("line {}", p.line);
    if let Some(c) = &p.introduced {
        let _ = write!(
            s,
            ", commit {} ({}, {})",
            short(&c.commit),
            day(c),
            c.author
        );
    }
    if p.in_worktree {
        s.push_str(", in the working tree");
    }
    s
}

fn markdown(a: &OrgAudit, rules: &RuleSet, no_redact: bool) -> String {
    let mut out = String::new();
    let live = if a.verified {
        format!("**{}**", a.active())
    } else {
        "not verified".into()
    };
    out.push_str("# keyflare organisation audit\n\n");
    head(&mut out, "repositories | with credentials | credentials | live | in several repositories | commits scanned | files and blobs read");
    row(
        &mut out,
        &[
            &a.repositories.len(),
            &with_credentials(a),
            &a.credentials.len(),
            &live,
            &shared(a),
            &a.commits_scanned,
            &a.files_scanned,
        ],
    );
    out.push('\n');
    for m in &a.mixed {
        let _ = writeln!(out, "> **Warning:** {}\n", md_text(m));
    }
    out.push_str("## Repositories, worst first\n\n");
    head(
        &mut out,
        "repository | credentials | live | still present | worst severity | commits | unreadable",
    );
    for r in &a.repositories {
        row(
            &mut out,
            &[
                &md_code(&r.repository.name, Md::Cell),
                &r.credentials,
                &if a.verified {
                    r.active.to_string()
                } else {
                    "-".into()
                },
                &r.present,
                &r.worst.map_or("-", |s| s.as_str()),
                &r.commits_scanned,
                &r.warnings,
            ],
        );
    }
    if a.credentials.is_empty() {
        out.push_str("\nNo Cloudflare credentials found in any repository.\n");
    } else {
        out.push_str("\n## Credentials, most urgent first\n\n");
        head(
            &mut out,
            "# | credential | secret | status | severity | repositories | first commit",
        );
        for (i, c) in a.credentials.iter().enumerate() {
            let first = c.first().map_or("never committed".into(), |(repo, f)| {
                format!(
                    "{} in {} ({})",
                    md_code(short(&f.commit), Md::Cell),
                    md_code(repo, Md::Cell),
                    day(f)
                )
            });
            row(
                &mut out,
                &[
                    &(i + 1),
                    &md_text(&c.rule_name),
                    &md_code(shown(c, no_redact), Md::Cell),
                    &status_label(c),
                    &c.severity.as_str(),
                    &c.repositories.len(),
                    &first,
                ],
            );
        }
        out.push_str("\n## Where each credential is, and what to do\n");
        for (i, c) in a.credentials.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n### {}. {} {} ({}, {})\n",
                i + 1,
                md_text(&c.rule_name),
                md_code(shown(c, no_redact), Md::Inline),
                c.severity.as_str(),
                status_label(c)
            );
            if let Some(v) = &c.verification {
                let _ = writeln!(out, "Verification: {}\n", md_text(&v.detail));
                if let Some(b) = reach(v) {
                    let _ = writeln!(out, "Reaches: {}\n", md_text(&b));
                }
            }
            let _ = writeln!(
                out,
                "In {} repositor{} (fingerprint `{}`):\n",
                c.repositories.len(),
                if c.repositories.len() == 1 {
                    "y"
                } else {
                    "ies"
                },
                c.fingerprint
            );
            for r in &c.repositories {
                let state = if r.in_head || r.in_worktree {
                    "still present"
                } else {
                    "only in history"
                };
                let _ = writeln!(out, "- {} ({state})", md_code(&r.repository, Md::Inline));
                for p in &r.places {
                    let _ = writeln!(
                        out,
                        "  - {}: {}",
                        md_code(&p.path, Md::Inline),
                        md_text(&place_line(p))
                    );
                }
            }
            out.push_str("\nWhat to do:\n\n");
            for (n, s) in ORG_STEPS.iter().chain(steps(rules, c).iter()).enumerate() {
                let _ = writeln!(out, "{}. {}", n + 1, md_prose(s, Md::Inline));
            }
        }
    }
    if !a.warnings.is_empty() {
        out.push_str("\n## Not read\n\nThese audits were incomplete:\n\n");
        for w in &a.warnings {
            let _ = writeln!(out, "- {}", md_text(w));
        }
    }
    out.push_str("\n---\nMade by `keyflare merge`.\n");
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}\
main{max-width:1180px;margin:0 auto;padding:24px 28px}\
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px;margin:8px 0}\
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}\
th{background:#eef1f5}code{font-family:ui-monospace,monospace;font-size:12px;background:#eef1f5;padding:1px 4px;word-break:break-all}\
.active{color:#b42318;font-weight:700}.card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:4px 18px 12px;margin:14px 0}\
.warn{background:#fff8e6;border:1px solid #f5d48b;padding:6px 10px}";

/// HTML text from a shard or a rule: hidden characters made visible, then
/// the five HTML specials escaped.
fn esc(s: &str) -> String {
    super::audit::html::esc(&crate::escape::text(s))
}

/// Our prose with `code` spans.
fn prose(s: &str) -> String {
    super::audit::html::prose_with(s, esc)
}

fn html(a: &OrgAudit, rules: &RuleSet, no_redact: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>keyflare organisation audit</title><style>{STYLE}</style></head><body><main>\n\
         <h1>keyflare organisation audit</h1>\n"
    );
    let live = if a.verified {
        a.active().to_string()
    } else {
        "not verified".into()
    };
    let _ = writeln!(
        out,
        "<table><tr><th>repositories</th><th>with credentials</th><th>credentials</th><th>live</th>\
         <th>in several repositories</th><th>commits scanned</th><th>files and blobs read</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        a.repositories.len(),
        with_credentials(a),
        a.credentials.len(),
        esc(&live),
        shared(a),
        a.commits_scanned,
        a.files_scanned
    );
    for m in &a.mixed {
        let _ = writeln!(out, "<p class=\"warn\">Warning: {}</p>", esc(m));
    }
    out.push_str("<h2>Repositories, worst first</h2>\n<table><tr><th>repository</th><th>credentials</th><th>live</th><th>still present</th><th>worst severity</th><th>commits</th><th>unreadable</th></tr>\n");
    for r in &a.repositories {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.repository.name),
            r.credentials,
            if a.verified { r.active.to_string() } else { "-".into() },
            r.present,
            r.worst.map_or("-", |s| s.as_str()),
            r.commits_scanned,
            r.warnings
        );
    }
    out.push_str("</table>\n");
    if a.credentials.is_empty() {
        out.push_str("<p>No Cloudflare credentials found in any repository.</p>\n");
    } else {
        out.push_str("<h2>Credentials, most urgent first</h2>\n");
    }
    for (i, c) in a.credentials.iter().enumerate() {
        let class = if c.status() == Some(VerifyStatus::Active) {
            " active"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<div class=\"card\"><h3>{}. {} <code>{}</code> <span class=\"{}\">{}</span> ({})</h3>",
            i + 1,
            esc(&c.rule_name),
            esc(shown(c, no_redact)),
            class.trim(),
            status_label(c),
            c.severity.as_str()
        );
        if let Some(v) = &c.verification {
            let _ = writeln!(out, "<p>Verification: {}</p>", esc(&v.detail));
            if let Some(b) = reach(v) {
                let _ = writeln!(out, "<p>Reaches: {}</p>", esc(&b));
            }
        }
        if let Some((repo, f)) = c.first() {
            let _ = writeln!(
                out,
                "<p>First committed in <code>{}</code>: <code>{}</code> ({}, {})</p>",
                esc(repo),
                esc(short(&f.commit)),
                esc(day(f)),
                esc(&f.author)
            );
        }
        let _ = writeln!(
            out,
            "<p>In {} repositor{}:</p><ul>",
            c.repositories.len(),
            if c.repositories.len() == 1 {
                "y"
            } else {
                "ies"
            }
        );
        for r in &c.repositories {
            let state = if r.in_head || r.in_worktree {
                "still present"
            } else {
                "only in history"
            };
            let _ = write!(out, "<li><code>{}</code> ({state})<ul>", esc(&r.repository));
            for p in &r.places {
                let _ = write!(
                    out,
                    "<li><code>{}</code>: {}</li>",
                    esc(&p.path),
                    esc(&place_line(p))
                );
            }
            out.push_str("</ul></li>\n");
        }
        out.push_str("</ul><p>What to do:</p><ol>");
        for s in ORG_STEPS.iter().chain(steps(rules, c).iter()) {
            let _ = write!(out, "<li>{}</li>", prose(s));
        }
        out.push_str("</ol></div>\n");
    }
    if !a.warnings.is_empty() {
        out.push_str("<h2>Not read</h2><ul>");
        for w in &a.warnings {
            let _ = write!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<footer>Made by keyflare merge.</footer></main></body></html>\n");
    out
}

fn commit_json(c: &ShardCommit) -> Value {
    json!({"commit": c.commit, "author": c.author, "date": c.date})
}

fn json_doc(a: &OrgAudit, rules: &RuleSet, no_redact: bool) -> Vec<u8> {
    let repositories: Vec<Value> = a
        .repositories
        .iter()
        .map(|r| {
            json!({
                "name": r.repository.name,
                "url": r.repository.url,
                "head": r.repository.head,
                "credentials": r.credentials,
                "active": r.active,
                "present": r.present,
                "worst_severity": r.worst.map(|s| s.as_str()),
                "commits_scanned": r.commits_scanned,
                "warnings": r.warnings,
            })
        })
        .collect();
    // Built one credential at a time as it is written: no tree of the
    // whole report in memory.
    let credentials = Seq(|| {
        a.credentials.iter().map(|c| {
            json!({
                "fingerprint": c.fingerprint,
                "rule_id": c.rule_id,
                "rule_name": c.rule_name,
                "severity": c.severity.as_str(),
                "secret": shown(c, no_redact),
                // Status, detail and (with --blast-radius) what it reaches.
                "verification": c.verification,
                "first": c.first().map(|(repo, f)| {
                    let mut v = commit_json(f);
                    v["repository"] = repo.into();
                    v
                }),
                "repositories": c.repositories.iter().map(|r| json!({
                    "name": r.repository,
                    "in_head": r.in_head,
                    "in_worktree": r.in_worktree,
                    "first": r.first.as_ref().map(commit_json),
                    "removed": r.removed.as_ref().map(commit_json),
                    "places": r.places.iter().map(|p| json!({
                        "path": p.path,
                        "line": p.line,
                        "in_worktree": p.in_worktree,
                        "introduced": p.introduced.as_ref().map(commit_json),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "remediation_steps": ORG_STEPS.iter().copied().chain(steps(rules, c)).collect::<Vec<_>>(),
            })
        })
    });
    to_bytes(&Doc {
        tool: "keyflare",
        version: env!("CARGO_PKG_VERSION"),
        report: "organisation-audit",
        verified: a.verified,
        summary: json!({
            "repositories": a.repositories.len(),
            "repositories_with_credentials": with_credentials(a),
            "credentials": a.credentials.len(),
            "active": a.active(),
            "in_several_repositories": shared(a),
            "commits_scanned": a.commits_scanned,
            "files_scanned": a.files_scanned,
        }),
        repositories,
        credentials,
        mixed: &a.mixed,
        warnings: &a.warnings,
    })
}

/// The organisation report's JSON, in this order.
#[derive(Serialize)]
struct Doc<'a, C: Serialize> {
    tool: &'static str,
    version: &'static str,
    report: &'static str,
    verified: bool,
    summary: Value,
    repositories: Vec<Value>,
    credentials: C,
    mixed: &'a [String],
    warnings: &'a [String],
}

/// A JSON array whose items are made as they are written, so that a
/// report of 50,000 credentials never exists as one tree in memory.
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// Percent-encodes a relative path for a SARIF URI reference.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn sarif_doc(a: &OrgAudit, rules: &RuleSet, no_redact: bool) -> Vec<u8> {
    use crate::escape::sarif_text as t;
    let mut ids: Vec<&str> = a.credentials.iter().map(|c| c.rule_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let sarif_rules: Vec<Value> = ids
        .iter()
        .map(|id| {
            let r = rules.get(id);
            json!({
                "id": id,
                "name": r.map_or(*id, |r| r.name.as_str()),
                "shortDescription": {"text": t(r.map_or(*id, |r| r.description.as_str()))},
                "help": {"text": t(r.map_or("", |r| r.remediation.as_str()))},
            })
        })
        .collect();
    // Made one result at a time as it is written (see [`Seq`]).
    let ids = &ids;
    let results = Seq(|| {
        a.credentials.iter().flat_map(move |c| {
            let rule_index = ids.binary_search(&c.rule_id.as_str()).unwrap_or(0);
            let level = match c.status() {
                Some(VerifyStatus::Invalid) | Some(VerifyStatus::Inactive) => "warning",
                _ => "error",
            };
            c.repositories.iter().map(move |r| {
                let locations: Vec<Value> = r
                    .places
                    .iter()
                    .take(crate::finding::PLACES_SHOWN * 2)
                    .map(|p| {
                        json!({"physicalLocation": {
                            "artifactLocation": {"uri": uri(&format!("{}/{}", r.repository, p.path))},
                            "region": {"startLine": p.line.max(1)},
                        }})
                    })
                    .collect();
                json!({
                    "ruleId": c.rule_id,
                    "ruleIndex": rule_index,
                    "level": level,
                    "message": {"text": t(&format!(
                        "{} {} ({}) in {}: one of {} repositories holding it",
                        c.rule_name,
                        shown(c, no_redact),
                        status_label(c),
                        r.repository,
                        c.repositories.len()
                    ))},
                    "locations": locations,
                    "partialFingerprints": {"keyflare/v1": c.fingerprint},
                    "properties": {"repository": r.repository, "severity": c.severity.as_str()},
                })
            })
        })
    });
    to_bytes(&SarifDoc {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [SarifRun {
            tool: json!({"driver": {
                "name": "keyflare",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": sarif_rules,
            }}),
            results,
        }],
    })
}

#[derive(Serialize)]
struct SarifDoc<R: Serialize> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [SarifRun<R>; 1],
}

#[derive(Serialize)]
struct SarifRun<R: Serialize> {
    tool: Value,
    results: R,
}

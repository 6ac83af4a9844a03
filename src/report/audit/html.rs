//! The audit report as one self-contained HTML file, to mail or attach: the
//! same content as the Markdown one, with inline CSS only (no scripts, no
//! external styles, fonts or images), every string escaped, and real
//! checkboxes for the remediation checklist.
//!
//! Stage: report. Pure: it never scans, filters or verifies.

use std::fmt::Write;

use super::labels::{blast_label, day, last_label, presence_label, short, status_label, took};
use crate::outcome::audit::{self, Audit, Credential};
use crate::rules::RuleSet;
use crate::verify::VerifyStatus;

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f6f7f9;color:#1d2330;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px}
.sub{color:#5b6475;margin:0 0 18px}
.totals{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 8px}
.tile{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:10px 16px;min-width:120px}
.tile b{display:block;font-size:24px}.tile span{color:#5b6475;font-size:13px}
.tile.live b{color:#b42318}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d8dce3;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.secret code{white-space:nowrap;word-break:normal}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;background:#eef1f5;padding:1px 4px;border-radius:4px;word-break:break-all}
pre{background:#1d2330;color:#f6f7f9;padding:8px 12px;border-radius:6px;overflow-x:auto;font-size:12px}
pre code{background:none;color:inherit;padding:0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.s-active{background:#fde2e1;color:#b42318}.s-inactive{background:#fef0c7;color:#93370d}
.s-invalid{background:#e3f5e8;color:#1b6b35}.s-unknown,.s-none{background:#eef1f5;color:#3b4354}
.sev-critical{color:#b42318;font-weight:700}.sev-high{color:#c4320a;font-weight:600}
.in{background:#d92d20}.out{background:#12b76a}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px}
.card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:4px 18px 12px;margin:14px 0}
.card.active{border-left:5px solid #d92d20}
ul.places{margin:4px 0 8px;padding-left:20px;font-size:13px}
ul.check{list-style:none;padding-left:0;margin:8px 0}
ul.check>li{margin:8px 0}
ul.check label{font-weight:600}
ul.check ul{margin:4px 0 0 26px;padding-left:14px;font-size:13px;color:#3b4354}
input[type=checkbox]{width:16px;height:16px;margin:0 8px 0 0;vertical-align:-3px}
.note{background:#fff8e6;border:1px solid #f5d48b;border-radius:6px;padding:6px 10px;margin:6px 0;font-size:13px}
footer{color:#5b6475;font-size:12px;margin-top:32px}
"#;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped prose of ours, with `code` spans as `<code>`.
fn prose(s: &str) -> String {
    prose_with(s, esc)
}

/// Prose with `code` spans as `<code>`, each piece escaped by `esc` (the
/// organisation report escapes hidden characters too).
pub(crate) fn prose_with(s: &str, esc: fn(&str) -> String) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}

fn badge(c: &Credential) -> String {
    let class = match c.status() {
        Some(VerifyStatus::Active) => "s-active",
        Some(VerifyStatus::Inactive) => "s-inactive",
        Some(VerifyStatus::Invalid) => "s-invalid",
        Some(VerifyStatus::Unknown) => "s-unknown",
        None => "s-none",
    };
    let response = c
        .response
        .as_ref()
        .map(|r| format!("<br><small>{}</small>", esc(r)))
        .unwrap_or_default();
    format!(
        "<span class=\"badge {class}\">{}</span>{response}",
        esc(status_label(c))
    )
}

/// Renders the audit as one HTML page.
pub(crate) fn render(a: &Audit, rules: &RuleSet, no_redact: bool) -> Vec<u8> {
    let mut o = String::new();
    let t = a.totals();
    let title = format!("keyflare audit: {}", a.target);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(&title));
    let scope = match (a.history, a.worktree) {
        (true, true) => "the working tree and every ref's history",
        (true, false) => "every ref's history (no working tree)",
        (false, _) => "the working tree only (not a git repository)",
    };
    let mut others = super::labels::others_line(a)
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    if let Some(s) = super::labels::suppressed_line(a) {
        others.push_str(&format!(" {s}"));
    }
    let _ = writeln!(
        o,
        "<p class=\"sub\">Scanned {}.{}{}</p>",
        esc(scope),
        esc(&others),
        if a.verified {
            ""
        } else {
            " Credentials were not verified: run with <code>--verify</code> to learn which are live."
        }
    );
    let live = if a.verified {
        t.active.to_string()
    } else {
        "–".into()
    };
    let _ = writeln!(o, "<div class=\"totals\">");
    for (class, value, label) in [
        ("", t.credentials.to_string(), "credentials"),
        ("live", live, "live"),
        ("", t.files.to_string(), "files"),
        ("", a.commits_scanned.to_string(), "commits scanned"),
        ("", a.files_scanned.to_string(), "files and blobs read"),
        ("", took(a), "time taken"),
    ] {
        let _ = writeln!(
            o,
            "<div class=\"tile {class}\"><b>{}</b><span>{}</span></div>",
            esc(&value),
            esc(label)
        );
    }
    let _ = writeln!(o, "</div>");
    if a.credentials.is_empty() {
        let _ = writeln!(o, "<p>No Cloudflare credentials found.</p>");
    } else {
        table(&mut o, a, no_redact);
        timeline(&mut o, a, no_redact);
        plans(&mut o, a, rules, no_redact);
    }
    if !(a.notices.is_empty() && a.warnings.is_empty()) {
        let _ = writeln!(o, "<h2>Notes</h2>");
        for n in &a.notices {
            let _ = writeln!(o, "<div class=\"note\">note: {}</div>", esc(n));
        }
        for w in &a.warnings {
            let _ = writeln!(o, "<div class=\"note\">warning: {}</div>", esc(w));
        }
    }
    let _ = writeln!(
        o,
        "<footer>Generated by keyflare {}. Secrets are {}.</footer>\n</main>\n</body>\n</html>",
        esc(env!("CARGO_PKG_VERSION")),
        if no_redact {
            "shown in full (--no-redact): handle this file as a secret"
        } else {
            "redacted"
        }
    );
    o.into_bytes()
}

fn table(o: &mut String, a: &Audit, no_redact: bool) {
    let _ = writeln!(o, "<h2>Credentials, most urgent first</h2>\n<table>\n<thead><tr><th>#</th><th>credential</th><th>secret</th><th>status</th><th>severity</th><th>first commit</th><th>last seen</th><th>now</th><th>paths</th><th>blast radius</th></tr></thead>\n<tbody>");
    for (i, c) in a.credentials.iter().enumerate() {
        let f = &c.finding;
        let first = c
            .first
            .as_ref()
            .map(|f| format!("<code>{}</code> {}", esc(short(&f.commit)), esc(day(f))))
            .unwrap_or_else(|| "not committed".into());
        let last = last_label(c)
            .map(|(w, l)| {
                format!(
                    "{} <code>{}</code> {}",
                    esc(&w),
                    esc(short(&l.commit)),
                    esc(day(l))
                )
            })
            .unwrap_or_else(|| "–".into());
        let paths: Vec<String> = c
            .places
            .iter()
            .map(|p| format!("<code>{}</code>", esc(&p.path)))
            .collect();
        let sev = f.severity.to_string();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"secret\"><code>{}</code></td><td>{}</td><td class=\"sev-{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            esc(&f.rule_name),
            esc(f.shown_secret(no_redact)),
            badge(c),
            esc(&sev),
            esc(&sev),
            first,
            last,
            esc(&presence_label(c)),
            paths.join("<br>"),
            esc(&blast_label(c)),
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>");
}

fn timeline(o: &mut String, a: &Audit, no_redact: bool) {
    let events = audit::timeline(&a.credentials);
    if events.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h2>Timeline</h2>\n<table>\n<thead><tr><th>date</th><th>event</th><th>credential</th><th>commit</th></tr></thead>\n<tbody>");
    for e in &events {
        let c = &a.credentials[e.credential];
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><span class=\"dot {}\"></span>{}</td><td>#{} {} <code>{}</code></td><td><code>{}</code></td></tr>",
            esc(e.date.get(..10).unwrap_or(e.date)),
            if e.introduced { "in" } else { "out" },
            if e.introduced { "introduced" } else { "removed" },
            e.credential + 1,
            esc(&c.finding.rule_name),
            esc(c.finding.shown_secret(no_redact)),
            esc(short(e.commit)),
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>");
}

fn plans(o: &mut String, a: &Audit, rules: &RuleSet, no_redact: bool) {
    let _ = writeln!(o, "<h2>Remediation</h2>");
    for (i, c) in a.credentials.iter().enumerate() {
        let f = &c.finding;
        let active = c.status() == Some(VerifyStatus::Active);
        let _ = writeln!(
            o,
            "<section class=\"card{}\">\n<h3>{}. {} <code>{}</code> {}</h3>\n<ul class=\"places\">",
            if active { " active" } else { "" },
            i + 1,
            esc(&f.rule_name),
            esc(f.shown_secret(no_redact)),
            badge(c)
        );
        for p in &c.places {
            let mut line = format!("<code>{}:{}</code>", esc(&p.path), p.line);
            if let Some(ci) = &p.introduced {
                let _ = write!(
                    line,
                    ": introduced in <code>{}</code> on {} by {}",
                    esc(short(&ci.commit)),
                    esc(day(ci)),
                    esc(&ci.author)
                );
            }
            if p.in_worktree {
                line.push_str(if p.introduced.is_some() {
                    "; in the working tree"
                } else {
                    ": in the working tree, not committed"
                });
            }
            let _ = writeln!(o, "<li>{line}</li>");
        }
        let _ = writeln!(o, "</ul>\n<ul class=\"check\">");
        for (j, step) in audit::remediation(c, rules).iter().enumerate() {
            let id = format!("c{}s{}", i + 1, j + 1);
            let _ = writeln!(
                o,
                "<li><input type=\"checkbox\" id=\"{id}\"><label for=\"{id}\">{}</label>\n<ul>",
                esc(&step.title)
            );
            for d in &step.details {
                let _ = writeln!(o, "<li>{}</li>", prose(d));
            }
            let _ = writeln!(o, "</ul>");
            if let Some(cmd) = &step.command {
                let _ = writeln!(o, "<pre><code>{}</code></pre>", esc(cmd));
            }
            let _ = writeln!(o, "</li>");
        }
        let _ = writeln!(o, "</ul>\n</section>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(prose("run `a<b` now"), "run <code>a&lt;b</code> now");
    }
}

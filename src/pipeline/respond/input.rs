//! Incident response, input: reads a keyflare JSON report (from `scan` or `audit`, any job may
//! have written it) into the credentials `respond` may act on.
//!
//! The report is untrusted. Guarantees: a malformed or hostile report is refused as a whole
//! with an error that names the file and the finding, and yields nothing to act on; every
//! string kept has a bounded length and no control character; a secret is used only when it
//! hashes to the finding's fingerprint (so a redacted report, or one whose secret was swapped,
//! gives "no secret" instead of a guess); the report's verification verdicts are ignored,
//! since `respond` verifies every secret again before planning anything.

use std::collections::HashMap;

use serde::Deserialize;

use crate::finding::{fingerprint, Secret};
use crate::rules::{RuleKind, RuleSet};

/// Largest report read (bytes).
pub const MAX_REPORT_BYTES: usize = 64 << 20;
/// Most findings read from one report.
const MAX_FINDINGS: usize = 100_000;
/// Longest secret, path, email or id kept.
const MAX_FIELD: usize = 4096;

/// Why a report was refused. Names the report (and the finding), never a secret.
#[derive(Debug, thiserror::Error)]
#[error("report {report}: {message}")]
pub struct ReportError {
    /// The report's name as given.
    pub report: String,
    /// What is wrong.
    pub message: String,
}

/// One credential from the report: its first place, and the secret if the report holds it.
#[derive(Clone, Debug)]
pub struct Target {
    /// The rule that found it (a built-in rule of kind credential).
    pub rule_id: String,
    /// The finding's fingerprint (rule + hash of the secret): what the record names.
    pub fingerprint: String,
    /// The secret, only when it matches the fingerprint (`--no-redact` reports).
    pub secret: Option<Secret>,
    /// Where it was found first (path as in the report, control characters removed).
    pub path: String,
    /// Line of that place.
    pub line: usize,
    /// How many places the report gives for it.
    pub places: usize,
    /// Emails found next to it (for a Global API Key's verification).
    pub emails: Vec<String>,
    /// Account ids found next to it (32 lowercase hex).
    pub account_ids: Vec<String>,
}

#[derive(Deserialize)]
struct InReport {
    tool: String,
    findings: Vec<InFinding>,
}

#[derive(Deserialize)]
struct InFinding {
    rule_id: String,
    #[serde(default)]
    class: Option<String>,
    path: String,
    #[serde(default)]
    line: usize,
    secret: String,
    fingerprint: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    account_ids: Vec<String>,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Reads a report's bytes. `name` is how errors name the report.
///
/// Findings that are not credentials (examples, hygiene notes) are skipped; a credential of a
/// rule this keyflare does not know refuses the report (a newer or forged report: acting on
/// half of it would be a guess). Findings with the same fingerprint become one target.
pub fn read_report(name: &str, bytes: &[u8], rules: &RuleSet) -> Result<Vec<Target>, ReportError> {
    let fail = |message: String| ReportError {
        report: name.to_string(),
        message,
    };
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(fail(format!(
            "larger than {} MiB; not a keyflare report",
            MAX_REPORT_BYTES >> 20
        )));
    }
    let doc: InReport = serde_json::from_slice(bytes).map_err(|e| {
        fail(format!(
            "not a keyflare JSON report (line {}, column {}: {})",
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Data => "unexpected shape",
                serde_json::error::Category::Eof => "truncated",
                _ => "not JSON",
            }
        ))
    })?;
    if doc.tool != "keyflare" {
        return Err(fail(
            "not a keyflare report (\"tool\" is not \"keyflare\")".into(),
        ));
    }
    if doc.findings.len() > MAX_FINDINGS {
        return Err(fail(format!("more than {MAX_FINDINGS} findings")));
    }
    let mut out: Vec<Target> = Vec::new();
    let mut by_fingerprint: HashMap<String, usize> = HashMap::new();
    for (i, f) in doc.findings.into_iter().enumerate() {
        let bad = |what: &str| fail(format!("finding {}: {what}", i + 1));
        if f.class.as_deref().is_some_and(|c| c != "credential") {
            continue;
        }
        let Some(rule) = rules.get(&f.rule_id) else {
            return Err(bad("unknown rule id (a newer or altered report?)"));
        };
        if rule.kind != RuleKind::Credential {
            if f.class.is_none() {
                continue;
            }
            return Err(bad("class \"credential\" on a rule that is not one"));
        }
        if !is_hex(&f.fingerprint, 32) {
            return Err(bad("fingerprint is not 32 lowercase hex digits"));
        }
        if f.secret.is_empty()
            || f.secret.len() > MAX_FIELD
            || !f.secret.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(bad(
                "secret is empty, too long or holds characters no credential has",
            ));
        }
        if f.path.len() > MAX_FIELD {
            return Err(bad("path too long"));
        }
        let email = f.email.filter(|e| !e.is_empty());
        if let Some(e) = &email {
            if e.len() > 254 || !e.contains('@') || !e.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(bad("email is not a plain address"));
            }
        }
        if f.account_ids.len() > 64 || !f.account_ids.iter().all(|a| is_hex(a, 32)) {
            return Err(bad("account_ids must be 32 lowercase hex digits each"));
        }
        // A redacted secret (`cfut_***abcd`) does not hash to the fingerprint: no secret.
        let secret =
            (fingerprint(&f.rule_id, &f.secret) == f.fingerprint).then(|| Secret::new(f.secret));
        if let Some(&at) = by_fingerprint.get(&f.fingerprint) {
            if let Some(t) = out.get_mut(at) {
                if t.rule_id != f.rule_id {
                    return Err(bad("one fingerprint under two rules"));
                }
                t.places += 1;
                t.secret = t.secret.take().or(secret);
                if let Some(e) = email {
                    if !t.emails.contains(&e) {
                        t.emails.push(e);
                    }
                }
                for a in f.account_ids {
                    if !t.account_ids.contains(&a) {
                        t.account_ids.push(a);
                    }
                }
            }
            continue;
        }
        by_fingerprint.insert(f.fingerprint.clone(), out.len());
        out.push(Target {
            rule_id: f.rule_id,
            fingerprint: f.fingerprint,
            secret,
            path: f.path.chars().filter(|c| !c.is_control()).collect(),
            line: f.line,
            places: 1,
            emails: email.into_iter().collect(),
            account_ids: f.account_ids,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::builtin().expect("built-in rules load")
    }

    fn report(findings: serde_json::Value) -> Vec<u8> {
        serde_json::json!({"version": "0", "tool": "keyflare", "findings": findings})
            .to_string()
            .into_bytes()
    }

    const TOKEN: &str = "cfut_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ABCD00000000";

    fn finding(secret: &str) -> serde_json::Value {
        serde_json::json!({
            "rule_id": "kf.cloudflare.user-api-token", "class": "credential",
            "path": "a/.env", "line": 3, "secret": secret,
            "fingerprint": fingerprint("kf.cloudflare.user-api-token", TOKEN),
        })
    }

    #[test]
    fn secret_only_when_it_matches_the_fingerprint() {
        let t = read_report(
            "r.json",
            &report(serde_json::json!([finding(TOKEN)])),
            &rules(),
        )
        .expect("reads");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].secret.as_ref().map(Secret::expose), Some(TOKEN));
        let redacted = read_report(
            "r.json",
            &report(serde_json::json!([finding("cfut_***0000"), finding(TOKEN)])),
            &rules(),
        )
        .expect("reads");
        assert_eq!(redacted.len(), 1, "one credential, two places");
        assert_eq!(redacted[0].places, 2);
        assert!(redacted[0].secret.is_some());
        let only_redacted = read_report(
            "r.json",
            &report(serde_json::json!([finding("cfut_***0000")])),
            &rules(),
        )
        .expect("reads");
        assert!(only_redacted[0].secret.is_none());
    }

    #[test]
    fn hostile_reports_are_refused() {
        let r = rules();
        let mut unknown = finding(TOKEN);
        unknown["rule_id"] = "kf.evil".into();
        let mut ctl = finding(TOKEN);
        ctl["secret"] = "cfut_\u{1b}[31m".into();
        let mut ids = finding(TOKEN);
        ids["account_ids"] = serde_json::json!(["../../user"]);
        for (what, bytes) in [
            ("not json", b"<html>".to_vec()),
            ("other tool", br#"{"tool":"x","findings":[]}"#.to_vec()),
            ("unknown rule", report(serde_json::json!([unknown]))),
            ("control chars", report(serde_json::json!([ctl]))),
            ("bad ids", report(serde_json::json!([ids]))),
        ] {
            let e = read_report("in.json", &bytes, &r).expect_err(what);
            assert!(e.to_string().starts_with("report in.json: "), "{e}");
            assert!(!e.to_string().contains(TOKEN), "{e}");
        }
    }
}

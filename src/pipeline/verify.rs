//! Pipeline, verify adapter: turns findings into the verifier's candidates
//! (each distinct credential once) and writes the answers back on every
//! finding that holds it. The verifier itself knows nothing of findings.
//!
//! It never scans, filters or renders.

use crate::finding::Finding;
use crate::verify;

/// Asks Cloudflare about each finding's credential (each distinct one once)
/// and records the answer on every finding that holds it. Hygiene findings
/// and kinds with no safe read-only check get `unknown` with the reason,
/// without a request.
pub fn verify_findings(findings: &mut [Finding], verifier: &verify::Verifier) {
    use crate::rules::{RuleKind, VerifyKind};
    use verify::{Candidate, Verification, VerifyMethod, VerifyStatus};
    let mut candidates = Vec::new();
    let mut slots = Vec::new();
    for (i, f) in findings.iter_mut().enumerate() {
        if f.kind != RuleKind::Credential {
            continue;
        }
        // A published example grants nothing; asking Cloudflare about it
        // would only spend the rate limit.
        if f.documented_example.is_some() {
            f.verification = Some(Verification::new(
                VerifyStatus::Unknown,
                "not checked: a published example value",
            ));
            continue;
        }
        let method = match &f.verify_kind {
            VerifyKind::UserToken => VerifyMethod::UserToken,
            VerifyKind::AccountToken => VerifyMethod::AccountToken,
            VerifyKind::LegacyToken => VerifyMethod::LegacyToken,
            VerifyKind::GlobalKey => VerifyMethod::GlobalKey,
            VerifyKind::Unsupported(why) => {
                f.verification = Some(Verification::new(
                    VerifyStatus::Unknown,
                    format!("not checked: {why}"),
                ));
                continue;
            }
        };
        candidates.push(Candidate {
            method,
            secret: f.secret.expose().to_string(),
            emails: f.emails.clone(),
            account_ids: f.account_ids.clone(),
        });
        slots.push(i);
    }
    let results = verifier.verify_all(&candidates);
    for (i, v) in slots.into_iter().zip(results) {
        findings[i].verification = Some(v);
    }
}

//! Incident response stage (`keyflare respond`): after verification, roll or delete live
//! leaked API tokens, and give precise manual steps for what the API cannot do.
//!
//! Flow: [`input`] reads a JSON report (untrusted) into targets; the verifier checks each
//! secret again (fresh verdicts and token ids; the report's own verdicts are never trusted);
//! [`plan`] decides per credential, without any request; [`execute`] carries out the approved
//! plan through [`crate::verify::Verifier::act`] (same HTTPS client, limits and 429 handling
//! as verification); the outcome is a [`Record`] (JSON, no secret values) that `audit
//! --responses` merges into its report.
//!
//! Guarantees: nothing is changed unless the caller passes an approved plan to [`execute`]
//! (the command asks for `--yes` or a terminal confirmation, and never acts in CI without
//! `--yes`); a roll is sent only when its sink (0600 file or a command's stdin, see [`sink`])
//! is ready, and the new value goes nowhere else; a failure changes nothing else and is
//! reported per credential; a second run finds rolled or deleted tokens inactive and does
//! nothing to them. This module never prints: the command does.

pub mod input;
pub mod sink;

use serde::{Deserialize, Serialize};

use crate::finding::Secret;
use crate::rules::{RuleSet, VerifyKind};
use crate::verify::{ActOutcome, TokenAction, TokenRef, Verification, Verifier, VerifyStatus};

pub use input::{read_report, ReportError, Target};

/// Dashboard steps to roll an API token by hand (Cloudflare docs, "Roll tokens").
const ROLL_BY_HAND: &str =
    "dashboard: My Profile > API Tokens > ... next to the token > Roll > Confirm";

/// Who authorises a roll or delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authority {
    /// The leaked token itself (works when it holds API Tokens Write).
    Leaked,
    /// An owner's token read from this environment variable.
    OwnerEnv(String),
}

impl Authority {
    /// As the plan and the record name it.
    pub fn describe(&self) -> String {
        match self {
            Authority::Leaked => "the leaked token itself".into(),
            Authority::OwnerEnv(var) => format!("owner token from ${var}"),
        }
    }
}

/// What respond will do about one credential.
#[derive(Clone, Debug)]
pub enum Step {
    /// Roll or delete with the API, trying each authority in turn (the next only after a 403).
    Act {
        /// Roll or delete.
        action: TokenAction,
        /// The token.
        token: TokenRef,
        /// In order.
        authorities: Vec<Authority>,
    },
    /// Revoked, rolled, deleted, disabled or expired: nothing to do.
    AlreadyInactive(String),
    /// No verdict (network, rate limit, missing context): nothing is done.
    Unknown(String),
    /// The API cannot do it (or cannot here): the steps, precisely.
    Manual(Vec<String>),
    /// The report holds only the redacted value.
    NoSecret,
}

/// One line of the plan.
#[derive(Clone, Debug)]
pub struct PlanItem {
    /// The credential.
    pub target: Target,
    /// Shown instead of the secret: prefix and last 4 characters at most.
    pub shown: String,
    /// The fresh verification (none without a secret or for kinds that cannot be checked).
    pub verification: Option<Verification>,
    /// The decision.
    pub step: Step,
}

/// What the plan may use.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// A sink for new values was given: roll is possible. Without one only delete is offered.
    pub can_roll: bool,
    /// Delete even when a sink is given.
    pub prefer_delete: bool,
    /// `--owner-token-env VAR`.
    pub owner_env: Option<String>,
}

/// Verifies the targets' secrets (one request per distinct secret, the verifier's limits)
/// and plans each. Sends only read-only verification requests.
pub fn plan(
    targets: Vec<Target>,
    rules: &RuleSet,
    verifier: &Verifier,
    opts: &PlanOptions,
) -> Vec<PlanItem> {
    let mut findings: Vec<crate::finding::Finding> = Vec::new();
    let mut slots: Vec<Option<usize>> = Vec::new();
    for t in &targets {
        let finding = t.secret.as_ref().and_then(|s| to_finding(t, s, rules));
        slots.push(finding.as_ref().map(|_| findings.len()));
        findings.extend(finding);
    }
    super::verify::verify_findings(&mut findings, verifier);
    targets
        .into_iter()
        .zip(slots)
        .map(|(target, slot)| {
            let verification = slot
                .and_then(|i| findings.get(i))
                .and_then(|f| f.verification.clone());
            let kind = rules.get(&target.rule_id).map(|r| &r.verify);
            let step = decide(&target, kind, verification.as_ref(), rules, opts);
            let shown = shown(&target, rules);
            PlanItem {
                target,
                shown,
                verification,
                step,
            }
        })
        .collect()
}

/// A finding built from a target, so that verification goes through the one path the scan
/// uses (`verify_findings`: method by rule, context, documented examples skipped).
fn to_finding(t: &Target, secret: &Secret, rules: &RuleSet) -> Option<crate::finding::Finding> {
    let rule = rules.get(&t.rule_id)?;
    let m = crate::matcher::Match {
        rule: 0,
        start: 0,
        end: secret.expose().len(),
        line: t.line.max(1),
        column: 1,
        end_column: 1,
        secret: secret.expose().to_string(),
        key: None,
        emails: t.emails.clone(),
        account_ids: t.account_ids.clone(),
        marker: None,
    };
    let f = crate::finding::Finding::new(rule, &t.path, m);
    Some(f)
}

fn shown(t: &Target, rules: &RuleSet) -> String {
    let prefix = rules
        .get(&t.rule_id)
        .and_then(|r| r.public_prefix.as_deref());
    match &t.secret {
        Some(s) => crate::finding::redact(s.expose(), prefix),
        None => format!("{}***", prefix.unwrap_or("")),
    }
}

fn decide(
    t: &Target,
    kind: Option<&VerifyKind>,
    v: Option<&Verification>,
    rules: &RuleSet,
    opts: &PlanOptions,
) -> Step {
    let status = v.map(|v| v.status);
    let detail = v.map(|v| v.detail.clone()).unwrap_or_default();
    if matches!(status, Some(VerifyStatus::Invalid | VerifyStatus::Inactive)) {
        return Step::AlreadyInactive(detail);
    }
    let token = matches!(
        kind,
        Some(VerifyKind::UserToken | VerifyKind::AccountToken | VerifyKind::LegacyToken)
    );
    if token {
        if t.secret.is_none() {
            return Step::NoSecret;
        }
        return match (status, v.and_then(|v| v.token_id.clone())) {
            (Some(VerifyStatus::Active), Some(token_id)) => {
                let mut authorities = vec![Authority::Leaked];
                authorities.extend(opts.owner_env.clone().map(Authority::OwnerEnv));
                Step::Act {
                    action: if opts.can_roll && !opts.prefer_delete {
                        TokenAction::Roll
                    } else {
                        TokenAction::Delete
                    },
                    token: TokenRef {
                        token_id,
                        account_id: v.and_then(|v| v.account_id.clone()),
                    },
                    authorities,
                }
            }
            (Some(VerifyStatus::Active), None) => Step::Manual(vec![format!(
                "the verify answer gave no token id; {ROLL_BY_HAND}"
            )]),
            _ => Step::Unknown(detail),
        };
    }
    Step::Manual(manual_steps(t, rules))
}

/// Steps for what the API cannot roll or delete here.
pub fn manual_steps(t: &Target, rules: &RuleSet) -> Vec<String> {
    let account = t
        .account_ids
        .first()
        .cloned()
        .unwrap_or_else(|| "{account_id}".to_string());
    match t.rule_id.as_str() {
        "kf.cloudflare.global-api-key" | "kf.cloudflare.global-api-key.legacy" => vec![
            "dashboard: My Profile > API Tokens > API Keys > Global API Key > Change (no API call can; every tool using the old key stops working)".into(),
            "then move those tools to scoped API tokens".into(),
        ],
        "kf.cloudflare.origin-ca-key" => vec![
            "dashboard: My Profile > API Tokens > Origin CA Key > Change (invalidates every value shown before)".into(),
            "Service Key authentication ended on 2026-09-30: move to API tokens".into(),
        ],
        "kf.cloudflare.turnstile-secret-key" => vec![
            format!("API: POST /accounts/{account}/challenges/widgets/{{sitekey}}/rotate_secret with a token allowed to edit Turnstile (the sitekey is the widget's public key: dashboard > Turnstile)"),
            "or dashboard: Turnstile > the widget > Rotate Secret Key".into(),
        ],
        "kf.cloudflare.access-service-token" => vec![
            format!("API: POST /accounts/{account}/access/service_tokens/{{service_token_id}}/rotate (the token's id, not its Client ID: GET /accounts/{account}/access/service_tokens lists them)"),
            "or dashboard: Zero Trust > Access > Service credentials > the token > Rotate".into(),
        ],
        _ => {
            let steps = rules
                .get(&t.rule_id)
                .map(|r| r.steps.clone())
                .unwrap_or_default();
            if steps.is_empty() {
                vec![format!("see `keyflare explain {}`", t.rule_id)]
            } else {
                steps
            }
        }
    }
}

/// How one action ended, for the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultKind {
    /// Rolled; the new value went to its sink.
    Rolled,
    /// Rolled, but the sink failed: the value is lost (roll again by hand).
    RolledValueLost,
    /// Deleted.
    Deleted,
    /// Already revoked, rolled or deleted.
    AlreadyInactive,
    /// Every authority lacked the permission: manual steps.
    Forbidden,
    /// Cloudflare refused or answered oddly; nothing changed.
    Failed,
    /// No answer: state unknown, nothing known to be done.
    Unknown,
    /// The sink could not be prepared: nothing sent.
    NotSent,
}

/// One entry of the record: what was done to one credential. No secret values.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordEntry {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// Its rule.
    pub rule_id: String,
    /// `roll` or `delete`.
    pub action: String,
    /// Who authorised the call that decided the outcome.
    pub authority: String,
    /// `METHOD /path` (below the API base).
    pub call: String,
    /// How it ended.
    pub result: ResultKind,
    /// Codes and statuses, where the new value went; never a secret.
    pub detail: String,
}

/// The record file (`--record`): every run's entries, appended.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Record {
    /// Always "keyflare".
    pub tool: String,
    /// Always "respond-record".
    pub kind: String,
    /// Entries, oldest first.
    pub entries: Vec<RecordEntry>,
}

impl Record {
    /// "rolled at …" / "deleted at …" for a fingerprint: its latest successful action.
    pub fn response_for(&self, fingerprint: &str) -> Option<String> {
        self.entries
            .iter()
            .rev()
            .filter(|e| e.fingerprint == fingerprint)
            .find_map(|e| match e.result {
                ResultKind::Rolled | ResultKind::RolledValueLost => {
                    Some(format!("rolled at {}", e.time))
                }
                ResultKind::Deleted => Some(format!("deleted at {}", e.time)),
                _ => None,
            })
    }

    /// Reads a record file (ours, but checked like any input: bounded, right kind, no
    /// control characters kept).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Record, ReportError> {
        let fail = |message: &str| ReportError {
            report: name.to_string(),
            message: message.to_string(),
        };
        if bytes.len() > input::MAX_REPORT_BYTES {
            return Err(fail("too large for a respond record"));
        }
        let mut r: Record = serde_json::from_slice(bytes)
            .map_err(|_| fail("not a keyflare respond record (unreadable JSON)"))?;
        if r.tool != "keyflare" || r.kind != "respond-record" {
            return Err(fail("not a keyflare respond record"));
        }
        for e in &mut r.entries {
            for s in [
                &mut e.time,
                &mut e.fingerprint,
                &mut e.rule_id,
                &mut e.action,
                &mut e.authority,
                &mut e.call,
                &mut e.detail,
            ] {
                *s = s.chars().filter(|c| !c.is_control()).take(512).collect();
            }
        }
        Ok(r)
    }
}

/// The secrets an approved plan may use: the owner token, read from the environment by the
/// command (never from argv).
pub struct Authorities {
    /// `(variable name, token)`.
    pub owner: Option<(String, Secret)>,
}

/// One finished action, for the command's output and the record.
#[derive(Clone, Debug)]
pub struct Done {
    /// Index into the plan.
    pub item: usize,
    /// The record entry.
    pub entry: RecordEntry,
    /// For a 403 from every authority: what to do by hand.
    pub manual: Vec<String>,
}

/// Carries out the `Act` steps of an approved plan, one credential at a time. A failure
/// changes nothing else: each credential gets its own entry and the run goes on.
pub fn execute(
    items: &[PlanItem],
    verifier: &Verifier,
    sink: Option<&sink::SinkSpec>,
    auth: &Authorities,
    now: impl Fn() -> String,
) -> Vec<Done> {
    let mut out = Vec::new();
    let env_remove: Vec<String> = auth.owner.iter().map(|(v, _)| v.clone()).collect();
    for (i, item) in items.iter().enumerate() {
        let Step::Act {
            action,
            token,
            authorities,
        } = &item.step
        else {
            continue;
        };
        let Some(leaked) = item.target.secret.as_ref() else {
            continue;
        };
        let call = token
            .call(*action)
            .map(|(m, p)| format!("{m} {p}"))
            .unwrap_or_default();
        let mut entry = RecordEntry {
            time: String::new(),
            fingerprint: item.target.fingerprint.clone(),
            rule_id: item.target.rule_id.clone(),
            action: match action {
                TokenAction::Roll => "roll".into(),
                TokenAction::Delete => "delete".into(),
            },
            authority: String::new(),
            call,
            result: ResultKind::NotSent,
            detail: String::new(),
        };
        let mut manual = Vec::new();
        // The sink is made ready before the roll: a roll whose value cannot be kept is not sent.
        let mut prepared = None;
        if *action == TokenAction::Roll {
            match sink.map(sink::prepare) {
                Some(Ok(p)) => prepared = Some(p),
                Some(Err(why)) => {
                    entry.time = now();
                    entry.detail = format!("nothing sent: {why}");
                    out.push(Done {
                        item: i,
                        entry,
                        manual,
                    });
                    continue;
                }
                None => {
                    entry.time = now();
                    entry.detail = "nothing sent: no place for the new value".into();
                    out.push(Done {
                        item: i,
                        entry,
                        manual,
                    });
                    continue;
                }
            }
        }
        for (n, who) in authorities.iter().enumerate() {
            let secret = match who {
                Authority::Leaked => Some(leaked.expose()),
                Authority::OwnerEnv(var) => auth
                    .owner
                    .as_ref()
                    .filter(|(v, _)| v == var)
                    .map(|(_, s)| s.expose()),
            };
            let Some(secret) = secret else { continue };
            entry.authority = who.describe();
            let outcome = verifier.act(*action, token, secret);
            entry.time = now();
            let last = n + 1 == authorities.len();
            match outcome {
                ActOutcome::Done(value) => {
                    match (action, value, prepared.take()) {
                        (TokenAction::Roll, Some(value), Some(p)) => {
                            match p.deliver(&value, &env_remove) {
                                Ok(where_) => {
                                    entry.result = ResultKind::Rolled;
                                    entry.detail = where_;
                                }
                                Err(why) => {
                                    entry.result = ResultKind::RolledValueLost;
                                    entry.detail = format!(
                                        "rolled, but the new value was not delivered ({why}): the old value no longer works; roll again by hand"
                                    );
                                    manual.push(ROLL_BY_HAND.to_string());
                                }
                            }
                        }
                        _ => {
                            entry.result = ResultKind::Deleted;
                            entry.detail = "deleted".into();
                        }
                    }
                    break;
                }
                // 1000 means the token sent was refused: "already inactive" only when that
                // token is the leaked one. A refused owner token is a failure.
                ActOutcome::AlreadyInactive(d) if matches!(who, Authority::OwnerEnv(_)) => {
                    entry.result = ResultKind::Failed;
                    entry.detail = format!("{} was refused, nothing changed: {d}", who.describe());
                    manual.push(ROLL_BY_HAND.to_string());
                    break;
                }
                ActOutcome::AlreadyInactive(d) => {
                    entry.result = ResultKind::AlreadyInactive;
                    entry.detail = format!("already inactive: {d}");
                    break;
                }
                ActOutcome::Forbidden(d) => {
                    entry.result = ResultKind::Forbidden;
                    entry.detail = format!("{} lacks the permission: {d}", who.describe());
                    if last {
                        manual.push(ROLL_BY_HAND.to_string());
                    }
                }
                ActOutcome::Failed(d) => {
                    entry.result = ResultKind::Failed;
                    entry.detail = format!("failed, nothing changed: {d}");
                    break;
                }
                ActOutcome::Unknown(d) => {
                    entry.result = ResultKind::Unknown;
                    entry.detail =
                        format!("no answer ({d}): state unknown; run respond again to check");
                    break;
                }
            }
        }
        if let Some(p) = prepared {
            p.abandon();
        }
        out.push(Done {
            item: i,
            entry,
            manual,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(result: ResultKind, time: &str) -> RecordEntry {
        RecordEntry {
            time: time.into(),
            fingerprint: "f".repeat(32),
            rule_id: "kf.cloudflare.user-api-token".into(),
            action: "roll".into(),
            authority: Authority::Leaked.describe(),
            call: "PUT /user/tokens/x/value".into(),
            result,
            detail: String::new(),
        }
    }

    #[test]
    fn record_reads_back_the_latest_success() {
        let r = Record {
            tool: "keyflare".into(),
            kind: "respond-record".into(),
            entries: vec![
                entry(ResultKind::Forbidden, "2026-12-06T07:00:00Z"),
                entry(ResultKind::Rolled, "2026-12-06T07:01:00Z"),
                entry(ResultKind::AlreadyInactive, "2026-12-06T07:02:00Z"),
            ],
        };
        let bytes = serde_json::to_vec(&r).expect("json");
        let back = Record::parse("r.json", &bytes).expect("parses");
        assert_eq!(
            back.response_for(&"f".repeat(32)).as_deref(),
            Some("rolled at 2026-12-06T07:01:00Z")
        );
        assert_eq!(back.response_for("other"), None);
        let mut wrong = serde_json::to_value(&r).expect("value");
        wrong["kind"] = "baseline".into();
        assert!(Record::parse("r.json", wrong.to_string().as_bytes()).is_err());
        let mut ctl = r.clone();
        ctl.entries[1].time = "2026\u{1b}[2J".into();
        let back =
            Record::parse("r.json", &serde_json::to_vec(&ctl).expect("json")).expect("parses");
        assert_eq!(back.entries[1].time, "2026[2J");
    }
}

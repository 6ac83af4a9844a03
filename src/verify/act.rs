//! The verifier's one write path: roll or delete an API token, for `keyflare respond`.
//!
//! It reuses the verifier's HTTPS client, base URL, timeouts, rate limiter and 429 handling
//! (`http`), and reads answers with `envelope`. It decides nothing: `respond` chose the token,
//! the authority and the action, and the user approved them. Guarantees: the authority travels
//! only in a sensitive header; the new value of a rolled token comes back wrapped in
//! [`NewValue`], whose `Debug`/`Display` redact it; no detail holds text from the body.
//!
//! Stage: verify. It never reads findings or reports.

use super::envelope::{self, ActAnswer};
use super::http::{Auth, Method};
use super::Verifier;

/// What to do to a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenAction {
    /// `PUT .../tokens/{id}/value`: a new secret, same permissions; the old one stops working.
    Roll,
    /// `DELETE .../tokens/{id}`: the token is gone.
    Delete,
}

/// Which token: its id, and for an account token the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRef {
    /// The token id from the verify answer (`result.id`).
    pub token_id: String,
    /// `Some` for an account token (`/accounts/{account_id}/tokens/...`).
    pub account_id: Option<String>,
}

impl TokenRef {
    /// The HTTP method and the path (below the API base) of `action` on this token, or `None`
    /// when an id is not a plain alphanumeric id (it would change the path).
    pub fn call(&self, action: TokenAction) -> Option<(&'static str, String)> {
        if !envelope::is_plain_id(&self.token_id)
            || self
                .account_id
                .as_deref()
                .is_some_and(|a| !envelope::is_plain_id(a))
        {
            return None;
        }
        let base = match &self.account_id {
            Some(account) => format!("/accounts/{account}/tokens/{}", self.token_id),
            None => format!("/user/tokens/{}", self.token_id),
        };
        Some(match action {
            TokenAction::Roll => ("PUT", format!("{base}/value")),
            TokenAction::Delete => ("DELETE", base),
        })
    }
}

/// The secret of a rolled token. Only [`NewValue::expose`] gives it out; `Debug` and
/// `Display` redact it, so it cannot reach a log or a report by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct NewValue(String);

impl NewValue {
    /// The new secret, for its sink (a 0600 file or a command's stdin) only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewValue(<redacted>)")
    }
}

impl std::fmt::Display for NewValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How one roll or delete ended. Details hold codes and statuses, never body text.
#[derive(Debug, PartialEq, Eq)]
pub enum ActOutcome {
    /// Done. For a roll, the new value.
    Done(Option<NewValue>),
    /// Code 1000 or HTTP 404: already revoked, rolled or deleted; nothing changed.
    AlreadyInactive(String),
    /// HTTP 403: the authority lacks the permission (API Tokens Write); nothing changed.
    Forbidden(String),
    /// Cloudflare refused or answered something unexpected.
    Failed(String),
    /// No answer (network failure, timeout, rate limit not cleared): the state is unknown.
    Unknown(String),
}

impl Verifier {
    /// Rolls or deletes `token` with the API token `authority`. Sends one request (plus
    /// retries after a 429, each after its `Retry-After`).
    pub fn act(&self, action: TokenAction, token: &TokenRef, authority: &str) -> ActOutcome {
        let Some((_, path)) = token.call(action) else {
            return ActOutcome::Failed("the token id is not a plain id; nothing sent".into());
        };
        let method = match action {
            TokenAction::Roll => Method::Put,
            TokenAction::Delete => Method::Delete,
        };
        let reply = match self.transport.send(method, &path, Auth::Bearer(authority)) {
            Ok(reply) => reply,
            Err(why) => return ActOutcome::Unknown(why),
        };
        let scrub = |d: String| {
            if authority.is_empty() {
                d
            } else {
                d.replace(authority, "[redacted]")
            }
        };
        match envelope::judge_action(reply.status, &reply.body, action == TokenAction::Roll) {
            ActAnswer::Done(v) => ActOutcome::Done(v.map(NewValue)),
            ActAnswer::AlreadyInactive(d) => ActOutcome::AlreadyInactive(scrub(d)),
            ActAnswer::Forbidden(d) => ActOutcome::Forbidden(scrub(d)),
            ActAnswer::Failed(d) => ActOutcome::Failed(scrub(d)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_hostile_ids() {
        let user = TokenRef {
            token_id: "0123456789abcdef0123456789abcdef".into(),
            account_id: None,
        };
        assert_eq!(
            user.call(TokenAction::Roll),
            Some((
                "PUT",
                "/user/tokens/0123456789abcdef0123456789abcdef/value".to_string()
            ))
        );
        let account = TokenRef {
            account_id: Some("fedcba9876543210fedcba9876543210".into()),
            ..user.clone()
        };
        assert_eq!(
            account.call(TokenAction::Delete).map(|c| c.1),
            Some(
                "/accounts/fedcba9876543210fedcba9876543210/tokens/0123456789abcdef0123456789abcdef"
                    .to_string()
            )
        );
        for bad in ["../user", "a/b", "", "id?x=1", "ü"] {
            let t = TokenRef {
                token_id: bad.into(),
                account_id: None,
            };
            assert_eq!(t.call(TokenAction::Delete), None, "{bad}");
        }
    }

    #[test]
    fn new_value_is_redacted() {
        let v = NewValue("cfut_SECRETVALUE".into());
        assert!(!format!("{v:?} {v}").contains("SECRET"));
    }

    #[test]
    fn action_answers() {
        use super::envelope::judge_action;
        let ok = br#"{"success":true,"errors":[],"messages":[],"result":"cfut_new"}"#;
        assert_eq!(
            judge_action(200, ok, true),
            ActAnswer::Done(Some("cfut_new".into()))
        );
        let no_value = br#"{"success":true,"errors":[],"messages":[],"result":{"id":"x"}}"#;
        assert!(matches!(
            judge_action(200, no_value, true),
            ActAnswer::Failed(_)
        ));
        assert_eq!(judge_action(200, no_value, false), ActAnswer::Done(None));
        let gone = br#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}"#;
        assert!(matches!(
            judge_action(401, gone, true),
            ActAnswer::AlreadyInactive(_)
        ));
        let denied = br#"{"success":false,"errors":[{"code":9109,"message":"Unauthorized"}],"messages":[],"result":null}"#;
        assert!(matches!(
            judge_action(403, denied, false),
            ActAnswer::Forbidden(_)
        ));
        assert!(matches!(
            judge_action(200, b"<html>", true),
            ActAnswer::Failed(_)
        ));
    }
}

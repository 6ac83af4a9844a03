//! Reading Cloudflare's JSON envelope into a verdict.
//!
//! Every Cloudflare v4 answer is `{"success", "errors", "messages", "result"}`. The verdict is
//! taken from that envelope (`success`, `errors[].code`, `error_chain[].code`,
//! `result.status`), never from the HTTP status alone: the same error code comes back as 400,
//! 401 or 403 depending on the endpoint. Anything this module does not recognise becomes
//! "unknown", never "invalid".
//!
//! Guarantees: no text from the response body (messages, user details) is copied into a
//! verdict except sanitised timestamps and numeric codes, so a hostile or echoing server cannot
//! smuggle a secret or terminal escapes into the output. The `/user` result (PII) is skipped
//! while parsing and never kept.

use serde::de::IgnoredAny;
use serde::Deserialize;

/// Token verify answered "invalid token" (also what a user endpoint says to an account token).
const CODE_INVALID_TOKEN: u64 = 1000;
/// Global API Key: "Unknown X-Auth-Key or X-Auth-Email" (well-formed, wrong key or email).
const CODE_UNKNOWN_KEY: u64 = 9103;
/// "Invalid request headers"; the `error_chain` says which header.
const CODE_BAD_HEADERS: u64 = 6003;
/// Chain code: the X-Auth-Email header was malformed (the email, not the key, was rejected).
const CHAIN_BAD_EMAIL: u64 = 6102;
/// Chain code: the X-Auth-Key header format was rejected (not a Global API Key at all).
const CHAIN_BAD_KEY: u64 = 6103;
/// Chain code: the Authorization header format was rejected (not an API token at all).
const CHAIN_BAD_AUTHORIZATION: u64 = 6111;

/// What one request told us about one credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// The credential works.
    Active(String),
    /// The credential exists but is disabled, expired or not yet valid.
    Inactive(String),
    /// The API rejected the credential. `conclusive` means the rejection does not depend on
    /// the account id or email that went with it (the format itself was refused).
    Invalid { detail: String, conclusive: bool },
    /// No verdict. `give_up` means trying another account id or email is pointless for now
    /// (network trouble, rate limit, server error, a page that is not the API).
    Unknown { detail: String, give_up: bool },
}

impl Judgement {
    /// An answer that says nothing about the credential and should stop further attempts.
    pub(crate) fn trouble(detail: impl Into<String>) -> Self {
        Judgement::Unknown {
            detail: detail.into(),
            give_up: true,
        }
    }
}

/// The names and the total count from a list endpoint (`/accounts`, `/zones`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listing {
    pub(crate) names: Vec<String>,
    pub(crate) total: usize,
}

#[derive(Deserialize)]
struct Envelope<R> {
    success: bool,
    #[serde(default)]
    errors: Vec<ApiError>,
    // A missing `Option` field deserialises as `None` without `#[serde(default)]`.
    result: Option<R>,
    result_info: Option<ResultInfo>,
}

#[derive(Deserialize)]
struct ApiError {
    code: u64,
    #[serde(default)]
    error_chain: Vec<ChainItem>,
}

#[derive(Deserialize)]
struct ChainItem {
    code: u64,
}

#[derive(Deserialize)]
struct ResultInfo {
    #[serde(default)]
    total_count: Option<u64>,
}

#[derive(Deserialize)]
struct TokenResult {
    status: String,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    expires_on: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: Option<String>,
}

impl<R> Envelope<R> {
    fn has_code(&self, code: u64) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }

    fn has_chain(&self, code: u64, chained: u64) -> bool {
        self.errors
            .iter()
            .any(|e| e.code == code && e.error_chain.iter().any(|c| c.code == chained))
    }

    /// "API error 6003 [6102] (HTTP 400)": codes only, never the server's message text.
    fn describe_errors(&self, http: u16) -> String {
        let codes: Vec<String> = self
            .errors
            .iter()
            .take(5)
            .map(|e| {
                let chain: Vec<String> = e
                    .error_chain
                    .iter()
                    .take(5)
                    .map(|c| c.code.to_string())
                    .collect();
                if chain.is_empty() {
                    e.code.to_string()
                } else {
                    format!("{} [{}]", e.code, chain.join(", "))
                }
            })
            .collect();
        if codes.is_empty() {
            format!("API said success=false without an error code (HTTP {http})")
        } else {
            format!("API error {} (HTTP {http})", codes.join(", "))
        }
    }
}

/// Reads an envelope. Only a JSON object is one: serde would also build the
/// struct from an array of its fields in order (`[true,[],[],[]]` read as
/// `success: true`), which no Cloudflare answer is; the `verify_answer`
/// fuzz target found an array judged active.
fn parse<R: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<Envelope<R>, serde_json::Error> {
    // JSON's own whitespace; anything else before the `{` serde refuses too.
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        // Not JSON at all (an HTML page) keeps serde's own error, so that it
        // is told apart from JSON of another shape.
        serde_json::from_slice::<IgnoredAny>(body)?;
        return Err(serde::de::Error::custom("not a JSON object"));
    }
    serde_json::from_slice::<Envelope<R>>(body)
}

/// Parses the envelope, turning server errors and non-API bodies into an "unknown" verdict.
fn open<R: for<'de> Deserialize<'de>>(http: u16, body: &[u8]) -> Result<Envelope<R>, Judgement> {
    if http >= 500 {
        return Err(Judgement::trouble(format!(
            "Cloudflare API server error (HTTP {http})"
        )));
    }
    parse::<R>(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "JSON that is not a Cloudflare API envelope",
            _ => "a body that is not JSON (a firewall or challenge page?)",
        };
        Judgement::trouble(format!("HTTP {http} with {what}"))
    })
}

/// A success envelope only counts on a 2xx answer; anything else is contradictory.
fn success_ok(http: u16) -> Result<(), Judgement> {
    if (200..300).contains(&http) {
        Ok(())
    } else {
        Err(Judgement::trouble(format!(
            "HTTP {http} with success=true is contradictory"
        )))
    }
}

/// Judges a `/user/tokens/verify` or `/accounts/{id}/tokens/verify` answer.
///
/// `now_unix` is the current time in seconds, injected so the `not_before` check is testable.
pub(crate) fn judge_token(http: u16, body: &[u8], now_unix: i64) -> Judgement {
    let env = match open::<TokenResult>(http, body) {
        Ok(env) => env,
        Err(j) => return j,
    };
    if env.success {
        if let Err(j) = success_ok(http) {
            return j;
        }
        let Some(result) = env.result else {
            return Judgement::trouble("success without a token result");
        };
        let expires = result
            .expires_on
            .as_deref()
            .map(|t| format!(" (expires_on {})", clean_timestamp(t)))
            .unwrap_or_default();
        return match result.status.as_str() {
            "active" => match result.not_before.as_deref() {
                Some(nb) if parse_rfc3339(nb).is_some_and(|t| t > now_unix) => Judgement::Inactive(
                    format!("token is not valid before {}{expires}", clean_timestamp(nb)),
                ),
                _ => Judgement::Active(format!("token is active{expires}")),
            },
            "disabled" => Judgement::Inactive(format!("token is disabled{expires}")),
            "expired" => Judgement::Inactive(format!("token is expired{expires}")),
            _ => Judgement::trouble("unexpected token status in the answer"),
        };
    }
    if env.has_code(CODE_INVALID_TOKEN) {
        return Judgement::Invalid {
            detail: format!("API error {CODE_INVALID_TOKEN}: invalid token (HTTP {http})"),
            conclusive: false,
        };
    }
    if env.has_chain(CODE_BAD_HEADERS, CHAIN_BAD_AUTHORIZATION) {
        return Judgement::Invalid {
            detail: "API rejected the value: not an API token format (6003/6111)".into(),
            conclusive: true,
        };
    }
    Judgement::Unknown {
        detail: env.describe_errors(http),
        give_up: false,
    }
}

/// Judges a `GET /user` answer for a Global API Key. The user object is skipped unread.
pub(crate) fn judge_global_key(http: u16, body: &[u8]) -> Judgement {
    let env = match open::<IgnoredAny>(http, body) {
        Ok(env) => env,
        Err(j) => return j,
    };
    if env.success {
        if let Err(j) = success_ok(http) {
            return j;
        }
        return Judgement::Active("key is active".into());
    }
    if env.has_code(CODE_UNKNOWN_KEY) {
        return Judgement::Invalid {
            detail: format!("API error {CODE_UNKNOWN_KEY}: unknown key or email (HTTP {http})"),
            conclusive: false,
        };
    }
    if env.has_chain(CODE_BAD_HEADERS, CHAIN_BAD_KEY)
        || env.has_chain(CODE_BAD_HEADERS, CHAIN_BAD_AUTHORIZATION)
    {
        return Judgement::Invalid {
            detail: "API rejected the value: not a Global API Key format (6003/6103)".into(),
            conclusive: true,
        };
    }
    if env.has_chain(CODE_BAD_HEADERS, CHAIN_BAD_EMAIL) {
        return Judgement::Unknown {
            detail: "API rejected the email format (6003/6102)".into(),
            give_up: false,
        };
    }
    Judgement::Unknown {
        detail: env.describe_errors(http),
        give_up: false,
    }
}

/// Reads a list endpoint (`/accounts`, `/zones`): names (sanitised) and the total count
/// (`result_info.total_count` when present, else the number of items on the page).
pub(crate) fn read_listing(http: u16, body: &[u8]) -> Result<Listing, String> {
    let env = open::<Vec<Named>>(http, body).map_err(|j| match j {
        Judgement::Unknown { detail, .. } => detail,
        _ => "unexpected answer".to_string(),
    })?;
    if !env.success || !(200..300).contains(&http) {
        return Err(env.describe_errors(http));
    }
    let items = env.result.unwrap_or_default();
    let names: Vec<String> = items
        .iter()
        .filter_map(|n| n.name.as_deref())
        .map(clean_name)
        .collect();
    let total = env
        .result_info
        .and_then(|i| i.total_count)
        .and_then(|t| usize::try_from(t).ok())
        .unwrap_or(items.len());
    Ok(Listing { names, total })
}

/// The token id (`result.id`) of a verify answer that said `success: true`, if it is a plain
/// alphanumeric id of at most 64 characters (Cloudflare's are 32 hex). Anything else is
/// dropped: the id goes into API paths and reports.
pub(crate) fn token_id(http: u16, body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<String>,
    }
    if !(200..300).contains(&http) {
        return None;
    }
    let env = parse::<IdOnly>(body).ok()?;
    let id = env.result.filter(|_| env.success)?.id?;
    is_plain_id(&id).then_some(id)
}

/// An id safe to put in a path: 1 to 64 ASCII letters and digits.
pub(crate) fn is_plain_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What a roll (`PUT .../value`) or delete (`DELETE .../tokens/{id}`) answer means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ActAnswer {
    /// Done; for a roll, the new value (`result`, a string), never printed.
    Done(Option<String>),
    /// Code 1000 or HTTP 404: the token is already revoked, rolled or deleted.
    AlreadyInactive(String),
    /// HTTP 403: the credential used lacks the permission.
    Forbidden(String),
    /// Anything else: Cloudflare said no, or said something we do not understand.
    Failed(String),
}

/// Reads the answer to a roll (`roll: true`) or a delete. A roll counts as done only with a
/// 2xx, `success: true` and a non-empty string `result` that can travel in a header (the new
/// token): a roll whose value we cannot read is reported as failed, with the advice to check
/// the dashboard.
pub(crate) fn judge_action(http: u16, body: &[u8], roll: bool) -> ActAnswer {
    let env = match open::<serde_json::Value>(http, body) {
        Ok(env) => env,
        Err(Judgement::Unknown { detail, .. }) => return ActAnswer::Failed(detail),
        Err(_) => return ActAnswer::Failed(format!("unreadable answer (HTTP {http})")),
    };
    if env.success && (200..300).contains(&http) {
        if !roll {
            return ActAnswer::Done(None);
        }
        return match env.result {
            Some(serde_json::Value::String(v))
                if !v.is_empty() && v.len() <= 512 && v.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                ActAnswer::Done(Some(v))
            }
            _ => ActAnswer::Failed(format!(
                "HTTP {http} said success but held no new token value; check the dashboard"
            )),
        };
    }
    if env.has_code(CODE_INVALID_TOKEN) || http == 404 {
        return ActAnswer::AlreadyInactive(env.describe_errors(http));
    }
    if http == 403 {
        return ActAnswer::Forbidden(env.describe_errors(http));
    }
    ActAnswer::Failed(env.describe_errors(http))
}

/// Keeps a server-supplied timestamp printable: only timestamp characters, bounded length.
fn clean_timestamp(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_digit() || "TZtz:+-. ".contains(*c))
        .take(40)
        .collect()
}

/// Keeps a server-supplied account or zone name printable: no control characters, bounded.
fn clean_name(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(253).collect()
}

/// Parses an RFC 3339 timestamp (`2018-07-01T05:20:00Z`, optional fraction, `Z` or `±hh:mm`)
/// into Unix seconds, with jiff: a date that does not exist (`2018-02-31`) or an offset
/// that is not one (`+99:99`) is `None`, never a guess.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_array_of_the_fields_is_not_an_envelope() {
        use super::Judgement;
        // Found by the verify_answer fuzz target: a 2xx answer whose body is
        // the envelope's fields as an array was judged active.
        let unknown = |j: Judgement| match j {
            Judgement::Unknown { detail, .. } => detail,
            other => panic!("{other:?}"),
        };
        let array = br#"[true,[],[],[]]"#;
        let detail = unknown(super::judge_global_key(248, array));
        assert!(detail.contains("not a Cloudflare API envelope"), "{detail}");
        let token = br#"[true,[],{"id":"abc","status":"active"},null]"#;
        unknown(super::judge_token(200, token, 1_800_000_000));
        assert_eq!(super::token_id(200, token), None);
        // The same fields as an object still read, after JSON whitespace.
        let object = b" \r\n\t{\"success\":true,\"errors\":[],\"result\":{\"id\":\"abc\",\"status\":\"active\"}}";
        assert!(matches!(
            super::judge_token(200, object, 1_800_000_000),
            Judgement::Active(_)
        ));
        assert_eq!(super::token_id(200, object).as_deref(), Some("abc"));
    }

    use super::*;

    const NOW: i64 = 1_780_000_000; // 2026-05-28

    fn token(body: &str) -> Judgement {
        judge_token(200, body.as_bytes(), NOW)
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2018-07-01T05:20:00Z"), Some(1_530_422_400));
        assert_eq!(
            parse_rfc3339("2018-07-01T05:20:00.123Z"),
            Some(1_530_422_400)
        );
        assert_eq!(
            parse_rfc3339("2018-07-01T07:20:00+02:00"),
            Some(1_530_422_400)
        );
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse_rfc3339("2018-07-01"), None);
        assert_eq!(parse_rfc3339("2018-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2018-07-01T05:20:00"), None);
        assert_eq!(parse_rfc3339("+018-07-01T05:20:00Z"), None);
        assert_eq!(parse_rfc3339("2018-02-31T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2018-07-01T05:20:00+99:99"), None);
        assert_eq!(parse_rfc3339("2018-07-01T24:00:00Z"), None);
    }

    #[test]
    fn token_statuses() {
        let ok =
            r#"{"success":true,"errors":[],"messages":[],"result":{"id":"x","status":"active"}}"#;
        assert!(matches!(token(ok), Judgement::Active(_)));
        let dis = r#"{"success":true,"errors":[],"result":{"status":"disabled","expires_on":"2020-01-01T00:00:00Z"}}"#;
        assert_eq!(
            token(dis),
            Judgement::Inactive("token is disabled (expires_on 2020-01-01T00:00:00Z)".into())
        );
        let later = r#"{"success":true,"errors":[],"result":{"status":"active","not_before":"2099-01-01T00:00:00Z"}}"#;
        assert!(matches!(token(later), Judgement::Inactive(d) if d.contains("not valid before")));
        let odd = r#"{"success":true,"errors":[],"result":{"status":"weird"}}"#;
        assert!(matches!(token(odd), Judgement::Unknown { .. }));
    }

    /// Found by the `verify_answer` fuzz target: a byte that is not UTF-8, or
    /// a number out of range, in a field the parser skips (serde checks
    /// neither in skipped values). The verdict comes only from the fields
    /// that carry it, so these stay active; the same byte inside `status` is
    /// never read as active.
    #[test]
    fn skipped_fields_are_not_checked() {
        let huge = format!(
            r#"{{"success": true, "errors": [], "messages": [9,{}9], "result": {{"id": "x"}}}}"#,
            "9e".to_string() + &"9".repeat(80)
        );
        assert!(matches!(
            judge_global_key(200, huge.as_bytes()),
            Judgement::Active(_)
        ));
        let mut body =
            br#"{"success": true, "errors": [], "result": {"status": "active", "expireires_on": "2030-01-"#
                .to_vec();
        body.push(0xe9);
        body.extend_from_slice(br#"01:00:00Z"}}"#);
        assert!(matches!(judge_token(200, &body, NOW), Judgement::Active(_)));
        let mut bad = br#"{"success": true, "errors": [], "result": {"status": "activ"#.to_vec();
        bad.push(0xe9);
        bad.extend_from_slice(br#""}}"#);
        assert!(matches!(
            judge_token(200, &bad, NOW),
            Judgement::Unknown { .. }
        ));
    }

    #[test]
    fn token_failures() {
        let bad = r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}"#;
        assert!(matches!(
            judge_token(401, bad.as_bytes(), NOW),
            Judgement::Invalid {
                conclusive: false,
                ..
            }
        ));
        let fmt = r#"{"success":false,"errors":[{"code":6003,"message":"x","error_chain":[{"code":6111,"message":"y"}]}]}"#;
        assert!(matches!(
            judge_token(400, fmt.as_bytes(), NOW),
            Judgement::Invalid {
                conclusive: true,
                ..
            }
        ));
        let other = r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error SECRET"}]}"#;
        match judge_token(403, other.as_bytes(), NOW) {
            Judgement::Unknown { detail, give_up } => {
                assert_eq!(detail, "API error 10000 (HTTP 403)");
                assert!(!give_up);
            }
            j => panic!("{j:?}"),
        }
        assert!(matches!(
            judge_token(200, b"<html>challenge</html>", NOW),
            Judgement::Unknown { give_up: true, .. }
        ));
        assert!(matches!(
            judge_token(200, br#"{"hello":1}"#, NOW),
            Judgement::Unknown { give_up: true, .. }
        ));
        assert!(matches!(
            judge_token(502, bad.as_bytes(), NOW),
            Judgement::Unknown { give_up: true, .. }
        ));
    }

    #[test]
    fn global_key_answers() {
        let ok =
            r#"{"success":true,"errors":[],"result":{"email":"a@example.com","first_name":"A"}}"#;
        assert!(matches!(
            judge_global_key(200, ok.as_bytes()),
            Judgement::Active(d) if !d.contains("example")
        ));
        let unknown = r#"{"success":false,"errors":[{"code":9103,"message":"Unknown X-Auth-Key or X-Auth-Email"}]}"#;
        assert!(matches!(
            judge_global_key(403, unknown.as_bytes()),
            Judgement::Invalid {
                conclusive: false,
                ..
            }
        ));
        let fmt = r#"{"success":false,"errors":[{"code":6003,"message":"x","error_chain":[{"code":6103,"message":"y"}]}]}"#;
        assert!(matches!(
            judge_global_key(400, fmt.as_bytes()),
            Judgement::Invalid {
                conclusive: true,
                ..
            }
        ));
        let email = r#"{"success":false,"errors":[{"code":6003,"message":"x","error_chain":[{"code":6102,"message":"y"}]}]}"#;
        assert!(matches!(
            judge_global_key(400, email.as_bytes()),
            Judgement::Unknown { give_up: false, .. }
        ));
    }

    #[test]
    fn listings() {
        let body = r#"{"success":true,"errors":[],"result":[{"id":"1","name":"a.example"},{"id":"2","name":"b\u001b[31m.example"}],"result_info":{"page":1,"per_page":50,"total_count":120}}"#;
        let l = read_listing(200, body.as_bytes()).expect("listing");
        assert_eq!(l.names, vec!["a.example", "b[31m.example"]);
        assert_eq!(l.total, 120);
        let nototal = r#"{"success":true,"errors":[],"result":[{"name":"x"}]}"#;
        assert_eq!(
            read_listing(200, nototal.as_bytes()).map(|l| l.total),
            Ok(1)
        );
        assert!(read_listing(403, br#"{"success":false,"errors":[{"code":9109}]}"#).is_err());
    }
}

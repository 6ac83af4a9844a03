//! Verification stage against a local fake Cloudflare API over HTTPS.
//!
//! Every test asserts the verdict and how many requests the fake server saw. Secrets are
//! synthetic; nothing leaves 127.0.0.1.

#[path = "common/fake_cloudflare.rs"]
mod fake_cloudflare;

use std::time::Duration;

use fake_cloudflare::{synthetic_secret, Auth, FakeCloudflare, Reply, Request, Script, Tripwire};
use keyflare::verify::{
    Candidate, Verification, Verifier, VerifyConfig, VerifyError, VerifyMethod, VerifyStatus,
};

const ACCOUNT_A: &str = "0123456789abcdef0123456789abcdef";
const ACCOUNT_B: &str = "fedcba9876543210fedcba9876543210";
const USER_VERIFY: &str = "/client/v4/user/tokens/verify";

fn user_token(seed: u64) -> String {
    synthetic_secret("cfut_", seed)
}

fn account_token(seed: u64) -> String {
    synthetic_secret("cfat_", seed)
}

fn global_key(seed: u64) -> String {
    synthetic_secret("cfk_", seed)
}

/// A pre-2026 40-char token: unprefixed.
fn legacy_token(seed: u64) -> String {
    synthetic_secret("", seed)[..40].to_string()
}

fn account_path(id: &str) -> String {
    format!("/client/v4/accounts/{id}/tokens/verify")
}

fn config(server: &FakeCloudflare) -> VerifyConfig {
    VerifyConfig {
        api_base: server.api_base(),
        ca_cert: Some(server.ca_cert_path().to_path_buf()),
        requests_per_second: 1000.0,
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        ..VerifyConfig::default()
    }
}

fn candidate(method: VerifyMethod, secret: &str) -> Candidate {
    Candidate {
        method,
        secret: secret.to_string(),
        emails: Vec::new(),
        account_ids: Vec::new(),
    }
}

fn verify(cfg: VerifyConfig, candidates: &[Candidate]) -> Vec<Verification> {
    let verifier = Verifier::new(cfg).expect("verifier for the fake API");
    let out = verifier.verify_all(candidates);
    assert_eq!(out.len(), candidates.len());
    for (c, v) in candidates.iter().zip(&out) {
        assert!(!v.detail.contains(&c.secret), "secret leaked: {}", v.detail);
    }
    out
}

fn verify_one(cfg: VerifyConfig, c: Candidate) -> Verification {
    verify(cfg, &[c]).remove(0)
}

fn assert_status(v: &Verification, status: VerifyStatus, needle: &str) {
    assert_eq!(v.status, status, "{v:?}");
    assert!(v.detail.contains(needle), "{:?} lacks {needle:?}", v.detail);
}

// ---- user tokens: the basic verdicts ----

#[test]
fn active_user_token() {
    let token = user_token(1);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::token("active")));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Active, "active");
    assert!(v.blast_radius.is_none());
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path(), USER_VERIFY);
    assert_eq!(reqs[0].auth(), Auth::Bearer(token));
    let ua = reqs[0].header("user-agent").unwrap_or("");
    assert!(ua.starts_with("keyflare/"), "{ua}");
}

#[test]
fn disabled_user_token_is_inactive() {
    let token = user_token(2);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::token("disabled")));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Inactive, "disabled");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn expired_user_token_is_inactive_with_date() {
    let token = user_token(3);
    let reply = Reply::token_expiring("expired", "2020-01-01T00:00:00Z");
    let server = FakeCloudflare::scripted(Script::new().secret(&token, reply));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Inactive, "expired");
    assert!(v.detail.contains("2020-01-01T00:00:00Z"), "{}", v.detail);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn not_yet_valid_token_is_inactive() {
    let token = user_token(4);
    let body = serde_json::json!({"success": true, "errors": [], "messages": [],
        "result": {"id": "x", "status": "active", "not_before": "2999-01-01T00:00:00Z"}});
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::json(200, body)));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Inactive, "not valid before");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn invalid_user_token() {
    let token = user_token(5);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::invalid_token()));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Invalid, "1000");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn unrecognised_error_code_is_unknown_not_invalid() {
    let token = user_token(6);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::error(403, 10000)));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "10000");
    assert_eq!(server.request_count(), 1);
}

// ---- rate limits ----

#[test]
fn rate_limited_then_success_after_retry_after() {
    let token = user_token(10);
    let script = Script::new().secret_sequence(
        &token,
        vec![Reply::rate_limited(Some(1)), Reply::token("active")],
    );
    let server = FakeCloudflare::scripted(script);
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Active, "active");
    assert_eq!(server.request_count(), 2);
}

#[test]
fn retry_after_over_the_cap_is_unknown_without_retry() {
    let token = user_token(11);
    let script = Script::new().secret(&token, Reply::rate_limited(Some(3600)));
    let server = FakeCloudflare::scripted(script);
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "rate limited");
    assert_eq!(server.request_count(), 1);
}

/// A 429 whose `Retry-After` is an HTTP date rather than seconds.
fn rate_limited_until(date: &str) -> Reply {
    let mut reply = Reply::rate_limited(None);
    if let Reply::Http { headers, .. } = &mut reply {
        headers.push(("Retry-After".into(), date.into()));
    }
    reply
}

#[test]
fn retry_after_as_a_past_http_date_retries_at_once() {
    let token = user_token(14);
    let script = Script::new().secret_sequence(
        &token,
        vec![
            rate_limited_until("Sun, 06 Nov 1994 08:49:37 GMT"),
            Reply::token("active"),
        ],
    );
    let server = FakeCloudflare::scripted(script);
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Active, "active");
    assert_eq!(server.request_count(), 2);
}

#[test]
fn retry_after_as_a_far_http_date_is_over_the_cap() {
    let token = user_token(15);
    let script = Script::new().secret(&token, rate_limited_until("Fri, 01 Jan 2100 00:00:00 GMT"));
    let server = FakeCloudflare::scripted(script);
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "asks to wait");
    // The date's distance, not the 300 s assumed when the header is absent.
    assert!(!v.detail.contains("wait 300s"), "{}", v.detail);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn rate_limit_without_retry_after_means_300s_so_unknown() {
    let token = user_token(12);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::rate_limited(None)));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "300s");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn rate_limit_that_never_clears_stops_after_max_retries() {
    let token = user_token(13);
    let server =
        FakeCloudflare::scripted(Script::new().secret(&token, Reply::rate_limited(Some(0))));
    let cfg = VerifyConfig {
        max_retries: 2,
        ..config(&server)
    };
    let v = verify_one(cfg, candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "rate limited");
    assert_eq!(server.request_count(), 3);
}

// ---- odd and hostile answers: always unknown, never invalid ----

#[test]
fn server_error_is_unknown() {
    let token = user_token(20);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::server_error()));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "HTTP 500");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn no_answer_times_out_as_unknown() {
    let token = user_token(21);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::Never));
    let cfg = VerifyConfig {
        timeout: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(1),
        ..config(&server)
    };
    let v = verify_one(cfg, candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "timed out");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn one_byte_a_second_hits_the_total_timeout() {
    let token = user_token(22);
    let reply = Reply::Trickle(Box::new(Reply::token("active")));
    let server = FakeCloudflare::scripted(Script::new().secret(&token, reply));
    let cfg = VerifyConfig {
        timeout: Duration::from_secs(1),
        ..config(&server)
    };
    let v = verify_one(cfg, candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "timed out");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn malformed_json_is_unknown() {
    let token = user_token(23);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::malformed_json()));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "not JSON");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn unexpected_json_is_unknown() {
    let token = user_token(24);
    let reply = Reply::json(200, serde_json::json!({"hello": "world"}));
    let server = FakeCloudflare::scripted(Script::new().secret(&token, reply));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "not a Cloudflare API envelope");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn html_challenge_page_is_unknown() {
    let token = user_token(25);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::html_challenge()));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "not JSON");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn huge_body_is_unknown() {
    for declare_length in [false, true] {
        let token = user_token(26);
        let reply = Reply::Huge {
            len: 256 * 1024,
            declare_length,
        };
        let server = FakeCloudflare::scripted(Script::new().secret(&token, reply));
        let cfg = VerifyConfig {
            max_body_bytes: 4096,
            ..config(&server)
        };
        let v = verify_one(cfg, candidate(VerifyMethod::UserToken, &token));
        assert_status(&v, VerifyStatus::Unknown, "larger than 4096 bytes");
        assert_eq!(server.request_count(), 1);
    }
}

#[test]
fn redirect_to_plain_http_is_not_followed() {
    let token = user_token(27);
    let trap = Tripwire::new();
    let reply = Reply::redirect(&trap.url("/client/v4/user/tokens/verify"));
    let server = FakeCloudflare::scripted(Script::new().secret(&token, reply));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "redirect");
    assert_eq!(server.request_count(), 1);
    assert!(!trap.was_contacted(), "the redirect target was contacted");
}

#[test]
fn redirect_within_the_api_is_not_followed_either() {
    let token = user_token(28);
    let server = FakeCloudflare::scripted(
        Script::new()
            .route("/client/v4/elsewhere", Reply::token("active"))
            .secret(&token, Reply::redirect("/client/v4/elsewhere")),
    );
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "redirect");
    assert_eq!(server.request_count(), 1);
    assert_eq!(server.count_path("/client/v4/elsewhere"), 0);
}

#[test]
fn untrusted_certificate_is_unknown() {
    let token = user_token(29);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::token("active")));
    let cfg = VerifyConfig {
        ca_cert: None,
        ..config(&server)
    };
    let v = verify_one(cfg, candidate(VerifyMethod::UserToken, &token));
    assert_status(&v, VerifyStatus::Unknown, "invalid peer certificate");
    assert_eq!(server.request_count(), 0);
}

// ---- setup errors ----

#[test]
fn plain_http_base_is_refused() {
    let server = FakeCloudflare::scripted(Script::new());
    let cfg = VerifyConfig {
        api_base: format!("http://{}/client/v4", server.addr()),
        ..config(&server)
    };
    match Verifier::new(cfg) {
        Err(VerifyError::NotHttps(base)) => assert!(base.starts_with("http://")),
        other => panic!("expected NotHttps, got {:?}", other.map(|_| ())),
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn unreadable_ca_cert_is_an_error() {
    let cfg = VerifyConfig {
        ca_cert: Some("/nonexistent/keyflare-test-ca.pem".into()),
        ..VerifyConfig::default()
    };
    let err = Verifier::new(cfg).map(|_| ()).expect_err("missing CA file");
    assert!(matches!(err, VerifyError::CaCert { .. }), "{err}");
    assert!(err.to_string().contains("keyflare-test-ca.pem"), "{err}");
}

// ---- account tokens ----

#[test]
fn account_token_with_account_id() {
    let token = account_token(30);
    let server = FakeCloudflare::scripted(
        Script::new()
            .route(&account_path(ACCOUNT_A), Reply::token("active"))
            .route(USER_VERIFY, Reply::invalid_token()),
    );
    let mut c = candidate(VerifyMethod::AccountToken, &token);
    c.account_ids = vec!["not-an-id".into(), ACCOUNT_A.into(), ACCOUNT_A.into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Active, ACCOUNT_A);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path(), account_path(ACCOUNT_A));
    assert_eq!(reqs[0].auth(), Auth::Bearer(token));
}

#[test]
fn account_token_without_account_id_sends_nothing() {
    let token = account_token(31);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::token("active")));
    let v = verify_one(
        config(&server),
        candidate(VerifyMethod::AccountToken, &token),
    );
    assert_eq!(v.status, VerifyStatus::Unknown);
    assert_eq!(
        v.detail,
        "account token: no account id found near it; pass --account-id"
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn account_id_flag_is_tried_first() {
    let token = account_token(32);
    let server = FakeCloudflare::scripted(
        Script::new()
            .route(&account_path(ACCOUNT_B), Reply::token("disabled"))
            .route(&account_path(ACCOUNT_A), Reply::token("active")),
    );
    let cfg = VerifyConfig {
        account_id: Some(ACCOUNT_B.into()),
        ..config(&server)
    };
    let mut c = candidate(VerifyMethod::AccountToken, &token);
    c.account_ids = vec![ACCOUNT_A.into()];
    let v = verify_one(cfg, c);
    assert_status(&v, VerifyStatus::Inactive, ACCOUNT_B);
    assert_eq!(server.request_count(), 1);
    assert_eq!(server.count_path(&account_path(ACCOUNT_B)), 1);
}

#[test]
fn account_token_wrong_id_then_right_id() {
    let token = account_token(33);
    let server = FakeCloudflare::scripted(
        Script::new()
            .route(&account_path(ACCOUNT_A), Reply::error(403, 9109))
            .route(&account_path(ACCOUNT_B), Reply::token("active")),
    );
    let mut c = candidate(VerifyMethod::AccountToken, &token);
    c.account_ids = vec![ACCOUNT_A.into(), ACCOUNT_B.into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Active, ACCOUNT_B);
    assert_eq!(server.request_count(), 2);
}

#[test]
fn account_token_is_invalid_only_if_every_id_says_1000() {
    let token = account_token(34);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::invalid_token()));
    let mut c = candidate(VerifyMethod::AccountToken, &token);
    c.account_ids = vec![ACCOUNT_A.into(), ACCOUNT_B.into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Invalid, "2 account ids");
    assert_eq!(server.request_count(), 2);
    assert_eq!(server.count_path(USER_VERIFY), 0);

    let other = account_token(35);
    let server = FakeCloudflare::scripted(
        Script::new()
            .route(&account_path(ACCOUNT_A), Reply::invalid_token())
            .route(&account_path(ACCOUNT_B), Reply::error(403, 9109)),
    );
    let mut c = candidate(VerifyMethod::AccountToken, &other);
    c.account_ids = vec![ACCOUNT_A.into(), ACCOUNT_B.into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Unknown, "2 account ids");
    assert_eq!(server.request_count(), 2);
}

// ---- legacy tokens ----

#[test]
fn legacy_token_falls_back_to_account_endpoint_after_1000() {
    let token = legacy_token(40);
    let server = FakeCloudflare::scripted(
        Script::new()
            .route(USER_VERIFY, Reply::invalid_token())
            .route(&account_path(ACCOUNT_A), Reply::token("active")),
    );
    let mut c = candidate(VerifyMethod::LegacyToken, &token);
    c.account_ids = vec![ACCOUNT_A.into()];
    let v = verify_one(config(&server), c.clone());
    assert_status(&v, VerifyStatus::Active, ACCOUNT_A);
    assert_eq!(server.request_count(), 2);

    // Without an account id the user endpoint's 1000 is the answer.
    c.account_ids.clear();
    let server = FakeCloudflare::scripted(Script::new().route(USER_VERIFY, Reply::invalid_token()));
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Invalid, "1000");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn legacy_user_token_needs_one_request() {
    let token = legacy_token(41);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::token("active")));
    let mut c = candidate(VerifyMethod::LegacyToken, &token);
    c.account_ids = vec![ACCOUNT_A.into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Active, "active");
    assert_eq!(server.request_count(), 1);
}

// ---- Global API Keys ----

fn key_server(good_email: &'static str) -> FakeCloudflare {
    FakeCloudflare::start(move |req: &Request| match req.auth() {
        Auth::GlobalKey { email, .. } if req.path() == "/client/v4/user" => {
            if email == good_email {
                Reply::user()
            } else {
                Reply::unknown_key()
            }
        }
        _ => Reply::missing_auth(),
    })
}

#[test]
fn global_key_with_email() {
    let key = global_key(50);
    let server = key_server("dev@example.com");
    let mut c = candidate(VerifyMethod::GlobalKey, &key);
    c.emails = vec!["dev@example.com".into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Active, "Global API Key");
    for pii in ["owner.pii", "PiiFirst", "PiiLast", "555"] {
        assert!(!v.detail.contains(pii), "{}", v.detail);
    }
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path(), "/client/v4/user");
    assert_eq!(
        reqs[0].auth(),
        Auth::GlobalKey {
            key,
            email: "dev@example.com".into()
        }
    );
    assert_eq!(reqs[0].header("authorization"), None);
}

#[test]
fn global_key_without_email_sends_nothing() {
    let key = global_key(51);
    let server = key_server("dev@example.com");
    let v = verify_one(config(&server), candidate(VerifyMethod::GlobalKey, &key));
    assert_eq!(v.status, VerifyStatus::Unknown);
    assert_eq!(v.detail, "no email found next to the key; pass --email");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn global_key_tries_email_flag_then_found_emails() {
    let key = global_key(52);
    let server = key_server("second@example.com");
    let cfg = VerifyConfig {
        email: Some("first@example.com".into()),
        ..config(&server)
    };
    let mut c = candidate(VerifyMethod::GlobalKey, &key);
    c.emails = vec!["second@example.com".into()];
    let v = verify_one(cfg, c);
    assert_status(&v, VerifyStatus::Active, "email 2 of 2");
    let emails: Vec<Auth> = server.requests().iter().map(Request::auth).collect();
    assert_eq!(
        emails,
        vec![
            Auth::GlobalKey {
                key: key.clone(),
                email: "first@example.com".into()
            },
            Auth::GlobalKey {
                key,
                email: "second@example.com".into()
            },
        ]
    );
}

#[test]
fn global_key_invalid_for_every_email() {
    let key = global_key(53);
    let server = key_server("nobody@example.com");
    let mut c = candidate(VerifyMethod::GlobalKey, &key);
    c.emails = vec!["a@example.com".into(), "b@example.com".into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Invalid, "2 emails");
    assert_eq!(server.request_count(), 2);
}

#[test]
fn key_format_rejected_is_invalid_at_once() {
    let key = global_key(54);
    let server = FakeCloudflare::scripted(Script::new().secret(&key, Reply::bad_key_format()));
    let mut c = candidate(VerifyMethod::GlobalKey, &key);
    c.emails = vec!["a@example.com".into(), "b@example.com".into()];
    let v = verify_one(config(&server), c);
    assert_status(&v, VerifyStatus::Invalid, "not a Global API Key format");
    assert_eq!(server.request_count(), 1);
}

// ---- blast radius ----

fn blast_script(token: &str) -> Script {
    Script::new()
        .route("/client/v4/accounts", Reply::list(&["Acme Corp"], Some(1)))
        .route(
            "/client/v4/zones",
            Reply::list(&["example.com", "example.net"], Some(120)),
        )
        .secret(token, Reply::token("active"))
}

#[test]
fn blast_radius_lists_accounts_and_zones() {
    let token = user_token(60);
    let server = FakeCloudflare::scripted(blast_script(&token));
    let cfg = VerifyConfig {
        blast_radius: true,
        ..config(&server)
    };
    let v = verify_one(cfg, candidate(VerifyMethod::UserToken, &token));
    assert_eq!(v.status, VerifyStatus::Active, "{v:?}");
    let radius = v.blast_radius.expect("blast radius for an active token");
    assert_eq!(radius.accounts, vec!["Acme Corp"]);
    assert_eq!(radius.zones, vec!["example.com", "example.net"]);
    assert_eq!(radius.account_count, 1);
    assert_eq!(radius.zone_count, 120);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.method == "GET"));
    assert!(reqs.iter().all(|r| r.auth() == Auth::Bearer(token.clone())));
    assert_eq!(server.count_path("/client/v4/accounts"), 1);
    assert_eq!(server.count_path("/client/v4/zones"), 1);
    assert!(reqs
        .iter()
        .any(|r| r.target == "/client/v4/zones?per_page=50"));

    let json = serde_json::to_value(Verification {
        blast_radius: Some(radius),
        ..v
    })
    .expect("serialise");
    assert_eq!(json["status"], "active");
    assert_eq!(json["blast_radius"]["zone_count"], 120);
}

#[test]
fn blast_radius_only_for_active_and_only_when_asked() {
    let token = user_token(61);
    let server = FakeCloudflare::scripted(blast_script(&token));
    let v = verify_one(config(&server), candidate(VerifyMethod::UserToken, &token));
    assert_eq!(v.status, VerifyStatus::Active);
    assert!(v.blast_radius.is_none());
    assert_eq!(server.request_count(), 1);

    let disabled = user_token(62);
    let server =
        FakeCloudflare::scripted(blast_script(&token).secret(&disabled, Reply::token("disabled")));
    let cfg = VerifyConfig {
        blast_radius: true,
        ..config(&server)
    };
    let v = verify_one(cfg, candidate(VerifyMethod::UserToken, &disabled));
    assert_eq!(v.status, VerifyStatus::Inactive);
    assert!(v.blast_radius.is_none());
    assert_eq!(server.request_count(), 1);
}

// ---- once per run, bounded concurrency ----

#[test]
fn one_secret_as_ten_candidates_is_one_request() {
    let token = user_token(70);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::token("active")));
    let candidates = vec![candidate(VerifyMethod::UserToken, &token); 10];
    let out = verify(config(&server), &candidates);
    assert!(out.iter().all(|v| v.status == VerifyStatus::Active));
    assert_eq!(server.request_count(), 1);
}

#[test]
fn shared_account_id_is_probed_once_across_candidates() {
    let token = account_token(71);
    let server = FakeCloudflare::scripted(Script::new().secret(&token, Reply::invalid_token()));
    let mut first = candidate(VerifyMethod::AccountToken, &token);
    first.account_ids = vec![ACCOUNT_A.into()];
    let mut second = first.clone();
    second.account_ids = vec![ACCOUNT_A.into(), ACCOUNT_B.into()];
    let out = verify(config(&server), &[first, second]);
    assert!(
        out.iter().all(|v| v.status == VerifyStatus::Invalid),
        "{out:?}"
    );
    assert_eq!(server.count_path(&account_path(ACCOUNT_A)), 1);
    assert_eq!(server.count_path(&account_path(ACCOUNT_B)), 1);
}

#[test]
fn results_keep_input_order() {
    let active = user_token(72);
    let disabled = user_token(73);
    let server = FakeCloudflare::scripted(
        Script::new()
            .secret(&active, Reply::token("active"))
            .secret(&disabled, Reply::token("disabled")),
    );
    let candidates = [
        candidate(VerifyMethod::UserToken, &disabled),
        candidate(
            VerifyMethod::Unsupported("Origin CA keys cannot be checked"),
            "v1.0-x",
        ),
        candidate(VerifyMethod::UserToken, &active),
        candidate(VerifyMethod::UserToken, &disabled),
    ];
    let statuses: Vec<VerifyStatus> = verify(config(&server), &candidates)
        .iter()
        .map(|v| v.status)
        .collect();
    use VerifyStatus::*;
    assert_eq!(statuses, vec![Inactive, Unknown, Active, Inactive]);
    assert_eq!(server.request_count(), 2);
}

#[test]
fn concurrency_is_bounded() {
    let server = FakeCloudflare::scripted(
        Script::new().fallback(Reply::token("active").after(Duration::from_millis(150))),
    );
    let candidates: Vec<Candidate> = (100..112)
        .map(|seed| candidate(VerifyMethod::UserToken, &user_token(seed)))
        .collect();
    let cfg = VerifyConfig {
        concurrency: 3,
        ..config(&server)
    };
    let out = verify(cfg, &candidates);
    assert!(out.iter().all(|v| v.status == VerifyStatus::Active));
    assert_eq!(server.request_count(), 12);
    assert!(
        server.max_in_flight() <= 3,
        "max in flight {}",
        server.max_in_flight()
    );
}

#[test]
fn requests_sent_matches_the_server_count() {
    let token = user_token(80);
    let script = Script::new().secret_sequence(
        &token,
        vec![Reply::rate_limited(Some(0)), Reply::token("active")],
    );
    let server = FakeCloudflare::scripted(script);
    let verifier = Verifier::new(config(&server)).expect("verifier");
    let out = verifier.verify_all(&[candidate(VerifyMethod::UserToken, &token)]);
    assert_eq!(out[0].status, VerifyStatus::Active);
    assert_eq!(verifier.requests_sent(), 2);
    assert_eq!(server.request_count(), 2);
    // A second run on the same verifier reuses the cached answer.
    verifier.verify_all(&[candidate(VerifyMethod::UserToken, &token)]);
    assert_eq!(verifier.requests_sent(), 2);
}

// ---- the secret never shows ----

#[test]
fn secret_never_in_debug_or_detail() {
    let secrets = [
        user_token(90),
        account_token(91),
        global_key(92),
        legacy_token(93),
        user_token(94),
        user_token(95),
    ];
    let echo = secrets.clone();
    // A hostile server that echoes the credential back in every message and name.
    let server = FakeCloudflare::start(move |req: &Request| {
        let secret = req.secret().unwrap_or_default();
        if req.path() == "/client/v4/zones" || req.path() == "/client/v4/accounts" {
            let name = format!("zone-{secret}");
            return Reply::list(&[name.as_str()], None);
        }
        let status = if secret == echo[4] { 200 } else { 403 };
        let body = if status == 200 {
            serde_json::json!({"success": true, "errors": [],
                "result": {"status": "expired", "expires_on": secret}})
        } else if secret == echo[5] {
            return Reply::Http {
                status: 403,
                headers: vec![],
                body: format!("<html>{secret}</html>").into_bytes(),
            };
        } else if secret == echo[0] {
            return Reply::token("active");
        } else {
            serde_json::json!({"success": false, "errors": [{"code": 12345,
                "message": format!("bad credential {secret}")}], "result": null})
        };
        Reply::json(status, body)
    });
    let mut candidates: Vec<Candidate> = vec![
        candidate(VerifyMethod::UserToken, &secrets[0]),
        candidate(VerifyMethod::AccountToken, &secrets[1]),
        candidate(VerifyMethod::GlobalKey, &secrets[2]),
        candidate(VerifyMethod::LegacyToken, &secrets[3]),
        candidate(VerifyMethod::UserToken, &secrets[4]),
        candidate(VerifyMethod::UserToken, &secrets[5]),
    ];
    candidates[1].account_ids = vec![ACCOUNT_A.into()];
    candidates[2].emails = vec!["dev@example.com".into()];
    candidates.push(candidate(VerifyMethod::GlobalKey, &secrets[2])); // no email
    candidates.push(candidate(VerifyMethod::AccountToken, &secrets[1])); // no id
    let cfg = VerifyConfig {
        blast_radius: true,
        ..config(&server)
    };
    let out = verify(cfg, &candidates);
    assert_eq!(out[0].status, VerifyStatus::Active);
    for (c, v) in candidates.iter().zip(&out) {
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains(&c.secret), "{shown}");
        let json = serde_json::to_string(v).expect("serialise");
        let debug = format!("{v:?}");
        for s in &secrets {
            assert!(!v.detail.contains(s.as_str()), "{}", v.detail);
            assert!(!json.contains(s.as_str()), "{json}");
            assert!(!debug.contains(s.as_str()), "{debug}");
        }
    }
}

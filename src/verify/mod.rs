//! Verification stage (opt-in): asks the Cloudflare API whether found credentials are live.
//!
//! Input is a list of [`Candidate`]s built by the scanner (the secret plus the emails and
//! account ids found near it); output is one [`Verification`] per candidate, in the same
//! order. The stage never decides what is a credential, and it never prints: reporters do.
//!
//! Guarantees:
//! - Each distinct (method, secret, email, account id) request is sent at most once per
//!   [`Verifier`]; equal candidates share one result. The cache lives in the verifier, not in
//!   a global.
//! - At most `concurrency` requests are in flight and at most `requests_per_second` start per
//!   second, retries included, because every request spends the victim's API quota.
//! - Verification sends only read-only `GET`s to the configured `https://` base; redirects are
//!   never followed. The one writer, [`Verifier::act`] (`keyflare respond`, after approval),
//!   uses the same client, base, limits and 429 handling.
//! - A network failure, a timeout, a rate limit, a server error or an answer that is not the
//!   API's JSON envelope is `Unknown`, never `Invalid`.
//! - The secret never appears in a `Debug` output, an error or a `detail`, and the `/user`
//!   answer (personal data) is never kept.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod act;
mod check;
mod envelope;
mod http;

pub use self::act::{ActOutcome, NewValue, TokenAction, TokenRef};

use std::collections::HashMap;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use self::envelope::Judgement;
use self::http::Transport;

/// Which API call can tell whether a secret is live; chosen by the rule that found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerifyMethod {
    /// `cfut_` user API token: `GET /user/tokens/verify`.
    UserToken,
    /// `cfat_` account API token: `GET /accounts/{id}/tokens/verify`; needs an account id.
    AccountToken,
    /// Pre-2026 40-char token (user or account): the user endpoint, then account ids.
    LegacyToken,
    /// Global API Key (`cfk_` or legacy hex): `GET /user`; needs the matching email.
    GlobalKey,
    /// Cannot be checked; the text says why (e.g. "Origin CA keys cannot be checked since
    /// 2026-09-30"). Reported as `Unknown` without any request.
    Unsupported(&'static str),
}

/// One secret to check, with the context the scanner found next to it.
///
/// `Debug` redacts the secret, so a candidate can be logged safely.
#[derive(Clone)]
pub struct Candidate {
    /// How to check it.
    pub method: VerifyMethod,
    /// The secret itself. Never printed.
    pub secret: String,
    /// Emails found near a Global API Key, tried in order after `--email`.
    pub emails: Vec<String>,
    /// Account ids (32 lowercase hex) found near a token, tried in order after
    /// `--account-id`; other strings are ignored.
    pub account_ids: Vec<String>,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("method", &self.method)
            .field(
                "secret",
                &format_args!("<redacted, {} chars>", self.secret.chars().count()),
            )
            .field("emails", &self.emails)
            .field("account_ids", &self.account_ids)
            .finish()
    }
}

/// The verdict on one candidate.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyStatus {
    /// The API accepted the credential: it works right now.
    Active,
    /// The credential exists but is disabled, expired or not yet valid.
    Inactive,
    /// The API rejected it for every account id or email tried.
    Invalid,
    /// No verdict: not checkable, context missing, network trouble, rate limit, odd answer.
    Unknown,
}

/// What verification found out about one candidate.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verification {
    /// The verdict.
    pub status: VerifyStatus,
    /// One human sentence on why (never contains the secret).
    pub detail: String,
    /// What an active credential can reach; only with `blast_radius` on and status `Active`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<BlastRadius>,
    /// The token's id (`result.id` of the verify answer), for an active or inactive API
    /// token: what `keyflare respond` rolls or deletes. Not a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// For an account token, the account it answered for (the `{account_id}` of its paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl Verification {
    /// A verdict with nothing else known.
    pub fn new(status: VerifyStatus, detail: impl Into<String>) -> Self {
        Verification {
            status,
            detail: detail.into(),
            blast_radius: None,
            token_id: None,
            account_id: None,
        }
    }
}

/// What a live credential can see, from read-only list calls (first page of 50 only).
#[derive(Clone, Debug, serde::Serialize)]
pub struct BlastRadius {
    /// Account names on the first page.
    pub accounts: Vec<String>,
    /// Zone names on the first page.
    pub zones: Vec<String>,
    /// Total accounts (`result_info.total_count`, else the names listed).
    pub account_count: usize,
    /// Total zones (`result_info.total_count`, else the names listed).
    pub zone_count: usize,
}

/// Settings of a verification run. `Default` gives the documented, quota-friendly values.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    /// API root; must be `https://`. Tests point it at a local fake.
    pub api_base: String,
    /// Extra PEM root certificate(s) to trust (`--ca-cert`), e.g. a corporate proxy's CA.
    pub ca_cert: Option<PathBuf>,
    /// Most requests in flight at once (0 counts as 1).
    pub concurrency: usize,
    /// Most request starts per second across all workers, retries included (must be > 0).
    pub requests_per_second: f64,
    /// Time allowed to open the connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included.
    pub timeout: Duration,
    /// Retries after a 429.
    pub max_retries: u32,
    /// Longest `Retry-After` honoured; a 429 asking for more gives `Unknown`.
    pub max_retry_after: Duration,
    /// Longest body read; a longer one gives `Unknown`.
    pub max_body_bytes: usize,
    /// List accounts and zones reachable by an active credential.
    pub blast_radius: bool,
    /// `--email`: tried first for every Global API Key.
    pub email: Option<String>,
    /// `--account-id`: tried first for every account or legacy token.
    pub account_id: Option<String>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            api_base: "https://api.cloudflare.com/client/v4".to_string(),
            ca_cert: None,
            concurrency: 4,
            requests_per_second: 4.0,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_retries: 3,
            max_retry_after: Duration::from_secs(60),
            max_body_bytes: 1024 * 1024,
            blast_radius: false,
            email: None,
            account_id: None,
        }
    }
}

/// Why a [`Verifier`] could not be built. Failures of single checks are not errors: they are
/// `Unknown` verifications.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The base URL is not `https://` (plain HTTP would expose the secret).
    #[error("--api-base must be an https:// URL, got {0}")]
    NotHttps(String),
    /// The `--ca-cert` file is unreadable or holds no PEM certificate.
    #[error("cannot read CA certificate {}: {source}", path.display())]
    CaCert {
        /// The file given.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The TLS client could not be set up.
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
    /// A numeric setting is out of range (e.g. `requests_per_second` not positive).
    #[error("invalid verifier setting: {0}")]
    Setting(String),
}

/// Checks candidates against the API. Owns its HTTPS client, its result cache and its request
/// counter, so two verifiers never share state.
pub struct Verifier {
    transport: Transport,
    concurrency: usize,
    blast_radius: bool,
    email: Option<String>,
    account_id: Option<String>,
    probes: OnceMap<(check::Probe, String), (Judgement, Option<String>)>,
    radii: OnceMap<check::AuthKey, Result<BlastRadius, String>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("concurrency", &self.concurrency)
            .field("blast_radius", &self.blast_radius)
            .field("requests_sent", &self.requests_sent())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds the HTTPS client. Refuses a non-`https://` base, an unreadable `--ca-cert` and
    /// out-of-range settings; the caller maps these to exit code 2.
    pub fn new(cfg: VerifyConfig) -> Result<Self, VerifyError> {
        let transport = Transport::new(&cfg)?;
        Ok(Verifier {
            transport,
            concurrency: cfg.concurrency.max(1),
            blast_radius: cfg.blast_radius,
            email: cfg.email,
            account_id: cfg.account_id,
            probes: OnceMap::default(),
            radii: OnceMap::default(),
        })
    }

    /// Verifies every candidate; the result at index `i` is for `candidates[i]`.
    ///
    /// Equal candidates are checked once. Distinct ones run on up to `concurrency` worker
    /// threads; the call returns when all are done.
    pub fn verify_all(&self, candidates: &[Candidate]) -> Vec<Verification> {
        let mut jobs: Vec<check::Job> = Vec::new();
        let mut seen: HashMap<check::Job, usize> = HashMap::new();
        let slots: Vec<usize> = candidates
            .iter()
            .map(|c| {
                let job = self.plan(c);
                *seen.entry(job.clone()).or_insert_with(|| {
                    jobs.push(job);
                    jobs.len() - 1
                })
            })
            .collect();

        let results: Vec<OnceLock<Verification>> = jobs.iter().map(|_| OnceLock::new()).collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let (Some(job), Some(out)) = (jobs.get(i), results.get(i)) else {
                break;
            };
            let _ = out.set(self.check(job));
        };
        let workers = self.concurrency.min(jobs.len());
        if workers <= 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..workers {
                    s.spawn(work);
                }
            });
        }

        slots
            .into_iter()
            .map(|slot| {
                results
                    .get(slot)
                    .and_then(OnceLock::get)
                    .cloned()
                    .unwrap_or_else(|| {
                        Verification::new(
                            VerifyStatus::Unknown,
                            "internal error: verification did not run",
                        )
                    })
            })
            .collect()
    }

    /// HTTP requests sent so far by this verifier, retries included (for tests and stats).
    pub fn requests_sent(&self) -> usize {
        self.transport.requests_sent()
    }
}

/// A map whose values are computed once per key, even when several threads ask at once:
/// later askers wait for the first one's answer instead of sending the same request.
struct OnceMap<K, V> {
    map: Mutex<HashMap<K, Arc<OnceLock<V>>>>,
}

impl<K, V> Default for OnceMap<K, V> {
    fn default() -> Self {
        OnceMap {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> OnceMap<K, V> {
    fn get_or_compute(&self, key: K, compute: impl FnOnce() -> V) -> V {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key).or_default())
        };
        cell.get_or_init(compute).clone()
    }

    /// The value for `key` if it was computed already (never computes).
    fn get(&self, key: &K) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).and_then(|cell| cell.get().cloned())
    }
}

/// The answer parser on its own, for the fuzz targets in `fuzz/` only (not a stable API):
/// how the verifier reads one HTTP answer `body` with status `http`, as a status and the
/// detail it would report. `global_key` picks the `GET /user` reading, else token verify.
#[doc(hidden)]
pub fn judge_answer(
    global_key: bool,
    http: u16,
    body: &[u8],
    now_unix: i64,
) -> (VerifyStatus, String) {
    let j = if global_key {
        envelope::judge_global_key(http, body)
    } else {
        envelope::judge_token(http, body, now_unix)
    };
    match j {
        Judgement::Active(d) => (VerifyStatus::Active, d),
        Judgement::Inactive(d) => (VerifyStatus::Inactive, d),
        Judgement::Invalid { detail, .. } => (VerifyStatus::Invalid, detail),
        Judgement::Unknown { detail, .. } => (VerifyStatus::Unknown, detail),
    }
}

/// The list-endpoint reader (`/accounts`, `/zones`) on its own, for the fuzz targets only:
/// the names (sanitised) and the total, or why the answer was not read.
#[doc(hidden)]
pub fn read_listing_answer(http: u16, body: &[u8]) -> Result<(Vec<String>, usize), String> {
    envelope::read_listing(http, body).map(|l| (l.names, l.total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_debug_redacts_secret() {
        let secret = "cfut_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ABCD0badf00d";
        let c = Candidate {
            method: VerifyMethod::UserToken,
            secret: secret.to_string(),
            emails: vec!["dev@example.com".into()],
            account_ids: vec![],
        };
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains("AbCdEfGh"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn refuses_plain_http_and_bad_settings() {
        let http = VerifyConfig {
            api_base: "http://api.cloudflare.com/client/v4".into(),
            ..VerifyConfig::default()
        };
        assert!(matches!(Verifier::new(http), Err(VerifyError::NotHttps(_))));
        let zero = VerifyConfig {
            requests_per_second: 0.0,
            ..VerifyConfig::default()
        };
        assert!(matches!(Verifier::new(zero), Err(VerifyError::Setting(_))));
        let nan = VerifyConfig {
            requests_per_second: f64::NAN,
            ..VerifyConfig::default()
        };
        assert!(matches!(Verifier::new(nan), Err(VerifyError::Setting(_))));
    }

    #[test]
    fn unsupported_sends_nothing() {
        let v = Verifier::new(VerifyConfig::default()).expect("default config builds");
        let out = v.verify_all(&[Candidate {
            method: VerifyMethod::Unsupported("Origin CA keys cannot be checked since 2026-09-30"),
            secret: "v1.0-0123".into(),
            emails: vec![],
            account_ids: vec![],
        }]);
        assert_eq!(out[0].status, VerifyStatus::Unknown);
        assert!(out[0].detail.contains("Origin CA"));
        assert_eq!(v.requests_sent(), 0);
    }
}

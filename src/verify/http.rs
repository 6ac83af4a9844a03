//! The HTTPS side of verification: one client, one rate limiter, one request counter.
//!
//! Guarantees: requests only go to the configured `https://` base, redirects are never
//! followed, every attempt (retries included) waits for a slot of the shared rate limiter and
//! is counted, a 429 is retried only after its `Retry-After` (capped), and at most
//! `max_body_bytes` of a body are read. Secrets travel only in headers marked sensitive, and
//! failure reasons are built from error kinds and root causes, never from the request headers.
//! Judging what a body means is left to `envelope`. Verification only sends `GET`; the
//! `PUT`/`DELETE` of `keyflare respond` go through the same client and limits.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER,
};
use reqwest::StatusCode;

use super::{VerifyConfig, VerifyError};

/// How long a 429 without `Retry-After` asks us to wait: Cloudflare's documented block window.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The credential headers of one request. Borrowed so the secret is never copied around.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// `Authorization: Bearer <token>` (API tokens).
    Bearer(&'a str),
    /// `X-Auth-Key` + `X-Auth-Email` (Global API Key).
    GlobalKey { key: &'a str, email: &'a str },
}

/// The HTTP methods the transport sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// Read-only: every verification call.
    Get,
    /// Roll a token (`respond`).
    Put,
    /// Delete a token (`respond`).
    Delete,
}

/// A complete answer: status and a body of at most `max_body_bytes`.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// Spaces out request starts across all worker threads.
struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// Waits for the next free slot, then books the one after it.
    fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot.checked_add(self.interval).unwrap_or(slot);
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }

    /// Pushes every later slot at least `wait` into the future (a 429 holds everyone back,
    /// since the victim's quota and the per-IP limit are shared). False if `wait` is beyond
    /// what the clock can represent.
    fn defer(&self, wait: Duration) -> bool {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let Some(until) = Instant::now().checked_add(wait) else {
            return false;
        };
        if *next < until {
            *next = until;
        }
        true
    }
}

/// The verifier's HTTPS client with its limits.
pub(crate) struct Transport {
    client: Client,
    base: String,
    timeout: Duration,
    max_retries: u32,
    max_retry_after: Duration,
    max_body_bytes: usize,
    limiter: RateLimiter,
    sent: AtomicUsize,
}

impl Transport {
    /// Builds the client; refuses a base URL that is not `https://`.
    pub(crate) fn new(cfg: &VerifyConfig) -> Result<Self, VerifyError> {
        let base = cfg.api_base.trim_end_matches('/').to_string();
        match reqwest::Url::parse(&base) {
            Ok(url) if url.scheme() == "https" && url.host().is_some() => {}
            _ => return Err(VerifyError::NotHttps(cfg.api_base.clone())),
        }
        let interval = if cfg.requests_per_second.is_infinite() && cfg.requests_per_second > 0.0 {
            Duration::ZERO
        } else if cfg.requests_per_second > 0.0 {
            Duration::try_from_secs_f64(1.0 / cfg.requests_per_second)
                .map_err(|_| VerifyError::Setting("requests_per_second is too small".into()))?
        } else {
            return Err(VerifyError::Setting(
                "requests_per_second must be a positive number".into(),
            ));
        };
        let mut builder = Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .user_agent(concat!("keyflare/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &cfg.ca_cert {
            for cert in read_ca_cert(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| VerifyError::Client(root_cause(&e)))?;
        Ok(Transport {
            client,
            base,
            timeout: cfg.timeout,
            max_retries: cfg.max_retries,
            max_retry_after: cfg.max_retry_after,
            max_body_bytes: cfg.max_body_bytes,
            limiter: RateLimiter {
                interval,
                next: Mutex::new(Instant::now()),
            },
            sent: AtomicUsize::new(0),
        })
    }

    /// HTTP requests sent so far, retries included.
    pub(crate) fn requests_sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// `GET {base}{path}` with `auth`. `path` is built by this module's callers from constants
    /// and validated ids only, so the request cannot leave the configured base.
    ///
    /// `Err` is a short, secret-free reason for "unknown": network failure, timeout, redirect,
    /// rate limit not cleared, oversized body.
    pub(crate) fn get(&self, path: &str, auth: Auth<'_>) -> Result<Reply, String> {
        self.send(Method::Get, path, auth)
    }

    /// Like [`Transport::get`] with another method: `PUT` sends an empty JSON object (the roll
    /// call's body), `DELETE` no body. Only `respond` sends anything but `GET`, and only after
    /// the user approved it. A 429 is retried like a `GET`: Cloudflare did not act on it.
    pub(crate) fn send(&self, method: Method, path: &str, auth: Auth<'_>) -> Result<Reply, String> {
        let headers = auth_headers(auth)?;
        let url = format!("{}{}", self.base, path);
        let mut attempt: u32 = 0;
        loop {
            self.limiter.acquire();
            self.sent.fetch_add(1, Ordering::Relaxed);
            let request = match method {
                Method::Get => self.client.get(&url),
                Method::Put => self
                    .client
                    .put(&url)
                    .header(CONTENT_TYPE, "application/json")
                    .body("{}"),
                Method::Delete => self.client.delete(&url),
            };
            let response = request
                .headers(headers.clone())
                .timeout(self.timeout)
                .send()
                .map_err(|e| self.describe(&e))?;
            let status = response.status();
            if status.is_redirection() {
                return Err(format!(
                    "answered with a redirect (HTTP {}), not followed",
                    status.as_u16()
                ));
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER);
                // Within the cap, the wait holds back every later request, even when this one
                // has no retries left: the quota it protects is shared.
                if wait > self.max_retry_after || !self.limiter.defer(wait) {
                    return Err(format!(
                        "rate limited (HTTP 429 asks to wait {}s, more than the {}s cap)",
                        wait.as_secs(),
                        self.max_retry_after.as_secs()
                    ));
                }
                if attempt >= self.max_retries {
                    return Err(format!(
                        "rate limited (HTTP 429 after {} retries)",
                        self.max_retries
                    ));
                }
                attempt += 1;
                continue;
            }
            return self.read_body(response);
        }
    }

    /// Reads at most `max_body_bytes`; a longer body is refused rather than truncated.
    fn read_body(&self, response: reqwest::blocking::Response) -> Result<Reply, String> {
        let status = response.status().as_u16();
        let cap = self.max_body_bytes;
        let too_big = || format!("response body larger than {cap} bytes (HTTP {status})");
        if response
            .content_length()
            .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
        response
            .take(limit)
            .read_to_end(&mut body)
            .map_err(|e| self.describe_io(&e))?;
        if body.len() > cap {
            return Err(too_big());
        }
        Ok(Reply { status, body })
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("timed out after {}s", self.timeout.as_secs_f64())
        } else if e.is_connect() {
            format!("connection failed: {}", root_cause(e))
        } else {
            format!("request failed: {}", root_cause(e))
        }
    }

    fn describe_io(&self, e: &std::io::Error) -> String {
        let timed_out = matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) || e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout)
            || root_cause(e).contains("timed out");
        if timed_out {
            format!("timed out after {}s", self.timeout.as_secs_f64())
        } else {
            format!("reading the answer failed: {}", root_cause(e))
        }
    }
}

/// Builds the credential headers, marked sensitive so they are redacted from any `Debug`.
/// A secret that is not a valid header value is refused without echoing it.
fn auth_headers(auth: Auth<'_>) -> Result<HeaderMap, String> {
    fn value(text: &str, what: &str) -> Result<HeaderValue, String> {
        let mut v = HeaderValue::from_str(text)
            .map_err(|_| format!("the {what} holds characters not allowed in an HTTP header"))?;
        v.set_sensitive(true);
        Ok(v)
    }
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    match auth {
        Auth::Bearer(token) => {
            headers.insert(AUTHORIZATION, value(&format!("Bearer {token}"), "token")?);
        }
        Auth::GlobalKey { key, email } => {
            headers.insert(HeaderName::from_static("x-auth-key"), value(key, "key")?);
            headers.insert(
                HeaderName::from_static("x-auth-email"),
                value(email, "email")?,
            );
        }
    }
    Ok(headers)
}

/// `Retry-After`: whole seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37
/// GMT`), counted from the local clock (a date already past means now).
/// Garbage counts as absent.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let now = jiff::Timestamp::now().as_second();
    parse_retry_after(text, now)
}

/// [`retry_after`] with the clock given, for tests.
fn parse_retry_after(text: &str, now_unix: i64) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text)
        .ok()?
        .as_second();
    Some(Duration::from_secs(
        u64::try_from(at.saturating_sub(now_unix)).unwrap_or(0),
    ))
}

/// Reads the PEM roots given with `--ca-cert`.
fn read_ca_cert(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, VerifyError> {
    let fail = |source: std::io::Error| VerifyError::CaCert {
        path: path.to_path_buf(),
        source,
    };
    let pem = std::fs::read(path).map_err(fail)?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        fail(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            root_cause(&e),
        ))
    })?;
    if certs.is_empty() {
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no PEM certificate in the file",
        )));
    }
    Ok(certs)
}

/// The innermost error message (e.g. "connection refused", "invalid peer certificate"),
/// bounded in length. reqwest's outer messages carry the URL, which holds no secret here, but
/// the root cause is both shorter and more useful.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
        .chars()
        .filter(|c| !c.is_control())
        .take(160)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_or_http_date() {
        let now = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("Sun, 31 Feb 1994 08:50:07 GMT", now),
            None
        );
    }
}

//! A fake Cloudflare API over real HTTPS, for tests. Never talks to the network beyond
//! loopback.
//!
//! - Runs inside the test process on std threads: a `rustls` server with a test CA and a
//!   `localhost`/`127.0.0.1` certificate made at start with `rcgen` (the CA PEM is written to a
//!   temp file for `VerifyConfig::ca_cert`), bound to `127.0.0.1:0`.
//! - Parses HTTP/1.1 requests by hand and answers from a handler closure
//!   ([`FakeCloudflare::start`]) or a [`Script`] keyed by the secret in `Authorization` /
//!   `X-Auth-Key` ([`FakeCloudflare::scripted`]).
//! - Records every request ([`FakeCloudflare::requests`]) and the most requests it was
//!   handling at once ([`FakeCloudflare::max_in_flight`]).
//! - Hostile answers for hardening tests: never answer, one byte a second, huge body, redirect,
//!   HTML challenge page, 429 with `Retry-After`, delayed answer, dropped connection; and
//!   hostile certificates ([`Cert`]): signed by the test CA but for another host, or expired.
//! - Every loop is bounded; dropping the server stops and joins all of its threads.
//!
//! Include it with `#[path = "common/fake_cloudflare.rs"] mod fake_cloudflare;`.
#![allow(dead_code)] // each test crate uses a different part of it

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};

/// Longest a request head may be.
const MAX_HEAD: usize = 64 * 1024;
/// Longest a request body may be (they are read and dropped).
const MAX_BODY: usize = 1024 * 1024;
/// Requests served on one connection before it is closed.
const MAX_REQUESTS_PER_CONNECTION: usize = 1000;
/// Connections accepted over the server's life.
const MAX_CONNECTIONS: usize = 4096;
/// An idle keep-alive connection is closed after this.
const IDLE_LIMIT: Duration = Duration::from_secs(20);
/// Upper bound for "never answer".
const NEVER_LIMIT: Duration = Duration::from_secs(120);
/// Granularity at which sleeping threads look at the stop flag.
const TICK: Duration = Duration::from_millis(20);

/// A synthetic credential in the 2026 scannable shape: `prefix` + 40 `[A-Za-z0-9]` derived from
/// `seed` + the CRC-32 of the body as 8 lowercase hex digits. Never a real secret.
pub fn synthetic_secret(prefix: &str, seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let body: String = (0..40)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(ALPHABET[(state % ALPHABET.len() as u64) as usize])
        })
        .collect();
    format!("{prefix}{body}{:08x}", crc32fast::hash(body.as_bytes()))
}

/// The credential a request carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No credential header.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `X-Auth-Key` (+ `X-Auth-Email`, empty if absent).
    GlobalKey { key: String, email: String },
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, ...
    pub method: String,
    /// Path with query, e.g. `/client/v4/zones?per_page=50`.
    pub target: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// First value of a header (name is case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Which credential header was sent.
    pub fn auth(&self) -> Auth {
        if let Some(key) = self.header("x-auth-key") {
            return Auth::GlobalKey {
                key: key.to_string(),
                email: self.header("x-auth-email").unwrap_or("").to_string(),
            };
        }
        match self.header("authorization") {
            Some(v) => Auth::Bearer(v.strip_prefix("Bearer ").unwrap_or(v).to_string()),
            None => Auth::None,
        }
    }

    /// The secret from whichever credential header was sent.
    pub fn secret(&self) -> Option<String> {
        match self.auth() {
            Auth::None => None,
            Auth::Bearer(t) => Some(t),
            Auth::GlobalKey { key, .. } => Some(key),
        }
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A normal HTTP answer with `Content-Length`.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Keep the connection open and never answer (until the server is dropped).
    Never,
    /// Send the serialised inner reply one byte per second.
    Trickle(Box<Reply>),
    /// Wait, then send the inner reply (the request counts as in flight meanwhile).
    Delayed(Duration, Box<Reply>),
    /// A 200 with `len` bytes of JSON-ish filler; `declare_length: false` omits
    /// `Content-Length` and ends the body by closing the connection.
    Huge { len: usize, declare_length: bool },
    /// Close the connection without answering.
    Close,
}

fn envelope_ok(result: Value) -> Value {
    json!({"success": true, "errors": [], "messages": [], "result": result})
}

fn envelope_err(code: u64, message: &str, chain: Option<(u64, &str)>) -> Value {
    let mut err = json!({"code": code, "message": message});
    if let Some((c, m)) = chain {
        err["error_chain"] = json!([{"code": c, "message": m}]);
    }
    json!({"success": false, "errors": [err], "messages": [], "result": null})
}

impl Reply {
    /// Any status with a JSON body.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// Token verify success with `status` (`active`, `disabled`, `expired`).
    pub fn token(status: &str) -> Reply {
        Reply::json(
            200,
            envelope_ok(json!({"id": "0123456789abcdef0123456789abcdef", "status": status})),
        )
    }

    /// Token verify success with `status` and an `expires_on`.
    pub fn token_expiring(status: &str, expires_on: &str) -> Reply {
        Reply::json(
            200,
            envelope_ok(
                json!({"id": "0123456789abcdef0123456789abcdef", "status": status,
                               "expires_on": expires_on}),
            ),
        )
    }

    /// `401` + code 1000 "Invalid API Token".
    pub fn invalid_token() -> Reply {
        Reply::json(401, envelope_err(1000, "Invalid API Token", None))
    }

    /// `GET /user` success with a fake user object (fake PII that must never be echoed).
    pub fn user() -> Reply {
        Reply::json(
            200,
            envelope_ok(json!({"id": "7c5dae5552338874e5053f2534d2767a",
                "email": "owner.pii@example.com", "first_name": "PiiFirst",
                "last_name": "PiiLast", "telephone": "+1 555 0100"})),
        )
    }

    /// `403` + 9103 "Unknown X-Auth-Key or X-Auth-Email".
    pub fn unknown_key() -> Reply {
        Reply::json(
            403,
            envelope_err(9103, "Unknown X-Auth-Key or X-Auth-Email", None),
        )
    }

    /// `400` + 6003 with chain 6103 (the key's format was rejected).
    pub fn bad_key_format() -> Reply {
        Reply::json(
            400,
            envelope_err(
                6003,
                "Invalid request headers",
                Some((6103, "Invalid format for X-Auth-Key header")),
            ),
        )
    }

    /// `400` + 9106 (no credential header at all).
    pub fn missing_auth() -> Reply {
        Reply::json(
            400,
            envelope_err(
                9106,
                "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
                None,
            ),
        )
    }

    /// Any failure envelope with one error code.
    pub fn error(status: u16, code: u64) -> Reply {
        Reply::json(status, envelope_err(code, "error", None))
    }

    /// A list answer (`/accounts`, `/zones`) with these names and `result_info.total_count`.
    pub fn list(names: &[&str], total_count: Option<usize>) -> Reply {
        let items: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"id": format!("{i:032x}"), "name": n}))
            .collect();
        let mut body = envelope_ok(Value::Array(items));
        if let Some(total) = total_count {
            body["result_info"] =
                json!({"page": 1, "per_page": 50, "count": names.len(), "total_count": total});
        }
        Reply::json(200, body)
    }

    /// `429` with `Retry-After: secs` (or without the header for `None`).
    pub fn rate_limited(retry_after: Option<u64>) -> Reply {
        let body = envelope_err(
            971,
            "Please wait and consider throttling your request speed",
            None,
        );
        let mut reply = Reply::json(429, body);
        if let (Some(secs), Reply::Http { headers, .. }) = (retry_after, &mut reply) {
            headers.push(("Retry-After".into(), secs.to_string()));
        }
        reply
    }

    /// A bare `500` with a JSON failure envelope.
    pub fn server_error() -> Reply {
        Reply::json(500, envelope_err(10001, "Internal server error", None))
    }

    /// A `403` HTML challenge page, as a firewall in front of the API would answer.
    pub fn html_challenge() -> Reply {
        Reply::Http {
            status: 403,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<!DOCTYPE html><html><title>Just a moment...</title></html>".to_vec(),
        }
    }

    /// A `302` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::Http {
            status: 302,
            headers: vec![("Location".into(), location.to_string())],
            body: Vec::new(),
        }
    }

    /// 200 with a truncated, unparsable JSON body.
    pub fn malformed_json() -> Reply {
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"success": true, "result": {"status": "act"#.to_vec(),
        }
    }

    /// This reply after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        Reply::Delayed(delay, Box::new(self))
    }
}

/// Answers keyed by secret, plus path routes and a fallback.
///
/// Lookup order: a route for the exact path, then the secret's queue (each request takes
/// the next reply; the last one repeats), then the fallback. The default fallback mimics
/// Cloudflare for unknown credentials: 1000 for a token, 9103 for a key, 9106 with none.
#[derive(Default)]
pub struct Script {
    routes: Vec<(String, Reply)>,
    by_secret: HashMap<String, VecDeque<Reply>>,
    fallback: Option<Reply>,
}

impl Script {
    /// An empty script (everything falls back).
    pub fn new() -> Script {
        Script::default()
    }

    /// Always answer `reply` to requests carrying `secret`.
    pub fn secret(self, secret: &str, reply: Reply) -> Script {
        self.secret_sequence(secret, vec![reply])
    }

    /// Answer these replies in turn to requests carrying `secret`; the last one repeats.
    pub fn secret_sequence(mut self, secret: &str, replies: Vec<Reply>) -> Script {
        self.by_secret.insert(secret.to_string(), replies.into());
        self
    }

    /// Answer `reply` to any request whose path, without the query, is `path`
    /// (e.g. `/client/v4/zones`).
    pub fn route(mut self, path: &str, reply: Reply) -> Script {
        self.routes.push((path.to_string(), reply));
        self
    }

    /// Answer `reply` when nothing else matches.
    pub fn fallback(mut self, reply: Reply) -> Script {
        self.fallback = Some(reply);
        self
    }

    /// The reply for `req` (advances that secret's queue).
    pub fn answer(&mut self, req: &Request) -> Reply {
        if let Some((_, reply)) = self.routes.iter().find(|(path, _)| req.path() == path) {
            return reply.clone();
        }
        if let Some(queue) = req.secret().and_then(|s| self.by_secret.get_mut(&s)) {
            let next = if queue.len() > 1 {
                queue.pop_front()
            } else {
                queue.front().cloned()
            };
            if let Some(reply) = next {
                return reply;
            }
        }
        if let Some(reply) = &self.fallback {
            return reply.clone();
        }
        match req.auth() {
            Auth::Bearer(_) => Reply::invalid_token(),
            Auth::GlobalKey { .. } => Reply::unknown_key(),
            Auth::None => Reply::missing_auth(),
        }
    }
}

/// One API token in [`Tokens`].
#[derive(Clone, Debug)]
struct TokenEntry {
    id: String,
    /// `Some` for an account token.
    account: Option<String>,
    secret: String,
    /// Holds "API Tokens Write": may roll or delete tokens (itself included).
    can_edit: bool,
}

#[derive(Default)]
struct TokensState {
    tokens: Vec<TokenEntry>,
    /// Owner tokens: may roll or delete any token, are not themselves in `tokens`.
    owners: Vec<String>,
    /// Replies given to the next roll/delete requests before the model looks at them.
    write_replies: VecDeque<Reply>,
    rolls: u64,
}

/// A stateful model of Cloudflare API tokens for `keyflare respond` tests: token verify (user
/// and account), `GET`, roll (`PUT .../tokens/{id}/value`, answering the new value in
/// `result`) and `DELETE`, under `/user/tokens/...` and `/accounts/{account_id}/tokens/...`.
///
/// Statuses as the API gives them (shapes in the shared reference): an unknown, rolled or
/// deleted token is `401` + 1000; a token without the permission gets `403` + 9109; an id
/// that does not exist gets `404` + 7003. [`Tokens::queue_write_reply`] puts e.g. a `429`
/// with `Retry-After` in front of the next write. Use with [`FakeCloudflare::start`]:
/// `let t = Tokens::new(); let t2 = t.clone(); FakeCloudflare::start(move |r| t2.answer(r))`.
#[derive(Clone, Default)]
pub struct Tokens {
    state: Arc<Mutex<TokensState>>,
}

impl Tokens {
    /// An empty model.
    pub fn new() -> Tokens {
        Tokens::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TokensState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a user token.
    pub fn add_user(&self, secret: &str, id: &str, can_edit: bool) -> &Tokens {
        self.lock().tokens.push(TokenEntry {
            id: id.into(),
            account: None,
            secret: secret.into(),
            can_edit,
        });
        self
    }

    /// Adds an account token of `account`.
    pub fn add_account(&self, secret: &str, account: &str, id: &str, can_edit: bool) -> &Tokens {
        self.lock().tokens.push(TokenEntry {
            id: id.into(),
            account: Some(account.into()),
            secret: secret.into(),
            can_edit,
        });
        self
    }

    /// Adds an owner token, allowed to roll and delete every token.
    pub fn add_owner(&self, secret: &str) -> &Tokens {
        self.lock().owners.push(secret.into());
        self
    }

    /// Answers the next roll or delete with `reply` instead of acting.
    pub fn queue_write_reply(&self, reply: Reply) -> &Tokens {
        self.lock().write_replies.push_back(reply);
        self
    }

    /// The token's current secret (after a roll, the new value), or `None` once deleted.
    pub fn secret_of(&self, id: &str) -> Option<String> {
        self.lock()
            .tokens
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.secret.clone())
    }

    /// Rolls done so far.
    pub fn rolls(&self) -> u64 {
        self.lock().rolls
    }

    /// The reply to `req`.
    pub fn answer(&self, req: &Request) -> Reply {
        let path = req
            .path()
            .strip_prefix("/client/v4")
            .unwrap_or("")
            .to_string();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        // (account, token id or "verify", roll?)
        let (account, rest): (Option<String>, &[&str]) = match parts.as_slice() {
            ["user", "tokens", rest @ ..] => (None, rest),
            ["accounts", a, "tokens", rest @ ..] => (Some(a.to_string()), rest),
            _ => return Reply::error(404, 7003),
        };
        let secret = match req.auth() {
            Auth::Bearer(t) => t,
            Auth::GlobalKey { .. } => return Reply::unknown_key(),
            Auth::None => return Reply::missing_auth(),
        };
        let mut st = self.lock();
        let is_owner = st.owners.contains(&secret);
        let caller = st.tokens.iter().find(|t| t.secret == secret).cloned();
        match (req.method.as_str(), rest) {
            ("GET", ["verify"]) => match caller {
                Some(t) if t.account == account => {
                    Reply::json(200, envelope_ok(json!({"id": t.id, "status": "active"})))
                }
                _ => Reply::invalid_token(),
            },
            (method, [id, tail @ ..]) => {
                let id = id.to_string();
                let roll = tail == ["value"];
                let write = match (method, tail) {
                    ("PUT", ["value"]) | ("DELETE", []) => true,
                    ("GET", []) => false,
                    _ => return Reply::error(405, 10405),
                };
                if caller.is_none() && !is_owner {
                    return Reply::invalid_token();
                }
                if !is_owner && !caller.as_ref().is_some_and(|c| c.can_edit) {
                    return Reply::error(403, 9109);
                }
                if write {
                    if let Some(reply) = st.write_replies.pop_front() {
                        return reply;
                    }
                }
                let Some(pos) = st
                    .tokens
                    .iter()
                    .position(|t| t.id == id && t.account == account)
                else {
                    return Reply::error(404, 7003);
                };
                match (method, roll) {
                    ("GET", _) => Reply::json(
                        200,
                        envelope_ok(json!({"id": id, "name": "test token", "status": "active"})),
                    ),
                    ("PUT", true) => {
                        st.rolls += 1;
                        let prefix = if account.is_some() { "cfat_" } else { "cfut_" };
                        let fresh = synthetic_secret(prefix, 0x0051_1000 + st.rolls);
                        st.tokens[pos].secret = fresh.clone();
                        Reply::json(200, envelope_ok(Value::String(fresh)))
                    }
                    _ => {
                        st.tokens.remove(pos);
                        Reply::json(200, envelope_ok(json!({"id": id})))
                    }
                }
            }
            _ => Reply::error(404, 7003),
        }
    }
}

type Handler = Box<dyn Fn(&Request) -> Reply + Send + Sync>;

struct State {
    handler: Handler,
    tls: Arc<rustls::ServerConfig>,
    stop: AtomicBool,
    requests: Mutex<Vec<Request>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

/// The running fake API. Dropping it stops every thread it started.
pub struct FakeCloudflare {
    addr: SocketAddr,
    ca_file: tempfile::NamedTempFile,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeCloudflare {
    /// Starts a server answering every request with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeCloudflare {
        FakeCloudflare::start_with_cert(Cert::Good, handler)
    }

    /// Starts a server that presents `cert` and answers every request with `handler`.
    pub fn start_with_cert(
        cert: Cert,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> FakeCloudflare {
        let (tls, ca_pem) = make_tls(cert);
        let mut ca_file = tempfile::Builder::new()
            .prefix("fake-cloudflare-ca")
            .suffix(".pem")
            .tempfile()
            .expect("temp file for the test CA");
        ca_file
            .write_all(ca_pem.as_bytes())
            .expect("write the test CA");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            handler: Box::new(handler),
            tls,
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            connections: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let state = Arc::clone(&state);
            std::thread::spawn(move || accept_loop(&listener, &state))
        };
        FakeCloudflare {
            addr,
            ca_file,
            state,
            acceptor: Some(acceptor),
        }
    }

    /// Starts a server answering from `script`.
    pub fn scripted(script: Script) -> FakeCloudflare {
        FakeCloudflare::scripted_with_cert(Cert::Good, script)
    }

    /// Starts a server that presents `cert` and answers from `script`.
    pub fn scripted_with_cert(cert: Cert, script: Script) -> FakeCloudflare {
        let script = Mutex::new(script);
        FakeCloudflare::start_with_cert(cert, move |req| {
            script.lock().unwrap_or_else(|p| p.into_inner()).answer(req)
        })
    }

    /// `https://127.0.0.1:<port>/client/v4`, the value for `VerifyConfig::api_base`.
    pub fn api_base(&self) -> String {
        format!("https://{}/client/v4", self.addr)
    }

    /// The server's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM file of the test CA, the value for `VerifyConfig::ca_cert`.
    pub fn ca_cert_path(&self) -> &Path {
        self.ca_file.path()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Number of requests whose path (without query) is `path`.
    pub fn count_path(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path() == path).count()
    }

    /// The most requests that were being handled at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FakeCloudflare {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            // Wake the blocking accept so it sees the stop flag.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = acceptor.join();
        }
        let connections = std::mem::take(
            &mut *self
                .state
                .connections
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for c in connections {
            let _ = c.join();
        }
    }
}

/// A plain TCP listener that only notices whether anyone connected: the target of a redirect
/// that must not be followed.
pub struct Tripwire {
    listener: TcpListener,
}

impl Tripwire {
    /// Binds `127.0.0.1:0`.
    pub fn new() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        Tripwire { listener }
    }

    /// `http://127.0.0.1:<port>/path`.
    pub fn url(&self, path: &str) -> String {
        let addr = self.listener.local_addr().expect("local address");
        format!("http://{addr}{path}")
    }

    /// Whether a connection is waiting (i.e. someone followed the link).
    pub fn was_contacted(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

/// The certificate the server presents. Every one is signed by the test CA, so a client that
/// trusts that CA can only object to the name or the dates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cert {
    /// For `localhost` and `127.0.0.1`, valid now.
    #[default]
    Good,
    /// Valid now, but only for `example.invalid`: wrong for `127.0.0.1`.
    OtherHost,
    /// For `localhost` and `127.0.0.1`, but valid only in 2000.
    Expired,
}

/// A test CA and a leaf signed by it, as `cert` says.
fn make_tls(cert: Cert) -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "keyflare fake Cloudflare test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).expect("self-signed CA");

    let leaf_key = KeyPair::generate().expect("leaf key");
    let names = match cert {
        Cert::OtherHost => vec!["example.invalid".to_string()],
        Cert::Good | Cert::Expired => vec!["localhost".to_string(), "127.0.0.1".to_string()],
    };
    let mut leaf_params = CertificateParams::new(names.clone()).expect("leaf params");
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    if cert == Cert::Expired {
        leaf_params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        leaf_params.not_after = rcgen::date_time_ymd(2000, 12, 31);
    }
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf signed by the CA");

    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (Arc::new(config), ca.pem())
}

/// Blocking accept; `Drop` sets the stop flag and connects once to wake it.
fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    for _ in 0..MAX_CONNECTIONS {
        let accepted = listener.accept();
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let conn_state = Arc::clone(state);
        let handle = std::thread::spawn(move || serve_connection(stream, &conn_state));
        state
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }
}

type Tls = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// Sleeps `total` in ticks; returns false if the server is stopping.
fn nap(state: &State, total: Duration) -> bool {
    let end = Instant::now() + total;
    while Instant::now() < end {
        if state.stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(TICK.min(end.saturating_duration_since(Instant::now())));
    }
    !state.stop.load(Ordering::SeqCst)
}

fn serve_connection(stream: TcpStream, state: &State) {
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(Duration::from_millis(50))))
        .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(5))));
    let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&state.tls)) else {
        return;
    };
    if setup.is_err() {
        return;
    }
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut buffer: Vec<u8> = Vec::new();
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let Some(req) = read_request(&mut tls, &mut buffer, state) else {
            return;
        };
        state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(req.clone());
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let reply = (state.handler)(&req);
        let keep_going = send_reply(&mut tls, &reply, state);
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep_going {
            return;
        }
    }
}

/// Reads one request head (and drops its body). `None` on close, error, idle or stop.
fn read_request(tls: &mut Tls, buffer: &mut Vec<u8>, state: &State) -> Option<Request> {
    let idle_since = Instant::now();
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
        fill(tls, buffer, state, idle_since)?;
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body_len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    if body_len > MAX_BODY {
        return None;
    }
    while buffer.len() < body_len {
        fill(tls, buffer, state, Instant::now())?;
    }
    buffer.drain(..body_len);
    Some(Request {
        method,
        target,
        headers,
    })
}

/// Appends what the socket has; `None` on close, error, idle timeout or stop.
fn fill(tls: &mut Tls, buffer: &mut Vec<u8>, state: &State, since: Instant) -> Option<()> {
    let mut chunk = [0u8; 8192];
    loop {
        if state.stop.load(Ordering::SeqCst) || since.elapsed() > IDLE_LIMIT {
            return None;
        }
        match tls.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => {
                buffer.extend_from_slice(&chunk[..n]);
                return Some(());
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn serialise(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `reply`; returns whether the connection may serve another request.
fn send_reply(tls: &mut Tls, reply: &Reply, state: &State) -> bool {
    match reply {
        Reply::Http {
            status,
            headers,
            body,
        } => {
            let bytes = serialise(*status, headers, body);
            tls.write_all(&bytes).and_then(|()| tls.flush()).is_ok()
        }
        Reply::Never => {
            nap(state, NEVER_LIMIT);
            false
        }
        Reply::Close => false,
        Reply::Delayed(delay, inner) => nap(state, *delay) && send_reply(tls, inner, state),
        Reply::Trickle(inner) => {
            let bytes = match inner.as_ref() {
                Reply::Http {
                    status,
                    headers,
                    body,
                } => serialise(*status, headers, body),
                _ => return false,
            };
            for byte in bytes {
                if tls.write_all(&[byte]).and_then(|()| tls.flush()).is_err() {
                    return false;
                }
                if !nap(state, Duration::from_secs(1)) {
                    return false;
                }
            }
            true
        }
        Reply::Huge {
            len,
            declare_length,
        } => {
            let head = if *declare_length {
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            if tls.write_all(head.as_bytes()).is_err() {
                return false;
            }
            let chunk = vec![b' '; 16 * 1024];
            let mut left = *len;
            while left > 0 && !state.stop.load(Ordering::SeqCst) {
                let n = left.min(chunk.len());
                if tls.write_all(&chunk[..n]).is_err() {
                    return false;
                }
                left -= n;
            }
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
            false
        }
    }
}

//! `keyflare scan --verify` against hostile API servers: each must end in
//! `unknown` for every credential, within the request timeout, without the
//! secrets going anywhere but the configured API base.
//!
//! The cases run side by side (each with its own fake server and its own
//! keyflare process), so the whole file takes about as long as its slowest
//! case: a few seconds, most of it spent waiting on `--verify-timeout 2`.
//! assert_cmd's `.timeout()` is a hang guard, not a timing assertion. What
//! bounds a run is checked without a clock: the servers that never finish
//! must be cut off by the timeout the command line set ("timed out after
//! 2s", not the 15 s default), and the request count is capped, so a run
//! lasts at most that many requests times that timeout.

#[path = "common/fake_cloudflare.rs"]
mod fake_cloudflare;
mod support;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use fake_cloudflare::{synthetic_secret, Cert, FakeCloudflare, Reply, Tripwire};
use serde_json::Value;
use support::{assert_no_secret, keyflare};

const ACCOUNT_ID: &str = "0123456789abcdef0123456789abcdef";
/// Longer than any case can take; reaching it means keyflare hung.
const HANG_GUARD: Duration = Duration::from_secs(90);
/// Each credential kind that is verified: (rule id, secret).
struct Tree {
    dir: tempfile::TempDir,
    secrets: Vec<(&'static str, String)>,
}

/// A user token, an account token with its account id and a Global API Key
/// with its email: three requests' worth of verification.
fn tree(seed: u64) -> Tree {
    let user = synthetic_secret("cfut_", seed);
    let account = synthetic_secret("cfat_", seed + 1);
    let global = synthetic_secret("cfk_", seed + 2);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("deploy.sh"),
        format!(
            "export CLOUDFLARE_API_TOKEN={user}\nexport CLOUDFLARE_ACCOUNT_ID={ACCOUNT_ID}\n\
             export CF_ACCOUNT_TOKEN={account}\n"
        ),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("purge.cfg"),
        format!("cloudflare_email = ops@example.com\ncloudflare_key = {global}\n"),
    )
    .expect("write");
    Tree {
        dir,
        secrets: vec![
            ("kf.cloudflare.user-api-token", user),
            ("kf.cloudflare.account-api-token", account),
            ("kf.cloudflare.global-api-key", global),
        ],
    }
}

/// Where the verifier is pointed for one case.
enum Target {
    /// The fake API (whatever it answers or presents).
    Fake(FakeCloudflare),
    /// A TCP listener that never accepts: the TLS handshake gets no answer.
    Silent(TcpListener, FakeCloudflare),
    /// Nothing listens on 127.0.0.1:1.
    Closed(FakeCloudflare),
}

impl Target {
    fn api_base(&self) -> String {
        match self {
            Target::Fake(f) => f.api_base(),
            Target::Silent(l, _) => format!(
                "https://{}/client/v4",
                l.local_addr().expect("local address")
            ),
            Target::Closed(_) => "https://127.0.0.1:1/client/v4".to_string(),
        }
    }

    /// The test CA to trust (a fake's even where no fake answers).
    fn ca_cert(&self) -> &Path {
        match self {
            Target::Fake(f) | Target::Silent(_, f) | Target::Closed(f) => f.ca_cert_path(),
        }
    }
}

struct Outcome {
    case: &'static str,
    code: Option<i32>,
    elapsed: Duration,
    /// (rule id, status, detail) for each credential finding.
    verdicts: Vec<(String, String, String)>,
    requests: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(case: &'static str, target: &Target, tree: &Tree) -> Outcome {
    let started = Instant::now();
    let out = keyflare()
        .arg("scan")
        .arg(tree.dir.path())
        .args(["--format", "json", "--verify", "--verify-timeout", "2"])
        .args(["--api-base", &target.api_base(), "--ca-cert"])
        .arg(target.ca_cert())
        .timeout(HANG_GUARD)
        .output()
        .expect("run keyflare");
    let elapsed = started.elapsed();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let verdicts = v["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    (
                        f["rule_id"].as_str().unwrap_or("").to_string(),
                        f["verification"]["status"]
                            .as_str()
                            .unwrap_or("none")
                            .to_string(),
                        f["verification"]["detail"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let requests = match target {
        Target::Fake(f) => f.request_count(),
        Target::Silent(..) | Target::Closed(_) => 0,
    };
    if let Target::Fake(f) = target {
        for r in f.requests() {
            assert!(
                r.path().starts_with("/client/v4/"),
                "{case}: request outside the API base: {}",
                r.path()
            );
        }
    }
    Outcome {
        case,
        code: out.status.code(),
        elapsed,
        verdicts,
        requests,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn scripted(cert: Cert, reply: Reply) -> Target {
    Target::Fake(FakeCloudflare::start_with_cert(cert, move |_| {
        reply.clone()
    }))
}

#[test]
fn hostile_servers_give_unknown_in_bounded_time_and_keep_secrets_home() {
    let trap = Tripwire::new();
    let redirect_to = trap.url("/client/v4/user/tokens/verify");
    let cases: Vec<(&'static str, Target, &'static str)> = vec![
        (
            "never answers (after the request)",
            scripted(Cert::Good, Reply::Never),
            "timed out after 2s",
        ),
        (
            "never answers (TLS handshake)",
            Target::Silent(
                TcpListener::bind("127.0.0.1:0").expect("bind"),
                FakeCloudflare::start(|_| Reply::Close),
            ),
            "timed out after 2s",
        ),
        (
            "one byte a second",
            scripted(Cert::Good, Reply::Trickle(Box::new(Reply::token("active")))),
            "timed out after 2s",
        ),
        (
            "100 MB body, Content-Length",
            scripted(
                Cert::Good,
                Reply::Huge {
                    len: 100 << 20,
                    declare_length: true,
                },
            ),
            "larger than",
        ),
        (
            "100 MB body, until close",
            scripted(
                Cert::Good,
                Reply::Huge {
                    len: 100 << 20,
                    declare_length: false,
                },
            ),
            "larger than",
        ),
        (
            "certificate for another host",
            scripted(Cert::OtherHost, Reply::token("active")),
            "certificate",
        ),
        (
            "expired certificate",
            scripted(Cert::Expired, Reply::token("active")),
            "certificate",
        ),
        (
            "redirect to http://",
            scripted(Cert::Good, Reply::redirect(&redirect_to)),
            "redirect",
        ),
        (
            "429 flood, Retry-After: 1",
            scripted(Cert::Good, Reply::rate_limited(Some(1))),
            "rate limited",
        ),
        (
            "429 flood, Retry-After: 3600",
            scripted(Cert::Good, Reply::rate_limited(Some(3600))),
            "rate limited",
        ),
        (
            "closed port",
            Target::Closed(FakeCloudflare::start(|_| Reply::Close)),
            "connection failed",
        ),
    ];
    let outcomes: Vec<(Outcome, Vec<String>, &'static str)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, (case, target, needle))| {
                s.spawn(move || {
                    let tree = tree(1000 + 10 * i as u64);
                    let outcome = run(case, target, &tree);
                    let secrets = tree.secrets.iter().map(|(_, s)| s.clone()).collect();
                    (outcome, secrets, *needle)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("case thread"))
            .collect()
    });

    println!(
        "{:<36} {:>4} {:>8} {:>8}  verdicts",
        "case", "exit", "time", "requests"
    );
    for (o, _, _) in &outcomes {
        let verdicts: Vec<String> = o
            .verdicts
            .iter()
            .map(|(rule, status, detail)| {
                format!(
                    "{}={status} ({detail})",
                    rule.trim_start_matches("kf.cloudflare.")
                )
            })
            .collect();
        println!(
            "{:<36} {:>4} {:>7.1}s {:>8}  {}",
            o.case,
            o.code.map_or("-".into(), |c| c.to_string()),
            o.elapsed.as_secs_f64(),
            o.requests,
            verdicts.join("; ")
        );
    }

    for (o, secrets, needle) in &outcomes {
        let case = o.case;
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.code, Some(1), "{case}: exit code; stderr: {stderr}");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        assert_eq!(o.verdicts.len(), 3, "{case}: one finding per credential");
        for (rule, status, detail) in &o.verdicts {
            assert_eq!(status, "unknown", "{case}: {rule}: {detail}");
            assert!(
                detail.contains(needle),
                "{case}: {rule}: {detail:?} lacks {needle:?}"
            );
        }
        assert_no_secret(&o.stdout, secrets, &format!("{case}: stdout"));
        assert_no_secret(&o.stderr, secrets, &format!("{case}: stderr"));
        // At most one request per secret, plus the retries a 429 allows (3).
        assert!(o.requests <= 3 * 4, "{case}: {} requests", o.requests);
        if needle == &"certificate" {
            assert_eq!(o.requests, 0, "{case}: a request went out over bad TLS");
        }
    }
    assert!(
        !trap.was_contacted(),
        "the redirect target (plain http) was contacted"
    );
}

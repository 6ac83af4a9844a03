//! `keyflare scan --verify` end to end against the fake Cloudflare API.

#[path = "common/fake_cloudflare.rs"]
mod fake_cloudflare;
mod support;

use fake_cloudflare::{synthetic_secret, FakeCloudflare, Reply, Script};
use serde_json::Value;
use support::{assert_no_secret, keyflare};

fn scan_verify(
    server: &FakeCloudflare,
    dir: &std::path::Path,
    extra: &[&str],
) -> (Value, i32, Vec<u8>) {
    let out = keyflare()
        .arg("scan")
        .arg(dir)
        .args(["--verify", "--api-base", &server.api_base(), "--ca-cert"])
        .arg(server.ca_cert_path())
        .args(extra)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    let v: Value = if extra.contains(&"sarif") || extra.contains(&"json") {
        serde_json::from_slice(&out.stdout).expect("json")
    } else {
        Value::Null
    };
    (v, out.status.code().unwrap_or(-1), out.stderr)
}

#[test]
fn one_live_secret_in_ten_files_is_one_request_and_leads_the_report() {
    let live = synthetic_secret("cfut_", 1);
    let dead = synthetic_secret("cfut_", 2);
    let server = FakeCloudflare::scripted(
        Script::new()
            .secret(&live, Reply::token("active"))
            .secret(&dead, Reply::invalid_token()),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    for i in 0..10 {
        std::fs::write(
            tmp.path().join(format!("f{i}.env")),
            format!("CLOUDFLARE_API_TOKEN={live}\n"),
        )
        .expect("write");
    }
    std::fs::write(tmp.path().join("old.txt"), format!("token: {dead}\n")).expect("write");
    let (v, code, stderr) = scan_verify(&server, tmp.path(), &["--format", "json"]);
    assert_eq!(code, 1);
    assert_eq!(
        server.request_count(),
        2,
        "each distinct secret is sent once"
    );
    let findings = v["findings"].as_array().expect("findings");
    let statuses: Vec<&str> = findings
        .iter()
        .filter(|f| f["rule_id"] == "kf.cloudflare.user-api-token")
        .map(|f| f["verification"]["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "active").count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == "invalid").count(), 1);
    assert_no_secret(
        &serde_json::to_vec(&v).expect("ser"),
        &[live.clone(), dead.clone()],
        "json",
    );
    assert_no_secret(&stderr, &[live.clone(), dead.clone()], "stderr");

    // --fail-on active: the live token fails the run; without it, only the dead one passes.
    let (_, code, _) = scan_verify(
        &server,
        tmp.path(),
        &["--format", "json", "--fail-on", "active"],
    );
    assert_eq!(code, 1);
    let only_dead = tempfile::tempdir().expect("tmp");
    std::fs::write(only_dead.path().join("old.txt"), format!("token: {dead}\n")).expect("write");
    let (_, code, _) = scan_verify(
        &server,
        only_dead.path(),
        &["--format", "json", "--fail-on", "active"],
    );
    assert_eq!(code, 0);

    // Text report: the live credential comes first, with its ten places.
    let out = keyflare()
        .arg("scan")
        .arg(tmp.path())
        .args(["--verify", "--api-base", &server.api_base(), "--ca-cert"])
        .arg(server.ca_cert_path())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.split("\n\n").next().unwrap_or("");
    assert!(first.contains("status: ACTIVE"), "{text}");
    assert!(first.contains("found in 10 places"), "{text}");

    // SARIF: live ones are errors and carry the verification in properties.
    let (sarif, _, _) = scan_verify(&server, tmp.path(), &["--format", "sarif"]);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let active: Vec<&Value> = results
        .iter()
        .filter(|r| r["properties"]["verification"]["status"] == "active")
        .collect();
    assert_eq!(active.len(), 10);
    assert!(active.iter().all(|r| r["level"] == "error"));
}

#[test]
fn global_key_uses_the_email_beside_it_and_origin_ca_is_not_sent() {
    let key = synthetic_secret("cfk_", 3);
    let server = FakeCloudflare::scripted(Script::new().secret(&key, Reply::user()));
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("purge.sh"),
        format!("curl -H 'X-Auth-Email: ops@example.com' -H 'X-Auth-Key: {key}' https://api.cloudflare.com/client/v4/zones\n"),
    )
    .expect("write");
    let origin = format!("v1.0-{}-{}", "ab12".repeat(6), "cd34".repeat(36) + "ef");
    std::fs::write(tmp.path().join("origin.txt"), format!("key: {origin}\n")).expect("write");
    let (v, code, _) = scan_verify(&server, tmp.path(), &["--format", "json"]);
    assert_eq!(code, 1);
    let by_rule = |id: &str| {
        v["findings"]
            .as_array()
            .expect("f")
            .iter()
            .find(|f| f["rule_id"] == id)
            .cloned()
            .expect(id)
    };
    assert_eq!(
        by_rule("kf.cloudflare.global-api-key")["verification"]["status"],
        "active"
    );
    let ca = by_rule("kf.cloudflare.origin-ca-key");
    assert_eq!(ca["verification"]["status"], "unknown");
    assert!(ca["verification"]["detail"]
        .as_str()
        .unwrap_or("")
        .contains("2026-09-30"));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("x-auth-email"), Some("ops@example.com"));
}

#[test]
fn plain_http_api_base_is_refused_before_anything_is_sent() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("a.env"),
        format!("CLOUDFLARE_API_TOKEN={}\n", synthetic_secret("cfut_", 4)),
    )
    .expect("write");
    let out = keyflare()
        .arg("scan")
        .arg(tmp.path())
        .args(["--verify", "--api-base", "http://127.0.0.1:9/client/v4"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://"));
    keyflare()
        .arg("scan")
        .arg(tmp.path())
        .args(["--fail-on", "active"])
        .assert()
        .code(2);
    keyflare()
        .arg("scan")
        .arg(tmp.path())
        .arg("--blast-radius")
        .assert()
        .code(2);
}

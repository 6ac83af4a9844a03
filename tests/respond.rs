//! `keyflare respond` end to end against the fake Cloudflare's token model (`Tokens`): plan
//! by default, act only when approved, the new value only in its sink, the owner token only
//! from the environment, per-credential failures, idempotence.

#[path = "common/fake_cloudflare.rs"]
mod fake_cloudflare;
mod support;

use std::path::{Path, PathBuf};

use fake_cloudflare::{synthetic_secret, FakeCloudflare, Reply, Tokens};
use support::keyflare;

const ID: &str = "0123456789abcdef0123456789abcdef";
const ACCOUNT: &str = "fedcba9876543210fedcba9876543210";
const OWNER_VAR: &str = "KF_TEST_OWNER_TOKEN";

/// A fake API serving `tokens`.
fn serve(tokens: &Tokens) -> FakeCloudflare {
    let t = tokens.clone();
    FakeCloudflare::start(move |req| t.answer(req))
}

/// Writes `files` under `dir/src` and scans them into `dir/report.json` (with secrets).
fn report_for(dir: &Path, files: &[(&str, String)], redact: bool) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    for (name, text) in files {
        std::fs::write(src.join(name), text).expect("write");
    }
    let report = dir.join("report.json");
    let mut cmd = keyflare();
    cmd.arg("scan")
        .arg(&src)
        .args(["-f", "json", "-o"])
        .arg(&report);
    if !redact {
        cmd.arg("--no-redact");
    }
    let out = cmd.output().expect("scan");
    assert_eq!(out.status.code(), Some(1), "the scan finds the tokens");
    report
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    record: String,
}

/// `keyflare respond REPORT` against `server`, CI unset unless `env` sets it, the record in
/// `dir/record.json`.
fn respond(
    server: &FakeCloudflare,
    dir: &Path,
    report: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let record = dir.join("record.json");
    let mut cmd = keyflare();
    cmd.current_dir(dir)
        .env_remove("CI")
        .env_remove(OWNER_VAR)
        .arg("respond")
        .arg(report)
        .args(["--api-base", &server.api_base(), "--ca-cert"])
        .arg(server.ca_cert_path())
        .arg("--record")
        .arg(&record)
        .args(extra)
        .timeout(std::time::Duration::from_secs(120));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run respond");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        record: std::fs::read_to_string(&record).unwrap_or_default(),
    }
}

fn writes(server: &FakeCloudflare) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect()
}

#[test]
fn in_ci_without_yes_it_only_plans() {
    let leaked = synthetic_secret("cfut_", 2301);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, true);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    let run = respond(&server, tmp.path(), &report, &[], &[("CI", "true")]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let expected = format!("DELETE /user/tokens/{ID} as the leaked token itself");
    assert!(run.stdout.contains(&expected), "{}", run.stdout);
    assert!(run.stdout.contains("CI is set and --yes was not given"));
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    assert_eq!(
        server.request_count(),
        1,
        "planning costs one verify request per secret"
    );
    assert_eq!(tokens.secret_of(ID).as_deref(), Some(leaked.as_str()));
    assert!(!run.stdout.contains(&leaked) && !run.stderr.contains(&leaked));
    assert!(run.record.is_empty(), "nothing done, nothing recorded");

    // No terminal to ask on and no --yes: the same, outside CI too.
    let run = respond(&server, tmp.path(), &report, &[], &[]);
    assert!(run.stdout.contains("Planned only"), "{}", run.stdout);
    assert!(writes(&server).is_empty());

    // With --yes in CI it acts.
    let run = respond(&server, tmp.path(), &report, &["--yes"], &[("CI", "true")]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(
        writes(&server),
        vec![format!("DELETE /client/v4/user/tokens/{ID}")]
    );
    assert_eq!(
        server.request_count(),
        4,
        "three runs: three verifies, one delete"
    );
    assert_eq!(tokens.secret_of(ID), None);
}

#[test]
fn a_rolled_value_goes_only_to_the_private_file_and_a_second_run_does_nothing() {
    let leaked = synthetic_secret("cfut_", 2302);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, true);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[("deploy.env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    let new_file = tmp.path().join("new-token");
    let new_arg = new_file.to_string_lossy().into_owned();
    let run = respond(
        &server,
        tmp.path(),
        &report,
        &["--yes", "--new-value-file", &new_arg],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let fresh = tokens.secret_of(ID).expect("still there, rolled");
    assert_ne!(fresh, leaked);
    assert_eq!(tokens.rolls(), 1);
    assert!(run.stdout.contains(&format!("PUT /user/tokens/{ID}/value")));
    assert!(run.stdout.contains("ROLLED"), "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(&new_file).expect("new value file"),
        format!("{fresh}\n")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&new_file)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("record", &run.record),
    ] {
        support::assert_no_secret(text.as_bytes(), &[fresh.clone(), leaked.clone()], what);
    }
    let record: serde_json::Value = serde_json::from_str(&run.record).expect("record json");
    let entry = &record["entries"][0];
    assert_eq!(entry["result"], "rolled");
    assert_eq!(entry["action"], "roll");
    assert_eq!(entry["call"], format!("PUT /user/tokens/{ID}/value"));
    assert!(entry["fingerprint"].as_str().is_some_and(|f| f.len() == 32));

    // The audit report shows it.
    let out = keyflare()
        .arg("audit")
        .arg(tmp.path().join("src"))
        .args(["-f", "markdown", "--responses"])
        .arg(tmp.path().join("record.json"))
        .output()
        .expect("audit");
    let md = String::from_utf8_lossy(&out.stdout);
    let at = entry["time"].as_str().expect("time");
    assert!(md.contains(&format!("rolled at {at}")), "{md}");

    // Twice: the old value is dead now, so nothing is rolled again and the file stays.
    let run = respond(
        &server,
        tmp.path(),
        &report,
        &["--yes", "--new-value-file", &new_arg],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("already inactive"), "{}", run.stdout);
    assert_eq!(tokens.rolls(), 1);
    assert_eq!(tokens.secret_of(ID).as_deref(), Some(fresh.as_str()));
    assert_eq!(
        std::fs::read_to_string(&new_file).expect("file"),
        format!("{fresh}\n")
    );
    // The first run's entry is kept for `audit --responses`.
    assert!(run.record.contains("\"rolled\""), "{}", run.record);
}

#[test]
fn an_existing_file_or_symlink_stops_the_roll_before_it_is_sent() {
    let leaked = synthetic_secret("cfut_", 2303);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, true);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    let existing = tmp.path().join("taken");
    std::fs::write(&existing, "keep me").expect("write");
    let run = respond(
        &server,
        tmp.path(),
        &report,
        &["--yes", "--new-value-file", &existing.to_string_lossy()],
        &[],
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("NOT-SENT"), "{}", run.stdout);
    assert!(writes(&server).is_empty());
    assert_eq!(std::fs::read_to_string(&existing).expect("kept"), "keep me");
    #[cfg(unix)]
    {
        let link = tmp.path().join("link");
        let target = tmp.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let run = respond(
            &server,
            tmp.path(),
            &report,
            &["--yes", "--new-value-file", &link.to_string_lossy()],
            &[],
        );
        assert!(run.stdout.contains("NOT-SENT"), "{}", run.stdout);
        assert!(!target.exists());
        assert!(writes(&server).is_empty());
    }
}

#[test]
fn the_owner_token_is_used_after_a_403_and_never_shown_nor_passed_on() {
    let leaked = synthetic_secret("cfut_", 2304);
    let owner = synthetic_secret("cfut_", 2305);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, false).add_owner(&owner);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    // The new value goes to a command: it must get neither the owner token in its argv
    // nor the owner's variable in its environment.
    let seen = tmp.path().join("seen");
    let script = format!(
        "cat > '{0}/value'; env > '{0}/env'; printf '%s\\n' \"$0\" \"$@\" > '{0}/argv'",
        seen.display()
    );
    std::fs::create_dir_all(&seen).expect("mkdir");
    let run = respond(
        &server,
        tmp.path(),
        &report,
        &[
            "--yes",
            "--owner-token-env",
            OWNER_VAR,
            "--",
            "sh",
            "-c",
            &script,
            "new-value-sink",
        ],
        &[(OWNER_VAR, &owner)],
    );
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "as the leaked token itself, then if refused owner token from ${OWNER_VAR}"
        )),
        "{}",
        run.stdout
    );
    let puts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.secret())
        .collect();
    assert_eq!(
        puts,
        vec![Some(leaked.clone()), Some(owner.clone())],
        "403, then the owner"
    );
    let fresh = tokens.secret_of(ID).expect("rolled");
    let read = |f: &str| std::fs::read_to_string(seen.join(f)).expect("sink output");
    assert_eq!(read("value"), format!("{fresh}\n"));
    assert!(
        !read("argv").contains(&owner),
        "owner token in the command's argv"
    );
    assert!(
        !read("env").contains(&owner),
        "owner token in the command's environment"
    );
    assert!(!read("env").contains(OWNER_VAR));
    for (what, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("record", &run.record),
    ] {
        support::assert_no_secret(text.as_bytes(), &[owner.clone(), fresh.clone()], what);
    }
    assert!(run
        .record
        .contains(&format!("owner token from ${OWNER_VAR}")));
}

#[test]
fn owner_token_errors_name_the_variable_never_the_value() {
    let leaked = synthetic_secret("cfut_", 2306);
    let bogus_owner = synthetic_secret("cfut_", 2307);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, false);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    // A value no token has: refused before anything is sent.
    let odd = format!("{bogus_owner} \u{1b}[2J");
    let run = respond(
        &server,
        tmp.path(),
        &report,
        &["--yes", "--owner-token-env", OWNER_VAR],
        &[(OWNER_VAR, &odd)],
    );
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains(OWNER_VAR), "{}", run.stderr);
    assert!(!run.stderr.contains(&bogus_owner) && !run.stdout.contains(&bogus_owner));
    assert_eq!(server.request_count(), 0);
    // Unset: the same kind of error.
    let run = respond(
        &server,
        tmp.path(),
        &report,
        &["--yes", "--owner-token-env", OWNER_VAR],
        &[],
    );
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("is not set or empty"), "{}", run.stderr);
    // An owner token Cloudflare refuses: a per-credential failure that does not quote it.
    let run = respond(
        &server,
        tmp.path(),
        &report,
        &["--yes", "--owner-token-env", OWNER_VAR],
        &[(OWNER_VAR, &bogus_owner)],
    );
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("was refused"), "{}", run.stdout);
    assert!(run.stdout.contains("by hand: dashboard"), "{}", run.stdout);
    for text in [&run.stdout, &run.stderr, &run.record] {
        assert!(!text.contains(&bogus_owner));
    }
    assert_eq!(tokens.secret_of(ID).as_deref(), Some(leaked.as_str()));
    // There is no flag that takes the token itself.
    let out = keyflare()
        .args(["respond", "r.json", "--owner-token", "x"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_permission_or_owner_it_falls_back_to_manual_steps() {
    let leaked = synthetic_secret("cfut_", 2308);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, false);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    let run = respond(&server, tmp.path(), &report, &["--yes"], &[]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("FORBIDDEN"), "{}", run.stdout);
    assert!(
        run.stdout.contains("API error 9109 (HTTP 403)"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("by hand: dashboard: My Profile > API Tokens"));
    assert_eq!(tokens.secret_of(ID).as_deref(), Some(leaked.as_str()));
}

#[test]
fn a_429_is_retried_after_retry_after_and_a_dropped_connection_is_unknown() {
    let leaked = synthetic_secret("cfut_", 2309);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, true);
    tokens.queue_write_reply(Reply::rate_limited(Some(0)));
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    let run = respond(&server, tmp.path(), &report, &["--yes"], &[]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(writes(&server).len(), 2, "the 429, then the retry");
    assert_eq!(tokens.secret_of(ID), None);

    // A connection dropped without an answer: unknown, reported, nothing claimed.
    let other = synthetic_secret("cfut_", 2310);
    let tokens = Tokens::new();
    tokens.add_user(&other, ID, true);
    tokens.queue_write_reply(Reply::Close);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={other}\n"))],
        false,
    );
    let run = respond(&server, tmp.path(), &report, &["--yes"], &[]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("UNKNOWN"), "{}", run.stdout);
    assert!(run.stdout.contains("state unknown"), "{}", run.stdout);
    assert!(run.record.contains("\"unknown\""), "{}", run.record);
}

#[test]
fn account_tokens_use_the_account_paths_and_other_kinds_get_manual_steps() {
    let account_token = synthetic_secret("cfat_", 2311);
    let global = synthetic_secret("cfk_", 2312);
    let tokens = Tokens::new();
    tokens.add_account(&account_token, ACCOUNT, ID, true);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    let report = report_for(
        tmp.path(),
        &[
            (
                ".env",
                format!("CLOUDFLARE_ACCOUNT_ID={ACCOUNT}\nCLOUDFLARE_API_TOKEN={account_token}\n"),
            ),
            ("global.env", format!("CLOUDFLARE_API_KEY={global}\n")),
        ],
        false,
    );
    let run = respond(&server, tmp.path(), &report, &["--yes"], &[]);
    assert!(
        run.stdout
            .contains(&format!("DELETE /accounts/{ACCOUNT}/tokens/{ID}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Global API Key > Change"),
        "{}",
        run.stdout
    );
    assert_eq!(tokens.secret_of(ID), None, "deleted");
    assert_eq!(run.code, Some(1), "the Global API Key still needs a person");
    assert!(!run.stdout.contains(&global) && !run.stdout.contains(&account_token));
}

#[test]
fn hostile_or_redacted_reports_act_on_nothing() {
    let leaked = synthetic_secret("cfut_", 2313);
    let tokens = Tokens::new();
    tokens.add_user(&leaked, ID, true);
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    // Redacted (the default): no secret, so nothing to verify or act on.
    let report = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        true,
    );
    let run = respond(&server, tmp.path(), &report, &["--yes"], &[]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("NO-SECRET"), "{}", run.stdout);
    assert_eq!(server.request_count(), 0);
    // Hostile: a finding with a forged rule among good ones refuses the whole report.
    let good = report_for(
        tmp.path(),
        &[(".env", format!("CLOUDFLARE_API_TOKEN={leaked}\n"))],
        false,
    );
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&good).expect("read")).expect("json");
    let mut forged = v["findings"][0].clone();
    forged["rule_id"] = "kf.cloudflare.evil".into();
    v["findings"].as_array_mut().expect("array").push(forged);
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, v.to_string()).expect("write");
    let run = respond(&server, tmp.path(), &bad, &["--yes"], &[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("unknown rule id"), "{}", run.stderr);
    assert_eq!(server.request_count(), 0);
    std::fs::write(&bad, b"{\"tool\": \"keyflare\", \"findings\": [").expect("write");
    let run = respond(&server, tmp.path(), &bad, &["--yes"], &[]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("not a keyflare JSON report"),
        "{}",
        run.stderr
    );
    assert_eq!(server.request_count(), 0);
    assert_eq!(tokens.secret_of(ID).as_deref(), Some(leaked.as_str()));
}

#[test]
fn verify_reports_record_the_token_and_account_ids() {
    let user = synthetic_secret("cfut_", 2314);
    let account_token = synthetic_secret("cfat_", 2315);
    let tokens = Tokens::new();
    tokens.add_user(&user, ID, false).add_account(
        &account_token,
        ACCOUNT,
        "abcdef0123456789abcdef0123456789",
        false,
    );
    let server = serve(&tokens);
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join(".env"),
        format!("CLOUDFLARE_API_TOKEN={user}\nCLOUDFLARE_ACCOUNT_ID={ACCOUNT}\nCF_TOKEN={account_token}\n"),
    )
    .expect("write");
    let out = keyflare()
        .arg("scan")
        .arg(tmp.path())
        .args([
            "-f",
            "json",
            "--verify",
            "--api-base",
            &server.api_base(),
            "--ca-cert",
        ])
        .arg(server.ca_cert_path())
        .output()
        .expect("scan");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let by_rule = |rule: &str| {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["rule_id"] == rule)
            .map(|f| f["verification"].clone())
            .expect("finding")
    };
    let u = by_rule("kf.cloudflare.user-api-token");
    assert_eq!(u["status"], "active");
    assert_eq!(u["token_id"], ID);
    assert!(u.get("account_id").is_none());
    let a = by_rule("kf.cloudflare.account-api-token");
    assert_eq!(a["status"], "active", "{a}");
    assert_eq!(a["token_id"], "abcdef0123456789abcdef0123456789");
    assert_eq!(a["account_id"], ACCOUNT);
}

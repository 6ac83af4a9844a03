//! Hygiene notes on code shaped like real repositories: they are notes, not
//! credentials. Each case is a short, self-written excerpt shaped like one
//! seen in a public repository's history (an app reading the Global API Key
//! from the environment, a vendored SDK, Wrangler's `.dev.vars` full of
//! dummy values, a `.env` with one real-looking secret among dummies), and
//! checks the exit code, the counts and the words of every report format.

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::keyflare;

/// A Go client that authenticates with the Global API Key read from the
/// environment: a note (use a scoped token), never a credential.
const GO_ENV_KEY: &str = r#"package main

import (
	"net/http"
	"os"
)

func purge(zone string) (*http.Response, error) {
	req, err := http.NewRequest("POST", "https://api.cloudflare.com/client/v4/zones/"+zone+"/purge_cache", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Email", os.Getenv("CF_API_EMAIL"))
	req.Header.Set("X-Auth-Key", os.Getenv("CF_API_KEY"))
	return http.DefaultClient.Do(req)
}
"#;

/// An SDK implementing the header (a vendored copy of a Cloudflare client).
const SDK_AUTH: &str = r#"package cloudflare

func (api *API) headers() http.Header {
	h := make(http.Header)
	if api.authType&AuthKeyEmail != 0 {
		h.Set("X-Auth-Key", api.APIKey)
		h.Set("X-Auth-Email", api.APIEmail)
	}
	return h
}
"#;

/// A synthetic user API token of this file's own ([`support::user_token`]).
fn token(seed: u32) -> String {
    support::user_token(seed, 977)
}

/// 40 lines of the dummy values a Workers project commits in `.dev.vars`.
fn dummy_dev_vars() -> String {
    let shapes = [
        "development",
        "my-dev-var-value",
        "true",
        "8787",
        "http://localhost:8787",
        "my-dev-kv",
        "changeme",
        "<your-value-here>",
        "my-PRODUCTION-dev-var-value",
        "Staging",
    ];
    (0..40)
        .map(|i| format!("MY_VAR_{i} = \"{}\"\n", shapes[i % shapes.len()]))
        .collect()
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn scan(dir: &Path, args: &[&str]) -> Output {
    keyflare()
        .arg("scan")
        .arg(dir)
        .args(args)
        .output()
        .expect("run keyflare")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(dir: &Path, args: &[&str]) -> (Value, i32) {
    let out = scan(dir, &[&["--format", "json"], args].concat());
    let v = serde_json::from_slice(&out.stdout).expect("json report");
    (v, out.status.code().unwrap_or(-1))
}

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn global_key_from_the_environment_is_a_note_that_does_not_fail() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "cmd/purge/main.go", GO_ENV_KEY);

    let out = scan(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "a note alone must not fail");
    let text = stdout(&out);
    assert!(
        text.contains("note: Global API Key authentication in code"),
        "{text}"
    );
    assert!(text.contains("    header: X-Auth-Key\n"), "{text}");
    assert!(!text.contains("secret: X-Auth-Key"), "{text}");
    assert!(
        text.contains("1 finding (1 low) in 1 file: no credentials, 1 note;"),
        "{text}"
    );
    assert!(!text.contains("1 credential"), "{text}");

    let md = stdout(&scan(tmp.path(), &["--format", "markdown"]));
    assert!(md.contains("No Cloudflare credentials found"), "{md}");
    assert!(md.contains("1 note"), "{md}");
    assert!(md.contains("### Notes"), "{md}");
    assert!(md.contains("header: `X-Auth-Key`"), "{md}");
    assert!(
        !md.contains("What to do next"),
        "no rotation plan for a note: {md}"
    );

    let gh = stdout(&scan(tmp.path(), &["--format", "github"]));
    assert!(gh.starts_with("::notice file=cmd/purge/main.go,"), "{gh}");
    assert!(gh.contains("(note; header: X-Auth-Key)"), "{gh}");

    let (v, code) = json(tmp.path(), &[]);
    assert_eq!(code, 0);
    let fs = findings(&v);
    assert_eq!(fs.len(), 1, "{v}");
    assert_eq!(fs[0]["class"], "note");
    assert_eq!(fs[0]["rule_id"], "kf.cloudflare.hygiene.global-key-auth");
    assert_eq!(v["summary"]["credentials"], 0);
    assert_eq!(v["summary"]["notes"], 1);

    let sarif: Value =
        serde_json::from_slice(&scan(tmp.path(), &["--format", "sarif"]).stdout).expect("sarif");
    let r = &sarif["runs"][0]["results"][0];
    assert_eq!(r["level"], "note");
    assert_eq!(r["properties"]["class"], "note");
    let msg = r["message"]["text"].as_str().unwrap_or("");
    assert!(msg.contains("(note): header X-Auth-Key"), "{msg}");
    assert!(!msg.contains("found:"), "{msg}");
}

#[test]
fn fail_on_can_include_notes() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "cmd/purge/main.go", GO_ENV_KEY);
    for (args, code) in [
        (&["--fail-on", "any"][..], 0),
        (&["--fail-on", "notes"][..], 1),
        (&["--fail-on", "any,notes"][..], 1),
        (&["--fail-on", "none,notes"][..], 1),
        (&["--fail-on", "all"][..], 1),
        (&["--fail-on", "examples"][..], 0),
        (&["--fail-on", "none"][..], 0),
    ] {
        assert_eq!(scan(tmp.path(), args).status.code(), Some(code), "{args:?}");
    }
    // Usage errors: two credential levels, an unknown word.
    for bad in ["any,none", "sometimes"] {
        let out = scan(tmp.path(), &["--fail-on", bad]);
        assert_eq!(out.status.code(), Some(2), "--fail-on {bad}");
    }
    // The configuration key takes the same words; the flag wins over it.
    write(tmp.path(), "keyflare.toml", "fail_on = \"any,notes\"\n");
    assert_eq!(scan(tmp.path(), &[]).status.code(), Some(1));
    assert_eq!(
        scan(tmp.path(), &["--fail-on", "any"]).status.code(),
        Some(0)
    );
    write(tmp.path(), "keyflare.toml", "fail_on = \"notes,later\"\n");
    let out = scan(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fail_on"));
}

#[test]
fn a_credential_still_fails_next_to_notes_and_counts_apart() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "cmd/purge/main.go", GO_ENV_KEY);
    write(
        tmp.path(),
        "deploy/ci.sh",
        &format!("export CLOUDFLARE_API_TOKEN={}\n", token(1)),
    );
    let out = scan(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("2 findings (1 high, 1 low) in 2 files: 1 credential, 1 note;"),
        "{text}"
    );
    // The credential comes first.
    let cred = text
        .find("Cloudflare user API token")
        .expect("credential block");
    let note = text.find("note: Global API Key").expect("note block");
    assert!(cred < note, "{text}");
    let md = stdout(&scan(tmp.path(), &["--format", "markdown"]));
    assert!(
        md.contains("**1 credential** in 1 finding (1 note: see below)"),
        "{md}"
    );
}

#[test]
fn vendored_code_gives_no_notes_but_its_credentials_stay() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    write(
        d,
        "vendor/github.com/cloudflare/cloudflare-go/cloudflare.go",
        SDK_AUTH,
    );
    write(
        d,
        "web/node_modules/cf-client/index.js",
        "fetch(u, {headers: {'X-Auth-Key': key}})\n",
    );
    write(
        d,
        "third_party/cf/client.py",
        "headers = {\"X-Auth-Key\": api_key}\n",
    );
    write(
        d,
        "third-party/cf/client.py",
        "headers = {\"X-Auth-Key\": api_key}\n",
    );
    write(
        d,
        ".gitmodules",
        "[submodule \"cfsdk\"]\n\tpath = libs/cfsdk\n\turl = https://example.com/cfsdk.git\n",
    );
    write(d, "libs/cfsdk/auth.go", SDK_AUTH);
    let (v, code) = json(d, &[]);
    assert_eq!(code, 0, "{v}");
    assert!(findings(&v).is_empty(), "{v}");

    // --vendored-notes (or the config key) brings them back: one per file.
    let (v, code) = json(d, &["--vendored-notes"]);
    assert_eq!(code, 0);
    assert_eq!(findings(&v).len(), 5, "{v}");
    assert!(findings(&v).iter().all(|f| f["class"] == "note"));
    write(d, "keyflare.toml", "vendored_notes = true\n");
    assert_eq!(findings(&json(d, &[]).0).len(), 5);
    std::fs::remove_file(d.join("keyflare.toml")).expect("rm");

    // A leaked token in vendor/ is still a leak.
    let leaked = token(7);
    write(
        d,
        "vendor/github.com/acme/deploy/config.go",
        &format!("const token = \"{leaked}\"\n"),
    );
    let (v, code) = json(d, &[]);
    assert_eq!(code, 1);
    let fs = findings(&v);
    assert_eq!(fs.len(), 1, "{v}");
    assert_eq!(fs[0]["class"], "credential");
    assert_eq!(fs[0]["path"], "vendor/github.com/acme/deploy/config.go");
}

#[test]
fn dev_vars_full_of_dummies_give_no_note() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), ".dev.vars", &dummy_dev_vars());
    write(
        tmp.path(),
        "wrangler.toml",
        "name = \"app\"\n[vars]\nENVIRONMENT = \"production\"\nAPI_TOKEN = \"your-api-token-here\"\n",
    );
    let out = scan(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("No Cloudflare credentials found"));
    let (v, _) = json(tmp.path(), &["--fail-on", "all"]);
    assert!(findings(&v).is_empty(), "{v}");
}

#[test]
fn one_note_per_env_file_naming_only_the_secret_looking_keys() {
    let tmp = tempfile::tempdir().expect("tmp");
    // One real-looking secret among dummies (not a Cloudflare token format,
    // so only the hygiene rule sees it).
    let secret = "q9W8e7R6t5Y4u3I2o1P0zX";
    let env = format!(
        "CLOUDFLARE_ENV=production\nCF_DEBUG=true\nCF_PORT=87870\nCLOUDFLARE_WEBHOOK_SECRET={secret}\nCF_DOCS=https://developers.cloudflare.com/workers/\n"
    );
    write(tmp.path(), "app/.env", &env);
    let mut dev_vars = dummy_dev_vars();
    dev_vars.push_str("STRIPE_WEBHOOK_SECRET=whsec_1a2B3c4D5e6F7g8H\n");
    dev_vars.push_str("SESSION_KEY=Zp4Lq8Rt2Wv6Xy0Bn3Mc\n");
    write(tmp.path(), "worker/.dev.vars", &dev_vars);

    let out = scan(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "notes do not fail by default");
    let text = stdout(&out);
    assert!(
        text.contains("    keys: CLOUDFLARE_WEBHOOK_SECRET\n"),
        "{text}"
    );
    assert!(
        text.contains("    keys: STRIPE_WEBHOOK_SECRET, SESSION_KEY\n"),
        "{text}"
    );
    assert!(
        text.contains("2 findings (2 medium) in 2 files: no credentials, 2 notes;"),
        "{text}"
    );
    assert!(!text.contains("MY_VAR_"), "dummy keys named: {text}");

    let (v, code) = json(tmp.path(), &["--fail-on", "notes"]);
    assert_eq!(code, 1);
    let fs = findings(&v);
    assert_eq!(fs.len(), 2, "{v}");
    assert!(fs.iter().all(|f| f["class"] == "note"));
    assert_eq!(fs[0]["path"], "app/.env");
    assert_eq!(fs[0]["line"], 4, "the note points at the secret's line");
    // The note names keys; no report shows a value.
    for format in ["text", "json", "sarif", "markdown", "github"] {
        let out = scan(tmp.path(), &["--format", format]);
        let s = stdout(&out);
        for value in [secret, "whsec_1a2B3c4D5e6F7g8H", "Zp4Lq8Rt2Wv6Xy0Bn3Mc"] {
            assert!(!s.contains(value), "{format} shows a value");
        }
    }

    // A new value under a known key is a new note (the fingerprint covers
    // the values), so a baseline does not hide it.
    let before = fs[0]["fingerprint"].clone();
    write(
        tmp.path(),
        "app/.env",
        &env.replace(secret, "Hn5Tk2Vb8Qm4Lw7Zx1Cr9D"),
    );
    let (v, _) = json(tmp.path(), &[]);
    assert_ne!(findings(&v)[0]["fingerprint"], before);
}

#[test]
fn one_note_per_env_file_in_history_too() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .current_dir(d)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", "2024-03-01T12:00:00+00:00")
            .env("GIT_COMMITTER_DATE", "2024-03-01T12:00:00+00:00")
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    write(
        d,
        ".dev.vars",
        &format!("{}API_SECRET=Qx7Wm2Pz9Lk4Rt8Vn3Bc\n", dummy_dev_vars()),
    );
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "dev vars"]);
    write(
        d,
        ".dev.vars",
        &format!(
            "{}API_SECRET=Jd6Ys1Hf5Gt0Ku3Eo8Wa\nOTHER_SECRET=Mb4Nc7Vx2Zq9Aw5Se1Dr\n",
            dummy_dev_vars()
        ),
    );
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "rotate"]);
    write(d, "vendor/cf/auth.go", SDK_AUTH);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "vendor"]);
    let out = keyflare()
        .args(["scan", "--git", "--format", "json"])
        .arg(d)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let fs = findings(&v);
    assert_eq!(fs.len(), 1, "one note for the file across its commits: {v}");
    assert_eq!(fs[0]["secret"], "API_SECRET, OTHER_SECRET");
    assert_eq!(v["summary"]["notes"], 1);
}

#[test]
fn audit_counts_notes_apart_and_does_not_fail_on_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "cmd/purge/main.go", GO_ENV_KEY);
    let out = keyflare()
        .arg("audit")
        .arg(tmp.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let md = stdout(&out);
    assert!(md.contains("No Cloudflare credentials found."), "{md}");
    assert!(
        md.contains("Not counted as credentials: 1 note (the JSON report lists them)."),
        "{md}"
    );
    assert!(md.contains("| 0 |"), "the credentials total is 0: {md}");
}

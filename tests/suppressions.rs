//! Suppressions a change cannot grant itself, and none that silence a live
//! credential: real git ranges in temp repositories, the CLI end to end.
//!
//! Every token here is synthetic (`support::user_token`: a CRC32-checked
//! body made up from a seed); verification talks to the local fake
//! Cloudflare only.

#[path = "common/fake_cloudflare.rs"]
mod fake_cloudflare;
mod support;

use std::path::Path;

use fake_cloudflare::{FakeCloudflare, Reply, Script};
use serde_json::Value;
use support::{assert_no_secret, git_at, keyflare, user_token};

const DATE: &str = "2024-03-01T12:00:00+00:00";

fn token(seed: u32) -> String {
    user_token(seed, 28_028)
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, DATE, args)
}

/// A repository whose first commit (the pull request's base) holds `files`;
/// returns the guard, its path and the base commit.
fn repo_with(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(&dir).expect("mkdir");
    git(&dir, &["init", "-q"]);
    write(&dir, "README.md", "a project\n");
    for (path, text) in files {
        write(&dir, path, text);
    }
    let base = commit(&dir, "base");
    (tmp, dir, base)
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(p, text).expect("write");
}

fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// `keyflare scan --format F EXTRA... DIR`: stdout, stderr, exit code.
fn run(dir: &Path, format: &str, extra: &[&str]) -> (Vec<u8>, Vec<u8>, i32) {
    let out = keyflare()
        .arg("scan")
        .args(["--format", format])
        .args(extra)
        .arg(dir)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    (out.stdout, out.stderr, out.status.code().unwrap_or(-1))
}

fn json(dir: &Path, extra: &[&str]) -> (Value, i32) {
    let (stdout, stderr, code) = run(dir, "json", extra);
    let v = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!("json: {e}\n{}", String::from_utf8_lossy(&stderr));
    });
    (v, code)
}

fn text(dir: &Path, extra: &[&str]) -> (String, i32) {
    let (stdout, stderr, code) = run(dir, "text", extra);
    (
        format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
        code,
    )
}

fn range(base: &str) -> String {
    format!("{base}..HEAD")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Every format, redacted: none shows the secret, suppressed or not.
fn assert_redacted_everywhere(dir: &Path, extra: &[&str], secrets: &[String]) {
    for format in ["text", "json", "sarif", "markdown", "github"] {
        let (stdout, stderr, _) = run(dir, format, extra);
        assert_no_secret(&stdout, secrets, &format!("{format} stdout"));
        assert_no_secret(&stderr, secrets, &format!("{format} stderr"));
    }
}

#[test]
fn a_pull_request_that_adds_a_token_with_an_allow_marker_fails() {
    let (_t, dir, base) = repo_with(&[]);
    let t = token(1);
    write(
        &dir,
        "app.env",
        &format!("CLOUDFLARE_API_TOKEN={t} # keyflare:allow\n"),
    );
    commit(&dir, "add a token, allowed by its own marker");

    let (v, code) = json(&dir, &["--range", &range(&base)]);
    assert_eq!(code, 1, "{v:#}");
    let f = &list(&v, "findings")[0];
    assert_eq!(f["path"], "app.env");
    assert_eq!(f["suppression"]["kind"], "marker");
    assert_eq!(f["suppression"]["status"], "added-by-this-change");
    assert_eq!(f["suppression"]["file"], "app.env");
    assert_eq!(f["suppression"]["line"], 1);
    assert_eq!(v["summary"]["suppressions_added_by_this_change"], 1);
    assert!(list(&v, "suppressed").is_empty());

    // The other markers are refused alike.
    for marker in ["// gitleaks:allow", "# pragma: allowlist secret"] {
        write(
            &dir,
            "app.env",
            &format!("CLOUDFLARE_API_TOKEN={t} {marker}\n"),
        );
        commit(&dir, "another marker");
        let (_, code) = json(&dir, &["--range", &range(&base)]);
        assert_eq!(code, 1, "{marker}");
    }

    // The text report says so; --trust-range-suppressions applies it.
    let (out, code) = text(&dir, &["--range", &range(&base)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("suppressed by this change, not applied"),
        "{out}"
    );
    let (v, code) = json(
        &dir,
        &["--range", &range(&base), "--trust-range-suppressions"],
    );
    assert_eq!(code, 0, "{v:#}");
    assert!(list(&v, "findings").is_empty());
    assert_eq!(
        list(&v, "suppressed")[0]["suppression"]["status"],
        "applied"
    );

    // A tree scan of the same checkout trusts the marker: suppressed, shown.
    let (out, code) = text(&dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 suppressed (by markers 1, config 0, baseline 0)"),
        "{out}"
    );
    assert_redacted_everywhere(&dir, &["--range", &range(&base)], std::slice::from_ref(&t));
    assert_redacted_everywhere(&dir, &[], &[t]);
}

#[test]
fn a_pull_request_that_excludes_everything_and_adds_a_token_fails() {
    let (_t, dir, base) = repo_with(&[("keyflare.toml", "exclude = [\"vendor/**\"]\n")]);
    let t = token(2);
    write(&dir, "keyflare.toml", "exclude = [\"vendor/**\", \"**\"]\n");
    write(
        &dir,
        "deploy.sh",
        &format!("export CLOUDFLARE_API_TOKEN={t}\n"),
    );
    commit(&dir, "exclude everything, then leak");

    let (v, code) = json(&dir, &["--range", &range(&base)]);
    assert_eq!(code, 1, "{v:#}");
    let f = &list(&v, "findings")[0];
    assert_eq!(f["path"], "deploy.sh");
    assert_eq!(f["suppression"]["kind"], "config-exclude");
    assert_eq!(f["suppression"]["status"], "added-by-this-change");
    assert_eq!(f["suppression"]["key"], "exclude");
    assert_eq!(f["suppression"]["line"], 1);
    let notices = v["notices"].to_string();
    assert!(notices.contains("this range changes"), "{notices}");
    assert!(notices.contains("keyflare.toml"), "{notices}");

    // An allow pattern the range adds is refused too.
    write(
        &dir,
        "keyflare.toml",
        "exclude = [\"vendor/**\"]\nallow_patterns = ['^cfut_']\n",
    );
    commit(&dir, "allow every user token instead");
    let (v, code) = json(&dir, &["--range", &range(&base)]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        list(&v, "findings")[0]["suppression"]["kind"],
        "config-allow"
    );
    assert_eq!(
        list(&v, "findings")[0]["suppression"]["key"],
        "allow_patterns"
    );

    // SARIF: the finding carries its suppression, rejected.
    let (sarif, _, _) = run(&dir, "sarif", &["--range", &range(&base)]);
    let sarif: Value = serde_json::from_slice(&sarif).expect("sarif");
    let s = &sarif["runs"][0]["results"][0]["suppressions"][0];
    assert_eq!(s["kind"], "external", "{sarif:#}");
    assert_eq!(s["status"], "rejected", "{sarif:#}");
    assert_eq!(
        s["location"]["physicalLocation"]["artifactLocation"]["uri"], "keyflare.toml",
        "{s:#}"
    );
    assert_redacted_everywhere(&dir, &["--range", &range(&base)], &[t]);
}

#[test]
fn a_pull_request_that_edits_the_baseline_to_cover_its_own_token_fails() {
    let (_t, dir, base) = repo_with(&[
        ("keyflare.toml", "baseline = \".keyflare-baseline.json\"\n"),
        (
            ".keyflare-baseline.json",
            "{\"version\": 1, \"tool\": \"keyflare\", \"entries\": []}\n",
        ),
    ]);
    let t = token(3);
    write(&dir, "src/config.ts", &format!("const token = \"{t}\";\n"));
    // The pull request records its own token in the baseline.
    keyflare()
        .arg("baseline")
        .arg(&dir)
        .arg("-o")
        .arg(dir.join(".keyflare-baseline.json"))
        .assert()
        .code(0);
    let recorded = std::fs::read_to_string(dir.join(".keyflare-baseline.json")).expect("read");
    assert!(
        recorded.contains("kf.cloudflare.user-api-token"),
        "{recorded}"
    );
    commit(&dir, "add a token and baseline it");

    let (v, code) = json(&dir, &["--range", &range(&base)]);
    assert_eq!(code, 1, "{v:#}");
    let f = &list(&v, "findings")[0];
    assert_eq!(f["suppression"]["kind"], "baseline");
    assert_eq!(f["suppression"]["status"], "added-by-this-change");
    assert_eq!(f["suppression"]["key"], "entries");
    assert!(
        f["suppression"]["file"]
            .as_str()
            .is_some_and(|p| p.ends_with(".keyflare-baseline.json")),
        "{f:#}"
    );
    // Also with the baseline named by the flag.
    let (_, code) = json(
        &dir,
        &[
            "--range",
            &range(&base),
            "--baseline",
            dir.join(".keyflare-baseline.json").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 1);

    // The same token, baselined on the base branch, is trusted: a later
    // pull request that touches its line passes and shows it suppressed.
    let (_t2, dir2, _) = repo_with(&[]);
    write(&dir2, "src/config.ts", &format!("const token = \"{t}\";\n"));
    write(
        &dir2,
        "keyflare.toml",
        "baseline = \".keyflare-baseline.json\"\n",
    );
    keyflare()
        .arg("baseline")
        .arg(&dir2)
        .arg("-o")
        .arg(dir2.join(".keyflare-baseline.json"))
        .assert()
        .code(0);
    let base2 = commit(&dir2, "accepted: a revoked token, baselined");
    write(
        &dir2,
        "src/config.ts",
        &format!("// revoked\nconst token = \"{t}\";\n"),
    );
    commit(&dir2, "touch it");
    let (v, code) = json(&dir2, &["--range", &range(&base2)]);
    assert_eq!(code, 0, "{v:#}");
}

#[test]
fn suppressions_the_range_does_not_touch_apply_and_show() {
    let t = token(4);
    let fixture = token(5);
    let (_t, dir, base) = repo_with(&[
        ("keyflare.toml", "exclude = [\"fixtures/**\"]\n"),
        (
            "docs/setup.md",
            &format!("CLOUDFLARE_API_TOKEN={t} # keyflare:allow\n"),
        ),
    ]);
    // The pull request changes the allowed file elsewhere, and adds a
    // token where the base's configuration already excludes.
    write(
        &dir,
        "docs/setup.md",
        &format!("# Setup\n\nCLOUDFLARE_API_TOKEN={t} # keyflare:allow\n"),
    );
    write(
        &dir,
        "fixtures/sample.env",
        &format!("CLOUDFLARE_API_TOKEN={fixture}\n"),
    );
    commit(&dir, "docs and a fixture");

    let (v, code) = json(&dir, &["--range", &range(&base)]);
    assert_eq!(code, 0, "{v:#}");
    assert!(list(&v, "findings").is_empty(), "{v:#}");
    let s = list(&v, "suppressed");
    assert_eq!(s.len(), 1, "{v:#}");
    assert_eq!(s[0]["path"], "fixtures/sample.env");
    assert_eq!(s[0]["suppression"]["kind"], "config-exclude");
    assert_eq!(s[0]["suppression"]["status"], "applied");
    assert_eq!(v["summary"]["suppressed_by_config"], 1);
    let (out, code) = text(&dir, &["--range", &range(&base)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 suppressed (by markers 0, config 1, baseline 0)"),
        "{out}"
    );

    // The tree: the allowed line passes and shows as suppressed, where the
    // marker lives.
    let (v, code) = json(&dir, &[]);
    assert_eq!(code, 0, "{v:#}");
    let marker = list(&v, "suppressed")
        .iter()
        .find(|f| f["path"] == "docs/setup.md")
        .expect("the allowed token is kept as suppressed");
    assert_eq!(marker["suppression"]["kind"], "marker");
    assert_eq!(marker["suppression"]["reason"], "`keyflare:allow`");
    assert_eq!(marker["suppression"]["line"], 3);
    assert_eq!(v["summary"]["suppressed_by_markers"], 1);
    assert_eq!(v["summary"]["findings"], 0);

    // SARIF: suppressed results with an inSource suppression, accepted.
    let (sarif, _, code) = run(&dir, "sarif", &[]);
    assert_eq!(code, 0);
    let sarif: Value = serde_json::from_slice(&sarif).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let in_source = results
        .iter()
        .find(|r| r["suppressions"][0]["kind"] == "inSource")
        .expect("an inSource suppression");
    assert_eq!(in_source["suppressions"][0]["status"], "accepted");
    assert_eq!(
        in_source["suppressions"][0]["location"]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert!(in_source["suppressions"][0]["justification"]
        .as_str()
        .is_some_and(|j| j.contains("keyflare:allow")));

    // Markdown (the job summary) counts them.
    let (md, _, _) = run(&dir, "markdown", &[]);
    let md = String::from_utf8_lossy(&md);
    assert!(md.contains("### Suppressions"), "{md}");
    assert!(md.contains("suppressed (by markers 1"), "{md}");
    assert_redacted_everywhere(&dir, &[], &[t, fixture]);
}

#[test]
fn a_suppressed_token_that_verifies_active_is_reported() {
    let live = token(6);
    let revoked = token(7);
    let server = FakeCloudflare::scripted(
        Script::new()
            .secret(&live, Reply::token("active"))
            .secret(&revoked, Reply::invalid_token()),
    );
    let (_t, dir, _) = repo_with(&[
        (
            "test/fixture.env",
            &format!("CLOUDFLARE_API_TOKEN={live} # keyflare:allow\n"),
        ),
        (
            "test/old.env",
            &format!("CLOUDFLARE_API_TOKEN={revoked} # keyflare:allow\n"),
        ),
    ]);
    let verify = [
        "--verify",
        "--api-base",
        &server.api_base(),
        "--ca-cert",
        server.ca_cert_path().to_str().expect("utf-8"),
    ];
    let (v, code) = json(&dir, &verify);
    assert_eq!(code, 1, "{v:#}");
    let findings = list(&v, "findings");
    assert_eq!(findings.len(), 1, "{v:#}");
    assert_eq!(findings[0]["path"], "test/fixture.env");
    assert_eq!(findings[0]["verification"]["status"], "active");
    assert_eq!(findings[0]["suppression"]["status"], "live-credential");
    assert_eq!(findings[0]["suppression"]["kind"], "marker");
    // The revoked one stays suppressed.
    let suppressed = list(&v, "suppressed");
    assert_eq!(suppressed.len(), 1, "{v:#}");
    assert_eq!(suppressed[0]["path"], "test/old.env");
    assert_eq!(suppressed[0]["verification"]["status"], "invalid");
    assert_eq!(v["summary"]["suppressions_lifted_live"], 1);

    let (out, code) = text(&dir, &verify);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("suppression lifted, the credential is live"),
        "{out}"
    );
    assert_redacted_everywhere(&dir, &verify, &[live.clone(), revoked.clone()]);

    // Without --verify both are suppressed and the run passes.
    let (v, code) = json(&dir, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(list(&v, "suppressed").len(), 2);
}

/// A tree with `keyflare.toml` excluding `third_party/` (a bare directory
/// name, as in a `.gitignore`) and `vendor/**`: a token under each, one in
/// a path `.gitignore` lists, and a zip bomb under `vendor/`.
fn excluded_tree() -> (tempfile::TempDir, std::path::PathBuf, String, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    let vendored = token(8);
    let nested = token(9);
    write(
        &dir,
        "keyflare.toml",
        "# vendored code\nexclude = [\n  \"vendor/**\",\n  \"third_party\",\n]\n",
    );
    write(
        &dir,
        "vendor/lib/sample.env",
        &format!("CLOUDFLARE_API_TOKEN={vendored}\n"),
    );
    write(
        &dir,
        "web/third_party/sdk/config.js",
        &format!("const token = \"{nested}\";\n"),
    );
    // What .gitignore lists is not read at all: not a suppression.
    write(&dir, ".gitignore", "ignored/\n");
    write(
        &dir,
        "ignored/local.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(10)),
    );
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hiding/bombs/bomb.zip"),
        dir.join("vendor/bomb.zip"),
    )
    .expect("copy the bomb");
    write(&dir, "src/main.rs", "fn main() {}\n");
    (tmp, dir, vendored, nested)
}

#[test]
fn a_tree_scan_reads_excluded_paths_and_keeps_their_findings_as_suppressed() {
    let (_t, dir, vendored, nested) = excluded_tree();
    let config = dir
        .join("keyflare.toml")
        .to_str()
        .expect("utf-8")
        .to_string();

    let (v, code) = json(&dir, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(list(&v, "findings").is_empty(), "{v:#}");
    assert!(list(&v, "warnings").is_empty(), "{v:#}");
    let s = list(&v, "suppressed");
    assert_eq!(s.len(), 2, "{v:#}");
    // Exactly this, for each: the glob, where it is written, the key.
    assert_eq!(s[0]["path"], "vendor/lib/sample.env");
    assert_eq!(
        s[0]["suppression"],
        serde_json::json!({
            "kind": "config-exclude",
            "status": "applied",
            "reason": "exclude entry \"vendor/**\"",
            "file": config,
            "line": 3,
            "key": "exclude",
        })
    );
    assert_eq!(s[1]["path"], "web/third_party/sdk/config.js");
    assert_eq!(
        s[1]["suppression"],
        serde_json::json!({
            "kind": "config-exclude",
            "status": "applied",
            "reason": "exclude entry \"third_party\"",
            "file": config,
            "line": 4,
            "key": "exclude",
        })
    );
    assert_eq!(v["summary"]["suppressed"], 2);
    assert_eq!(v["summary"]["suppressed_by_config"], 2);
    assert_eq!(v["summary"]["suppressed_by_markers"], 0);
    assert_eq!(v["summary"]["suppressed_by_baseline"], 0);
    assert_eq!(v["summary"]["errors"], 0);
    // The bomb under vendor/ is a notice, not an error.
    let notices = v["notices"].to_string();
    assert!(
        notices.contains("1 problem reading paths the configuration excludes"),
        "{notices}"
    );
    assert!(notices.contains("vendor/bomb.zip"), "{notices}");

    // Text: the count, each suppressed finding, the glob.
    let (out, code) = text(&dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 suppressed (by markers 0, config 2, baseline 0)"),
        "{out}"
    );
    assert!(
        out.contains("suppressed: vendor/lib/sample.env:1:"),
        "{out}"
    );
    assert!(
        out.contains("by configuration exclude entry \"vendor/**\""),
        "{out}"
    );
    assert!(!out.contains("ignored/local.env"), "{out}");

    // SARIF: results with an external suppression, accepted, pointing at
    // the glob's line in keyflare.toml.
    let (sarif, _, code) = run(&dir, "sarif", &[]);
    assert_eq!(code, 0);
    let sarif: Value = serde_json::from_slice(&sarif).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{sarif:#}");
    let vendored_result = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "vendor/lib/sample.env"
        })
        .expect("the vendored result");
    assert_eq!(
        vendored_result["suppressions"],
        serde_json::json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!(
                "configuration exclude entry \"vendor/**\" at {config}:3"
            ),
            "location": {
                "physicalLocation": {
                    "artifactLocation": {"uri": "keyflare.toml", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 3},
                }
            },
            "properties": {"keyflare": {
                "kind": "config-exclude",
                "status": "applied",
                "reason": "exclude entry \"vendor/**\"",
                "file": config,
                "line": 3,
                "key": "exclude",
            }},
        }])
    );

    // Without the configuration both tokens are findings.
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").expect("write");
    let (v, code) = json(&dir, &["--config", empty.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(list(&v, "findings").len(), 2, "{v:#}");
    // And the bomb is a warning (an error) again.
    assert_eq!(v["summary"]["errors"], 1, "{v:#}");
    assert!(
        list(&v, "warnings")[0]
            .as_str()
            .is_some_and(|w| w.starts_with("vendor/bomb.zip")),
        "{v:#}"
    );
    assert!(list(&v, "suppressed").is_empty());
    std::fs::remove_file(&empty).expect("rm");

    assert_redacted_everywhere(&dir, &[], &[vendored, nested]);
}

#[test]
fn a_history_scan_reads_excluded_paths_too() {
    let (_t, dir, vendored, nested) = excluded_tree();
    git(&dir, &["init", "-q"]);
    commit(&dir, "vendored code");
    // Removed from the tree, still in history.
    std::fs::remove_file(dir.join("vendor/lib/sample.env")).expect("rm");
    commit(&dir, "drop the sample");

    let (v, code) = json(&dir, &["--git"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(list(&v, "findings").is_empty(), "{v:#}");
    let s = list(&v, "suppressed");
    let paths: Vec<&str> = s.iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(
        paths,
        ["vendor/lib/sample.env", "web/third_party/sdk/config.js"],
        "{v:#}"
    );
    assert_eq!(s[0]["suppression"]["kind"], "config-exclude");
    assert_eq!(s[0]["suppression"]["reason"], "exclude entry \"vendor/**\"");
    assert_eq!(s[0]["suppression"]["key"], "exclude");
    assert_eq!(s[0]["suppression"]["line"], 3);
    assert_eq!(s[0]["in_head"], false);
    assert_eq!(
        s[1]["suppression"]["reason"],
        "exclude entry \"third_party\""
    );
    let (out, code) = text(&dir, &["--git"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 suppressed (by markers 0, config 2, baseline 0)"),
        "{out}"
    );
    assert_redacted_everywhere(&dir, &["--git"], &[vendored, nested]);
}

#[test]
fn an_excluded_token_that_verifies_active_is_reported() {
    let (_t, dir, vendored, nested) = excluded_tree();
    let server = FakeCloudflare::scripted(
        Script::new()
            .secret(&vendored, Reply::token("active"))
            .secret(&nested, Reply::invalid_token()),
    );
    let verify = [
        "--verify",
        "--api-base",
        &server.api_base(),
        "--ca-cert",
        server.ca_cert_path().to_str().expect("utf-8"),
    ];
    let (v, code) = json(&dir, &verify);
    assert_eq!(code, 1, "{v:#}");
    let findings = list(&v, "findings");
    assert_eq!(findings.len(), 1, "{v:#}");
    assert_eq!(findings[0]["path"], "vendor/lib/sample.env");
    assert_eq!(findings[0]["verification"]["status"], "active");
    assert_eq!(findings[0]["suppression"]["kind"], "config-exclude");
    assert_eq!(findings[0]["suppression"]["status"], "live-credential");
    let suppressed = list(&v, "suppressed");
    assert_eq!(suppressed.len(), 1, "{v:#}");
    assert_eq!(suppressed[0]["path"], "web/third_party/sdk/config.js");
    assert_eq!(v["summary"]["suppressions_lifted_live"], 1);
    assert_redacted_everywhere(&dir, &verify, &[vendored, nested]);
}

#[test]
fn the_text_report_lists_fifty_suppressed_findings_and_counts_them_all() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    write(&dir, "keyflare.toml", "exclude = [\"vendor/**\"]\n");
    let tokens: Vec<String> = (100..153).map(token).collect();
    for (i, t) in tokens.iter().enumerate() {
        write(
            &dir,
            &format!("vendor/pkg{i:02}/sample.env"),
            &format!("CLOUDFLARE_API_TOKEN={t}\n"),
        );
    }
    let (out, code) = text(&dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("53 suppressed (by markers 0, config 53, baseline 0)"),
        "{out}"
    );
    assert_eq!(out.matches("  suppressed: vendor/").count(), 50, "{out}");
    assert!(
        out.contains("... 3 more suppressed not shown; see the JSON or SARIF report"),
        "{out}"
    );
    let (v, _) = json(&dir, &[]);
    assert_eq!(list(&v, "suppressed").len(), 53);
    assert_redacted_everywhere(&dir, &[], &tokens);
}

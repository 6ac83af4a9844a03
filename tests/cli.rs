//! End-to-end tests of `keyflare scan` over the fixture tree: each output
//! format, exit codes, redaction, and awkward inputs.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;

use predicates::prelude::*;
use serde_json::Value;
use support::{
    assert_no_secret, fixture_secrets, fixture_tree, fixtures, json_scan, keyflare,
    keyflare_unprivileged,
};

fn triples(v: &Value) -> BTreeSet<(String, u64, String)> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["rule_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn expected_triples() -> BTreeSet<(String, u64, String)> {
    let text = std::fs::read_to_string(fixtures().join("tree.expected.json")).expect("expected");
    let v: Value = serde_json::from_str(&text).expect("json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap_or("").to_string(),
                e["line"].as_u64().unwrap_or(0),
                e["rule_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn json_finds_exactly_the_expected_findings() {
    let (_t, dir) = fixture_tree("tree");
    let (v, code) = json_scan(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(triples(&v), expected_triples());
    assert_eq!(
        v["summary"]["findings"].as_u64(),
        Some(expected_triples().len() as u64)
    );
    assert!(v["version"].is_string());
    for f in v["findings"].as_array().expect("findings") {
        for field in [
            "rule_id",
            "path",
            "secret",
            "fingerprint",
            "severity",
            "remediation",
        ] {
            assert!(f[field].is_string(), "finding lacks {field}: {f}");
        }
        assert!(f["line"].as_u64().unwrap_or(0) >= 1);
        assert!(f["column"].as_u64().unwrap_or(0) >= 1);
        assert!(!f["remediation_steps"].as_array().expect("steps").is_empty());
        assert!(
            !f["path"].as_str().unwrap_or("/").starts_with('/'),
            "path not relative"
        );
    }
    // The Global key in purge.py comes with its email, which verification needs.
    let global = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule_id"] == "kf.cloudflare.global-api-key")
        .expect("global key finding");
    assert_eq!(global["email"], "ops@example.com");
}

#[test]
fn columns_are_right_on_crlf_and_minified_lines() {
    let (_t, dir) = fixture_tree("tree");
    let (v, _) = json_scan(&dir, &[]);
    let find = |path: &str| {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["path"] == path)
            .cloned()
            .expect("finding")
    };
    let ini = find("windows/settings.ini");
    assert_eq!(
        (ini["line"].as_u64(), ini["column"].as_u64()),
        (Some(4), Some(9))
    );
    let js = find("web/app.min.js");
    let text = std::fs::read_to_string(dir.join("web/app.min.js")).expect("read");
    let col = text.find("cfut_").expect("token") + 1;
    assert_eq!(js["column"].as_u64(), Some(col as u64));
    assert_eq!(js["end_column"].as_u64(), Some(col as u64 + 53));
}

#[test]
fn files_too_large_to_hold_are_scanned_in_chunks_with_true_positions() {
    // Over keyflare::scan::large::LARGE_FILE (16 MiB): read in 4 MiB chunks. One
    // token on the last line; one just past the first cut (4 MiB) on a line
    // that starts 1 MiB before it, so that its chunk starts mid-line and
    // its column is counted across two reads.
    let body = "Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo";
    let token = format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()));
    let line = "const x = require('y'); function f(a, b) { return a + b }\n";
    let mut text = line.repeat((3 << 20) / line.len());
    let long_line_start = text.len();
    let filler = "a=b;".repeat(((4 << 20) + 20 - long_line_start) / 4);
    text.push_str(&format!("{filler}let t='{token}';{filler}\n"));
    let token_col = filler.len() + "let t='".len() + 1;
    let long_line = text.matches('\n').count();
    text.push_str(&line.repeat((14 << 20) / line.len()));
    text.push_str(&format!("token = {token}\n"));
    let lines = text.matches('\n').count();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("big.log"), &text).expect("write");
    let (v, code) = json_scan(dir.path(), &["-j", "2"]);
    assert_eq!(code, 1);
    let found: Vec<(u64, u64)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![(long_line as u64, token_col as u64), (lines as u64, 9)],
        "{}",
        v["findings"]
    );
    assert_eq!(
        v["summary"]["bytes_scanned"].as_u64(),
        Some(text.len() as u64)
    );
}

#[test]
fn no_output_format_prints_a_secret_unless_asked() {
    let (_t, dir) = fixture_tree("tree");
    let secrets = fixture_secrets();
    assert!(secrets.len() >= 6);
    support::assert_no_format_prints_a_secret(&dir, &secrets);
    let out = keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--format", "json", "--no-redact"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for s in &secrets {
        assert!(
            text.contains(s.as_str()),
            "--no-redact should show every secret"
        );
    }
}

#[test]
fn text_report_groups_by_credential_with_steps_and_summarises() {
    let (_t, dir) = fixture_tree("tree");
    keyflare()
        .arg("scan")
        .arg(&dir)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("      scripts/purge.py:4:62\n"))
        .stdout(predicate::str::contains("found in 5 places:"))
        .stdout(predicate::str::contains("      1. Roll it"))
        .stdout(predicate::str::contains("cfut_***"))
        .stdout(predicate::str::contains("fix: "))
        .stdout(predicate::str::contains(
            // 6 credentials; the 2 hygiene matches are notes, not credentials.
            "12 findings (2 critical, 7 high, 1 medium, 2 low) in 10 files: 6 credentials, 2 notes",
        ))
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn fingerprints_survive_line_moves_and_differ_per_secret() {
    let (_t, dir) = fixture_tree("tree");
    let (before, _) = json_scan(&dir, &["--no-redact"]);
    let env = dir.join(".env");
    let text = std::fs::read_to_string(&env).expect("read");
    std::fs::write(&env, format!("\n\n# moved\n{text}")).expect("write");
    let (after, _) = json_scan(&dir, &["--no-redact"]);
    let field = |f: &Value, k: &str| f[k].as_str().expect(k).to_string();
    // Every finding's (path, fingerprint), duplicates kept: a list, not a set.
    let fp = |v: &Value| -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = v["findings"]
            .as_array()
            .expect("f")
            .iter()
            .map(|f| (field(f, "path"), field(f, "fingerprint")))
            .collect();
        all.sort();
        all
    };
    assert_eq!(fp(&before), fp(&after));
    // One fingerprint per (rule, secret), and a different one for each.
    let mut per_secret: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in before["findings"].as_array().expect("f") {
        per_secret
            .entry((field(f, "rule_id"), field(f, "secret")))
            .or_default()
            .insert(field(f, "fingerprint"));
    }
    assert!(per_secret.len() >= 2, "{per_secret:?}");
    assert!(per_secret.values().all(|s| s.len() == 1), "{per_secret:?}");
    let distinct: BTreeSet<&String> = per_secret.values().flatten().collect();
    assert_eq!(
        distinct.len(),
        per_secret.len(),
        "two secrets share a fingerprint"
    );
    let secrets = fixture_secrets();
    for (_, f) in fp(&before) {
        assert!(
            secrets
                .iter()
                .all(|s| !f.contains(s.as_str()) && !s.contains(&f)),
            "fingerprint holds a secret"
        );
    }
}

#[test]
fn output_file_is_written_atomically_and_private() {
    let (_t, dir) = fixture_tree("tree");
    let out_dir = tempfile::tempdir().expect("tmp");
    let report = out_dir.path().join("report.json");
    keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--format", "json", "--no-redact", "-o"])
        .arg(&report)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let v: Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(triples(&v), expected_triples());
    let mode = std::fs::metadata(&report)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(
        mode, 0o600,
        "an unredacted report must not be world-readable"
    );
    let leftovers: Vec<_> = std::fs::read_dir(out_dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "report.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn unwritable_output_is_exit_2_without_secrets() {
    let (_t, dir) = fixture_tree("tree");
    let out = keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["-o", "/nonexistent-dir/report.json", "--no-redact"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
    assert_no_secret(&out.stderr, &fixture_secrets(), "stderr");
}

#[test]
fn exit_codes() {
    let clean = tempfile::tempdir().expect("tmp");
    std::fs::write(clean.path().join("a.txt"), "nothing to see\n").expect("write");
    keyflare()
        .arg("scan")
        .arg(clean.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No Cloudflare credentials found"));
    keyflare()
        .args(["scan", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/definitely/not/here"));
    keyflare()
        .args(["scan", "--format", "xml"])
        .assert()
        .code(2);
    keyflare().args(["frobnicate"]).assert().code(2);
    keyflare().args(["explain", "kf.nope"]).assert().code(2);
    keyflare()
        .args(["explain", "kf.cloudflare.user-api-token"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Roll"));
    keyflare()
        .args(["rules", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("all pass"));
    keyflare()
        .arg("rules")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("kf.cloudflare.tunnel-token"));
}

#[test]
fn single_file_paths_and_size_limit() {
    let (_t, dir) = fixture_tree("tree");
    let (v, code) = json_scan(&dir.join(".env"), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["findings"].as_array().map(|a| a.len()), Some(1));
    let (v, code) = json_scan(&dir, &["--max-file-size", "100K"]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["skipped_too_large"].as_u64(), Some(1));
    assert!(!triples(&v).iter().any(|t| t.0 == "web/app.min.js"));
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore() {
    let (_t, dir) = fixture_tree("tree");
    // fixtures/tree/.gitignore hides ignored/ from this repository's git too,
    // so a fresh clone lacks the file that generate.py wrote: make it here.
    let body = "NYhOfUQ5vmoJrJvloVedDh5toRRnlcTO6gAO5bJo";
    let token = format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()));
    std::fs::create_dir_all(dir.join("ignored")).expect("mkdir ignored");
    std::fs::write(
        dir.join("ignored/secret.env"),
        format!("CLOUDFLARE_API_TOKEN={token}\n"),
    )
    .expect("write");
    // .gitignore applies inside a git repository.
    std::fs::create_dir(dir.join(".git")).expect("mkdir .git");
    let (v, _) = json_scan(&dir, &[]);
    assert!(!triples(&v).iter().any(|t| t.0.starts_with("ignored/")));
    let (v, _) = json_scan(&dir, &["--no-ignore"]);
    assert!(triples(&v).iter().any(|t| t.0 == "ignored/secret.env"));
}

#[test]
fn fifos_symlink_loops_and_unreadable_files_do_not_stop_the_scan() {
    let (t, dir) = fixture_tree("tree");
    // keyflare runs as nobody when the tests run as root (CI does), so that
    // the mode-000 file is a read error there too: the tree must let it in.
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.map(|s| s.success()).unwrap_or(false), "mkfifo");
    std::os::unix::fs::symlink(".", dir.join("loop")).expect("symlink");
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero")).expect("symlink");
    let locked = dir.join("locked.txt");
    std::fs::write(&locked, "x").expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    // A second read error, of another kind: a file whose full path is longer
    // than PATH_MAX (4096). Its directory lists, but opening it by its full
    // path fails (ENAMETOOLONG). Made from inside the directory, where its
    // relative name is short enough.
    let mut deep = dir.join("deep");
    while deep.as_os_str().len() < 3850 {
        deep.push("d".repeat(200));
    }
    std::fs::create_dir_all(&deep).expect("deep directories");
    let long_name = format!("toolong-{}.txt", "n".repeat(240));
    let made = std::process::Command::new("sh")
        .args(["-c", &format!("printf x > {long_name}")])
        .current_dir(&deep)
        .status();
    assert!(made.map(|s| s.success()).unwrap_or(false), "long file");
    let scan = |target: &std::path::Path| {
        let out = keyflare_unprivileged()
            .arg("scan")
            .arg(target)
            .args(["--format", "json"])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        (
            out.status.code(),
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, v, stderr) = scan(&dir);
    assert_eq!(code, Some(1), "findings still decide the exit code");
    assert_eq!(triples(&v), expected_triples());
    assert!(
        stderr.contains("cannot read") && stderr.contains("toolong-"),
        "{stderr}"
    );
    assert!(stderr.contains("locked.txt"), "{stderr}");
    assert_eq!(
        v["summary"]["errors"].as_u64(),
        Some(2),
        "each read error counted"
    );
    // Read errors and no credential: exit 2, for either kind.
    let (code, v, stderr) = scan(dir.join("deep").as_path());
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(v["summary"]["errors"].as_u64(), Some(1), "{stderr}");
    let alone = dir.join("alone");
    std::fs::create_dir(&alone).expect("mkdir");
    std::fs::rename(&locked, alone.join("locked.txt")).expect("move");
    let (code, v, stderr) = scan(&alone);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(v["summary"]["errors"].as_u64(), Some(1), "{stderr}");
    assert!(stderr.contains("locked.txt"), "{stderr}");
}

#[test]
fn sarif_is_valid_and_complete() {
    let (_t, dir) = fixture_tree("tree");
    let out = keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--format", "sarif"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif json");
    support::assert_valid_sarif(&sarif);

    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.len() >= 14);
    for r in rules {
        assert!(r["shortDescription"]["text"].is_string());
        assert!(r["help"]["text"].is_string());
        let md = r["help"]["markdown"].as_str().expect("markdown");
        assert!(md.contains("1. "), "help lists steps");
        assert!(r["properties"]["security-severity"].is_string());
        assert!(r["properties"]["tags"]
            .as_array()
            .is_some_and(|t| !t.is_empty()));
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), expected_triples().len());
    for res in results {
        assert!(res["ruleId"].is_string());
        assert!(res["level"].is_string());
        assert!(res["message"]["text"].is_string());
        let loc = &res["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            !uri.starts_with('/') && !uri.contains("://"),
            "relative uri: {uri}"
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap_or(0) >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap_or(0) >= 1);
        assert!(loc["region"]["endColumn"].as_u64().unwrap_or(0) >= 2);
        assert!(res["partialFingerprints"]["primaryLocationLineHash"].is_string());
    }
    assert_no_secret(&out.stdout, &fixture_secrets(), "sarif");
}

#[test]
fn sarif_keeps_the_5000_most_severe_results_and_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    // 5,100 plaintext-API hygiene findings (low) and one critical Global key.
    let mut text = String::new();
    for _ in 0..5100 {
        text.push_str("u = 'http://api.cloudflare.com/client/v4'\n");
    }
    std::fs::write(tmp.path().join("urls.py"), text).expect("write");
    std::fs::write(
        tmp.path().join("z.ini"),
        "dns_cloudflare_api_key = 4f2a9c1e8b7d6053a1c2e3f4b5a6978d1e2c3\n",
    )
    .expect("write");
    let out = keyflare()
        .arg("scan")
        .arg(tmp.path())
        .args(["--format", "sarif"])
        .output()
        .expect("run");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("json");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 5000);
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "kf.cloudflare.global-api-key.legacy"));
    let note =
        &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"];
    assert!(
        note.as_str().unwrap_or("").contains("5101 findings"),
        "{note}"
    );
}

#[test]
fn markdown_and_github_formats_and_extra_reports() {
    let (_t, dir) = fixture_tree("tree");
    let out = keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--format", "markdown"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("| severity | credential | secret | status | where | fix |"),
        "{md}"
    );
    assert!(
        md.contains("**6 credentials** in 10 findings (2 notes: see below)"),
        "{md}"
    );
    assert!(md.contains("### Notes"), "{md}");
    assert!(md.contains("### What to do next"));
    assert_no_secret(&out.stdout, &fixture_secrets(), "markdown");

    let out = keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--format", "github"])
        .output()
        .expect("run");
    let gh = String::from_utf8_lossy(&out.stdout);
    assert_eq!(gh.lines().count(), 12);
    assert!(
        gh.contains("::error file=scripts/purge.py,line=4,col=62,"),
        "{gh}"
    );
    // The plaintext-API match is a hygiene note: a notice, not a warning.
    assert!(
        gh.contains("::notice file=scripts/purge.py,line=3,"),
        "{gh}"
    );
    assert_no_secret(&out.stdout, &fixture_secrets(), "github");

    // One run, several reports.
    let tmp = tempfile::tempdir().expect("tmp");
    let sarif = tmp.path().join("r.sarif");
    let md = tmp.path().join("summary.md");
    let out = keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--format", "json", "--report"])
        .arg(format!("sarif:{}", sarif.display()))
        .arg("--report")
        .arg(format!("markdown:{}", md.display()))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(triples(&v), expected_triples());
    let s: Value =
        serde_json::from_slice(&std::fs::read(&sarif).expect("sarif")).expect("sarif json");
    assert_eq!(s["version"], "2.1.0");
    assert!(std::fs::read_to_string(&md)
        .expect("md")
        .contains("What to do next"));
    keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--report", "pdf:x.pdf"])
        .assert()
        .code(2);
}

#[test]
fn completions_and_man_page() {
    keyflare()
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("_keyflare()"));
    keyflare()
        .args(["completions", "zsh"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("#compdef keyflare"));
    keyflare()
        .arg("man")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".TH keyflare 1"));
}

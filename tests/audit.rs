//! `keyflare audit` end to end: small repositories built with the git CLI
//! (authors and dates pinned), verification against the fake Cloudflare API.

#[path = "common/fake_cloudflare.rs"]
mod fake_cloudflare;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fake_cloudflare::{synthetic_secret, FakeCloudflare, Reply, Script};
use serde_json::Value;
use support::{assert_no_secret, keyflare};

fn git(dir: &Path, date: &str, args: &[&str]) -> String {
    support::git_at(dir, date, args)
}

/// The repository of these tests and the commits that matter.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    /// Introduces `old` in .env.
    c1: String,
    /// Copies it to config/deploy.env.
    c2: String,
    /// Deletes both.
    c3: String,
    /// Still in HEAD (app.py): the live one.
    live: String,
    /// Only in history: Cloudflare says invalid.
    old: String,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(dir.join("config")).expect("mkdir");
    let live = synthetic_secret("cfut_", 71);
    let old = synthetic_secret("cfut_", 72);
    let d1 = "2024-01-10T09:00:00+01:00";
    git(&dir, d1, &["init", "-q"]);
    std::fs::write(dir.join("README.md"), "demo\n").expect("write");
    std::fs::write(dir.join(".env"), format!("CLOUDFLARE_API_TOKEN={old}\n")).expect("write");
    git(&dir, d1, &["add", "-A"]);
    git(&dir, d1, &["commit", "-qm", "add env"]);
    let c1 = git(&dir, d1, &["rev-parse", "HEAD"]);
    let d2 = "2024-02-20T09:00:00+00:00";
    std::fs::write(
        dir.join("config/deploy.env"),
        format!("CLOUDFLARE_API_TOKEN={old}\n"),
    )
    .expect("write");
    std::fs::write(
        dir.join("app.py"),
        format!("cf = Cloudflare(api_token=\"{live}\")\n"),
    )
    .expect("write");
    git(&dir, d2, &["add", "-A"]);
    git(&dir, d2, &["commit", "-qm", "deploy"]);
    let c2 = git(&dir, d2, &["rev-parse", "HEAD"]);
    let d3 = "2024-03-30T09:00:00-05:00";
    git(&dir, d3, &["rm", "-q", ".env", "config/deploy.env"]);
    git(&dir, d3, &["commit", "-qm", "remove env files"]);
    let c3 = git(&dir, d3, &["rev-parse", "HEAD"]);
    Fixture {
        _tmp: tmp,
        dir,
        c1,
        c2,
        c3,
        live,
        old,
    }
}

fn server(f: &Fixture) -> FakeCloudflare {
    FakeCloudflare::scripted(
        Script::new()
            .secret(&f.live, Reply::token("active"))
            .secret(&f.old, Reply::invalid_token()),
    )
}

fn audit(target: &str, server: Option<&FakeCloudflare>, extra: &[&str]) -> (String, i32, String) {
    let mut cmd = keyflare();
    cmd.arg("audit").arg(target).args(extra);
    if let Some(s) = server {
        cmd.args(["--verify", "--api-base", &s.api_base(), "--ca-cert"])
            .arg(s.ca_cert_path());
    }
    let out = cmd
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn short(id: &str) -> &str {
    &id[..10]
}

/// The Markdown table rows of the credentials section.
fn rows(md: &str) -> Vec<&str> {
    let section = md
        .split("## Credentials, most urgent first")
        .nth(1)
        .expect("credentials section");
    let section = section.split("\n## ").next().unwrap_or("");
    section
        .lines()
        .filter(|l| l.starts_with("| ") && l.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
        .collect()
}

#[test]
fn markdown_groups_by_credential_with_status_order_and_checklist() {
    let f = fixture();
    let s = server(&f);
    let target = f.dir.to_string_lossy().into_owned();
    let (md, code, stderr) = audit(&target, Some(&s), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(s.request_count(), 2, "each secret is verified once");
    let rows = rows(&md);
    assert_eq!(rows.len(), 2, "one row per credential:\n{md}");
    // Active first, even though the invalid one is older.
    assert!(rows[0].contains("**ACTIVE**"), "{}", rows[0]);
    assert!(rows[0].contains("`app.py`"), "{}", rows[0]);
    assert!(rows[0].contains("in HEAD and working tree"), "{}", rows[0]);
    assert!(rows[1].contains("invalid"), "{}", rows[1]);
    assert!(
        rows[1].contains("`.env`<br>`config/deploy.env`"),
        "{}",
        rows[1]
    );
    assert!(rows[1].contains(&format!("`{}` 2024-01-10", short(&f.c1))));
    assert!(rows[1].contains(&format!("removed in `{}` 2024-03-30", short(&f.c3))));
    assert!(rows[1].contains("removed (still in history)"));
    // The copy's own introduction is listed under the credential.
    assert!(md.contains(&format!(
        "`config/deploy.env:1`: introduced in `{}`",
        short(&f.c2)
    )));
    // Totals.
    assert!(md.contains("| 2 | **1** | 3 | 3 |"), "{md}");
    // Timeline: introduced, introduced, removed, oldest first.
    let timeline = md.split("## Timeline").nth(1).expect("timeline");
    let timeline = timeline.split("\n## ").next().unwrap_or("");
    let events: Vec<&str> = timeline
        .lines()
        .filter(|l| l.starts_with("| 2024"))
        .collect();
    assert_eq!(events.len(), 3, "{timeline}");
    assert!(events[0].starts_with("| 2024-01-10 | introduced | #2"));
    assert!(events[1].starts_with("| 2024-02-20 | introduced | #1"));
    assert!(events[2].starts_with("| 2024-03-30 | removed | #2"));
    // The checklist.
    for item in [
        "- [ ] **Roll or revoke the credential**",
        "- [ ] **Replace it with a scoped API token**",
        "- [ ] **Move it to an environment variable or a secret store**",
        "- [ ] **Purge it from git history**",
        "- [ ] **Tell collaborators to re-clone**",
    ] {
        assert_eq!(md.matches(item).count(), 2, "{item}");
    }
    assert!(md.contains("My Profile"), "the rule's own steps");
    assert!(md.contains("git filter-repo --replace-text ../keyflare-purge.txt"));
    assert!(md.contains("SECRET_FROM_YOUR_PASSWORD_MANAGER==>REMOVED"));
    assert!(md.contains("git filter-repo --invert-paths --path .env --path config/deploy.env"));
    assert_no_secret(md.as_bytes(), &[f.live.clone(), f.old.clone()], "markdown");
    assert_no_secret(
        stderr.as_bytes(),
        &[f.live.clone(), f.old.clone()],
        "stderr",
    );

    // --no-redact shows them, as scan does.
    let (md, _, _) = audit(&target, None, &["--no-redact"]);
    assert!(md.contains(&f.live) && md.contains(&f.old));
    // Never the secret in the purge command, even then.
    assert!(!md.contains(&format!("{}==>", f.old)));
}

#[test]
fn html_is_self_contained_escaped_and_secret_free() {
    let f = fixture();
    let s = server(&f);
    let out = f.dir.parent().expect("parent").join("audit.html");
    let target = f.dir.to_string_lossy().into_owned();
    let (_, code, stderr) = audit(
        &target,
        Some(&s),
        &["--format", "html", "-o", &out.to_string_lossy()],
    );
    assert_eq!(code, 1, "{stderr}");
    let html = std::fs::read_to_string(&out).expect("report");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>keyflare audit: "));
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        " src=",
        "href=\"http",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(!lower.contains(bad), "external resource or script: {bad}");
    }
    assert_eq!(html.matches("type=\"checkbox\"").count(), 10);
    let active = html.find("s-active").expect("active badge");
    let invalid = html.find("s-invalid").expect("invalid badge");
    assert!(active < invalid, "active first");
    // Authors' "<email>" is escaped, never markup.
    assert!(html.contains("Test Author &lt;author@example.com&gt;"));
    assert_no_secret(html.as_bytes(), &[f.live.clone(), f.old.clone()], "html");
}

#[test]
fn json_and_sarif_hold_the_merged_findings() {
    let f = fixture();
    let target = f.dir.to_string_lossy().into_owned();
    let (json, code, _) = audit(&target, None, &["--format", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).expect("json");
    let findings = v["findings"].as_array().expect("findings");
    // Counted before keying by path, so that a duplicate cannot hide.
    assert_eq!(findings.len(), 3, "{findings:?}");
    let mut by_path: BTreeMap<String, (String, bool, String)> = BTreeMap::new();
    for f in findings {
        by_path.insert(
            f["path"].as_str().unwrap_or("").into(),
            (
                f["commit"].as_str().unwrap_or("").into(),
                f["in_head"].as_bool().unwrap_or(false),
                f["moved"]["commit"].as_str().unwrap_or("").into(),
            ),
        );
    }
    // app.py is in HEAD and the working tree: one finding, from history.
    assert_eq!(by_path.len(), 3, "{by_path:?}");
    assert_eq!(by_path[".env"].0, f.c1);
    // The copy: attributed to the commit that wrote the secret, the copy
    // listed as its move.
    assert_eq!(by_path["config/deploy.env"].0, f.c1);
    assert_eq!(by_path["config/deploy.env"].2, f.c2);
    assert_eq!(by_path[".env"].2, "");
    assert!(by_path["app.py"].1);
    assert_no_secret(json.as_bytes(), &[f.live.clone(), f.old.clone()], "json");
    let (sarif, _, _) = audit(&target, None, &["--format", "sarif"]);
    let v: Value = serde_json::from_str(&sarif).expect("sarif");
    assert_eq!(v["runs"][0]["results"].as_array().map(Vec::len), Some(3));
}

/// Every file under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let m = e.metadata().expect("meta");
            if m.is_dir() {
                stack.push(e.path());
            }
            out.insert(e.path(), (m.len(), m.modified().expect("mtime")));
        }
    }
    out
}

#[test]
fn a_file_url_is_mirrored_to_a_temp_dir_that_is_removed_and_a_path_is_read_only() {
    let f = fixture();
    let before = snapshot(&f.dir);
    let tmpdir = tempfile::tempdir().expect("tmp");
    let url = format!("file://{}", f.dir.display());
    let out = keyflare()
        .args(["audit", &url])
        .env("TMPDIR", tmpdir.path())
        .output()
        .expect("run");
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(md.contains(&format!("# keyflare audit: {url}")));
    assert!(md.contains("every ref's history (no working tree)"));
    let rows = rows(&md);
    assert_eq!(rows.len(), 2, "{md}");
    // No working tree: the live one is in HEAD, the other removed.
    assert!(md.contains("| in HEAD |"), "{md}");
    assert!(md.contains(&format!("removed in `{}`", short(&f.c3))));
    let left: Vec<_> = std::fs::read_dir(tmpdir.path())
        .expect("read_dir")
        .collect();
    assert!(left.is_empty(), "temporary clone left behind: {left:?}");

    // A local path is scanned in place without writing into it.
    let (_, code, _) = audit(&f.dir.to_string_lossy(), None, &["--format", "html"]);
    assert_eq!(code, 1);
    assert_eq!(before, snapshot(&f.dir), "the audited repository changed");

    // A URL that cannot be cloned is an error, and leaves nothing behind.
    let out = keyflare()
        .args(["audit", "file:///nonexistent/keyflare-audit-repo"])
        .env("TMPDIR", tmpdir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git clone --mirror"));
    assert_eq!(std::fs::read_dir(tmpdir.path()).expect("rd").count(), 0);
}

#[test]
fn a_clean_repository_exits_zero() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = "2024-01-01T00:00:00+00:00";
    git(tmp.path(), d, &["init", "-q"]);
    std::fs::write(tmp.path().join("a.txt"), "nothing here\n").expect("write");
    git(tmp.path(), d, &["add", "-A"]);
    git(tmp.path(), d, &["commit", "-qm", "a"]);
    let (md, code, _) = audit(&tmp.path().to_string_lossy(), None, &[]);
    assert_eq!(code, 0);
    assert!(md.contains("No Cloudflare credentials found."));
}

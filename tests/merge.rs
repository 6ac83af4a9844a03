//! `keyflare merge` end to end: shards made by `keyflare audit --format
//! json` on small repositories built here (authors and dates pinned),
//! merged in every format; `--verify` against the fake Cloudflare API.

#[path = "common/fake_cloudflare.rs"]
mod fake_cloudflare;
mod support;

use std::path::{Path, PathBuf};

use fake_cloudflare::{synthetic_secret, FakeCloudflare, Reply, Script};
use serde_json::Value;
use support::{assert_no_secret, keyflare};

fn git(dir: &Path, date: &str, args: &[&str]) {
    support::git_at(dir, date, args);
}

/// A repository at `root/name` with one commit (on `date`) of `files`.
fn repo(root: &Path, name: &str, date: &str, files: &[(&str, String)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    git(&dir, date, &["init", "-q"]);
    std::fs::write(dir.join("README.md"), "demo\n").expect("write");
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    git(&dir, date, &["add", "-A"]);
    git(&dir, date, &["commit", "-qm", "initial"]);
    dir
}

/// `keyflare audit DIR --format json -o OUT`, named `name`; returns the shard.
fn audit(dir: &Path, name: &str, out: &Path, extra: &[&str]) -> Value {
    let o = keyflare()
        .arg("audit")
        .arg(dir)
        .args(["--format", "json", "--repository-name", name, "-o"])
        .arg(out)
        .args(extra)
        .output()
        .expect("run");
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "audit failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(out).expect("shard")).expect("shard json")
}

fn merge(args: &[&std::ffi::OsStr]) -> std::process::Output {
    keyflare()
        .arg("merge")
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run")
}

/// Three repositories: acme/api (the shared token in two files, and its
/// own Global API Key), acme/web (the shared token, earlier), acme/docs
/// (nothing). Shards go in `tmp/shards`.
struct Org {
    tmp: tempfile::TempDir,
    shared: String,
    own: String,
    shards: Vec<PathBuf>,
}

fn org(extra: &[&str]) -> Org {
    let tmp = tempfile::tempdir().expect("tmp");
    let shared = synthetic_secret("cfut_", 2101);
    let own = synthetic_secret("cfut_", 2102);
    let repos = tmp.path().join("repos");
    let api = repo(
        &repos,
        "api",
        "2024-05-01T10:00:00+00:00",
        &[
            (".env", format!("CLOUDFLARE_API_TOKEN={shared}\n")),
            (
                "deploy/ci.yml",
                format!("env:\n  CLOUDFLARE_API_TOKEN: {shared}\n"),
            ),
            (
                "src/app.py",
                format!("cf = Cloudflare(api_token=\"{own}\")\n"),
            ),
        ],
    );
    let web = repo(
        &repos,
        "web",
        "2023-03-01T10:00:00+00:00",
        &[("wrangler.env", format!("CLOUDFLARE_API_TOKEN={shared}\n"))],
    );
    let docs = repo(&repos, "docs", "2024-01-01T10:00:00+00:00", &[]);
    let dir = tmp.path().join("shards");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut shards = Vec::new();
    for (path, name) in [(&api, "acme/api"), (&web, "acme/web"), (&docs, "acme/docs")] {
        let out = dir.join(format!("{}.json", name.replace('/', "-")));
        audit(path, name, &out, extra);
        shards.push(out);
    }
    Org {
        tmp,
        shared,
        own,
        shards,
    }
}

fn os(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}

#[test]
fn shards_say_which_repository_version_and_rule_set_and_keep_every_field() {
    let o = org(&[]);
    let v: Value =
        serde_json::from_slice(&std::fs::read(&o.shards[0]).expect("read")).expect("json");
    // Existing fields, as before.
    for key in [
        "version", "tool", "findings", "summary", "warnings", "notices",
    ] {
        assert!(v.get(key).is_some(), "shard lost {key}");
    }
    assert_eq!(v["tool"], "keyflare");
    assert_eq!(v["summary"]["credentials"], 2);
    // Added fields.
    assert_eq!(v["repository"]["name"], "acme/api");
    assert_eq!(
        v["repository"]["head"].as_str().map(str::len),
        Some(40),
        "{}",
        v["repository"]
    );
    assert!(v["rules_digest"]
        .as_str()
        .is_some_and(|d| d.starts_with("sha256:")));
    let creds = v["audit"]["credentials"].as_array().expect("credentials");
    assert_eq!(creds.len(), 2);
    assert_eq!(v["audit"]["secrets_included"], false);
    // Without --keep-secrets, no secret anywhere in the shard.
    assert!(creds.iter().all(|c| c.get("secret").is_none()));
    let bytes = std::fs::read(&o.shards[0]).expect("read");
    assert_no_secret(&bytes, &[o.shared.clone(), o.own.clone()], "shard");
    // With it, the secret is in the audit block only, findings stay redacted.
    let kept = o.tmp.path().join("kept.json");
    let v = audit(
        &o.tmp.path().join("repos/api"),
        "acme/api",
        &kept,
        &["--keep-secrets"],
    );
    assert_eq!(v["audit"]["secrets_included"], true);
    let secrets: Vec<&str> = v["audit"]["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .filter_map(|c| c["secret"].as_str())
        .collect();
    assert!(secrets.contains(&o.shared.as_str()), "{secrets:?}");
    assert_no_secret(
        &serde_json::to_vec(&v["findings"]).expect("ser"),
        &[o.shared.clone(), o.own.clone()],
        "findings",
    );
}

#[test]
fn a_secret_in_several_repositories_is_one_credential_worst_repository_first() {
    let o = org(&[]);
    let out = o.tmp.path().join("org.json");
    let dir = o.tmp.path().join("shards");
    let r = merge(&[os(&dir), "-o".as_ref(), os(&out)]);
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&out).expect("report")).expect("json");
    assert_eq!(v["summary"]["repositories"], 3);
    assert_eq!(v["summary"]["repositories_with_credentials"], 2);
    assert_eq!(
        v["summary"]["credentials"], 2,
        "the shared token counts once"
    );
    assert_eq!(v["summary"]["in_several_repositories"], 1);
    let creds = v["credentials"].as_array().expect("credentials");
    // The shared one leads (same severity, more repositories).
    let shared = &creds[0];
    let names: Vec<&str> = shared["repositories"]
        .as_array()
        .expect("repos")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["acme/api", "acme/web"]);
    let api_paths: Vec<&str> = shared["repositories"][0]["places"]
        .as_array()
        .expect("places")
        .iter()
        .map(|p| p["path"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(api_paths, [".env", "deploy/ci.yml"]);
    // First commit: the earliest of all repositories (acme/web, 2023).
    assert_eq!(shared["first"]["repository"], "acme/web");
    assert!(shared["first"]["date"]
        .as_str()
        .is_some_and(|d| d.starts_with("2023-03-01")));
    // Repositories worst first; the clean one last.
    let order: Vec<&str> = v["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(order, ["acme/api", "acme/web", "acme/docs"]);
    assert_eq!(v["repositories"][0]["credentials"], 2);
    assert_eq!(v["repositories"][2]["credentials"], 0);
    let bytes = std::fs::read(&out).expect("read");
    assert_no_secret(&bytes, &[o.shared.clone(), o.own.clone()], "org report");

    // Markdown: the repositories table and the shared credential's places.
    let r = merge(&[os(&dir)]);
    let md = String::from_utf8_lossy(&r.stdout);
    assert!(md.contains("## Repositories, worst first"), "{md}");
    assert!(md.contains("In 2 repositories"), "{md}");
    assert!(md.contains("`deploy/ci.yml`"), "{md}");
    // Only the docs shard: nothing found, exit 0.
    let r = merge(&[os(&o.shards[2])]);
    assert_eq!(r.status.code(), Some(0));
}

#[test]
fn the_same_shards_in_any_order_give_byte_identical_reports() {
    let o = org(&[]);
    let [a, b, c] = [&o.shards[0], &o.shards[1], &o.shards[2]];
    // The same files under other names too: names must not matter.
    let renamed = o.tmp.path().join("renamed");
    std::fs::create_dir_all(&renamed).expect("mkdir");
    // Reversed: web's file sorts before api's here.
    for (i, s) in [c, b, a].iter().enumerate() {
        std::fs::copy(s, renamed.join(format!("{i}-x.json"))).expect("copy");
    }
    for format in ["markdown", "html", "json", "sarif"] {
        let orders: [Vec<&std::ffi::OsStr>; 4] = [
            vec![os(a), os(b), os(c)],
            vec![os(c), os(a), os(b)],
            vec![os(b), os(c), os(a)],
            vec![os(&renamed)],
        ];
        let outs: Vec<Vec<u8>> = orders
            .iter()
            .map(|args| {
                let mut args = args.clone();
                args.extend([std::ffi::OsStr::new("--format"), format.as_ref()]);
                let r = merge(&args);
                assert_eq!(r.status.code(), Some(1));
                r.stdout
            })
            .collect();
        assert!(!outs[0].is_empty());
        for other in &outs[1..] {
            assert!(other == &outs[0], "{format}: output depends on shard order");
        }
    }
}

#[test]
fn output_format_follows_the_extension_and_sarif_is_valid() {
    let o = org(&[]);
    let dir = o.tmp.path().join("shards");
    for (ext, starts) in [
        ("md", "# keyflare organisation audit"),
        ("html", "<!DOCTYPE html>"),
    ] {
        let out = o.tmp.path().join(format!("org.{ext}"));
        merge(&[os(&dir), "-o".as_ref(), os(&out)]);
        let text = std::fs::read_to_string(&out).expect("report");
        assert!(text.starts_with(starts), "{ext}: {text}");
    }
    let out = o.tmp.path().join("org.sarif");
    merge(&[os(&dir), "-o".as_ref(), os(&out)]);
    let sarif: Value = serde_json::from_slice(&std::fs::read(&out).expect("read")).expect("json");
    support::assert_valid_sarif(&sarif);
    // One result per credential per repository: shared (2) + own (1).
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn hostile_names_are_escaped_and_the_html_loads_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let token = synthetic_secret("cfut_", 2111);
    let evil = "<img src=https://evil.example/x onerror=alert(1)>";
    let dir = repo(
        tmp.path(),
        "evil",
        "2024-05-01T10:00:00+00:00",
        &[("a<script>b.env", format!("CLOUDFLARE_API_TOKEN={token}\n"))],
    );
    let shard = tmp.path().join("evil.json");
    audit(&dir, evil, &shard, &[]);
    let out = tmp.path().join("org.html");
    let r = merge(&[os(&shard), "-o".as_ref(), os(&out)]);
    assert_eq!(r.status.code(), Some(1));
    let html = std::fs::read_to_string(&out).expect("html");
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).expect("selector");
    assert_eq!(
        doc.select(&sel("script, img, link, iframe")).count(),
        0,
        "{html}"
    );
    assert_eq!(doc.select(&sel("[src], [href]")).count(), 0, "{html}");
    assert!(doc.root_element().text().collect::<String>().contains(evil));
    let r = merge(&[os(&shard), "--format".as_ref(), "markdown".as_ref()]);
    let md = String::from_utf8_lossy(&r.stdout);
    // Markdown forms no HTML, link or image from the hostile names (they
    // are in code spans), and still shows them.
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut shown = String::new();
    for e in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match e {
            Event::Html(h) | Event::InlineHtml(h) => panic!("HTML formed: {h}"),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => panic!("link formed: {md}"),
            Event::Code(c) => shown.push_str(&c),
            _ => {}
        }
    }
    assert!(shown.contains(evil), "{md}");
    assert!(shown.contains("a<script>b.env"), "{md}");
}

#[test]
fn bad_shards_are_refused_with_their_name_and_nothing_written() {
    let o = org(&[]);
    let good: Value =
        serde_json::from_slice(&std::fs::read(&o.shards[0]).expect("read")).expect("json");
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage",
            b"not json at all".to_vec(),
            "not a keyflare audit shard",
        ),
        (
            "scan",
            br#"{"version":"0.1.0","tool":"keyflare","findings":[]}"#.to_vec(),
            "not a keyflare audit shard",
        ),
    ];
    let bytes = serde_json::to_vec(&good).expect("ser");
    cases.push((
        "truncated",
        bytes[..bytes.len() / 2].to_vec(),
        "not a keyflare audit shard",
    ));
    let mut huge = good.clone();
    huge["audit"]["credentials"][0]["places"][0]["path"] = "p".repeat(5000).into();
    cases.push((
        "huge",
        serde_json::to_vec(&huge).expect("ser"),
        "longer than",
    ));
    let mut forged = good.clone();
    forged["audit"]["credentials"][0]["secret"] = synthetic_secret("cfut_", 9).into();
    cases.push((
        "forged",
        serde_json::to_vec(&forged).expect("ser"),
        "does not match",
    ));
    let mut twice = good.clone();
    twice["repository"]["name"] = "acme/web".into();
    cases.push((
        "twice",
        serde_json::to_vec(&twice).expect("ser"),
        "both audits of acme/web",
    ));
    for (name, bytes, says) in cases {
        let bad = o.tmp.path().join(format!("{name}.json"));
        std::fs::write(&bad, bytes).expect("write");
        let out = o.tmp.path().join("org.md");
        let r = merge(&[os(&o.shards[1]), os(&bad), "-o".as_ref(), os(&out)]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&format!("{name}.json")), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
        assert!(!out.exists(), "{name}: a report was written");
    }
}

#[test]
fn another_version_is_refused_unless_allowed_then_warned_about() {
    let o = org(&[]);
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(&o.shards[1]).expect("read")).expect("json");
    v["version"] = "0.0.1".into();
    std::fs::write(&o.shards[1], serde_json::to_vec(&v).expect("ser")).expect("write");
    let r = merge(&[os(&o.shards[0]), os(&o.shards[1])]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("keyflare 0.0.1")
            && err.contains("--allow-mixed")
            && err.contains("acme-web.json"),
        "{err}"
    );
    let r = merge(&[os(&o.shards[0]), os(&o.shards[1]), "--allow-mixed".as_ref()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("keyflare 0.0.1"));
    assert!(String::from_utf8_lossy(&r.stdout).contains("**Warning:**"));
}

fn verify_args(server: &FakeCloudflare) -> Vec<std::ffi::OsString> {
    vec![
        "--verify".into(),
        "--api-base".into(),
        server.api_base().into(),
        "--ca-cert".into(),
        server.ca_cert_path().into(),
        "--format".into(),
        "json".into(),
    ]
}

#[test]
fn verify_sends_each_distinct_secret_once_across_shards() {
    let o = org(&["--keep-secrets"]);
    let server = FakeCloudflare::scripted(
        Script::new()
            .secret(&o.shared, Reply::token("active"))
            .secret(&o.own, Reply::invalid_token()),
    );
    let mut args: Vec<std::ffi::OsString> = vec![o.tmp.path().join("shards").into()];
    args.extend(verify_args(&server));
    let r = keyflare()
        .arg("merge")
        .args(&args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    // The shared token is in three files of two repositories: one request.
    assert_eq!(server.request_count(), 2, "one request per distinct secret");
    let v: Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!(v["verified"], true);
    assert_eq!(v["summary"]["active"], 1);
    assert_eq!(v["credentials"][0]["verification"]["status"], "active");
    assert_eq!(v["credentials"][1]["verification"]["status"], "invalid");
    assert_eq!(v["repositories"][0]["active"], 1);
    // The merged report is redacted although the shards kept the secrets.
    assert_no_secret(&r.stdout, &[o.shared.clone(), o.own.clone()], "report");
    assert_no_secret(&r.stderr, &[o.shared.clone(), o.own.clone()], "stderr");
}

#[test]
fn several_outputs_from_one_merge_verify_each_secret_once() {
    let o = org(&["--keep-secrets"]);
    let server = FakeCloudflare::scripted(
        Script::new()
            .secret(&o.shared, Reply::token("active"))
            .secret(&o.own, Reply::invalid_token()),
    );
    let out = o.tmp.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let mut args: Vec<std::ffi::OsString> = vec![o.tmp.path().join("shards").into()];
    args.extend(
        verify_args(&server)
            .into_iter()
            .filter(|a| a != "--format" && a != "json"),
    );
    for ext in ["json", "md", "html", "sarif"] {
        args.push("-o".into());
        args.push(out.join(format!("org.{ext}")).into());
    }
    let r = keyflare()
        .arg("merge")
        .args(&args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    // Four reports, one verification: one request per distinct secret.
    assert_eq!(server.request_count(), 2, "one request per distinct secret");
    let v: Value =
        serde_json::from_slice(&std::fs::read(out.join("org.json")).expect("json")).expect("json");
    assert_eq!(v["summary"]["active"], 1);
    let md = std::fs::read_to_string(out.join("org.md")).expect("md");
    assert!(md.starts_with('#'), "markdown: {md:.80}");
    let html = std::fs::read_to_string(out.join("org.html")).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>"), "html: {html:.80}");
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(out.join("org.sarif")).expect("sarif"))
            .expect("sarif");
    assert_eq!(sarif["version"], "2.1.0");
    // --format is for one output only.
    let r = keyflare()
        .arg("merge")
        .arg(o.tmp.path().join("shards"))
        .args(["--format", "json", "-o"])
        .arg(out.join("a.json"))
        .arg("-o")
        .arg(out.join("b.json"))
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(2));
    assert!(!out.join("a.json").exists());
}

#[test]
fn verify_refuses_shards_without_secrets_before_any_request() {
    let o = org(&[]);
    let server = FakeCloudflare::scripted(Script::new().fallback(Reply::token("active")));
    let mut args: Vec<std::ffi::OsString> = vec![o.shards[0].clone().into()];
    args.extend(verify_args(&server));
    let r = keyflare().arg("merge").args(&args).output().expect("run");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--keep-secrets") && err.contains("acme-api.json"),
        "{err}"
    );
    assert_eq!(server.request_count(), 0);
}

#[test]
fn verify_honours_retry_after() {
    let o = org(&["--keep-secrets"]);
    let server = FakeCloudflare::scripted(
        Script::new()
            .secret_sequence(
                &o.shared,
                vec![Reply::rate_limited(Some(1)), Reply::token("active")],
            )
            .secret(&o.own, Reply::token("active")),
    );
    let mut args: Vec<std::ffi::OsString> = vec![o.tmp.path().join("shards").into()];
    args.extend(verify_args(&server));
    let r = keyflare()
        .arg("merge")
        .args(&args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!(v["summary"]["active"], 2, "{v}");
    // The 429 was retried once after its Retry-After, not given up on.
    assert_eq!(server.request_count(), 3);
}

#[test]
fn verify_with_blast_radius_says_what_a_live_secret_reaches() {
    let o = org(&["--keep-secrets"]);
    let server = FakeCloudflare::scripted(
        Script::new()
            .route("/client/v4/accounts", Reply::list(&["Acme Corp"], Some(1)))
            .route(
                "/client/v4/zones",
                Reply::list(&["acme.example", "shop.example"], Some(2)),
            )
            .secret(&o.shared, Reply::token("active"))
            .secret(&o.own, Reply::invalid_token()),
    );
    let mut args: Vec<std::ffi::OsString> = vec![o.tmp.path().join("shards").into()];
    args.extend(verify_args(&server));
    args.push("--blast-radius".into());
    let r = keyflare()
        .arg("merge")
        .args(&args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&r.stdout).expect("json");
    let b = &v["credentials"][0]["verification"]["blast_radius"];
    assert_eq!(
        (b["account_count"].as_u64(), b["zone_count"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    // The same run in Markdown says it in words.
    let idx = args.iter().position(|a| a == "json").expect("format");
    args[idx] = "markdown".into();
    let r = keyflare().arg("merge").args(&args).output().expect("run");
    let md = String::from_utf8_lossy(&r.stdout);
    assert!(
        md.contains("Reaches: 1 account(s), 2 zone(s): Acme Corp, acme.example"),
        "{md}"
    );
}

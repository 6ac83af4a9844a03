//! End-to-end tests of the git sources: `scan --git`, `--range`, `--staged`,
//! over small repositories built with the git CLI, authors and dates pinned.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{git_at, keyflare};

const AUTHOR: &str = "Test Author <author@example.com>";
const DATE: &str = "2024-03-01T12:00:00+01:00";

/// A synthetic user API token of this file's own ([`support::user_token`]).
fn token(seed: u32) -> String {
    support::user_token(seed, 12_345)
}

/// A temporary repository driven by the git CLI, isolated from the user's
/// configuration, with author, committer and dates pinned.
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("repo");
        std::fs::create_dir(&dir).expect("mkdir");
        git_at(&dir, DATE, &["init", "-q"]);
        Repo { _tmp: tmp, dir }
    }

    fn git(&self, args: &[&str]) -> String {
        git_at(&self.dir, DATE, args)
    }

    fn write(&self, path: &str, content: &str) {
        let p = self.dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, content).expect("write");
    }

    /// Stages everything and commits; returns the commit id.
    fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// A sibling path in the same temp dir, for clones.
    fn sibling(&self, name: &str) -> PathBuf {
        self.dir.parent().expect("parent").join(name)
    }
}

fn scan(dir: &Path, mode: &[&str]) -> (Value, i32, String) {
    let out = keyflare()
        .arg("scan")
        .args(mode)
        .arg(dir)
        .args(["--format", "json"])
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "json output: {e}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        v,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().expect("findings").clone()
}

/// (path, commit) of each finding, sorted.
fn places(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = findings(v)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["commit"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn notices(v: &Value) -> String {
    v["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_deleted_secret_is_found_at_the_commit_that_added_it() {
    let r = Repo::new();
    r.write("README.md", "hello\n");
    r.commit("start");
    r.write(".env", &format!("CLOUDFLARE_API_TOKEN={}\n", token(1)));
    let added = r.commit("add config");
    std::fs::remove_file(r.dir.join(".env")).expect("rm");
    r.commit("remove config");

    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["path"], ".env");
    assert_eq!(f[0]["line"], 1);
    assert_eq!(f[0]["commit"], added.as_str());
    assert_eq!(f[0]["author"], AUTHOR);
    assert_eq!(f[0]["date"], DATE);
    assert_eq!(f[0]["in_head"], false);
    assert_eq!(v["summary"]["source"], "git");
    assert!(notices(&v).contains("purge it from history"), "{v}");

    let out = keyflare()
        .args(["scan", "--git"])
        .arg(&r.dir)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("only in history"), "{text}");
    assert!(
        text.contains("rotate it, then purge it from history (e.g. git filter-repo) — deleting the file is not enough"),
        "{text}"
    );
    assert!(!text.contains(&token(1)), "text report leaks the secret");

    let out = keyflare()
        .args(["scan", "--git", "--format", "sarif"])
        .arg(&r.dir)
        .output()
        .expect("run");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".env"
    );
    assert_eq!(result["properties"]["commit"], added.as_str());
    assert_eq!(result["properties"]["in_head"], false);
}

#[test]
fn a_secret_in_a_hundred_commits_is_reported_once_and_read_once() {
    let r = Repo::new();
    // static.env never changes: one blob in 100 commits. growing.env changes
    // every commit but keeps its secret on line 1: 100 blobs, one finding.
    r.write(
        "static.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(2)),
    );
    let mut growing = format!("CLOUDFLARE_API_TOKEN={}\n", token(3));
    r.write("growing.env", &growing);
    let first = r.commit("commit 0");
    for i in 1..100 {
        growing.push_str(&format!("line {i}\n"));
        r.write("growing.env", &growing);
        r.commit(&format!("commit {i}"));
    }
    assert_eq!(r.git(&["rev-list", "--count", "HEAD"]), "100");

    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&v),
        vec![
            ("growing.env".to_string(), first.clone()),
            ("static.env".to_string(), first.clone()),
        ]
    );
    for f in findings(&v) {
        assert_eq!(f["in_head"], true);
    }
    // Distinct blobs read: 1 static.env + 100 versions of growing.env.
    assert_eq!(v["summary"]["files_scanned"], 101);
}

#[test]
fn a_secret_on_a_branch_that_is_not_checked_out_is_found() {
    let r = Repo::new();
    r.write("README.md", "main\n");
    r.commit("main");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "deploy/wrangler.sh",
        &format!("export CLOUDFLARE_API_TOKEN={}\n", token(4)),
    );
    let feature = r.commit("feature");
    r.git(&["checkout", "-q", "main"]);
    // A stashed secret is reachable from refs/stash.
    r.write(
        "stashed.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(5)),
    );
    r.git(&["stash", "push", "-q", "--include-untracked"]);
    assert!(!r.dir.join("stashed.env").exists());

    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1);
    let p = places(&v);
    assert_eq!(p.len(), 2, "{v}");
    assert_eq!(p[0], ("deploy/wrangler.sh".to_string(), feature));
    assert_eq!(p[1].0, "stashed.env");
    for f in findings(&v) {
        assert_eq!(f["in_head"], false);
    }
}

#[test]
fn a_range_reports_only_what_its_commits_add() {
    let r = Repo::new();
    let (before, removed, moved_in, new) = (token(10), token(11), token(12), token(13));
    r.write("old.env", &format!("CLOUDFLARE_API_TOKEN={before}\nA=1\n"));
    r.write("gone.env", &format!("CLOUDFLARE_API_TOKEN={removed}\n"));
    r.write(
        "other/keys.env",
        &format!("CLOUDFLARE_API_TOKEN={moved_in}\n"),
    );
    let base = r.commit("base");
    // c1: a new secret; the line holding an old one is edited; an old
    // secret is copied into a new file.
    r.write("new.env", &format!("x=1\nCLOUDFLARE_API_TOKEN={new}\n"));
    r.write(
        "old.env",
        &format!("CLOUDFLARE_API_TOKEN={before} # prod\nA=2\n"),
    );
    r.write("copy.env", &format!("CLOUDFLARE_API_TOKEN={moved_in}\n"));
    let c1 = r.commit("c1");
    // c2: removes a secret that BASE had.
    std::fs::remove_file(r.dir.join("gone.env")).expect("rm");
    r.commit("c2");

    let range = format!("{base}..HEAD");
    let (v, code, _) = scan(&r.dir, &["--range", &range]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(places(&v), vec![("new.env".to_string(), c1.clone())]);
    let f = &findings(&v)[0];
    assert_eq!(f["line"], 2);
    assert_eq!(f["in_head"], true);
    assert_eq!(v["summary"]["source"], "range");

    // The range after c1 adds nothing.
    let (v, code, _) = scan(&r.dir, &["--range", &format!("{c1}..HEAD")]);
    assert_eq!(code, 0, "{v}");
    assert!(findings(&v).is_empty());

    // Not a range: a usage error.
    keyflare()
        .args(["scan", "--range", "HEAD"])
        .arg(&r.dir)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("BASE..HEAD"));
}

#[test]
fn a_merge_adds_only_what_no_parent_had() {
    let r = Repo::new();
    r.write("a.txt", "base\n");
    let base = r.commit("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("side.env", &format!("CLOUDFLARE_API_TOKEN={}\n", token(20)));
    let side = r.commit("side");
    r.git(&["checkout", "-q", "main"]);
    r.write("b.txt", "main\n");
    r.commit("main");
    r.git(&["merge", "-q", "--no-ff", "--no-edit", "side"]);
    let (v, _, _) = scan(&r.dir, &["--range", &format!("{base}..HEAD")]);
    // Attributed to the side commit, not to the merge.
    assert_eq!(places(&v), vec![("side.env".to_string(), side)]);
}

#[test]
fn staged_sees_only_the_index_even_before_the_first_commit() {
    let r = Repo::new();
    r.write("app.env", &format!("CLOUDFLARE_API_TOKEN={}\n", token(30)));
    r.git(&["add", "app.env"]);
    // Unstaged: a second secret in the same file and an untracked file.
    r.write(
        "app.env",
        &format!(
            "CLOUDFLARE_API_TOKEN={}\nBACKUP_CLOUDFLARE_API_TOKEN={}\n",
            token(30),
            token(31)
        ),
    );
    r.write(
        "untracked.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(32)),
    );

    let (v, code, _) = scan(&r.dir, &["--staged"]);
    assert_eq!(code, 1, "{v}");
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["path"], "app.env");
    assert_eq!(f[0]["line"], 1);
    assert!(f[0].get("commit").is_none());
    assert_eq!(v["summary"]["source"], "staged");
    assert_eq!(v["summary"]["files_scanned"], 1);
}

#[test]
fn staged_reports_lines_added_to_heads_version_only() {
    let r = Repo::new();
    r.write(
        "app.env",
        &format!("CLOUDFLARE_API_TOKEN={}\nA=1\n", token(40)),
    );
    r.write("big.txt", &"unchanged\n".repeat(100));
    r.commit("start");
    // Staged: a new line with a secret below the committed one.
    r.write(
        "app.env",
        &format!(
            "CLOUDFLARE_API_TOKEN={}\nA=1\nSTAGING_CLOUDFLARE_API_TOKEN={}\n",
            token(40),
            token(41)
        ),
    );
    r.git(&["add", "app.env"]);
    // Unstaged: another one.
    r.write(
        "notes.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(42)),
    );

    let (v, code, _) = scan(&r.dir, &["--staged"]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["line"], 3);
    // Only the changed blob was read, not big.txt.
    assert_eq!(v["summary"]["files_scanned"], 1);

    // Nothing staged: clean.
    r.commit("commit it");
    let (v, code, _) = scan(&r.dir, &["--staged"]);
    assert_eq!(code, 0, "{v}");
}

#[test]
fn bare_and_shallow_repositories() {
    let r = Repo::new();
    r.write(".env", &format!("CLOUDFLARE_API_TOKEN={}\n", token(50)));
    r.commit("old secret");
    std::fs::remove_file(r.dir.join(".env")).expect("rm");
    r.write("app.env", &format!("CLOUDFLARE_API_TOKEN={}\n", token(51)));
    r.commit("new secret");

    let bare = r.sibling("bare.git");
    git_at(
        r.dir.parent().expect("parent"),
        DATE,
        &["clone", "-q", "--bare", "repo", "bare.git"],
    );
    let (v, code, _) = scan(&bare, &["--git"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&v).len(), 2, "{v}");
    assert!(!notices(&v).contains("partial"));

    let url = format!("file://{}", r.dir.display());
    git_at(
        r.dir.parent().expect("parent"),
        DATE,
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let (v, code, _) = scan(&r.sibling("shallow"), &["--git"]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["path"], "app.env");
    assert!(notices(&v).contains("history is partial"), "{v}");
}

#[test]
fn a_corrupt_object_is_a_warning_and_the_scan_goes_on() {
    let r = Repo::new();
    r.write("ok.env", &format!("CLOUDFLARE_API_TOKEN={}\n", token(60)));
    r.write("notes.txt", "some notes\n");
    r.commit("start");
    let id = r.git(&["rev-parse", "HEAD:notes.txt"]);
    let object = r.dir.join(".git/objects").join(&id[..2]).join(&id[2..]);
    std::fs::remove_file(&object).expect("rm object");
    std::fs::write(&object, b"this is not zlib data").expect("write garbage");

    let (v, code, stderr) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1, "findings win over warnings");
    assert_eq!(findings(&v).len(), 1);
    assert!(stderr.contains(&id), "warning names the object: {stderr}");
    assert_eq!(v["summary"]["errors"], 1);

    // With no findings, an incomplete scan exits 2.
    let fresh = Repo::new();
    fresh.write("notes.txt", "only notes\n");
    fresh.commit("start");
    let id = fresh.git(&["rev-parse", "HEAD:notes.txt"]);
    let object = fresh.dir.join(".git/objects").join(&id[..2]).join(&id[2..]);
    std::fs::remove_file(&object).expect("rm object");
    std::fs::write(&object, b"garbage").expect("write garbage");
    let (_, code, stderr) = scan(&fresh.dir, &["--git"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn not_a_repository_exits_2_with_a_clear_message() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for mode in ["--git", "--staged"] {
        let out = keyflare()
            .args(["scan", mode])
            .arg(tmp.path())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a git repository"), "{err}");
    }
    let out = keyflare()
        .args(["scan", "--range", "a..b"])
        .arg(tmp.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lfs_pointers_unreachable_blobs_worktrees_and_submodules() {
    let r = Repo::new();
    // An LFS pointer is not a secret, even with a token-shaped line.
    r.write(
        "model.bin",
        &format!(
            "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 12\n# {}\n",
            "0".repeat(64),
            token(70)
        ),
    );
    r.write("README.md", "x\n");
    r.commit("start");
    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 0, "{v}");

    // A blob written to the object store but never committed.
    let dangling = r.dir.join("dangling.env");
    std::fs::write(&dangling, format!("CLOUDFLARE_API_TOKEN={}\n", token(71))).expect("write");
    let id = r.git(&["hash-object", "-w", "dangling.env"]);
    std::fs::remove_file(&dangling).expect("rm");
    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 0, "{v}");
    let (v, code, _) = scan(&r.dir, &["--git", "--all-objects"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(findings(&v)[0]["path"], format!("(unreachable)/{id}"));

    // A linked worktree sees the same history.
    r.git(&["worktree", "add", "-q", "-b", "wt", "../wt"]);
    let wt = r.sibling("wt");
    std::fs::write(
        wt.join("wt.env"),
        format!("CLOUDFLARE_API_TOKEN={}\n", token(72)),
    )
    .expect("write");
    git_at(&wt, DATE, &["add", "wt.env"]);
    let (v, code, _) = scan(&wt, &["--staged"]);
    assert_eq!((code, findings(&v).len()), (1, 1), "{v}");
    git_at(&wt, DATE, &["commit", "-q", "-m", "wt"]);
    let (v, code, _) = scan(&wt, &["--git"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(findings(&v)[0]["path"], "wt.env");

    // A submodule: skipped with a notice, scanned with --recurse-submodules.
    let sub = r.sibling("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    git_at(&sub, DATE, &["init", "-q"]);
    std::fs::write(
        sub.join("s.env"),
        format!("CLOUDFLARE_API_TOKEN={}\n", token(73)),
    )
    .expect("write");
    git_at(&sub, DATE, &["add", "s.env"]);
    git_at(&sub, DATE, &["commit", "-q", "-m", "sub"]);
    r.git(&["submodule", "add", "-q", "../sub", "vendor/sub"]);
    r.commit("add submodule");
    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1, "{v}");
    assert!(notices(&v).contains("vendor/sub"), "{v}");
    assert!(findings(&v).iter().all(|f| f["path"] != "vendor/sub/s.env"));
    let (v, _, _) = scan(&r.dir, &["--git", "--recurse-submodules"]);
    assert!(
        findings(&v).iter().any(|f| f["path"] == "vendor/sub/s.env"),
        "{v}"
    );
}

#[test]
fn git_modes_conflict_and_take_one_path() {
    for args in [
        &["--git", "--staged"][..],
        &["--git", "--range", "a..b"],
        &["--staged", "--range", "a..b"],
        &["--all-objects"],
    ] {
        keyflare().arg("scan").args(args).assert().code(2);
    }
    keyflare()
        .args(["scan", "--git", ".", "src"])
        .assert()
        .code(2);
}

#[test]
fn history_gets_the_same_decoding_and_archives_as_the_tree() {
    use base64::Engine;
    let repo = Repo::new();
    let t = token(71);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&t);
    repo.write(
        "k8s/secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloudflare-api-token-secret\ntype: Opaque\ndata:\n  api-token: {encoded}\n"
        ),
    );
    let first = repo.commit("add the secret");
    std::fs::remove_file(repo.dir.join("k8s/secret.yaml")).expect("rm");
    repo.commit("remove it");
    let (v, code, _) = scan(&repo.dir, &["--git"]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["path"], "k8s/secret.yaml");
    assert_eq!(f[0]["line"], 7);
    assert_eq!(f[0]["commit"], first.as_str());
    assert_eq!(f[0]["in_head"], false);
    assert!(
        f[0]["decoded"].as_str().unwrap_or("").contains("base64"),
        "{f:?}"
    );
    let (v, _, _) = scan(&repo.dir, &["--git", "--no-decode"]);
    assert!(findings(&v).is_empty());
}

/// The finding at `path`.
fn at(v: &Value, path: &str) -> Value {
    findings(v)
        .into_iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no finding at {path}: {v}"))
}

fn short(commit: &str) -> &str {
    &commit[..12]
}

#[test]
fn a_renamed_file_keeps_the_commit_that_first_wrote_its_secret() {
    let r = Repo::new();
    r.write(
        "old/deploy.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(40)),
    );
    let wrote = r.commit("add deploy config");
    r.git(&["mv", "old", "new"]);
    let moved = r.commit("move the directory");

    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1);
    // One finding per path, both at the commit that wrote the secret.
    assert_eq!(
        places(&v),
        vec![
            ("new/deploy.env".to_string(), wrote.clone()),
            ("old/deploy.env".to_string(), wrote.clone()),
        ]
    );
    let new = at(&v, "new/deploy.env");
    assert_eq!(new["first_path"], "old/deploy.env");
    assert_eq!(new["moved"]["commit"], moved.as_str());
    assert_eq!(new["moved"]["from"], serde_json::json!(["old/deploy.env"]));
    assert_eq!(new["moved"]["renamed"], true);
    assert_eq!(new["in_head"], true);
    assert_eq!(new["in_head_at_path"], true);
    let old = at(&v, "old/deploy.env");
    assert!(old.get("moved").is_none(), "{old}");
    assert!(old.get("first_path").is_none(), "{old}");
    assert_eq!(old["in_head"], true);
    assert_eq!(old["in_head_at_path"], false);
    assert_eq!(old["head_paths"], serde_json::json!(["new/deploy.env"]));
    // Still in HEAD: no purge notice.
    assert!(!notices(&v).contains("purge"), "{v}");

    let out = keyflare()
        .args(["scan", "--git"])
        .arg(&r.dir)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "at old/deploy.env; moved here from old/deploy.env in commit {}",
            short(&moved)
        )),
        "{text}"
    );
    assert!(
        text.contains("no longer at this path, but still in HEAD at new/deploy.env"),
        "{text}"
    );
    assert!(!text.contains("only in history"), "{text}");

    let out = keyflare()
        .args(["scan", "--git", "--format", "sarif"])
        .arg(&r.dir)
        .output()
        .expect("run");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let new = results
        .iter()
        .find(|r| r["properties"]["first_path"] == "old/deploy.env")
        .expect("the moved finding in SARIF");
    assert_eq!(new["properties"]["commit"], wrote.as_str());
    assert_eq!(new["properties"]["moved"]["commit"], moved.as_str());
    assert_eq!(new["properties"]["in_head_at_path"], true);
}

#[test]
fn a_moved_directory_names_each_file_s_own_old_path_first() {
    let r = Repo::new();
    // The same secret in two files: each moved file's source is its own.
    let t = token(41);
    r.write("conf/a.env", &format!("CLOUDFLARE_API_TOKEN={t}\n"));
    r.write("conf/b.env", &format!("X=1\nCLOUDFLARE_API_TOKEN={t}\n"));
    let wrote = r.commit("configs");
    r.git(&["mv", "conf", "settings"]);
    let moved = r.commit("rename conf/");

    let (v, _, _) = scan(&r.dir, &["--git"]);
    assert_eq!(findings(&v).len(), 4, "{v}");
    for (path, own) in [
        ("settings/a.env", "conf/a.env"),
        ("settings/b.env", "conf/b.env"),
    ] {
        let f = at(&v, path);
        assert_eq!(f["commit"], wrote.as_str(), "{f}");
        assert_eq!(f["moved"]["commit"], moved.as_str(), "{f}");
        assert_eq!(f["moved"]["from"][0], own, "{f}");
        assert_eq!(f["moved"]["renamed"], true, "{f}");
    }
    for path in ["conf/a.env", "conf/b.env"] {
        let f = at(&v, path);
        assert_eq!(f["in_head"], true, "{f}");
        assert_eq!(f["in_head_at_path"], false, "{f}");
        assert_eq!(
            f["head_paths"],
            serde_json::json!(["settings/a.env", "settings/b.env"]),
            "{f}"
        );
    }
}

#[test]
fn a_copied_secret_is_attributed_to_its_writer_until_it_is_gone_everywhere() {
    let r = Repo::new();
    let t = token(42);
    r.write("app/.dev.env", &format!("CLOUDFLARE_API_TOKEN={t}\n"));
    let wrote = r.commit("dev config");
    r.write(
        "tests/fixture.env",
        &format!("# copied\nCLOUDFLARE_API_TOKEN={t}\n"),
    );
    let copied = r.commit("copy into a fixture");

    let (v, _, _) = scan(&r.dir, &["--git"]);
    assert_eq!(
        places(&v),
        vec![
            ("app/.dev.env".to_string(), wrote.clone()),
            ("tests/fixture.env".to_string(), wrote.clone()),
        ]
    );
    let copy = at(&v, "tests/fixture.env");
    assert_eq!(copy["first_path"], "app/.dev.env");
    assert_eq!(copy["moved"]["commit"], copied.as_str());
    assert_eq!(copy["moved"]["from"], serde_json::json!(["app/.dev.env"]));
    assert_eq!(copy["moved"]["renamed"], false);
    assert_eq!(copy["line"], 2);
    for f in findings(&v) {
        assert_eq!(f["in_head_at_path"], true, "{f}");
        assert_eq!(f["head_path_count"], 2, "{f}");
    }

    // The original goes; the copy stays.
    std::fs::remove_file(r.dir.join("app/.dev.env")).expect("rm");
    r.commit("drop the dev config");
    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1);
    let orig = at(&v, "app/.dev.env");
    assert_eq!(orig["in_head"], true, "{orig}");
    assert_eq!(orig["in_head_at_path"], false, "{orig}");
    assert_eq!(orig["head_paths"], serde_json::json!(["tests/fixture.env"]));
    assert_eq!(at(&v, "tests/fixture.env")["in_head_at_path"], true);
    assert!(!notices(&v).contains("purge"), "{v}");

    // Then the copy: only history holds it.
    std::fs::remove_file(r.dir.join("tests/fixture.env")).expect("rm");
    r.commit("drop the fixture");
    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&v).len(), 2, "{v}");
    for f in findings(&v) {
        assert_eq!(f["in_head"], false, "{f}");
        assert_eq!(f["in_head_at_path"], false, "{f}");
        assert!(f.get("head_paths").is_none(), "{f}");
        assert_eq!(f["commit"], wrote.as_str(), "{f}");
    }
    assert!(
        notices(&v).contains("2 findings are only in history"),
        "{v}"
    );
    let out = keyflare()
        .args(["scan", "--git"])
        .arg(&r.dir)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("; only in history: rotate it"), "{text}");
    assert!(!text.contains("still in HEAD"), "{text}");
}

#[test]
fn the_same_secret_written_on_two_unrelated_branches_is_two_introductions() {
    // Seen in cloudflare/workers-sdk: one Origin CA key in a changeset on
    // one pull request, and pasted into a script on another, two weeks
    // later, by someone else. Neither commit is the other's ancestor, so
    // neither moved it: each wrote it.
    let r = Repo::new();
    let t = token(43);
    r.write("README.md", "base\n");
    let base = r.commit("base");
    r.git(&["checkout", "-q", "-b", "one"]);
    r.write("a/.env", &format!("CLOUDFLARE_API_TOKEN={t}\n"));
    let one = r.commit("one writes it");
    r.git(&["checkout", "-q", "-b", "two", &base]);
    r.write("b/deploy.env", &format!("CLOUDFLARE_API_TOKEN={t}\n"));
    let two = r.commit("two writes it again");

    let (v, code, _) = scan(&r.dir, &["--git"]);
    assert_eq!(code, 1);
    assert_eq!(
        places(&v),
        vec![
            ("a/.env".to_string(), one),
            ("b/deploy.env".to_string(), two)
        ]
    );
    for f in findings(&v) {
        assert!(f.get("moved").is_none(), "{f}");
        assert!(f.get("first_path").is_none(), "{f}");
    }
}

#[test]
fn a_range_that_renames_a_file_reports_nothing_and_follows_a_move_to_head() {
    let r = Repo::new();
    r.write("README.md", "x\n");
    r.write(
        "ci/secrets.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(43)),
    );
    let base = r.commit("base");
    r.git(&["mv", "ci/secrets.env", "ci/prod.env"]);
    r.commit("rename");
    let (v, code, _) = scan(&r.dir, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 0, "a rename is not a new leak: {v}");
    assert!(findings(&v).is_empty(), "{v}");

    // A secret the range adds and then moves: still in HEAD, elsewhere.
    let mid = r.git(&["rev-parse", "HEAD"]);
    r.write(
        "deploy.env",
        &format!("CLOUDFLARE_API_TOKEN={}\n", token(44)),
    );
    let added = r.commit("add");
    r.git(&["mv", "deploy.env", "prod.env"]);
    r.commit("move");
    let (v, code, _) = scan(&r.dir, &["--range", &format!("{mid}..HEAD")]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(places(&v), vec![("deploy.env".to_string(), added)]);
    let f = &findings(&v)[0];
    assert_eq!(f["in_head"], true, "{f}");
    assert_eq!(f["in_head_at_path"], false, "{f}");
    assert_eq!(f["head_paths"], serde_json::json!(["prod.env"]), "{f}");
}

#[test]
fn git_s_rename_pairing_names_the_source_when_many_files_hold_the_secret() {
    let r = Repo::new();
    let t = token(45);
    // Same secret, different files: only their content tells which went where.
    let one = format!("CLOUDFLARE_API_TOKEN={t}\nalpha=1\nalpha=2\nalpha=3\nalpha=4\n");
    let two = format!("CLOUDFLARE_API_TOKEN={t}\nbeta=1\nbeta=2\nbeta=3\nbeta=4\n");
    r.write("old/one.env", &one);
    r.write("old/two.env", &two);
    r.commit("configs");
    std::fs::remove_dir_all(r.dir.join("old")).expect("rm");
    r.write("new/zz-first.env", &one);
    r.write("new/aa-second.env", &two);
    let moved = r.commit("rename with new names");

    let (v, _, _) = scan(&r.dir, &["--git"]);
    for (path, src) in [
        ("new/zz-first.env", "old/one.env"),
        ("new/aa-second.env", "old/two.env"),
    ] {
        let f = at(&v, path);
        assert_eq!(f["moved"]["commit"], moved.as_str(), "{f}");
        assert_eq!(f["moved"]["from"][0], src, "{f}");
        assert_eq!(f["moved"]["renamed"], true, "{f}");
    }
}

//! keyflare's scan of itself (`.ci/self-scan`, run by `.ci/run`): a copy of
//! the repository's tracked files, committed to a fresh repository, scans
//! clean; a synthetic token planted outside the places `keyflare.toml` scopes
//! out fails it, in the working tree and in history alone.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::keyflare;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A synthetic user API token of this file's own ([`support::user_token`]).
fn token(seed: u32) -> String {
    support::user_token(seed, 977)
}

/// git with the user's configuration and environment kept out.
fn git(dir: &Path, args: &[&str]) -> String {
    support::git_at(dir, "2024-03-01T12:00:00+01:00", args)
}

/// The repository's tracked files, as they are in the working tree, committed
/// to a new repository in a temporary directory.
fn copy_of_repository() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dest = tmp.path().join("keyflare");
    std::fs::create_dir(&dest).expect("mkdir");
    let listed = git(Path::new(ROOT), &["ls-files", "-z"]);
    let mut copied = 0;
    for rel in listed.split('\0').filter(|p| !p.is_empty()) {
        let from = Path::new(ROOT).join(rel);
        // A file deleted but not yet staged.
        if !from.is_file() {
            continue;
        }
        let to = dest.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(&from, &to).expect("copy");
        copied += 1;
    }
    assert!(copied > 50, "git ls-files listed only {copied} files");
    for f in ["keyflare.toml", ".ci/self-scan", "fixtures/tree/.env"] {
        assert!(dest.join(f).is_file(), "{f} was not copied");
    }
    git(&dest, &["init", "-q"]);
    commit(&dest, "copy of keyflare");
    (tmp, dest)
}

fn commit(dir: &Path, msg: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
}

/// Runs `.ci/self-scan` (from the copy, as CI would) with the test binary.
fn self_scan(dir: &Path) -> Output {
    Command::new("bash")
        .arg(dir.join(".ci/self-scan"))
        .arg(env!("CARGO_BIN_EXE_keyflare"))
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run .ci/self-scan")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn repository_scans_clean_and_a_planted_token_fails_it() {
    let (_tmp, repo) = copy_of_repository();

    // Clean: both scans ran (two "No Cloudflare credentials found"), exit 0.
    let clean = self_scan(&repo);
    let out = text(&clean);
    assert_eq!(clean.status.code(), Some(0), "{out}");
    assert_eq!(
        out.matches("No Cloudflare credentials found").count(),
        2,
        "{out}"
    );

    // `keyflare audit` (tree and history at once) reads the same
    // configuration, baseline included.
    let report = repo.with_extension("audit.json");
    keyflare()
        .args(["audit", "-q", "-f", "json", "-o"])
        .arg(&report)
        .arg(&repo)
        .assert()
        .code(0);

    // The excluded places do hold credentials: scanned without the
    // configuration (an empty one), the same tree reports them.
    let empty = repo.join("empty.toml");
    std::fs::write(&empty, "").expect("write");
    keyflare()
        .args(["scan", "--config"])
        .arg(&empty)
        .arg(&repo)
        .assert()
        .code(1);
    std::fs::remove_file(&empty).expect("rm");

    // A token in source code, next to the excluded places, fails both scans.
    let planted = token(25);
    std::fs::write(
        repo.join("src/planted.rs"),
        format!("const CF_TOKEN: &str = \"{planted}\";\n"),
    )
    .expect("write");
    commit(&repo, "plant a token");
    let caught = self_scan(&repo);
    let out = text(&caught);
    assert_eq!(caught.status.code(), Some(1), "{out}");
    assert!(out.contains("src/planted.rs:1:"), "{out}");
    assert!(!out.contains(&planted), "reports redact: {out}");

    // Removed again: the tree is clean, the history scan still fails.
    std::fs::remove_file(repo.join("src/planted.rs")).expect("rm");
    commit(&repo, "remove it");
    let history = self_scan(&repo);
    let out = text(&history);
    assert_eq!(history.status.code(), Some(1), "{out}");
    assert_eq!(
        out.matches("No Cloudflare credentials found").count(),
        1,
        "{out}"
    );
    assert!(out.contains("src/planted.rs:1:"), "{out}");
}

#[test]
fn demo_is_scoped_out_here_but_reports_on_its_own() {
    let demo = Path::new(ROOT).join("examples/demo");
    let out = keyflare().arg("scan").arg(&demo).output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    for rule in [
        "kf.cloudflare.user-api-token",
        "kf.cloudflare.global-api-key.legacy",
        "kf.cloudflare.hygiene.plaintext-api",
    ] {
        assert!(report.contains(rule), "{rule} missing:\n{report}");
    }
}

//! Shared helpers for the integration tests: temp trees from fixtures, a
//! command builder for the binary, isolated git, secret-leak assertions and
//! the SARIF 2.1.0 schema check.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository's fixtures directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Copies `fixtures/<name>` into a fresh temp dir and returns (guard, path).
pub fn fixture_tree(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dest = tmp.path().join(name);
    copy_dir(&fixtures().join(name), &dest);
    (tmp, dest)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The keyflare binary, with colour and environment noise removed.
pub fn keyflare() -> Command {
    let mut cmd = Command::cargo_bin("keyflare").expect("binary");
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

/// Whether the tests run as root, who reads a mode-000 file without error.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// keyflare as a user for whom a mode-000 file is a read error: as root
/// (CI runs as root), the binary runs as `nobody` through setpriv
/// (util-linux); otherwise as this user. The tree it scans must be readable
/// by others (a `tempfile` dir is 0700: open it up first).
pub fn keyflare_unprivileged() -> Command {
    if !is_root() {
        return keyflare();
    }
    let bin = assert_cmd::cargo::cargo_bin("keyflare");
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// Every secret the fixture tree holds (from fixtures/tree.expected.json).
pub fn fixture_secrets() -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join("tree.expected.json")).expect("expected");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut out: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| {
            let r = e["rule_id"].as_str().unwrap_or("");
            !r.contains("hygiene")
        })
        .map(|e| e["secret"].as_str().expect("secret").to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Asserts that none of `secrets` appears in `haystack`, nor any 12-char slice
/// of their middle (a partial leak).
pub fn assert_no_secret(haystack: &[u8], secrets: &[String], what: &str) {
    let text = String::from_utf8_lossy(haystack);
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} contains a full secret");
        if s.len() >= 24 {
            let mid = &s[s.len() / 2 - 6..s.len() / 2 + 6];
            assert!(!text.contains(mid), "{what} contains part of a secret");
        }
    }
}

/// A synthetic user API token: `cfut_`, 40 characters drawn from `seed`
/// (xorshift; `salt` keeps one test file's tokens apart from another's),
/// and the CRC32 of those 40 as 8 hex digits. Never a real credential.
pub fn user_token(seed: u32, salt: u32) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(salt);
    let body: String = (0..40)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            ALPHABET[(x % ALPHABET.len() as u32) as usize] as char
        })
        .collect();
    format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()))
}

/// `keyflare scan DIR --format json EXTRA...`: the report and the exit code.
pub fn json_scan(dir: &Path, extra: &[&str]) -> (serde_json::Value, i32) {
    let out = keyflare()
        .arg("scan")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    (v, out.status.code().unwrap_or(-1))
}

/// Scans `dir` in the text, JSON and SARIF formats (redacted, the default)
/// and asserts that each finds something (exit 1) and that neither its
/// stdout nor its stderr shows any of `secrets`.
pub fn assert_no_format_prints_a_secret(dir: &Path, secrets: &[String]) {
    for format in ["text", "json", "sarif"] {
        let out = keyflare()
            .arg("scan")
            .arg(dir)
            .args(["--format", format])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1));
        assert_no_secret(&out.stdout, secrets, &format!("{format} stdout"));
        assert_no_secret(&out.stderr, secrets, &format!("{format} stderr"));
    }
}

/// An empty global git configuration: not /dev/null, which is not always
/// an empty character device in shared sandboxes.
pub fn empty_git_config() -> PathBuf {
    let p = std::env::temp_dir().join("keyflare-tests.gitconfig");
    if std::fs::metadata(&p).map(|m| m.len() != 0).unwrap_or(true) {
        std::fs::write(&p, "").expect("write empty git config");
    }
    p
}

/// git in `dir`, isolated from the user's configuration and environment,
/// author and committer pinned, both dated `date`. Panics if git fails;
/// returns its trimmed stdout.
pub fn git_at(dir: &Path, date: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(["-c", "protocol.file.allow=always"])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_COMMITTER_DATE", date)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The SARIF 2.1.0 schema (tests/data), compiled.
pub fn sarif_validator() -> jsonschema::Validator {
    let schema_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
    )
    .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema json");
    jsonschema::validator_for(&schema).expect("compile schema")
}

/// What the SARIF 2.1.0 schema finds wrong with `sarif`, one message each.
pub fn sarif_schema_errors(
    validator: &jsonschema::Validator,
    sarif: &serde_json::Value,
) -> Vec<String> {
    validator
        .iter_errors(sarif)
        .map(|e| e.to_string())
        .collect()
}

/// Asserts that `sarif` is valid against the SARIF 2.1.0 schema.
pub fn assert_valid_sarif(sarif: &serde_json::Value) {
    let errors = sarif_schema_errors(&sarif_validator(), sarif);
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
}

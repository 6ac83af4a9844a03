//! No secret leaves keyflare unless `--no-redact` asks for it: not on stdout,
//! not on stderr, not in a written report, not in a leftover temporary file,
//! whatever the format, verbosity, log level, output target or verification
//! outcome. And an unredacted report on disk is readable by its owner only.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{assert_no_secret, fixture_secrets, fixture_tree, keyflare};

const FORMATS: [&str; 3] = ["text", "json", "sarif"];

/// One keyflare run: its arguments besides `scan <tree>`, its environment,
/// and the exit code it must give.
struct Run {
    what: String,
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    code: i32,
}

fn run(what: String, args: &[&str], env: &[(&'static str, &'static str)], code: i32) -> Run {
    Run {
        what,
        args: args.iter().map(|s| s.to_string()).collect(),
        env: env.to_vec(),
        code,
    }
}

/// Runs every `Run` over `tree`, three at a time (the verifying runs mostly
/// wait on the rate limiter), and checks stdout and stderr.
fn run_all(tree: &Path, runs: &[Run], secrets: &[String]) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                while let Some(r) = runs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut cmd = keyflare();
                    cmd.arg("scan").arg(tree).args(&r.args);
                    for (k, v) in &r.env {
                        cmd.env(k, v);
                    }
                    let out = cmd
                        .timeout(std::time::Duration::from_secs(120))
                        .output()
                        .expect("run keyflare");
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    assert_eq!(out.status.code(), Some(r.code), "{}: {stderr}", r.what);
                    assert!(!stderr.contains("panicked"), "{}: {stderr}", r.what);
                    assert_no_secret(&out.stdout, secrets, &format!("{}: stdout", r.what));
                    assert_no_secret(&out.stderr, secrets, &format!("{}: stderr", r.what));
                }
            });
        }
    });
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn no_format_log_level_or_output_target_leaks_a_secret() {
    let (_t, tree) = fixture_tree("tree");
    let secrets = fixture_secrets();
    assert!(secrets.len() >= 6, "the fixtures hold secrets to look for");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let blocker = out_dir.path().join("not-a-dir");
    std::fs::write(&blocker, "a file where a directory should be\n").expect("write");
    let report_dir = out_dir.path().join("reports");
    std::fs::create_dir(&report_dir).expect("mkdir");
    let existing_dir = out_dir.path().join("a-directory");
    std::fs::create_dir(&existing_dir).expect("mkdir");

    // Plain runs of each format are in tests/cli.rs; here every run has the
    // most verbose logging asked for, and each format is run with and
    // without -q, to a file, and with verification that cannot succeed.
    let trace = [("RUST_LOG", "trace"), ("RUST_BACKTRACE", "1")];
    let under_file = blocker.join("report.out");
    let under_file = under_file.to_str().expect("utf-8 temp path");
    let onto_dir = existing_dir.to_str().expect("utf-8 temp path");
    let mut runs = Vec::new();
    for format in FORMATS {
        let f = ["--format", format];
        runs.push(run(format!("{format}, RUST_LOG=trace"), &f, &trace, 1));
        let report = report_dir.join(format!("report.{format}"));
        let report = report.to_str().expect("utf-8 temp path");
        runs.push(run(
            format!("{format} -q -o FILE, RUST_LOG=trace"),
            &[&f[..], &["-q", "-o", report]].concat(),
            &trace,
            1,
        ));
        // Verification against nothing: the reasons must not echo a secret.
        runs.push(run(
            format!("{format} --verify against a closed port"),
            &[
                &f[..],
                &["--verify", "--verify-timeout", "2"],
                &["--api-base", "https://127.0.0.1:1/client/v4"],
            ]
            .concat(),
            &trace,
            1,
        ));
    }
    // Unwritable -o (the parent is a regular file; the target is a directory):
    // even an unredacted report that cannot be written goes nowhere.
    for (format, extra, target) in [
        ("text", "--no-redact", under_file),
        ("json", "--no-redact", onto_dir),
        ("sarif", "-q", under_file),
    ] {
        runs.push(run(
            format!("{format} {extra} -o {target}"),
            &["--format", format, extra, "-o", target],
            &trace,
            2,
        ));
    }
    run_all(&tree, &runs, &secrets);

    // Written reports hold no secret either, and nothing else was left behind:
    // no temporary file next to a report that could not be written.
    let written = files_under(out_dir.path());
    let mut names: Vec<String> = written
        .iter()
        .map(|p| {
            p.strip_prefix(out_dir.path())
                .expect("under out dir")
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "not-a-dir",
            "reports/report.json",
            "reports/report.sarif",
            "reports/report.text"
        ]
    );
    for path in &written {
        let bytes = std::fs::read(path).expect("read report");
        assert_no_secret(&bytes, &secrets, &path.display().to_string());
    }
}

#[test]
fn an_unredacted_report_is_private_even_over_a_public_file() {
    let (_t, tree) = fixture_tree("tree");
    let secrets = fixture_secrets();
    let out_dir = tempfile::tempdir().expect("temp dir");
    let report = out_dir.path().join("report.json");
    std::fs::write(&report, "old, world-readable\n").expect("write");
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = keyflare()
        .arg("scan")
        .arg(&tree)
        .args(["--format", "json", "--no-redact", "-o"])
        .arg(&report)
        .output()
        .expect("run keyflare");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "the report went to the file");
    assert_no_secret(&out.stderr, &secrets, "stderr");
    let text = std::fs::read_to_string(&report).expect("read report");
    assert!(
        secrets.iter().all(|s| text.contains(s.as_str())),
        "--no-redact shows every secret"
    );
    assert_eq!(mode(&report), 0o600, "unredacted report must be 0600");
    assert_eq!(files_under(out_dir.path()), vec![report]);
}

/// O_NONBLOCK (not in std): 0o4000 on Linux, 4 on macOS and the BSDs.
#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(target_os = "linux"))]
const O_NONBLOCK: i32 = 0x0004;

/// `-o` names something that is not a plain file: a FIFO (like `-o /dev/stdout`
/// on a pipe, or `-o /dev/null`) must be written into, not replaced by a
/// regular file; a symlink must be followed, its target replaced (and 0600),
/// the link kept. Never tried on the real /dev/null: a regression run as root
/// would replace the machine's /dev/null.
#[test]
fn output_into_a_fifo_or_through_a_symlink_keeps_the_node() {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

    let tmp = tempfile::tempdir().expect("temp dir");
    let tree = tmp.path().join("tree");
    std::fs::create_dir(&tree).expect("mkdir");
    let body = "OxPNfh6Wog2X96yl5Ym6kX5sPeGbia1SvKSwtxNx";
    let token = format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()));
    std::fs::write(tree.join("deploy.sh"), format!("token: {token}\n")).expect("write");
    let secrets = vec![token];

    // A FIFO, held open read-write by the test so keyflare's open never waits
    // and its report (well under the pipe's 64 KiB) sits in the pipe.
    let fifo = tmp.path().join("report.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let mut pipe = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo)
        .expect("open the FIFO");
    let out = keyflare()
        .arg("scan")
        .arg(&tree)
        .args(["--format", "json", "-o"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run keyflare");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kind = std::fs::symlink_metadata(&fifo).expect("stat").file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
    let mut report = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => report.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("read the FIFO: {e}"),
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&report).expect("a JSON report");
    assert_eq!(v["summary"]["findings"].as_u64(), Some(1));
    assert_no_secret(&report, &secrets, "report through the FIFO");

    // A symlink to an existing, world-readable report.
    let real = tmp.path().join("real.json");
    std::fs::write(&real, "old\n").expect("write");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let link = tmp.path().join("link.json");
    std::os::unix::fs::symlink("real.json", &link).expect("symlink");
    keyflare()
        .arg("scan")
        .arg(&tree)
        .args(["--format", "json", "--no-redact", "-o"])
        .arg(&link)
        .assert()
        .code(1);
    let link_kind = std::fs::symlink_metadata(&link).expect("stat").file_type();
    assert!(link_kind.is_symlink(), "the link was replaced");
    let text = std::fs::read_to_string(&real).expect("read");
    assert!(
        text.contains(&secrets[0]),
        "the report went through the link"
    );
    assert_eq!(mode(&real), 0o600, "unredacted report must be 0600");
}

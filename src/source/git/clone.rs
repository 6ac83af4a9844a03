//! Remote audits: a git URL is mirrored into a temporary directory.
//!
//! This is the one place keyflare runs the `git` binary. `git2` is built
//! without its https and ssh transports (no OpenSSL or libssh2 to build or
//! audit), so fetching goes through the user's own git, with their
//! credential helpers and ssh configuration; reading the clone afterwards
//! goes through `git2` like any other repository. The clone is bare and
//! holds every ref (`--mirror`), and the temporary directory is removed
//! when the returned [`tempfile::TempDir`] is dropped, on success or error.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::Error;

/// Whether `target` names a remote (or `file://`) repository rather than a
/// local path: a URL with a git transport scheme, or scp-like
/// `user@host:path` that is not an existing path.
pub fn is_url(target: &str) -> bool {
    const SCHEMES: [&str; 6] = [
        "https://",
        "http://",
        "ssh://",
        "git://",
        "file://",
        "git+ssh://",
    ];
    let lower = target.to_ascii_lowercase();
    if SCHEMES.iter().any(|s| lower.starts_with(s)) {
        return true;
    }
    match target.split_once(':') {
        Some((host, _)) => {
            host.contains('@') && !host.contains('/') && !std::path::Path::new(target).exists()
        }
        None => false,
    }
}

/// `target` without any password or token in its userinfo, for reports.
pub fn display_url(target: &str) -> String {
    let Some((scheme, rest)) = target.split_once("://") else {
        return target.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}{path}")
        }
        _ => target.to_string(),
    }
}

/// A mirror clone in a temporary directory; the directory goes when this is dropped.
pub struct Mirror {
    /// Owns (and on drop removes) the directory.
    pub dir: tempfile::TempDir,
    /// The bare repository inside it.
    pub repo: PathBuf,
}

/// Clones every ref of `url` into a new temporary directory with
/// `git clone --mirror`. Never prompts for credentials.
pub fn mirror(url: &str) -> Result<Mirror, Error> {
    let dir = tempfile::Builder::new()
        .prefix("keyflare-audit-")
        .tempdir()
        .map_err(|source| Error::Path {
            path: std::env::temp_dir(),
            source,
        })?;
    let repo = dir.path().join("mirror.git");
    let out = Command::new("git")
        .args(["clone", "--mirror", "--quiet", "--"])
        .arg(url)
        .arg(&repo)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git(format!("cannot run git to clone {}: {e}", display_url(url))))?;
    if !out.status.success() {
        return Err(Error::Git(format!(
            "git clone --mirror {} failed: {}",
            display_url(url),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(Mirror { dir, repo })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths() {
        assert!(is_url("https://github.com/o/r.git"));
        assert!(is_url("file:///tmp/r"));
        assert!(is_url("git@github.com:o/r.git"));
        assert!(!is_url("."));
        assert!(!is_url("/work/repo"));
        assert!(!is_url("C:/repo"));
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            display_url("https://me:tok3n@example.com/r.git"),
            "https://me@example.com/r.git"
        );
        assert_eq!(display_url("git@h:o/r"), "git@h:o/r");
    }
}

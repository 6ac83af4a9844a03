//! Remote audits: a git URL is mirrored into a temporary directory.
//!
//! This is the one place keyflare runs the `git` binary. `git2` is built
//! without its https and ssh transports (no OpenSSL or libssh2 to build or
//! audit), so fetching goes through the user's own git, with their
//! credential helpers and ssh configuration; reading the clone afterwards
//! goes through `git2` like any other repository. The clone is bare and
//! holds every ref (`--mirror`), and the temporary directory is removed
//! when the returned [`tempfile::TempDir`] is dropped, on success or error.
//!
//! Stage: source. It fetches; it never matches, filters or reports.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{CloneFailure, Error};

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

/// Query parameters whose names hold one of these carry credentials
/// (`?access_token=`, `private_token`, `X-Amz-Signature`, `sig`...).
const SECRET_PARAMS: [&str; 9] = [
    "token", "key", "secret", "sig", "pass", "auth", "cred", "session", "code",
];

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|p| name.contains(p))
}

/// A clone URL split into what may be shown and what must stay out of
/// sight: reports, error messages and git's command line (which process
/// lists show to every user) get [`Remote::shown`]; the credentials go to
/// git through its environment, which only the user can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The URL without user name or password (http, https, git; an ssh
    /// URL keeps its login name, which is no secret) and without query
    /// parameters that carry tokens. scp-like `git@host:path` is unchanged.
    pub shown: String,
    /// The user name and password of an http(s) URL, for an
    /// `Authorization: Basic` header (a token given as the user name has
    /// an empty password).
    basic: Option<(String, String)>,
    /// The URL git must really fetch when secret query parameters were
    /// taken out of `shown`.
    full: Option<String>,
    /// Every credential string, percent-encoded and decoded, to cut out
    /// of git's own messages.
    secrets: Vec<String>,
}

impl Remote {
    /// Splits `target`. A string the `url` crate cannot parse (scp-like
    /// syntax, a typo) keeps everything but what lies between `://` and
    /// the last `@` of its authority.
    pub fn parse(target: &str) -> Remote {
        let plain = |shown: String| Remote {
            shown,
            basic: None,
            full: None,
            secrets: Vec::new(),
        };
        let Ok(mut url) = url::Url::parse(target) else {
            return plain(strip_userinfo(target));
        };
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return plain(target.to_string());
        }
        let mut secrets = Vec::new();
        let mut basic = None;
        let user = url.username().to_string();
        let password = url.password().map(str::to_string);
        let keeps_login = matches!(url.scheme(), "ssh" | "git+ssh");
        if !user.is_empty() || password.is_some() {
            let pass = password.clone().unwrap_or_default();
            if matches!(url.scheme(), "http" | "https") {
                basic = Some((decode(&user), decode(&pass)));
            }
            if !keeps_login && !user.is_empty() {
                secrets.push(user.clone());
                secrets.push(decode(&user));
            }
            if !pass.is_empty() {
                secrets.push(pass.clone());
                secrets.push(decode(&pass));
            }
            // Both setters fail only for URLs without a host, ruled out above.
            let _ = url.set_password(None);
            if !keeps_login {
                let _ = url.set_username("");
            }
        }
        let mut full = None;
        let query = url.query().unwrap_or("").to_string();
        let (hidden, kept): (Vec<&str>, Vec<&str>) = query
            .split('&')
            .filter(|p| !p.is_empty())
            .partition(|p| is_secret_param(&decode(p.split('=').next().unwrap_or(""))));
        if !hidden.is_empty() {
            full = Some(url.to_string());
            for p in hidden {
                if let Some((_, v)) = p.split_once('=') {
                    secrets.push(v.to_string());
                    secrets.push(decode(v));
                }
            }
            let kept = kept.join("&");
            url.set_query((!kept.is_empty()).then_some(kept.as_str()));
        }
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Remote {
            shown: url.to_string(),
            basic,
            full,
            secrets,
        }
    }

    /// `text` (a message of git's) with every credential of this URL
    /// replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    /// Configuration for git, as `(key, value)` pairs to pass through
    /// `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`: the
    /// user name and password as an `http.<origin>.extraHeader` (sent to
    /// that origin only), and the real URL as `url.<real>.insteadOf` the
    /// shown one when secret query parameters were taken out.
    pub fn git_config(&self) -> Vec<(String, String)> {
        use base64::Engine as _;
        let mut config = Vec::new();
        if let (Some((user, pass)), Ok(url)) = (&self.basic, url::Url::parse(&self.shown)) {
            let origin = url.origin().ascii_serialization();
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            config.push((
                format!("http.{origin}/.extraHeader"),
                format!("Authorization: Basic {token}"),
            ));
        }
        if let Some(full) = &self.full {
            config.push((format!("url.{full}.insteadOf"), self.shown.clone()));
        }
        config
    }
}

/// Percent-decodes a URL component (`+` stays `+`, as in userinfo).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied(), b.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(v as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Cuts `user:password@` out of a `scheme://` string the URL parser refused.
fn strip_userinfo(target: &str) -> String {
    let Some((scheme, rest)) = target.split_once("://") else {
        return target.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => target.to_string(),
    }
}

/// `target` as reports and messages may show it ([`Remote::shown`]).
pub fn display_url(target: &str) -> String {
    Remote::parse(target).shown
}

/// A mirror clone in a temporary directory; the directory goes when this is dropped.
pub struct Mirror {
    /// Owns (and on drop removes) the directory.
    pub dir: tempfile::TempDir,
    /// The bare repository inside it.
    pub repo: PathBuf,
}

/// Clones every ref of `url` into a new temporary directory with
/// `git clone --mirror`. Never prompts for credentials, and never puts
/// them on git's command line: they go through its environment
/// ([`Remote::git_config`]), and git's messages are scrubbed of them.
pub fn mirror(url: &str) -> Result<Mirror, Error> {
    let remote = Remote::parse(url);
    let dir = tempfile::Builder::new()
        .prefix("keyflare-audit-")
        .tempdir()
        .map_err(|source| Error::Path {
            path: std::env::temp_dir(),
            source,
        })?;
    let repo = dir.path().join("mirror.git");
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--mirror", "--quiet", "--"])
        .arg(&remote.shown)
        .arg(&repo)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    // Entries the user already passes this way keep their numbers.
    let first: usize = std::env::var("GIT_CONFIG_COUNT")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let config = remote.git_config();
    if !config.is_empty() {
        for (i, (key, value)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{}", first + i), key)
                .env(format!("GIT_CONFIG_VALUE_{}", first + i), value);
        }
        cmd.env("GIT_CONFIG_COUNT", (first + config.len()).to_string());
    }
    let shown = &remote.shown;
    let out = cmd.output().map_err(|e| Error::Clone {
        remote: shown.clone(),
        source: CloneFailure::Spawn(e),
    })?;
    if !out.status.success() {
        let said = remote.scrub(String::from_utf8_lossy(&out.stderr).trim());
        return Err(Error::Clone {
            remote: shown.clone(),
            source: CloneFailure::Failed(said),
        });
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
    fn credentials_are_not_shown() {
        for (url, shown) in [
            (
                "https://me:tok3n@example.com/r.git",
                "https://example.com/r.git",
            ),
            // A GitHub token given as the user name.
            (
                "https://ghp_FAKEFAKEFAKE0123456789@github.com/o/r",
                "https://github.com/o/r",
            ),
            (
                "https://oauth2:glpat-FAKE@gitlab.example/o/r.git?private_token=FAKE2&ref=main",
                "https://gitlab.example/o/r.git?ref=main",
            ),
            (
                "https://h.example/r.git?access_token=FAKE3",
                "https://h.example/r.git",
            ),
            ("ssh://git:pw@h.example/o/r", "ssh://git@h.example/o/r"),
            ("git@h:o/r", "git@h:o/r"),
            ("file:///tmp/r", "file:///tmp/r"),
            ("https://me:tok@[bad/r", "https://[bad/r"),
        ] {
            assert_eq!(display_url(url), shown, "{url}");
        }
    }

    #[test]
    fn credentials_go_to_git_by_environment() {
        let r = Remote::parse("https://ghp_FAKE@github.com/o/r?token=FAKE2");
        let config = r.git_config();
        assert_eq!(config.len(), 2);
        assert_eq!(config[0].0, "http.https://github.com/.extraHeader");
        // base64("ghp_FAKE:")
        assert_eq!(config[0].1, "Authorization: Basic Z2hwX0ZBS0U6");
        assert_eq!(
            config[1],
            (
                "url.https://github.com/o/r?token=FAKE2.insteadOf".to_string(),
                "https://github.com/o/r".to_string()
            )
        );
        assert_eq!(
            r.scrub("fatal: could not read https://ghp_FAKE@github.com/o/r?token=FAKE2"),
            "fatal: could not read https://***@github.com/o/r?token=***"
        );
        assert!(Remote::parse("https://github.com/o/r")
            .git_config()
            .is_empty());
    }
}

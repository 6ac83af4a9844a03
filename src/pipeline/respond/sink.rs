//! Incident response, output of a roll: where the new value of a rolled token goes.
//!
//! Only two places, both chosen by the user: a new file created with mode 0600
//! (`O_CREAT|O_EXCL`: an existing file or a symlink, dangling or not, is refused, so the
//! value cannot be written through a link someone planted), or the stdin of a command given
//! as an argv (no shell), e.g. `wrangler secret put CLOUDFLARE_API_TOKEN`. The value never
//! goes to stdout, stderr, a log or a report; errors name the file or the program, never it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::verify::NewValue;

/// Where the new value of a rolled token goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkSpec {
    /// A new file, mode 0600.
    File(PathBuf),
    /// A program and its arguments; the value is written to its stdin, then stdin is closed.
    Command(Vec<String>),
}

impl SinkSpec {
    /// How the plan and the record name it.
    pub fn describe(&self) -> String {
        match self {
            SinkSpec::File(p) => format!("file {} (mode 0600)", p.display()),
            SinkSpec::Command(argv) => format!(
                "stdin of `{}`",
                argv.iter()
                    .map(|a| a.chars().filter(|c| !c.is_control()).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }
}

/// A sink made ready before the roll is sent, so that a sink that cannot work stops the roll
/// instead of losing the value.
pub enum Prepared {
    /// The file, already created (empty) by us.
    File(PathBuf, std::fs::File),
    /// The command, started when the value arrives.
    Command(Vec<String>),
}

/// Checks and opens the sink. A file is created now (empty, 0600); an existing path or a
/// symlink is refused.
pub fn prepare(spec: &SinkSpec) -> Result<Prepared, String> {
    match spec {
        SinkSpec::File(path) => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(format!(
                    "{} already exists (or is a symlink): refusing to overwrite it",
                    path.display()
                ));
            }
            create_private(path)
                .map(|f| Prepared::File(path.clone(), f))
                .map_err(|e| format!("cannot create {}: {e}", path.display()))
        }
        SinkSpec::Command(argv) => {
            if argv.is_empty() {
                return Err("empty command".into());
            }
            Ok(Prepared::Command(argv.clone()))
        }
    }
}

/// `O_CREAT|O_EXCL` with mode 0600 (on Unix): never follows or replaces anything.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

impl Prepared {
    /// Gives the value to the sink (followed by a newline). `env_remove` names environment
    /// variables the command must not inherit (the owner token's).
    pub fn deliver(self, value: &NewValue, env_remove: &[String]) -> Result<String, String> {
        match self {
            Prepared::File(path, mut file) => {
                file.write_all(value.expose().as_bytes())
                    .and_then(|_| file.write_all(b"\n"))
                    .and_then(|_| file.sync_all())
                    .map_err(|e| format!("writing {} failed: {e}", path.display()))?;
                Ok(format!("new value in {} (mode 0600)", path.display()))
            }
            Prepared::Command(argv) => {
                let (program, args) = argv.split_first().ok_or("empty command")?;
                let mut cmd = Command::new(program);
                cmd.args(args)
                    .stdin(Stdio::piped())
                    // The command's own output is shown on stderr, away from the plan on stdout.
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit());
                for var in env_remove {
                    cmd.env_remove(var);
                }
                let name = program
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>();
                let mut child = cmd
                    .spawn()
                    .map_err(|e| format!("cannot start {name}: {e}"))?;
                let written = match child.stdin.take() {
                    Some(mut stdin) => stdin
                        .write_all(value.expose().as_bytes())
                        .and_then(|_| stdin.write_all(b"\n")),
                    None => Err(std::io::Error::other("no stdin")),
                };
                let status = child
                    .wait()
                    .map_err(|e| format!("waiting for {name} failed: {e}"))?;
                written.map_err(|e| format!("writing to {name} failed: {e}"))?;
                if status.success() {
                    Ok(format!("new value given to {name} on its stdin"))
                } else {
                    Err(format!("{name} failed ({status})"))
                }
            }
        }
    }

    /// Undoes [`prepare`] when nothing was rolled: removes the empty file we created.
    pub fn abandon(self) {
        if let Prepared::File(path, file) = self {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_existing_files_and_symlinks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let existing = dir.path().join("existing");
        std::fs::write(&existing, "old").expect("write");
        assert!(prepare(&SinkSpec::File(existing.clone())).is_err());
        assert_eq!(
            std::fs::read_to_string(&existing).ok().as_deref(),
            Some("old")
        );
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            let target = dir.path().join("target-not-yet");
            std::os::unix::fs::symlink(&target, &link).expect("symlink");
            assert!(prepare(&SinkSpec::File(link)).is_err());
            assert!(!target.exists(), "nothing written through the link");
        }
    }

    #[cfg(unix)]
    #[test]
    fn new_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("new");
        let p = prepare(&SinkSpec::File(path.clone())).expect("prepared");
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        p.abandon();
        assert!(!path.exists());
    }
}

//! Git sources: blobs from a repository's history ([`history`]), from the
//! commits of a range, and from the index ([`changes`]).
//!
//! Like every source this module reads bytes and hands them on; it never
//! matches. What it adds is where the bytes came from: for history, each
//! distinct blob once with every (path, introducing commit) it appears under;
//! for ranges and the index, each changed file with the lines the change
//! added, so that the caller can keep only what is new. [`lifetime`] finds
//! where secrets left HEAD's line, for audits.
//!
//! Reading uses libgit2 (through `git2`), never the `git` binary (only
//! [`clone`] runs it, to fetch a remote for an audit): a blob is
//! one object lookup in the pack index, and spawning `git` per object or
//! parsing its output would only be slower. Objects that cannot be read
//! become warnings in [`Stats`]; the scan goes on without them.
//!
//! Stage: source. It hands out bytes; it never matches, filters or reports.

mod cache_tree;
pub mod changes;
pub mod clone;
pub mod history;
pub mod lifetime;
pub mod windows;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use git2::{ObjectType, Oid, Repository, RepositoryOpenFlags};

use super::{Stats, Warning};
use crate::error::{Error, GitOp};

/// The start of a Git LFS pointer file: its content lives elsewhere.
const LFS_POINTER: &[u8] = b"version https://git-lfs.github.com/spec/v1";

/// What to scan and how, for every git mode.
#[derive(Clone, Debug)]
pub struct GitOptions {
    /// A path inside the repository (or its git directory, for bare ones).
    pub repo: PathBuf,
    /// Blobs larger than this are skipped (and counted).
    pub max_file_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// History mode: also scan blobs no commit reaches (dangling, stashed
    /// away, only in reflogs or the index).
    pub all_objects: bool,
    /// History mode: scan checked-out submodules' histories too.
    pub recurse_submodules: bool,
    /// The configuration's `exclude` globs (relative to the repository's
    /// top). The sources read excluded paths like any other; the git driver
    /// uses these only to tell their read problems apart, which are not
    /// errors (the filter stage suppresses their findings).
    pub exclude: Vec<String>,
}

/// Who made a commit and when, for attributing findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitMeta {
    /// Full hex id.
    pub id: String,
    /// "Name <email>".
    pub author: String,
    /// Author date, RFC 3339 with the author's offset.
    pub date: String,
    /// The same instant in seconds since the epoch, for ordering.
    pub time: i64,
}

/// Opens the repository at or above `path` (a work tree, a linked worktree,
/// a `.git` directory or a bare repository). Anything else is
/// [`Error::NotRepository`].
pub fn open(path: &Path) -> Result<Repository, Error> {
    if let Err(source) = std::fs::metadata(path) {
        return Err(Error::Path {
            path: path.to_path_buf(),
            source,
        });
    }
    // libgit2 re-hashes every object it reads to check its id (with
    // collision-detecting SHA-1): a quarter of a history scan's time. A
    // scanner wants whatever bytes are there, and damage that matters still
    // shows (inflating fails); `git cat-file` does not check either.
    git2::opts::strict_hash_verification(false);
    Repository::open_ext(
        path,
        RepositoryOpenFlags::empty(),
        std::iter::empty::<&OsStr>(),
    )
    .map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => Error::NotRepository {
            path: path.to_path_buf(),
        },
        _ => Error::Git {
            op: GitOp::Open(path.to_path_buf()),
            source: e,
        },
    })
}

/// Reads commit `id`'s attribution.
pub fn commit_meta(repo: &Repository, id: Oid) -> Result<CommitMeta, git2::Error> {
    let c = repo.find_commit(id)?;
    let a = c.author();
    Ok(CommitMeta {
        id: id.to_string(),
        author: format!(
            "{} <{}>",
            String::from_utf8_lossy(a.name_bytes()),
            String::from_utf8_lossy(a.email_bytes())
        ),
        date: rfc3339(a.when()),
        time: a.when().seconds(),
    })
}

/// Formats a git timestamp as RFC 3339 in its own offset. git stores
/// whatever offset the committer's clock claimed (`+9999` included): one
/// that is no real offset (beyond ±25:59) is shown as UTC, and a time
/// beyond the years -9999..=9999 as git's raw `@seconds +hhmm`.
pub fn rfc3339(t: git2::Time) -> String {
    let raw = || {
        let m = t.offset_minutes();
        let sign = if m < 0 { '-' } else { '+' };
        format!(
            "@{} {sign}{:02}{:02}",
            t.seconds(),
            m.abs() / 60,
            m.abs() % 60
        )
    };
    let Ok(instant) = jiff::Timestamp::from_second(t.seconds()) else {
        return raw();
    };
    let offset = jiff::tz::Offset::from_seconds(t.offset_minutes().saturating_mul(60))
        .unwrap_or(jiff::tz::Offset::UTC);
    let local = offset.to_datetime(instant);
    let minutes = offset.seconds() / 60;
    let sign = if minutes < 0 { '-' } else { '+' };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        minutes.abs() / 60,
        minutes.abs() % 60
    )
}

/// The outcome of reading one blob for scanning.
pub(crate) enum BlobRead<'a> {
    /// Its bytes (an LFS pointer or a too-large blob never gets here).
    Data(git2::OdbObject<'a>),
    /// Nothing to scan: too large (counted), an LFS pointer, not a blob, or
    /// unreadable (warned).
    Skip,
}

/// Reads blob `id` if it is worth scanning, counting what it skips. `what`
/// names it in warnings (its path and commit).
pub(crate) fn read_blob<'a>(
    odb: &'a git2::Odb<'_>,
    id: Oid,
    max_size: u64,
    stats: &Stats,
    what: &dyn Fn() -> String,
) -> BlobRead<'a> {
    // The header is cheap (no inflating of the body), so a huge blob is
    // never loaded just to be thrown away.
    match odb.read_header(id) {
        Ok((size, ObjectType::Blob)) if size as u64 > max_size => {
            stats.skipped_large.fetch_add(1, Ordering::Relaxed);
            return BlobRead::Skip;
        }
        Ok((_, ObjectType::Blob)) => {}
        Ok(_) => return BlobRead::Skip,
        Err(e) => {
            stats.warn(Warning::Object {
                id,
                place: Some(what()),
                error: e.into(),
            });
            return BlobRead::Skip;
        }
    }
    match odb.read(id) {
        Ok(obj) if obj.data().starts_with(LFS_POINTER) => BlobRead::Skip,
        Ok(obj) => BlobRead::Data(obj),
        Err(e) => {
            stats.warn(Warning::Object {
                id,
                place: Some(what()),
                error: e.into(),
            });
            BlobRead::Skip
        }
    }
}

/// A notice for a shallow clone, whose oldest commits' parents are missing.
pub(crate) fn shallow_notice(repo: &Repository) -> Option<String> {
    repo.is_shallow().then(|| {
        "shallow clone: history is partial, only the commits present were scanned \
         (`git fetch --unshallow` gets the rest)"
            .to_string()
    })
}

/// Lists submodule paths in a short, stable form for notices.
pub(crate) fn list_paths(paths: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    s
}

/// The text of `name` (a path in the tree) at HEAD of the repository at or
/// above `repo`, if there is one (`.gitmodules` for the notes stage).
pub fn head_file(repo: &Path, name: &str) -> Option<String> {
    let repo = open(repo).ok()?;
    let tree = repo.head().ok()?.peel_to_tree().ok()?;
    let entry = tree.get_path(Path::new(name)).ok()?;
    let blob = entry.to_object(&repo).ok()?.peel_to_blob().ok()?;
    Some(String::from_utf8_lossy(blob.content()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_in_the_authors_offset() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            rfc3339(git2::Time::new(1_700_000_000, 60)),
            "2023-11-14T23:13:20+01:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(951_782_400, -330)),
            "2000-02-28T18:30:00-05:30"
        );
        assert_eq!(
            rfc3339(git2::Time::new(951_782_400, 0)),
            "2000-02-29T00:00:00+00:00"
        );
        assert_eq!(rfc3339(git2::Time::new(-1, 0)), "1969-12-31T23:59:59+00:00");
        // A "+9999" offset from a commit header: not a real offset, so UTC.
        assert_eq!(
            rfc3339(git2::Time::new(1_700_000_000, 99 * 60 + 99)),
            "2023-11-14T22:13:20+00:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(i64::MAX / 2, -90)),
            format!("@{} -0130", i64::MAX / 2)
        );
    }
}

//! Working-tree source: walks directories in parallel with the `ignore` crate
//! (honouring .gitignore/.ignore, scanning hidden files, skipping `.git/`) and
//! reads each regular file once.
//!
//! Never blocks on FIFOs or devices (only regular files are opened, and they
//! are opened non-blocking and re-checked after opening), never follows
//! symlinks (so loops cannot happen), never memory-maps (a file that changes
//! during the scan cannot crash it), and never reads more than the size limit.
//!
//! Stage: source. It hands out bytes; it never matches, filters or reports.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use ignore::{WalkBuilder, WalkState};

use super::Stats;
use crate::error::Error;
use crate::source::blob::Blob;

/// Files larger than this are opened rather than read whole (a blob whose
/// content is the open file): the scan stage reads them in chunks.
pub const LARGE_FILE: u64 = 16 << 20;

/// O_NONBLOCK (not in std): 0o4000 on Linux, 4 on macOS and the BSDs.
#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(target_os = "linux"))]
const O_NONBLOCK: i32 = 0x0004;

/// How to walk.
#[derive(Clone, Debug)]
pub struct FsOptions {
    /// Directories or files to scan.
    pub roots: Vec<PathBuf>,
    /// Files larger than this are skipped (and counted).
    pub max_file_size: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Honour .gitignore, .ignore and git excludes.
    pub respect_ignore: bool,
    /// The configuration's `exclude` globs. The walk reads excluded paths
    /// like any other (their findings are kept as suppressed by the filter
    /// stage); the tree driver uses these only to tell their read problems
    /// apart, which are not errors.
    pub exclude: Vec<String>,
}

/// A regular file, as the walk hands it over.
pub enum Entry<'a> {
    /// Read whole into a buffer the walking thread lends, or, if larger
    /// than [`LARGE_FILE`], opened to be read in chunks
    /// ([`crate::source::blob::Content`]).
    Blob(Blob<'a>),
    /// A file that could not be opened or read: the visitor decides
    /// whether that is a warning.
    Unreadable {
        /// As for [`Blob::path`].
        path: String,
        /// Why.
        error: std::io::Error,
    },
}

impl Entry<'_> {
    /// The path it is reported at.
    pub fn path(&self) -> &str {
        match self {
            Entry::Blob(blob) => &blob.path,
            Entry::Unreadable { path, .. } => path,
        }
    }
}

/// Walks `opts.roots` and calls `visit` with each regular file, from
/// several threads. Entries the walk cannot list become warnings in
/// `stats`; files it cannot read are handed over as
/// [`Entry::Unreadable`]. Fails
/// only if a root does not exist.
pub fn walk<F>(opts: &FsOptions, stats: &Stats, visit: F) -> Result<(), Error>
where
    F: Fn(Entry<'_>) + Sync,
{
    for root in &opts.roots {
        std::fs::symlink_metadata(root).map_err(|source| Error::Path {
            path: root.clone(),
            source,
        })?;
    }
    let Some((first, rest)) = opts.roots.split_first() else {
        return Ok(());
    };
    let mut builder = WalkBuilder::new(first);
    for r in rest {
        builder.add(r);
    }
    builder
        .hidden(false)
        .follow_links(false)
        .ignore(opts.respect_ignore)
        .git_ignore(opts.respect_ignore)
        .git_exclude(opts.respect_ignore)
        .git_global(opts.respect_ignore)
        .parents(opts.respect_ignore)
        // The same rules with or without a .git directory (an exported tree).
        .require_git(false)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    // A single directory root: report paths relative to it, as the repo sees them.
    let base: Option<&Path> = match opts.roots.as_slice() {
        [only] if only.is_dir() => Some(only.as_path()),
        _ => None,
    };
    let visit = &visit;
    builder.build_parallel().run(|| {
        // Each thread reads its files into one buffer: a buffer per file
        // cost a malloc and a free each, and freeing one of 64 KiB or more
        // makes glibc consolidate its free lists.
        let mut buffer = Vec::new();
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    stats.warn(super::Warning::Walk {
                        error: e.to_string(),
                    });
                    return WalkState::Continue;
                }
            };
            let is_file = entry.file_type().is_some_and(|t| t.is_file());
            if !is_file {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if !is_dir {
                    stats.skipped_special.fetch_add(1, Ordering::Relaxed);
                }
                return WalkState::Continue;
            }
            let path = entry.path();
            let shown = display_path(path, base);
            match read_regular_file(path, opts.max_file_size, &mut buffer) {
                Ok(Read_::Data) => {
                    stats.add_blob(buffer.len());
                    visit(Entry::Blob(Blob::file(shown, buffer.as_slice())));
                    if buffer.capacity() > KEPT_BUFFER {
                        buffer = Vec::new();
                    }
                }
                Ok(Read_::Large(file, len)) => {
                    stats.add_blob(len as usize);
                    visit(Entry::Blob(Blob::open_file(shown, file, len)));
                }
                Ok(Read_::TooLarge) => {
                    stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Read_::NotRegular) => {
                    stats.skipped_special.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => visit(Entry::Unreadable { path: shown, error }),
            }
            WalkState::Continue
        })
    });
    Ok(())
}

/// The largest buffer a walking thread keeps from one file to the next.
const KEPT_BUFFER: usize = 4 << 20;

enum Read_ {
    /// Read into the buffer given.
    Data,
    Large(File, u64),
    TooLarge,
    NotRegular,
}

/// Opens `path` and, if it is a regular file no larger than [`LARGE_FILE`],
/// reads it into `data` (emptied first).
fn read_regular_file(path: &Path, limit: u64, data: &mut Vec<u8>) -> std::io::Result<Read_> {
    // Non-blocking open: if the file was swapped for a FIFO since the walk saw
    // it, opening must not hang. Regular files ignore the flag.
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Read_::NotRegular);
    }
    if meta.len() > limit {
        return Ok(Read_::TooLarge);
    }
    if meta.len() > LARGE_FILE {
        return Ok(Read_::Large(file, meta.len()));
    }
    // The bytes the file had when it was looked at. Reading on to the end
    // would cost a system call more per file (a tenth of a tree scan's
    // calls), and what a file gains while it is read is not worth it.
    data.clear();
    data.reserve(meta.len() as usize);
    if meta.len() > 0 {
        file.take(meta.len()).read_to_end(data)?;
        return Ok(Read_::Data);
    }
    // Pseudo-files (procfs, sysfs) say 0 bytes and have some: read to the
    // end, never more than the limit.
    file.take(limit + 1).read_to_end(data)?;
    if data.len() as u64 > limit {
        return Ok(Read_::TooLarge);
    }
    Ok(Read_::Data)
}

/// `/`-separated path relative to `base` when given, else as walked, without
/// a leading `./`. Non-UTF-8 names are shown lossily.
pub fn display_path(path: &Path, base: Option<&Path>) -> String {
    let rel = base
        .and_then(|b| under(path, b))
        .filter(|r| !r.as_os_str().is_empty())
        .unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(t) => t.to_string(),
        None => s,
    }
}

/// `path` relative to `base`. The walk joins names onto its root, so the
/// root's bytes and a `/` begin the path, and that is checked first:
/// `Path::strip_prefix` parses both into components, once per file.
fn under<'a>(path: &'a Path, base: &Path) -> Option<&'a Path> {
    use std::os::unix::ffi::OsStrExt;
    let (p, b) = (path.as_os_str().as_bytes(), base.as_os_str().as_bytes());
    match p.strip_prefix(b) {
        Some([b'/', rest @ ..]) if !b.ends_with(b"/") && !rest.starts_with(b"/") => {
            Some(Path::new(std::ffi::OsStr::from_bytes(rest)))
        }
        _ => path.strip_prefix(base).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_as_its_size_says_and_a_pseudo_file_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let (long, short) = (dir.path().join("long.txt"), dir.path().join("a.txt"));
        std::fs::write(&long, "x".repeat(5000)).unwrap();
        std::fs::write(&short, b"CLOUDFLARE_API_TOKEN=x\n").unwrap();
        // One buffer for every file, as a walking thread has: a file read
        // after a longer one holds its own bytes only.
        let mut buffer = Vec::new();
        let mut read = |path: &Path, limit| read_regular_file(path, limit, &mut buffer).unwrap();
        assert!(matches!(read(&long, 1 << 20), Read_::Data));
        assert!(matches!(read(&short, 1 << 20), Read_::Data));
        assert_eq!(buffer, b"CLOUDFLARE_API_TOKEN=x\n");
        // procfs says 0 bytes for a file that has some.
        let status = Path::new("/proc/self/status");
        if status.exists() {
            let mut read =
                |path: &Path, limit| read_regular_file(path, limit, &mut buffer).unwrap();
            assert!(matches!(read(status, 1 << 20), Read_::Data));
            assert!(matches!(read(status, 4), Read_::TooLarge));
            assert!(matches!(read(status, 1 << 20), Read_::Data));
            assert!(buffer.starts_with(b"Name:"), "{buffer:?}");
        }
    }

    #[test]
    fn display_paths() {
        assert_eq!(display_path(Path::new("./a/b"), None), "a/b");
        assert_eq!(
            display_path(Path::new("/r/a/b"), Some(Path::new("/r"))),
            "a/b"
        );
        assert_eq!(display_path(Path::new("x"), Some(Path::new("/r"))), "x");
        // The byte prefix and the components agree.
        for (path, base, shown) in [
            ("/r/a/b", "/r/", "a/b"),
            ("/r//a/b", "/r", "a/b"),
            ("/ra/b", "/r", "/ra/b"),
            ("r/./a", "r", "a"),
            ("./r/a", "r", "r/a"),
            ("/r", "/r", "/r"),
        ] {
            assert_eq!(
                display_path(Path::new(path), Some(Path::new(base))),
                shown,
                "{path} under {base}"
            );
        }
    }
}

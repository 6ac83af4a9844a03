//! [`Warning`]: a problem that did not stop a scan (a file that cannot be
//! read, a git object that is missing, an archive limit reached). Sources and
//! the scan stage record them in [`super::Stats`]; the report carries them;
//! renderers and the command line print their [`Display`](fmt::Display) text.
//!
//! Each variant's text is the one keyflare has always printed for it: the
//! JSON and SARIF reports, audit shards and stderr show the same strings.
//!
//! Stage: source (plain data). It never reads, matches or decides an exit code.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use git2::Oid;
use serde::{Serialize, Serializer};

/// A problem that did not stop the scan: the scan went on without what it
/// names. Errors are shared ([`Arc`]) so that a warning can be cloned into
/// the report; a git error prints its message only, as git says it.
#[derive(Clone, Debug)]
pub enum Warning {
    // The working tree.
    /// The directory walk could not list an entry (a loop, a directory that
    /// cannot be opened): `cannot walk: {error}`. The walker's error is
    /// kept as its text (the `ignore` crate's error cannot be cloned); it
    /// names the path itself.
    Walk {
        /// The walker's error, rendered.
        error: String,
    },
    /// A file that could not be opened or read: `cannot read {path}: {error}`.
    Unreadable {
        /// As the report shows paths.
        path: String,
        /// Why.
        error: Arc<io::Error>,
    },

    // Git.
    /// A repository (the scanned one or a submodule) that does not open:
    /// `cannot open {dir}: {error}`.
    OpenRepository {
        /// Its git directory.
        dir: PathBuf,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// The object database that does not open: `cannot read objects: {error}`.
    ObjectDatabase {
        /// Why.
        error: Arc<git2::Error>,
    },
    /// An object that cannot be read (missing, corrupt): `cannot read
    /// object {id}: {error}`, or `cannot read object {id} ({place}): {error}`
    /// when the blob's place is known.
    Object {
        /// The object.
        id: Oid,
        /// Where the blob is (`path in commit c`, a path, "not reachable
        /// from any ref"), if said.
        place: Option<String>,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A commit that cannot be read: `cannot read commit {id}: {error}`.
    Commit {
        /// The commit.
        id: Oid,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A commit's tree that cannot be read: `cannot read tree {tree} of
    /// commit {commit}: {error}`, or `cannot read the tree of commit
    /// {commit}: {error}` when the tree's id is not said.
    CommitTree {
        /// The commit.
        commit: Oid,
        /// Its tree, if said.
        tree: Option<Oid>,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A tree below a commit's or a ref's that cannot be read: `cannot read
    /// tree {id} ({place}): {error}`.
    Tree {
        /// The tree.
        id: Oid,
        /// Its path, or the ref that names it.
        place: String,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A commit whose changes cannot be listed: `cannot diff commit {commit}: {error}`.
    Diff {
        /// The commit.
        commit: Oid,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A reference that cannot be listed: `cannot read a reference: {error}`.
    Reference {
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A reference that does not resolve: `cannot resolve {name}: {error}`.
    ResolveReference {
        /// The reference.
        name: String,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A reference's commit that the history walk cannot start from:
    /// `cannot walk {name}: {error}`.
    WalkReference {
        /// The reference.
        name: String,
        /// Why.
        error: Arc<git2::Error>,
    },
    /// The history walk stopped at a commit it cannot parse: `history walk
    /// stopped: {error} (commits not yet walked are missing)`.
    HistoryWalkStopped {
        /// Why.
        error: Arc<git2::Error>,
    },
    /// The walk that finds when secrets were removed stopped: `removal walk
    /// stopped: {error}`.
    RemovalWalkStopped {
        /// Why.
        error: Arc<git2::Error>,
    },
    /// A submodule whose history cannot be walked: `cannot scan submodule
    /// {path}: {error}`. The error (keyflare's own, which cannot be cloned)
    /// is kept as its text.
    Submodule {
        /// Its path in the superproject.
        path: String,
        /// Why, rendered.
        error: String,
    },

    // Archives and encoded values (the scan stage).
    /// An archive inside archives deeper than the limit: `{path}: archive
    /// nested more than {max_depth} levels deep: not opened`.
    ArchiveTooDeep {
        /// The archive.
        path: String,
        /// The limit.
        max_depth: usize,
    },
    /// An archive with more members than the limit: `{path}: more than
    /// {max_members} archive members: the rest were not scanned`.
    ArchiveMembers {
        /// The archive.
        path: String,
        /// The limit.
        max_members: u64,
    },
    /// A member (or a gzip stream) that inflates past the bomb ratio:
    /// `{path}: not scanned: inflates to more than {max_ratio} times its
    /// compressed size (a zip bomb?); the rest of the archive was skipped`.
    ArchiveBomb {
        /// The member (`archive!member`) or the archive.
        path: String,
        /// The limit.
        max_ratio: u64,
    },
    /// Archives in one file that inflate past the total limit: `{path}: not
    /// scanned: archives in this file inflate to more than {MiB} MiB; the
    /// rest was skipped`.
    ArchiveTotal {
        /// The member (`archive!member`) or the archive.
        path: String,
        /// The limit, in bytes (said in whole MiB).
        max_total_bytes: u64,
    },
    /// A member that fails to inflate: `{member}: cannot inflate: {error}`.
    ArchiveInflate {
        /// The member (`archive!member`).
        member: String,
        /// Why.
        error: Arc<io::Error>,
    },
    /// A tar member that cannot be read; the rest of the tar is not read:
    /// `{member}: cannot read: {error}`.
    ArchiveMemberRead {
        /// The member (`archive!member`).
        member: String,
        /// Why.
        error: Arc<io::Error>,
    },
    /// A tar whose next header cannot be read; the rest is not read:
    /// `{path}: cannot read further: {error}`.
    ArchiveTruncated {
        /// The archive.
        path: String,
        /// Why.
        error: Arc<io::Error>,
    },
    /// Zip members keyflare cannot open: `{path}: {count} member(s) not
    /// scanned: encrypted or compressed with a method keyflare does not
    /// inflate`.
    ArchiveUnsupported {
        /// The archive.
        path: String,
        /// How many members.
        count: u64,
    },
    /// More encoded values in one blob than the decoding limit: `{path}:
    /// more than {MiB} MiB of encoded values: the rest were not decoded`.
    DecodeLimit {
        /// The blob.
        path: String,
        /// The limit, in bytes (said in whole MiB).
        max_decoded_bytes: u64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Walk { error } => write!(f, "cannot walk: {error}"),
            Warning::Unreadable { path, error } => write!(f, "cannot read {path}: {error}"),
            Warning::OpenRepository { dir, error } => {
                write!(f, "cannot open {}: {}", dir.display(), error.message())
            }
            Warning::ObjectDatabase { error } => {
                write!(f, "cannot read objects: {}", error.message())
            }
            Warning::Object {
                id,
                place: None,
                error,
            } => write!(f, "cannot read object {id}: {}", error.message()),
            Warning::Object {
                id,
                place: Some(place),
                error,
            } => write!(f, "cannot read object {id} ({place}): {}", error.message()),
            Warning::Commit { id, error } => {
                write!(f, "cannot read commit {id}: {}", error.message())
            }
            Warning::CommitTree {
                commit,
                tree: None,
                error,
            } => write!(
                f,
                "cannot read the tree of commit {commit}: {}",
                error.message()
            ),
            Warning::CommitTree {
                commit,
                tree: Some(tree),
                error,
            } => write!(
                f,
                "cannot read tree {tree} of commit {commit}: {}",
                error.message()
            ),
            Warning::Tree { id, place, error } => {
                write!(f, "cannot read tree {id} ({place}): {}", error.message())
            }
            Warning::Diff { commit, error } => {
                write!(f, "cannot diff commit {commit}: {}", error.message())
            }
            Warning::Reference { error } => {
                write!(f, "cannot read a reference: {}", error.message())
            }
            Warning::ResolveReference { name, error } => {
                write!(f, "cannot resolve {name}: {}", error.message())
            }
            Warning::WalkReference { name, error } => {
                write!(f, "cannot walk {name}: {}", error.message())
            }
            Warning::HistoryWalkStopped { error } => write!(
                f,
                "history walk stopped: {} (commits not yet walked are missing)",
                error.message()
            ),
            Warning::RemovalWalkStopped { error } => {
                write!(f, "removal walk stopped: {}", error.message())
            }
            Warning::Submodule { path, error } => {
                write!(f, "cannot scan submodule {path}: {error}")
            }
            Warning::ArchiveTooDeep { path, max_depth } => write!(
                f,
                "{path}: archive nested more than {max_depth} levels deep: not opened"
            ),
            Warning::ArchiveMembers { path, max_members } => write!(
                f,
                "{path}: more than {max_members} archive members: the rest were not scanned"
            ),
            Warning::ArchiveBomb { path, max_ratio } => write!(
                f,
                "{path}: not scanned: inflates to more than {max_ratio} times its compressed size (a zip bomb?); the rest of the archive was skipped"
            ),
            Warning::ArchiveTotal {
                path,
                max_total_bytes,
            } => write!(
                f,
                "{path}: not scanned: archives in this file inflate to more than {} MiB; the rest was skipped",
                max_total_bytes >> 20
            ),
            Warning::ArchiveInflate { member, error } => {
                write!(f, "{member}: cannot inflate: {error}")
            }
            Warning::ArchiveMemberRead { member, error } => {
                write!(f, "{member}: cannot read: {error}")
            }
            Warning::ArchiveTruncated { path, error } => {
                write!(f, "{path}: cannot read further: {error}")
            }
            Warning::ArchiveUnsupported { path, count } => write!(
                f,
                "{path}: {count} member(s) not scanned: encrypted or compressed with a method keyflare does not inflate"
            ),
            Warning::DecodeLimit {
                path,
                max_decoded_bytes,
            } => write!(
                f,
                "{path}: more than {} MiB of encoded values: the rest were not decoded",
                max_decoded_bytes >> 20
            ),
        }
    }
}

/// A warning serialises as its text: the JSON report's `warnings` (and the
/// audit shards built from it) are strings.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(message: &str) -> Arc<git2::Error> {
        Arc::new(git2::Error::from_str(message))
    }

    fn io(message: &str) -> Arc<io::Error> {
        Arc::new(io::Error::other(message.to_string()))
    }

    /// Which variant `w` is: a match without a wildcard, so that a new
    /// variant cannot be added without a row in the table below.
    fn variant(w: &Warning) -> usize {
        match w {
            Warning::Walk { .. } => 0,
            Warning::Unreadable { .. } => 1,
            Warning::OpenRepository { .. } => 2,
            Warning::ObjectDatabase { .. } => 3,
            Warning::Object { .. } => 4,
            Warning::Commit { .. } => 5,
            Warning::CommitTree { .. } => 6,
            Warning::Tree { .. } => 7,
            Warning::Diff { .. } => 8,
            Warning::Reference { .. } => 9,
            Warning::ResolveReference { .. } => 10,
            Warning::WalkReference { .. } => 11,
            Warning::HistoryWalkStopped { .. } => 12,
            Warning::RemovalWalkStopped { .. } => 13,
            Warning::Submodule { .. } => 14,
            Warning::ArchiveTooDeep { .. } => 15,
            Warning::ArchiveMembers { .. } => 16,
            Warning::ArchiveBomb { .. } => 17,
            Warning::ArchiveTotal { .. } => 18,
            Warning::ArchiveInflate { .. } => 19,
            Warning::ArchiveMemberRead { .. } => 20,
            Warning::ArchiveTruncated { .. } => 21,
            Warning::ArchiveUnsupported { .. } => 22,
            Warning::DecodeLimit { .. } => 23,
        }
    }
    const VARIANTS: usize = 24;

    /// Each variant prints the text keyflare printed before warnings were
    /// typed (the `format!` at each call site), byte for byte; JSON holds
    /// the same text as a string.
    #[test]
    fn each_variant_prints_its_text() {
        let a = Oid::from_str("0123456789abcdef0123456789abcdef01234567").expect("oid");
        let b = Oid::from_str("89abcdef0123456789abcdef0123456789abcdef").expect("oid");
        let table: Vec<(Warning, &str)> = vec![
            (
                Warning::Walk {
                    error: "IO error for operation on src/x: Permission denied (os error 13)"
                        .into(),
                },
                "cannot walk: IO error for operation on src/x: Permission denied (os error 13)",
            ),
            (
                Warning::Unreadable {
                    path: "src/.env".into(),
                    error: io("Permission denied (os error 13)"),
                },
                "cannot read src/.env: Permission denied (os error 13)",
            ),
            (
                Warning::OpenRepository {
                    dir: PathBuf::from("/r/.git/modules/sub"),
                    error: git("could not find repository"),
                },
                "cannot open /r/.git/modules/sub: could not find repository",
            ),
            (
                Warning::ObjectDatabase {
                    error: git("failed to load object database"),
                },
                "cannot read objects: failed to load object database",
            ),
            (
                Warning::Object {
                    id: a,
                    place: None,
                    error: git("object not found"),
                },
                "cannot read object 0123456789abcdef0123456789abcdef01234567: object not found",
            ),
            (
                Warning::Object {
                    id: a,
                    place: Some(format!("config/.env in commit {b}")),
                    error: git("object not found"),
                },
                "cannot read object 0123456789abcdef0123456789abcdef01234567 (config/.env in commit 89abcdef0123456789abcdef0123456789abcdef): object not found",
            ),
            (
                Warning::Commit {
                    id: b,
                    error: git("object not found"),
                },
                "cannot read commit 89abcdef0123456789abcdef0123456789abcdef: object not found",
            ),
            (
                Warning::CommitTree {
                    commit: b,
                    tree: None,
                    error: git("object not found"),
                },
                "cannot read the tree of commit 89abcdef0123456789abcdef0123456789abcdef: object not found",
            ),
            (
                Warning::CommitTree {
                    commit: b,
                    tree: Some(a),
                    error: git("object not found"),
                },
                "cannot read tree 0123456789abcdef0123456789abcdef01234567 of commit 89abcdef0123456789abcdef0123456789abcdef: object not found",
            ),
            (
                Warning::Tree {
                    id: a,
                    place: "deploy/keys".into(),
                    error: git("object not found"),
                },
                "cannot read tree 0123456789abcdef0123456789abcdef01234567 (deploy/keys): object not found",
            ),
            (
                Warning::Diff {
                    commit: b,
                    error: git("object not found"),
                },
                "cannot diff commit 89abcdef0123456789abcdef0123456789abcdef: object not found",
            ),
            (
                Warning::Reference {
                    error: git("corrupted loose reference file"),
                },
                "cannot read a reference: corrupted loose reference file",
            ),
            (
                Warning::ResolveReference {
                    name: "refs/heads/broken".into(),
                    error: git("corrupted loose reference file"),
                },
                "cannot resolve refs/heads/broken: corrupted loose reference file",
            ),
            (
                Warning::WalkReference {
                    name: "refs/tags/v1".into(),
                    error: git("object not found"),
                },
                "cannot walk refs/tags/v1: object not found",
            ),
            (
                Warning::HistoryWalkStopped {
                    error: git("object not found"),
                },
                "history walk stopped: object not found (commits not yet walked are missing)",
            ),
            (
                Warning::RemovalWalkStopped {
                    error: git("object not found"),
                },
                "removal walk stopped: object not found",
            ),
            (
                Warning::Submodule {
                    path: "vendor/lib".into(),
                    error: "git: cannot walk the history: object not found".into(),
                },
                "cannot scan submodule vendor/lib: git: cannot walk the history: object not found",
            ),
            (
                Warning::ArchiveTooDeep {
                    path: "a.zip!b.zip!c.zip".into(),
                    max_depth: 3,
                },
                "a.zip!b.zip!c.zip: archive nested more than 3 levels deep: not opened",
            ),
            (
                Warning::ArchiveMembers {
                    path: "m.zip".into(),
                    max_members: 10_000,
                },
                "m.zip: more than 10000 archive members: the rest were not scanned",
            ),
            (
                Warning::ArchiveBomb {
                    path: "b.zip!bomb.bin".into(),
                    max_ratio: 100,
                },
                "b.zip!bomb.bin: not scanned: inflates to more than 100 times its compressed size (a zip bomb?); the rest of the archive was skipped",
            ),
            (
                Warning::ArchiveTotal {
                    path: "t.zip!b".into(),
                    max_total_bytes: (256 << 20) + 5,
                },
                "t.zip!b: not scanned: archives in this file inflate to more than 256 MiB; the rest was skipped",
            ),
            (
                Warning::ArchiveInflate {
                    member: "x.zip!a.txt".into(),
                    error: io("invalid checksum"),
                },
                "x.zip!a.txt: cannot inflate: invalid checksum",
            ),
            (
                Warning::ArchiveMemberRead {
                    member: "x.tar!a.txt".into(),
                    error: io("unexpected end of file"),
                },
                "x.tar!a.txt: cannot read: unexpected end of file",
            ),
            (
                Warning::ArchiveTruncated {
                    path: "x.tar".into(),
                    error: io("numeric field was not a number"),
                },
                "x.tar: cannot read further: numeric field was not a number",
            ),
            (
                Warning::ArchiveUnsupported {
                    path: "e.zip".into(),
                    count: 2,
                },
                "e.zip: 2 member(s) not scanned: encrypted or compressed with a method keyflare does not inflate",
            ),
            (
                Warning::DecodeLimit {
                    path: "blob.txt".into(),
                    max_decoded_bytes: 16 << 20,
                },
                "blob.txt: more than 16 MiB of encoded values: the rest were not decoded",
            ),
        ];
        let mut seen = [false; VARIANTS];
        for (warning, text) in &table {
            seen[variant(warning)] = true;
            assert_eq!(warning.to_string(), *text, "{warning:?}");
            let json = serde_json::to_string(warning).expect("json");
            assert_eq!(json, serde_json::to_string(text).expect("json"));
        }
        let missing: Vec<usize> = (0..VARIANTS).filter(|&i| !seen[i]).collect();
        assert!(missing.is_empty(), "variants without a row: {missing:?}");
    }
}

//! Blobs: the unit the matcher scans, whatever source it came from: its
//! content, the path it is reported at, and its origin (a file, a commit of
//! history, a change of a range or of the index, an archive member), which
//! says how matches in it are attributed and which lines count.
//!
//! A file too large to hold in memory is a blob too: its [`Content`] is the
//! open file rather than bytes, and the scan stage reads it in chunks. Where
//! a blob came from (origin) and how its content is at hand are independent,
//! so they are two fields of one type rather than a second type for large
//! files, which would repeat the path and origin and need a second way
//! through the blob step: one type, one blob step and one scan entry point
//! ([`crate::scan::Scanner::scan_blob`]) take every blob, and bytes a source
//! holds anyway (a git object being read) are still lent, not copied.
//!
//! Stage: source. Plain data; it never matches, filters or reports.

use std::borrow::Cow;
use std::fs::File;
use std::ops::Range;

use git2::Oid;

/// Content to scan, the path it is reported under and where it came from.
pub struct Blob<'a> {
    /// The git object, for blobs read from a repository.
    pub id: Option<Oid>,
    /// Path relative to the scan root, `/`-separated (for git: the path in
    /// the commit; for an archive member: `archive!path/inside`).
    pub path: Cow<'a, str>,
    /// Where it came from.
    pub origin: Origin<'a>,
    /// What to scan. Not necessarily UTF-8.
    pub content: Content<'a>,
}

/// How a blob's content is at hand.
///
/// Only the working tree opens files. Git objects come whole from libgit2,
/// up to `max_file_size` (it cannot stream a packed object, and the chunked
/// scan reads at offsets, in several passes), so history, range and index
/// blobs are always [`Content::Held`]. A source that spooled a larger object
/// to a file could hand it over [`Content::Open`] with its own origin: the
/// scan stage reads an open file the same whatever its origin (without the
/// focus on a change's added lines; the blob step still keeps only the
/// findings on them).
pub enum Content<'a> {
    /// In memory: owned (a file read whole, an archive member) or lent by a
    /// source that holds it anyway (a git object being read).
    Held(Cow<'a, [u8]>),
    /// A file too large to hold (over [`crate::source::fs::LARGE_FILE`]):
    /// open, to be read in chunks, never whole, so memory stays bounded.
    Open {
        /// The open regular file.
        file: File,
        /// Its length when opened.
        len: u64,
    },
}

/// Where a blob came from: what its findings are attributed to.
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// A file of a working tree.
    Fs,
    /// A blob of history, at the first commit that showed it at its path.
    Commit {
        /// That commit (an index the history source defines; smaller is
        /// older within a repository); None for an object no ref reaches.
        commit: Option<usize>,
        /// Whether HEAD's tree holds this blob at this path.
        at_head: bool,
    },
    /// A file a commit of a range changed.
    Range {
        /// The commit (an index the range source defines).
        commit: usize,
        /// What the commit changed.
        diff: Diff<'a>,
    },
    /// A file the index changes relative to HEAD.
    Staged(Diff<'a>),
    /// A file inside an archive (scanned whole, whatever the archive's origin).
    Member,
}

/// What a change did to a file: only its added lines count.
#[derive(Clone, Copy, Debug)]
pub struct Diff<'a> {
    /// The lines the change added.
    pub added: &'a Added,
    /// The versions it replaced (one per parent that had the file).
    pub before: &'a [Vec<u8>],
}

impl Origin<'_> {
    /// The introducing commit, for history and range blobs.
    pub fn commit(&self) -> Option<usize> {
        match self {
            Origin::Commit { commit, .. } => *commit,
            Origin::Range { commit, .. } => Some(*commit),
            _ => None,
        }
    }

    /// Whether HEAD's tree holds the blob at its path (history blobs; false
    /// for others, whose sources work this out afterwards if at all).
    pub fn at_head(&self) -> bool {
        matches!(self, Origin::Commit { at_head: true, .. })
    }

    /// What a change did, for range and index blobs.
    pub fn diff(&self) -> Option<&Diff<'_>> {
        match self {
            Origin::Range { diff, .. } | Origin::Staged(diff) => Some(diff),
            _ => None,
        }
    }
}

impl<'a> Blob<'a> {
    /// A file of a working tree, read whole: its bytes owned, or lent by
    /// the walk, which reads each thread's files into one buffer.
    pub fn file(path: impl Into<String>, bytes: impl Into<Cow<'a, [u8]>>) -> Blob<'a> {
        Blob {
            id: None,
            path: Cow::Owned(path.into()),
            origin: Origin::Fs,
            content: Content::Held(bytes.into()),
        }
    }
}

impl Blob<'static> {
    /// A file of a working tree too large to hold: open, `len` bytes long.
    pub fn open_file(path: impl Into<String>, file: File, len: u64) -> Blob<'static> {
        Blob {
            id: None,
            path: Cow::Owned(path.into()),
            origin: Origin::Fs,
            content: Content::Open { file, len },
        }
    }

    /// A member of an archive, at `archive!path/inside`.
    pub fn member(path: String, bytes: Vec<u8>) -> Blob<'static> {
        Blob {
            id: None,
            path: Cow::Owned(path),
            origin: Origin::Member,
            content: Content::Held(Cow::Owned(bytes)),
        }
    }
}

/// Which lines of a new version are new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Added {
    /// A new file: every line.
    All,
    /// These 1-based line numbers, sorted.
    Lines(Vec<usize>),
}

impl Added {
    /// Whether 1-based `line` was added.
    pub fn contains(&self, line: usize) -> bool {
        match self {
            Added::All => true,
            Added::Lines(l) => l.binary_search(&line).is_ok(),
        }
    }

    /// Where the added lines are in `data`, as sorted, disjoint byte
    /// ranges (each from the start of a run of added lines to the end of
    /// its last line); None for [`Added::All`].
    pub fn byte_ranges(&self, data: &[u8]) -> Option<Vec<Range<usize>>> {
        let Added::Lines(lines) = self else {
            return None;
        };
        let mut out: Vec<Range<usize>> = Vec::new();
        let mut wanted = lines.iter().copied().peekable();
        let (mut line, mut start) = (1, 0);
        let ends = memchr::memchr_iter(b'\n', data).map(|i| i + 1);
        for end in ends.chain(std::iter::once(data.len())) {
            while wanted.next_if(|&l| l < line).is_some() {}
            if wanted.peek() == Some(&line) {
                match out.last_mut() {
                    Some(last) if last.end == start => last.end = end,
                    _ => out.push(start..end),
                }
            }
            if wanted.peek().is_none() {
                break;
            }
            (line, start) = (line + 1, end);
        }
        Some(out)
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Added::Lines(l) if l.is_empty())
    }

    /// Lines added relative to every version in turn.
    pub(crate) fn intersect(self, other: Added) -> Added {
        match (self, other) {
            (Added::All, x) | (x, Added::All) => x,
            (Added::Lines(a), Added::Lines(b)) => Added::Lines(
                a.into_iter()
                    .filter(|l| b.binary_search(l).is_ok())
                    .collect(),
            ),
        }
    }
}

/// True if `data` starts with a UTF-16 byte-order mark.
pub fn has_utf16_bom(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF])
}

/// If `data` starts with a UTF-16 byte-order mark, returns it as UTF-8 so the
/// rules (which are ASCII) can match it; line numbers stay the same.
pub fn utf16_to_utf8(data: &[u8]) -> Option<Vec<u8>> {
    if !has_utf16_bom(data) {
        return None;
    }
    let little = data[0] == 0xFF;
    let units = data[2..].chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(text.into_bytes())
}

/// True if `data` (which starts with a UTF-16 byte-order mark) really is
/// UTF-16: an even number of bytes, no unpaired surrogate, and a NUL byte
/// somewhere (UTF-16 text writes every ASCII character, newlines included,
/// with one). A file that merely starts with the bytes FF FE is not: its
/// ASCII pairs decode to CJK characters, hiding a token on its next line,
/// so the scan stage reads its raw bytes too.
pub fn utf16_decodes_cleanly(data: &[u8]) -> bool {
    if !has_utf16_bom(data) {
        return false;
    }
    let body = &data[2..];
    if body.len() % 2 != 0 || (!body.is_empty() && memchr::memchr(0, body).is_none()) {
        return false;
    }
    let little = data[0] == 0xFF;
    let units = body.chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units).all(|r| r.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_utf16_decodes_cleanly() {
        let mut le = vec![0xFF, 0xFE];
        for u in "a=b\nc".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert!(utf16_decodes_cleanly(&le));
        // FF FE, then ASCII: no NUL byte.
        assert!(!utf16_decodes_cleanly(b"\xFF\xFEab\ncd"));
        // Odd length.
        let mut odd = le.clone();
        odd.push(b'x');
        assert!(!utf16_decodes_cleanly(&odd));
        // An unpaired surrogate.
        let mut bad = le.clone();
        bad.extend_from_slice(&0xD800u16.to_le_bytes());
        bad.extend_from_slice(&0x0041u16.to_le_bytes());
        assert!(!utf16_decodes_cleanly(&bad));
        assert!(!utf16_decodes_cleanly(b"plain"));
    }

    #[test]
    fn utf16_bom_is_decoded() {
        let mut le = vec![0xFF, 0xFE];
        for u in "a=b\nc".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(utf16_to_utf8(&le).unwrap(), b"a=b\nc");
        let mut be = vec![0xFE, 0xFF];
        for u in "xy".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(utf16_to_utf8(&be).unwrap(), b"xy");
        assert!(utf16_to_utf8(b"plain").is_none());
        assert!(utf16_to_utf8(&[0xFF, 0xFE, 0x41]).is_some());
    }
}

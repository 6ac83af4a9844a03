//! Files too large to hold in memory at once (a log, a database dump, a
//! 100 MB minified bundle on one line): scanned in chunks, several at a
//! time, with the findings a scan of the whole file would report.
//!
//! 1. One pass reads the file in order, a piece at a time: which anchor
//!    keywords occur anywhere in it, the line and column at the start of
//!    each piece, and where to cut it into chunks (after a newline when
//!    there is one near, so that lines are parsed from their start).
//! 2. If an anchored pattern needs a keyword anywhere in the file, a second
//!    pass looks for those keywords.
//! 3. The chunks are scanned in parallel. Each is read with [`Layout::overlap`]
//!    bytes on either side and answers only for the secrets (and encoded
//!    values) that start in it; the overlap holds everything a match looks
//!    at around its secret: the rest of its regex, `near` context,
//!    companions, and encoded values up to [`crate::scan::decode::MAX_ENCODED_RUN`].
//!
//! One difference remains: on a line longer than [`Layout::newline_search`]
//! that crosses a cut, escaped strings ([`crate::scan::decode`]) are parsed from
//! the chunk's first byte, not the line's, so quote parity may differ there.
//!
//! Memory is bounded by the chunk size times the threads, whatever the file's
//! size. The file is read with `pread`, never memory-mapped: if it changes
//! during the scan, the scan sees a mix or fails with a warning, nothing worse.
//!
//! Stage: scan. It reads the open file a source handed over; it never walks,
//! filters or reports.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::finding::Finding;
use crate::matcher::{count_chars, FileFacts};
use crate::rules::MAX_KEYWORD_LEN;
use crate::scan::{looks_binary, Scanner};
use crate::source::blob::{has_utf16_bom, Blob};
pub use crate::source::fs::LARGE_FILE;
use crate::source::Stats;

/// Bytes looked at to tell an archive, UTF-16 or a binary file.
const HEAD: usize = 8192;

/// How a large file is cut.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The unit the passes read in; chunks are read from a piece's start.
    pub piece: usize,
    /// About how much each chunk answers for.
    pub chunk: usize,
    /// Bytes read on either side of a chunk: more than the farthest any
    /// rule looks from a secret (16 KiB of `near` context) and than the
    /// longest encoded value decoded (64 KiB).
    pub overlap: usize,
    /// A cut moves back to just after a newline at most this far.
    pub newline_search: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            piece: 256 << 10,
            chunk: 4 << 20,
            overlap: 128 << 10,
            newline_search: 1 << 20,
        }
    }
}

/// What the first passes learned.
struct Plan {
    facts: FileFacts,
    /// Where each chunk starts, then the file's length.
    cuts: Vec<u64>,
    /// Line (1-based) and characters since that line's start, at the start
    /// of each piece.
    positions: Vec<(usize, usize)>,
}

/// One large file being scanned, and how it is cut.
struct Job<'a, 'r> {
    scanner: &'a Scanner<'r>,
    path: &'a str,
    file: &'a File,
    len: u64,
    layout: &'a Layout,
}

/// Where the lines of one piece end.
#[derive(Clone, Copy, Default)]
struct PieceLines {
    newlines: usize,
    last_newline: Option<u64>,
    /// Characters after the last newline (all of them, if none).
    chars_after: usize,
}

/// Scans the open regular file `file` of `len` bytes, reported as `path`,
/// with up to `threads` threads (0: one per core). Archives and UTF-16 text
/// are read whole (they cannot be cut), as [`Scanner::scan_blob`] takes them.
pub fn scan_file(
    scanner: &Scanner<'_>,
    path: &str,
    file: &File,
    len: u64,
    threads: usize,
    layout: &Layout,
    stats: &Stats,
) -> io::Result<Vec<Finding>> {
    let mut head = vec![0u8; HEAD.min(len as usize)];
    file.read_exact_at(&mut head, 0)?;
    if has_utf16_bom(&head) || crate::scan::archive::detect(&head).is_some() {
        let mut data = vec![0u8; len as usize];
        file.read_exact_at(&mut data, 0)?;
        return Ok(scanner.scan_blob(&Blob::file(path, data), stats));
    }
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let job = Job {
        scanner,
        path,
        file,
        len,
        layout,
    };
    let plan = job.plan(threads)?;
    let binary = looks_binary(&head);
    let chunks = plan.cuts.len() - 1;
    let found = in_parallel(chunks, threads, Vec::new, |buf, k| {
        job.scan_chunk(&plan, k, binary, buf, stats).map(Some)
    })?;
    let mut found: Vec<(usize, Vec<Finding>)> = found.into_iter().flat_map(|(_, r)| r).collect();
    found.sort_by_key(|(k, _)| *k);
    Ok(found.into_iter().flat_map(|(_, f)| f).collect())
}

/// A thread's state and the results of the tasks it ran, by task number.
type Worker<S, R> = (S, Vec<(usize, R)>);

/// Runs `task` for each of `0..count` on up to `threads` threads, each with
/// its own state from `init`; a task that returns None stops them all.
/// Returns each thread's state and its tasks' results.
fn in_parallel<S: Send, R: Send>(
    count: usize,
    threads: usize,
    init: impl Fn() -> S + Sync,
    task: impl Fn(&mut S, usize) -> io::Result<Option<R>> + Sync,
) -> io::Result<Vec<Worker<S, R>>> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcomes = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.clamp(1, count.max(1)))
            .map(|_| {
                s.spawn(|| -> io::Result<Worker<S, R>> {
                    let mut state = init();
                    let mut results = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= count || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        match task(&mut state, k) {
                            Ok(Some(r)) => results.push((k, r)),
                            Ok(None) => stop.store(true, Ordering::Relaxed),
                            Err(e) => {
                                stop.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok((state, results))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<_>>()
    });
    outcomes.into_iter().collect()
}

impl Job<'_, '_> {
    /// Passes 1 and 2, each over the pieces in parallel.
    fn plan(&self, threads: usize) -> io::Result<Plan> {
        let Job {
            scanner,
            path,
            len,
            layout,
            ..
        } = *self;
        let matcher = scanner.matcher();
        let pieces = len.div_ceil(layout.piece as u64) as usize;
        let seen = in_parallel(
            pieces,
            threads,
            || matcher.new_facts(path),
            |state, k| {
                let (text, piece) = self.read_piece(k)?;
                matcher.see_piece(state, &text);
                let piece = &text[text.len() - piece..];
                Ok(Some(match memchr::memrchr(b'\n', piece) {
                    Some(i) => PieceLines {
                        newlines: memchr::memchr_iter(b'\n', piece).count(),
                        last_newline: Some((k * layout.piece + i) as u64),
                        chars_after: count_chars(&piece[i + 1..]),
                    },
                    None => PieceLines {
                        chars_after: count_chars(piece),
                        ..PieceLines::default()
                    },
                }))
            },
        )?;
        let mut facts = matcher.new_facts(path);
        let mut lines = vec![PieceLines::default(); pieces];
        for (f, found) in seen {
            facts.merge(&f);
            for (k, l) in found {
                lines[k] = l;
            }
        }
        let checked = in_parallel(
            pieces,
            threads,
            || facts.clone(),
            |facts, k| {
                let (text, _) = self.read_piece(k)?;
                // Nothing left to look for: stop every thread.
                Ok(matcher.check_piece(facts, path, &text).then_some(()))
            },
        )?;
        for (f, _) in checked {
            facts.merge(&f);
        }
        // Cuts at piece boundaries, or just after the last newline before one.
        let piece = layout.piece as u64;
        let chunk = (layout.chunk as u64).div_ceil(piece).max(1) * piece;
        let mut cuts = vec![0u64];
        let mut positions = Vec::with_capacity(pieces);
        let (mut line, mut chars) = (1usize, 0usize);
        let mut last_newline: Option<u64> = None;
        let mut next_cut = chunk;
        for (k, l) in lines.iter().enumerate() {
            let at = k as u64 * piece;
            if at == next_cut {
                let previous = cuts.last().copied().unwrap_or(0);
                let cut = match last_newline {
                    Some(nl)
                        if nl + 1 > previous && nl + 1 + layout.newline_search as u64 >= at =>
                    {
                        nl + 1
                    }
                    _ => at,
                };
                cuts.push(cut);
                next_cut = (cut + chunk).div_ceil(piece) * piece;
            }
            positions.push((line, chars));
            match l.last_newline {
                Some(nl) => {
                    line += l.newlines;
                    chars = l.chars_after;
                    last_newline = Some(nl);
                }
                None => chars += l.chars_after,
            }
        }
        cuts.push(len);
        Ok(Plan {
            facts,
            cuts,
            positions,
        })
    }

    /// Piece `k` with the MAX_KEYWORD_LEN bytes before it (so that no keyword
    /// is cut in two), and the piece's own length.
    fn read_piece(&self, k: usize) -> io::Result<(Vec<u8>, usize)> {
        let piece = self.layout.piece;
        let at = (k * piece) as u64;
        let n = piece.min((self.len - at) as usize);
        let from = at.saturating_sub(MAX_KEYWORD_LEN as u64);
        let mut text = vec![0u8; (at - from) as usize + n];
        self.file.read_exact_at(&mut text, from)?;
        Ok((text, n))
    }

    /// Pass 3 for chunk `k`: reads it with its overlap into `buf` and scans it.
    fn scan_chunk(
        &self,
        plan: &Plan,
        k: usize,
        binary: bool,
        buf: &mut Vec<u8>,
        stats: &Stats,
    ) -> io::Result<Vec<Finding>> {
        let layout = self.layout;
        let (start, end) = (plan.cuts[k], plan.cuts[k + 1]);
        // From a piece's start, whose line and column are known.
        let piece = start.saturating_sub(layout.overlap as u64) / layout.piece as u64;
        let from = piece * layout.piece as u64;
        let to = (end + layout.overlap as u64).min(self.len);
        buf.resize((to - from) as usize, 0);
        self.file.read_exact_at(buf, from)?;
        let core: Range<usize> = (start - from) as usize..(end - from) as usize;
        let mut found = self
            .scanner
            .scan_piece(self.path, buf, core, &plan.facts, binary, stats);
        let (line, chars) = plan.positions[piece as usize];
        for f in &mut found {
            if f.line == 1 {
                f.column += chars;
                f.end_column += chars;
            }
            f.line += line - 1;
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::scan::ScanOptions;
    use base64::Engine;
    use std::io::Write;

    /// Every rule example, as it is and base64-encoded, among filler of
    /// varying length: many land across chunk boundaries. With `one_line`,
    /// newlines become spaces: a minified file.
    fn corpus(rules: &RuleSet, one_line: bool) -> Vec<u8> {
        let mut texts: Vec<String> = Vec::new();
        for p in rules.rules().iter().flat_map(|r| &r.patterns) {
            for e in p.examples.iter().chain(&p.negative_examples) {
                let text = e.parts().1;
                texts.push(text.to_string());
                let b64 = base64::engine::general_purpose::STANDARD.encode(text);
                texts.push(format!("data: {b64}"));
            }
        }
        let mut out = Vec::new();
        let mut seed = 7u64;
        for _ in 0..2 {
            for t in &texts {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let filler = (seed >> 33) as usize % 6000;
                let code = b"var a=b.c(d);if(x){y()}\n";
                out.extend((0..filler).map(|i| code[i % code.len()]));
                out.extend_from_slice(b"\n");
                out.extend_from_slice(t.as_bytes());
                out.extend_from_slice(b"\n");
            }
        }
        if one_line {
            for b in &mut out {
                if *b == b'\n' {
                    *b = b' ';
                }
            }
        }
        out
    }

    type Key = (
        String,
        usize,
        usize,
        usize,
        String,
        Option<crate::finding::Decoded>,
    );

    fn keys(found: &[Finding]) -> Vec<Key> {
        let mut k: Vec<Key> = found
            .iter()
            .map(|f| {
                let s = f.secret.expose().to_string();
                (
                    f.rule_id.clone(),
                    f.line,
                    f.column,
                    f.end_column,
                    s,
                    f.decoded.clone(),
                )
            })
            .collect();
        k.sort();
        k
    }

    #[test]
    fn chunks_find_what_the_whole_file_holds() {
        let rules = RuleSet::builtin().expect("built-in rules");
        let scanner = Scanner::new(&rules, ScanOptions::default());
        let layout = Layout {
            piece: 16 << 10,
            chunk: 64 << 10,
            overlap: 128 << 10,
            newline_search: 32 << 10,
        };
        for one_line in [false, true] {
            let data = corpus(&rules, one_line);
            let mut file = tempfile::tempfile().expect("temp file");
            file.write_all(&data).expect("write");
            let stats = Stats::default();
            let blob = Blob::file("dist/app.js", data.clone());
            let whole = keys(&scanner.scan_blob(&blob, &stats));
            let len = data.len() as u64;
            assert!(len > 16 * layout.chunk as u64, "{len} bytes");
            assert!(whole.len() > 100, "{} findings", whole.len());
            assert!(whole.iter().any(|k| k.5.is_some()), "decoded ones too");
            for threads in [1, 2] {
                let chunked = scan_file(
                    &scanner,
                    "dist/app.js",
                    &file,
                    len,
                    threads,
                    &layout,
                    &stats,
                )
                .expect("scan");
                let chunked = keys(&chunked);
                // Equal counts too: a match in a chunk overlap must not come out twice.
                assert_eq!(
                    chunked.len(),
                    whole.len(),
                    "one line: {one_line}, threads {threads}: duplicates?"
                );
                let missing: Vec<_> = whole.iter().filter(|k| !chunked.contains(k)).collect();
                let extra: Vec<_> = chunked.iter().filter(|k| !whole.contains(k)).collect();
                assert!(
                    missing.is_empty() && extra.is_empty(),
                    "one line: {one_line}, threads {threads}\nmissing {missing:?}\nextra {extra:?}"
                );
            }
        }
    }

    #[test]
    fn an_open_blob_is_read_in_chunks_and_a_failed_read_is_a_warning() {
        let rules = RuleSet::builtin().expect("built-in rules");
        let scanner = Scanner::new(&rules, ScanOptions::default()).with_threads(2);
        let data = corpus(&rules, false);
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(&data).expect("write");
        let (len, stats) = (data.len() as u64, Stats::default());
        let layout = Layout::default();
        let direct = scan_file(&scanner, "a.log", &file, len, 2, &layout, &stats).expect("scan");
        let open = Blob::open_file("a.log", file.try_clone().expect("clone"), len);
        assert_eq!(keys(&scanner.scan_blob(&open, &stats)), keys(&direct));
        assert!(!direct.is_empty());
        assert!(stats.warnings.lock().expect("warnings").is_empty());
        // Shorter than it was when opened: nothing found, and a warning.
        let short = Blob::open_file("a.log", file, len + 1);
        assert!(scanner.scan_blob(&short, &stats).is_empty());
        let warnings = stats.warnings.lock().expect("warnings");
        assert!(
            warnings.len() == 1 && warnings[0].to_string().starts_with("cannot read a.log: "),
            "{warnings:?}"
        );
    }
}

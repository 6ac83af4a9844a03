//! Scan stage: one blob in, findings out, whatever source the blob came from.
//!
//! A blob too large to hold (its content an open file) is read in chunks,
//! several at a time, with the findings a scan of the whole would report
//! (see [`crate::scan::large`]). For each blob held in memory:
//! 1. An archive (zip, tar, compressed tar or file: see [`crate::scan::archive`]) is opened and
//!    each member is scanned as a blob of its own (`outer.zip!inner/path`),
//!    down to [`ArchiveLimits::max_depth`] levels. Its raw bytes are not scanned.
//! 2. UTF-16 text is transcoded; the matcher runs over the bytes. A file that
//!    starts with a UTF-16 byte-order mark but does not decode cleanly is
//!    also scanned as raw bytes.
//! 3. Encoded values ([`crate::scan::decode`]) are decoded and put back in place of
//!    their encoded text, in windows of context lines around them, and the
//!    rules run again over those windows, keeping only matches inside decoded
//!    text. Decoded text is searched again, two levels deep in all
//!    (`base64 > base64`). A finding in decoded text points at the encoded
//!    text in the blob and says how it was decoded. Binary blobs (a NUL byte
//!    in the first 8 KiB) are not decoded.
//!
//! Problems (zip bombs, limits reached) are warnings in [`Stats`]; they never
//! stop the scan.
//!
//! Stage: scan, above the matcher and below the pipeline. It never reads a
//! source, filters or reports.

pub mod archive;
pub mod decode;
pub mod large;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::Ordering;

use crate::finding::{Decoded, Finding};
use crate::matcher::{
    inside, line_window, set_positions, FileFacts, Input, Match, Matcher, Volume, Whole,
};
use crate::rules::RuleSet;
use crate::source::blob::{utf16_decodes_cleanly, utf16_to_utf8, Blob, Content};
use crate::source::Stats;
use archive::{ArchiveLimits, Budget};
use decode::Encoded;

/// Encoded values inside encoded values are decoded down to this depth.
pub const MAX_DECODE_DEPTH: usize = 2;
/// Lines of context kept on each side of a decoded value (bounded by 2 KiB):
/// what context-gated rules (`near`) look at.
const CONTEXT_LINES: usize = 10;
/// At most this many decoded bytes per blob, so that a file of nothing but
/// base64 costs a bounded amount.
const MAX_DECODED_BYTES: usize = 16 << 20;
/// A NUL byte in this many leading bytes makes a blob binary: not decoded.
const BINARY_SNIFF: usize = 8192;

/// What the scan stage does besides matching.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Decode base64, percent-encoding and string escapes and scan the result.
    pub decode: bool,
    /// Open archives and scan their members.
    pub archives: bool,
    /// What archives may cost.
    pub archive_limits: ArchiveLimits,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            decode: true,
            archives: true,
            archive_limits: ArchiveLimits::default(),
        }
    }
}

/// The matcher plus the scan options: turns blobs into findings. Shared by
/// the scanning threads.
pub struct Scanner<'r> {
    matcher: Matcher<'r>,
    opts: ScanOptions,
    /// Threads reading an open file's chunks (0: one per core).
    threads: usize,
}

/// A match and how its text was decoded (None: found as it is).
struct Found {
    m: Match,
    decoded: Option<Decoded>,
}

/// Part of a window that stands for an encoded value.
struct Region {
    /// Where the decoded text is in the window.
    out: Range<usize>,
    /// Where the outermost encoded text is in the blob.
    origin: Range<usize>,
    /// "base64", "base64 > percent"...
    label: Decoded,
}

/// A candidate for the next level: an encoded value in a window (or, at the
/// first level, in the blob), with what it stands for in the blob.
struct Candidate {
    encoded: Encoded,
    origin: Range<usize>,
    label: Decoded,
}

impl<'r> Scanner<'r> {
    /// A scanner for `rules`.
    pub fn new(rules: &'r RuleSet, opts: ScanOptions) -> Scanner<'r> {
        Scanner::built_for(rules, opts, Volume::Bulk)
    }

    /// A scanner for `rules` whose matcher is built for `volume` of text.
    pub fn built_for(rules: &'r RuleSet, opts: ScanOptions, volume: Volume) -> Scanner<'r> {
        Scanner {
            matcher: Matcher::built_for(rules, volume),
            opts,
            threads: 0,
        }
    }

    /// The same scanner, reading the chunks of a blob too large to hold
    /// with up to `threads` threads (0, the default: one per core).
    pub fn with_threads(self, threads: usize) -> Scanner<'r> {
        Scanner { threads, ..self }
    }

    /// The matcher it runs.
    pub fn matcher(&self) -> &Matcher<'r> {
        &self.matcher
    }

    /// Scans one blob (and, for an archive, its members). A change (of a
    /// range or the index) held in memory is scanned with the focus of its
    /// added lines (see [`Scanner::scan_focused`]); which of its findings
    /// count is the caller's business. An open file is read in chunks
    /// ([`large::scan_file`]); if reading fails, that is a warning. Warnings
    /// and counts go to `stats`.
    pub fn scan_blob(&self, blob: &Blob<'_>, stats: &Stats) -> Vec<Finding> {
        let path = &blob.path;
        let bytes = match &blob.content {
            Content::Held(bytes) => bytes,
            Content::Open { file, len } => {
                let layout = large::Layout::default();
                return large::scan_file(self, path, file, *len, self.threads, &layout, stats)
                    .unwrap_or_else(|e| {
                        stats.warn(crate::source::Warning::Unreadable {
                            path: path.to_string(),
                            error: e.into(),
                        });
                        Vec::new()
                    });
            }
        };
        let focus = blob.origin.diff().and_then(|d| d.added.byte_ranges(bytes));
        self.scan_focused(path, bytes, focus.as_deref(), stats)
    }

    /// Like [`Scanner::scan_blob`], but only the findings whose secret (or
    /// encoded text) starts inside `focus` (sorted, disjoint byte ranges: the
    /// lines a change added) are wanted; others may or may not come out.
    /// Patterns with no room for a secret there are not run, which in a
    /// small change is most of them. Archive members are scanned whole.
    pub fn scan_focused(
        &self,
        path: &str,
        data: &[u8],
        focus: Option<&[Range<usize>]>,
        stats: &Stats,
    ) -> Vec<Finding> {
        let budget = Budget::new(&self.opts.archive_limits);
        let mut out = Vec::new();
        self.scan_at(path, data, focus, 0, &budget, stats, &mut out);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_at(
        &self,
        path: &str,
        data: &[u8],
        focus: Option<&[Range<usize>]>,
        depth: usize,
        budget: &Budget,
        stats: &Stats,
        out: &mut Vec<Finding>,
    ) {
        if self.opts.archives {
            if let Some(kind) = archive::detect(data) {
                if depth >= self.opts.archive_limits.max_depth {
                    stats.warn(crate::source::Warning::ArchiveTooDeep {
                        path: path.to_string(),
                        max_depth: self.opts.archive_limits.max_depth,
                    });
                } else {
                    let mut visit = |member: Blob<'static>| {
                        stats.archive_members.fetch_add(1, Ordering::Relaxed);
                        match &member.content {
                            Content::Held(bytes) => self.scan_at(
                                &member.path,
                                bytes,
                                None,
                                depth + 1,
                                budget,
                                stats,
                                out,
                            ),
                            // Members are read whole; an open one would be read as any.
                            Content::Open { .. } => out.extend(self.scan_blob(&member, stats)),
                        }
                    };
                    if let Some(done) = archive::expand(path, data, kind, budget, &mut visit) {
                        stats
                            .skipped_large
                            .fetch_add(done.skipped_large, Ordering::Relaxed);
                        for w in done.warnings {
                            stats.warn(w);
                        }
                        return;
                    }
                }
            }
        }
        // Rules see archive members at their inner path: `x.zip!a/.env` as `x.zip/a/.env`.
        let rule_path: Cow<str> = if path.contains('!') {
            Cow::Owned(path.replace('!', "/"))
        } else {
            Cow::Borrowed(path)
        };
        let scan_bytes = |data: &[u8], focus: Option<&[Range<usize>]>, out: &mut Vec<Finding>| {
            let active = self.matcher.active_rules(&rule_path, data);
            let input = Input {
                focus,
                ..Input::blob(&rule_path, data)
            };
            let decode = self.opts.decode && !looks_binary(data);
            out.extend(self.scan_text(path, &input, &active, decode, stats));
        };
        let Some(transcoded) = utf16_to_utf8(data) else {
            scan_bytes(data, focus, out);
            return;
        };
        // Offsets in transcoded text are not the blob's: no focus there.
        scan_bytes(&transcoded, None, out);
        // A byte-order mark on a file that is not UTF-16 (ASCII after FF FE)
        // must not hide what its bytes say: read them as they are too.
        if !utf16_decodes_cleanly(data) {
            let mut raw = Vec::new();
            scan_bytes(data, focus, &mut raw);
            raw.retain(|r| {
                !out.iter()
                    .any(|f| f.rule_id == r.rule_id && f.secret == r.secret && f.path == r.path)
            });
            out.extend(raw);
        }
    }

    /// Scans one piece of a file too large to hold (see [`crate::scan::large`]):
    /// `data` holds the secrets that start in `core` and all around them
    /// that the rules look at, `facts` what the keyword passes found in the
    /// whole file, `binary` whether the file starts like a binary one. Lines
    /// and columns count from the start of `data`.
    pub(crate) fn scan_piece(
        &self,
        path: &str,
        data: &[u8],
        core: Range<usize>,
        facts: &FileFacts,
        binary: bool,
        stats: &Stats,
    ) -> Vec<Finding> {
        let focus = [core];
        let input = Input {
            path,
            data,
            file: Whole::Seen(facts),
            keep: None,
            focus: Some(&focus),
        };
        let decode = self.opts.decode && !binary;
        self.scan_text(path, &input, &facts.seen, decode, stats)
    }

    /// The findings in one text (reported at `path`): as it is, then, with
    /// `decode`, in its decoded values. `active`: the anchors seen in it.
    fn scan_text(
        &self,
        path: &str,
        input: &Input<'_>,
        active: &[bool],
        decode: bool,
        stats: &Stats,
    ) -> Vec<Finding> {
        let raw = self.matcher.scan_active(input, active);
        let mut found: Vec<Found> = raw
            .into_iter()
            .map(|m| Found { m, decoded: None })
            .collect();
        if decode {
            let decoded = self.decoded_matches(input, active, stats);
            merge_decoded(&mut found, decoded, input.data);
        }
        let rules = self.matcher.rules().rules();
        found
            .into_iter()
            .map(|f| {
                let mut finding = Finding::new(&rules[f.m.rule], path, f.m);
                finding.decoded = f.decoded;
                finding
            })
            .collect()
    }

    /// Matches inside the decoded values of the input's data (those that
    /// start in its focus, if it has one), up to MAX_DECODE_DEPTH levels,
    /// with spans and positions of the encoded text in the data.
    fn decoded_matches(
        &self,
        input: &Input<'_>,
        file_active: &[bool],
        stats: &Stats,
    ) -> Vec<Found> {
        let (path, data) = (input.path, input.data);
        let file = match input.file {
            Whole::Data => Whole::Blob(data),
            other => other,
        };
        let mut candidates: Vec<Candidate> =
            decode::find_encoded(data, 0..data.len(), self.matcher.may_hold_pem(file_active))
                .into_iter()
                .filter(|e| {
                    input
                        .focus
                        .is_none_or(|f| inside(f, e.span.start, e.span.start))
                })
                .map(|e| Candidate {
                    origin: e.span.clone(),
                    label: Decoded::new(e.encoding),
                    encoded: e,
                })
                .collect();
        let mut results = Vec::new();
        let mut text: Cow<[u8]> = Cow::Borrowed(data);
        let mut decoded_bytes = 0usize;
        for level in 1..=MAX_DECODE_DEPTH {
            if candidates.is_empty() {
                break;
            }
            let before = candidates.len();
            candidates.retain(|c| {
                decoded_bytes += c.encoded.decoded.len();
                decoded_bytes <= MAX_DECODED_BYTES
            });
            if candidates.len() < before {
                stats.warn(crate::source::Warning::DecodeLimit {
                    path: path.to_string(),
                    max_decoded_bytes: MAX_DECODED_BYTES as u64,
                });
            }
            stats
                .decoded_values
                .fetch_add(candidates.len() as u64, Ordering::Relaxed);
            let (window, regions) = build_windows(&text, &candidates);
            let keep: Vec<Range<usize>> = regions.iter().map(|r| r.out.clone()).collect();
            let mut active = self.matcher.active_rules(path, &window);
            for (a, f) in active.iter_mut().zip(file_active) {
                *a |= *f;
            }
            let window_input = Input {
                path,
                data: &window,
                file,
                keep: Some(&keep),
                focus: None,
            };
            for mut m in self.matcher.scan_active(&window_input, &active) {
                let i = regions.partition_point(|r| r.out.end <= m.start);
                let Some(region) = regions.get(i) else {
                    continue;
                };
                if m.key.is_none() {
                    m.key = key_before(data, region.origin.start);
                }
                // Point at the encoded text, on its first line.
                m.start = region.origin.start;
                m.end = memchr::memchr(b'\n', &data[region.origin.clone()])
                    .map_or(region.origin.end, |nl| region.origin.start + nl);
                results.push(Found {
                    m,
                    decoded: Some(region.label.clone()),
                });
            }
            if level == MAX_DECODE_DEPTH {
                break;
            }
            candidates = regions
                .iter()
                .flat_map(|r| {
                    decode::find_encoded(&window, r.out.clone(), self.matcher.may_hold_pem(&active))
                        .into_iter()
                        .map(|e| Candidate {
                            origin: r.origin.clone(),
                            label: r.label.then(e.encoding),
                            encoded: e,
                        })
                })
                .collect();
            text = Cow::Owned(window);
        }
        results
    }
}

/// Copies the context lines around each candidate out of `text`, with the
/// candidate's decoded bytes in place of its encoded text. Overlapping
/// windows are merged; windows are separated by a newline. Candidates must
/// be sorted and disjoint (as [`decode::find_encoded`] returns them).
fn build_windows(text: &[u8], candidates: &[Candidate]) -> (Vec<u8>, Vec<Region>) {
    let mut out = Vec::new();
    let mut regions = Vec::with_capacity(candidates.len());
    let mut i = 0;
    while i < candidates.len() {
        let first = &candidates[i].encoded.span;
        let (lo, mut hi) = line_window(text, first.start, first.end, CONTEXT_LINES);
        let mut j = i + 1;
        while j < candidates.len() && candidates[j].encoded.span.start < hi {
            let s = &candidates[j].encoded.span;
            hi = hi.max(line_window(text, s.start, s.end, CONTEXT_LINES).1);
            j += 1;
        }
        let mut at = lo;
        for c in &candidates[i..j] {
            out.extend_from_slice(&text[at..c.encoded.span.start]);
            let start = out.len();
            out.extend_from_slice(&c.encoded.decoded);
            regions.push(Region {
                out: start..out.len(),
                origin: c.origin.clone(),
                label: c.label.clone(),
            });
            at = c.encoded.span.end;
        }
        out.extend_from_slice(&text[at..hi.max(at)]);
        out.push(b'\n');
        i = j;
    }
    (out, regions)
}

/// Adds the decoded matches that are not already there: the same secret
/// found as it is at an overlapping place (a JSON string with escapes that
/// did not hide it), or twice through decoding, is one finding. Decoded
/// matches get line and column of their encoded text.
fn merge_decoded(found: &mut Vec<Found>, mut decoded: Vec<Found>, data: &[u8]) {
    if decoded.is_empty() {
        return;
    }
    decoded.sort_by_key(|f| f.m.start);
    let mut seen: HashMap<String, Vec<Range<usize>>> = HashMap::new();
    for f in found.iter() {
        seen.entry(f.m.secret.clone())
            .or_default()
            .push(f.m.start..f.m.end);
    }
    let mut kept = Vec::new();
    for f in decoded {
        let spans = seen.entry(f.m.secret.clone()).or_default();
        let end = f.m.end.max(f.m.start + 1);
        if spans
            .iter()
            .any(|s| s.start < end && f.m.start < s.end.max(s.start + 1))
        {
            continue;
        }
        spans.push(f.m.start..f.m.end);
        kept.push(f);
    }
    let mut matches: Vec<Match> = kept.iter().map(|f| f.m.clone()).collect();
    set_positions(data, &mut matches);
    for (f, m) in kept.iter_mut().zip(matches) {
        f.m = m;
    }
    found.extend(kept);
}

/// The name a value is assigned to on its line, if any: `api-token` in
/// `  api-token: <value>`, `"auth"` in `"auth": "<value>"`.
fn key_before(data: &[u8], at: usize) -> Option<String> {
    let line_start = memchr::memrchr(b'\n', &data[..at]).map_or(0, |i| i + 1);
    let before = &data[line_start..at];
    let mut end = before.len();
    let skip = |end: &mut usize, set: &[u8]| {
        while *end > 0 && set.contains(&before[*end - 1]) {
            *end -= 1;
        }
    };
    skip(&mut end, b" \t\"'`\\");
    let assign_end = end;
    skip(&mut end, b"=:");
    if end == assign_end {
        return None;
    }
    skip(&mut end, b" \t\"'`\\");
    let key_end = end;
    while end > 0 && (before[end - 1].is_ascii_alphanumeric() || b"_.-".contains(&before[end - 1]))
    {
        end -= 1;
    }
    (end < key_end).then(|| String::from_utf8_lossy(&before[end..key_end]).into_owned())
}

/// A NUL byte near the start: compiled code, images, fonts, databases.
pub(crate) fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(BINARY_SNIFF)]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_before_values() {
        let k = |line: &str| key_before(line.as_bytes(), line.len());
        assert_eq!(k("  api-token: "), Some("api-token".into()));
        assert_eq!(k(r#"{"auth": ""#), Some("auth".into()));
        assert_eq!(k("X=\""), Some("X".into()));
        assert_eq!(k(r#"  \"apiToken\": \""#), Some("apiToken".into()));
        assert_eq!(k("just text "), None);
        assert_eq!(k(""), None);
    }

    #[test]
    fn windows_substitute_and_merge() {
        let text = b"a\nkey: QUJD\nb\nother: REVG\n";
        let cands = vec![
            Candidate {
                encoded: Encoded {
                    span: 7..11,
                    encoding: decode::Encoding::Base64,
                    decoded: b"ABC".to_vec(),
                },
                origin: 7..11,
                label: Decoded::new(decode::Encoding::Base64),
            },
            Candidate {
                encoded: Encoded {
                    span: 21..25,
                    encoding: decode::Encoding::Base64,
                    decoded: b"DEF".to_vec(),
                },
                origin: 21..25,
                label: Decoded::new(decode::Encoding::Base64),
            },
        ];
        let (w, regions) = build_windows(text, &cands);
        assert_eq!(w, b"a\nkey: ABC\nb\nother: DEF\n\n");
        assert_eq!(&w[regions[0].out.clone()], b"ABC");
        assert_eq!(&w[regions[1].out.clone()], b"DEF");
    }
}

//! Secret shapes: what a pattern's `secret` group is made of, read from the
//! regex itself, and the parts of a blob where such a secret can be.
//!
//! Lazy DFAs run at a few hundred MB/s, and in a Cloudflare project every
//! file passes the keyword prefilter ("cloudflare" is everywhere), so running
//! each regex over whole files would be most of a scan. But every secret is a
//! run of at least `min_len` bytes from a small class (40 of
//! `[A-Za-z0-9_-]`, 37 lowercase hex...), and such runs are rare in code. So
//! the matcher finds those runs first, a sampled scan that reads a fraction
//! of the bytes, and runs the regex only on windows around them. Where the
//! regex puts bytes outside the class on both sides of the secret
//! (`= "…"`, `{{end}}`), the secret is a whole run, and longer runs (base64
//! blobs, long identifiers) are passed over too.
//!
//! Stage: rules (derived from a pattern). It never scans a blob; the matcher
//! uses the shape.

use std::ops::Range;

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::kernel::runs::ByteClass;
use crate::rules::lead::Lead;

/// Parses a pattern as it is compiled (ASCII, bytes: see `compile_regex`).
fn parse(source: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(source)
        .ok()
}

/// A pattern's top-level sequence. Flags like (?m) parse to empty groups:
/// look through one level.
fn top_level(hir: &Hir) -> Vec<&Hir> {
    match hir.kind() {
        HirKind::Concat(parts) => parts.iter().collect(),
        _ => vec![hir],
    }
}

/// True if no byte of `side` is one `class` holds.
fn disjoint(side: &[bool; 256], class: impl Fn(u8) -> bool) -> bool {
    (0..=u8::MAX).all(|b| !(side[usize::from(b)] && class(b)))
}

/// Secrets shorter than this are not worth windowing: runs that short are
/// everywhere.
const MIN_WINDOWED_LEN: usize = 16;
/// Classes of more bytes than this (`[^"\s]`) are not worth windowing.
const MAX_CLASS: usize = 96;
/// How far before a run a match may start when the regex does not bound it
/// (`[\w.-]*cloudflare...`). Every window also reaches back to the start of
/// its line, up to as far again.
const DEFAULT_BEFORE: usize = 512;
/// How far after a run a match may end, at most; the window reaches to the
/// end of the line, up to this far.
const MAX_AFTER: usize = 256;

/// Where a pattern's secret can be: a run of at least `min_len` bytes of
/// `class`, with the rest of the match at most `before` bytes before it
/// (None: unbounded) and `after` bytes after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretShape {
    class: ByteClass,
    min_len: usize,
    /// Set when the bytes on both sides of the secret are outside `class`:
    /// then the secret is a whole run, and runs longer than this (base64
    /// blobs, long identifiers) cannot hold one.
    max_len: Option<usize>,
    before: Option<usize>,
    after: usize,
}

impl SecretShape {
    /// The shape of `source`'s `secret` group, or None when windows would not
    /// hold every match (the group is not a fixed part of the top-level
    /// sequence, or what follows it is unbounded) or not pay (the secret is
    /// short, or of almost any byte).
    pub fn of(source: &str) -> Option<SecretShape> {
        let hir = parse(source)?;
        let parts = top_level(&hir);
        let at = parts.iter().position(|h| is_secret(h))?;
        let secret = parts[at];
        let min_len = secret.properties().minimum_len()?;
        if min_len < MIN_WINDOWED_LEN {
            return None;
        }
        let mut class = [false; 256];
        add_bytes(secret, &mut class)?;
        // Runs of a class that broad are everywhere.
        if class.iter().filter(|&&c| c).count() > MAX_CLASS {
            return None;
        }
        let before = parts[..at]
            .iter()
            .try_fold(0usize, |n, h| Some(n + h.properties().maximum_len()?));
        let after = parts[at + 1..]
            .iter()
            .try_fold(0usize, |n, h| Some(n + h.properties().maximum_len()?))?;
        if after > MAX_AFTER {
            return None;
        }
        let apart = |side: Option<[bool; 256]>| {
            side.is_some_and(|side| disjoint(&side, |b| class[usize::from(b)]))
        };
        let max_len = secret.properties().maximum_len().filter(|_| {
            apart(neighbours(parts[..at].iter().rev(), false))
                && apart(neighbours(parts[at + 1..].iter(), true))
        });
        Some(SecretShape {
            class: ByteClass::new(class),
            min_len,
            max_len,
            before,
            after,
        })
    }

    /// The lead of the pattern `source` of this shape: the part before its
    /// secret, when the secret must start a run (see [`crate::rules::lead`]).
    pub fn lead_of(&self, source: &str) -> Option<Lead> {
        let hir = parse(source)?;
        let parts = top_level(&hir);
        let at = parts.iter().position(|h| is_secret(h))?;
        neighbours(parts[..at].iter().rev(), false)
            .is_some_and(|side| disjoint(&side, |b| self.class.contains(b)))
            .then(|| Lead::of(&parts[..at]))
            .flatten()
    }

    /// Where the window around `run` starts: back `before` bytes (or
    /// [`DEFAULT_BEFORE`]), then to the start of that line, up to as far again.
    pub fn window_start(&self, data: &[u8], run: &Range<usize>) -> usize {
        let at = run
            .start
            .saturating_sub(self.before.unwrap_or(DEFAULT_BEFORE));
        let floor = at.saturating_sub(DEFAULT_BEFORE);
        memchr::memrchr(b'\n', &data[floor..at]).map_or(floor, |i| floor + i + 1)
    }

    /// Sorted, disjoint windows of `data` that hold every match of a pattern
    /// of this shape (its text may start up to `before` bytes, or a line,
    /// before the secret and end `after` bytes, or a line, past it). With a
    /// `focus`, only those of matches whose secret can start inside it.
    pub fn windows(&self, data: &[u8], focus: Option<&[Range<usize>]>) -> Vec<Range<usize>> {
        let runs = self.runs(data);
        self.windows_around(data, runs, focus)
    }

    /// [`SecretShape::windows`] for several shapes at once (one list per
    /// shape). A shape whose characters are all in another's (hex in
    /// `[A-Za-z0-9_-]`) has its runs looked for only inside that one's, so
    /// the blob is sampled once per family of shapes, not once per shape.
    pub fn windows_of_all(
        shapes: &[&SecretShape],
        data: &[u8],
        focus: Option<&[Range<usize>]>,
    ) -> Vec<Vec<Range<usize>>> {
        let runs = Self::runs_of_all(shapes, data);
        shapes
            .iter()
            .zip(runs)
            .map(|(s, runs)| s.windows_around(data, runs, focus))
            .collect()
    }

    /// The runs that [`SecretShape::windows_of_all`] makes windows around:
    /// per shape, its runs that fit it, sorted.
    pub fn runs_of_all(shapes: &[&SecretShape], data: &[u8]) -> Vec<Vec<Range<usize>>> {
        let size = |s: &SecretShape| s.class.size();
        let mut order: Vec<usize> = (0..shapes.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(size(shapes[i])));
        // Families: the shape with the broadest class, and the shortest run
        // any member needs.
        let mut families: Vec<(usize, usize)> = Vec::new();
        let mut family_of = vec![0; shapes.len()];
        for &i in &order {
            let s = shapes[i];
            match families
                .iter()
                .position(|&(root, _)| s.within(shapes[root]))
            {
                Some(f) => {
                    families[f].1 = families[f].1.min(s.min_len);
                    family_of[i] = f;
                }
                None => {
                    families.push((i, s.min_len));
                    family_of[i] = families.len() - 1;
                }
            }
        }
        let family_runs: Vec<Vec<Range<usize>>> = families
            .iter()
            .map(|&(root, min_len)| shapes[root].runs_within(data, 0..data.len(), min_len, None))
            .collect();
        shapes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (root, _) = families[family_of[i]];
                let mut runs = Vec::new();
                for run in family_runs[family_of[i]]
                    .iter()
                    .filter(|r| r.len() >= s.min_len)
                {
                    if s.class == shapes[root].class {
                        if s.fits(run) {
                            runs.push(run.clone());
                        }
                    } else {
                        runs.extend(s.runs_within(data, run.clone(), s.min_len, s.max_len));
                    }
                }
                runs
            })
            .collect()
    }

    /// True if a run this long can hold a secret of this shape.
    fn fits(&self, run: &Range<usize>) -> bool {
        run.len() >= self.min_len && self.max_len.is_none_or(|max| run.len() <= max)
    }

    /// True if every byte of this shape's class is in `other`'s.
    fn within(&self, other: &SecretShape) -> bool {
        self.class.within(&other.class)
    }

    /// The windows around `runs` (sorted, of this shape's class).
    pub fn windows_around(
        &self,
        data: &[u8],
        mut runs: Vec<Range<usize>>,
        focus: Option<&[Range<usize>]>,
    ) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        // A secret starting in the focus lies in a run that reaches into it.
        if let Some(focus) = focus {
            runs.retain(|r| {
                let i = focus.partition_point(|f| f.end <= r.start);
                focus.get(i).is_some_and(|f| f.start < r.end)
            });
        }
        for run in runs {
            // Back to the start of a line, so that `^` and `\b` see what
            // they would in the whole blob (a minified line is cut).
            let start = self.window_start(data, &run);
            // On to the end of the line, for the same reason. The byte after
            // the run is always in: it decides `\b`, `$` and `{{end}}`.
            let reach = (run.end + self.after.max(1)).min(data.len());
            let limit = (run.end + MAX_AFTER).min(data.len()).max(reach);
            let end = memchr::memchr(b'\n', &data[reach..limit]).map_or(limit, |i| reach + i + 1);
            match out.last_mut() {
                Some(last) if last.end >= start => last.end = last.end.max(end),
                _ => out.push(start..end),
            }
        }
        out
    }

    /// Maximal runs of `class` at least `min_len` long.
    fn runs(&self, data: &[u8]) -> Vec<Range<usize>> {
        self.runs_within(data, 0..data.len(), self.min_len, self.max_len)
    }

    /// Maximal runs of `class` in `within`, `min_len` to `max_len` long.
    fn runs_within(
        &self,
        data: &[u8],
        within: Range<usize>,
        min_len: usize,
        max_len: Option<usize>,
    ) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        self.class.runs(data, within, min_len, |r| {
            if max_len.is_none_or(|max| r.len() <= max) {
                out.push(r)
            }
        });
        out
    }
}

/// The bytes that can stand next to the secret on one side: the last bytes
/// of what precedes it (`parts` from the secret backwards) or the first of
/// what follows it (`forward`). None when nothing need stand there: what is
/// on that side can match the empty string, so any byte can.
fn neighbours<'h>(parts: impl Iterator<Item = &'h &'h Hir>, forward: bool) -> Option<[bool; 256]> {
    let mut set = [false; 256];
    for part in parts {
        if edge(part, forward, &mut set)? {
            return Some(set);
        }
    }
    None
}

/// Adds to `set` the bytes a match of `hir` can begin (`forward`) or end
/// with; true if every match has one of them there, or (forward) ends the
/// text, which bounds a run as well as a byte. None if its bytes are not
/// simply listed.
fn edge(hir: &Hir, forward: bool, set: &mut [bool; 256]) -> Option<bool> {
    Some(match hir.kind() {
        HirKind::Empty => false,
        HirKind::Look(look) => match (forward, look) {
            (true, Look::End) => true,
            (true, Look::EndLF) => {
                set[usize::from(b'\n')] = true;
                true
            }
            (true, Look::EndCRLF) => {
                set[usize::from(b'\r')] = true;
                set[usize::from(b'\n')] = true;
                true
            }
            // Word boundaries, and a start of text that may be a window's.
            _ => false,
        },
        HirKind::Literal(lit) => match if forward { lit.0.first() } else { lit.0.last() } {
            Some(&b) => {
                set[usize::from(b)] = true;
                true
            }
            None => false,
        },
        HirKind::Class(_) => {
            add_bytes(hir, set)?;
            true
        }
        HirKind::Repetition(r) => edge(&r.sub, forward, set)? && r.min > 0,
        HirKind::Capture(c) => edge(&c.sub, forward, set)?,
        HirKind::Alternation(parts) => {
            let mut all = true;
            for p in parts {
                all &= edge(p, forward, set)?;
            }
            all
        }
        HirKind::Concat(parts) => {
            let mut ordered: Box<dyn Iterator<Item = &Hir>> = if forward {
                Box::new(parts.iter())
            } else {
                Box::new(parts.iter().rev())
            };
            ordered.try_fold(false, |closed, p| Some(closed || edge(p, forward, set)?))?
        }
    })
}

fn is_secret(hir: &Hir) -> bool {
    matches!(hir.kind(), HirKind::Capture(c) if c.name.as_deref() == Some("secret"))
}

/// Marks every byte `hir` can match; None if it holds something whose bytes
/// are not simply listed (a nested capture is fine, look-arounds match none).
fn add_bytes(hir: &Hir, class: &mut [bool; 256]) -> Option<()> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => {
            for &b in lit.0.iter() {
                class[b as usize] = true;
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    class[b as usize] = true;
                }
            }
        }
        HirKind::Class(Class::Unicode(c)) => {
            for r in c.ranges() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                // Any non-ASCII character is made of bytes 0x80 and above.
                for b in lo.min(0x80)..=hi.min(0x7f) {
                    class[b as usize] = true;
                }
                if hi >= 0x80 {
                    class[0x80..].iter_mut().for_each(|c| *c = true);
                }
            }
        }
        HirKind::Repetition(r) => add_bytes(&r.sub, class)?,
        HirKind::Capture(c) => add_bytes(&c.sub, class)?,
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            for p in parts {
                add_bytes(p, class)?;
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_typical_patterns() {
        let hex = SecretShape::of(r"(?i:x-auth-key)[:=]\s*(?P<secret>[a-f0-9]{37,45})(?:[^a-z]|$)")
            .expect("windowable");
        assert_eq!(hex.min_len, 37);
        assert!(hex.class.contains(b'a') && !hex.class.contains(b'g'));
        assert_eq!(hex.after, 1);
        assert!(hex.before.is_none(), "\\s* is unbounded");
        assert_eq!(hex.max_len, None, "a digit may follow the secret");
        // Bytes outside the class on both sides: the secret is a whole run.
        let bearer = r"(?i:bearer)[ \t]+(?P<secret>[A-Za-z0-9_-]{40})(?:[^A-Za-z0-9_\-]|$)";
        assert_eq!(SecretShape::of(bearer).unwrap().max_len, Some(40));
        let between = r#"(?m)["'](?P<secret>[a-f0-9]{37,45})(?:["']|$)"#;
        assert_eq!(SecretShape::of(between).unwrap().max_len, Some(45));
        // Nothing (a look-around, an optional byte) need stand on one side.
        for source in [
            r"\b(?P<secret>[a-f0-9]{37})[;]",
            r"x?(?P<secret>[a-f0-9]{37})[;]",
            r"=(?P<secret>[a-f0-9]{37})[;]?",
            r"=(?P<secret>[a-f0-9]{37})(?:;|\b)",
        ] {
            assert_eq!(SecretShape::of(source).unwrap().max_len, None, "{source}");
        }
        // Too short a secret, or an unbounded tail: the whole blob is searched.
        assert!(SecretShape::of(r"k=(?P<secret>[a-z]{8})").is_none());
        assert!(SecretShape::of(r"k=(?P<secret>[a-z]{20})\s.*").is_none());
        // A secret inside an alternation is not a fixed part of the match.
        assert!(SecretShape::of(r"a(?P<secret>[a-z]{20})|b").is_none());
    }

    #[test]
    fn windows_cover_every_match() {
        let shape =
            SecretShape::of(r"(?m)^[a-z_]*token[ =]+(?P<secret>[A-Za-z0-9]{20})\b").unwrap();
        let secret = "Ab3dEf6hIj9kLm2nOp5q";
        for pad in [0, 1, 100, 700, 5000] {
            let filler = "let x = y + z; // some ordinary code\n".repeat(pad / 37 + 1);
            let text = format!("{filler}my_token = {secret}\n{filler}");
            let windows = shape.windows(text.as_bytes(), None);
            let at = text.find("my_token").unwrap();
            let end = text.find(secret).unwrap() + secret.len();
            assert!(
                windows.iter().any(|w| w.start <= at && end < w.end),
                "pad {pad}: {windows:?}"
            );
            // Windows are small next to the text: the filler has no runs.
            let covered: usize = windows.iter().map(|w| w.len()).sum();
            assert!(covered < 2 * DEFAULT_BEFORE + MAX_AFTER + 100);
        }
    }

    #[test]
    fn shapes_found_together_as_alone() {
        let sources = [
            r"k=(?P<secret>[A-Za-z0-9_-]{40})\b",
            r"k=(?P<secret>[a-f0-9]{37,45})\b",
            r"k=(?P<secret>[a-f0-9]{64})\b",
            r"(?P<secret>cfut_[A-Za-z0-9]{40}[a-f0-9]{8})\b",
            r"k=(?P<secret>[A-Za-z0-9+/]{40,88}={0,2})",
            // Whole runs: a word run longer than 40 holds none of the first,
            // but can hold hex runs of the second.
            r"k=(?P<secret>[A-Za-z0-9_-]{40})(?:[^A-Za-z0-9_\-]|$)",
            r"k=(?P<secret>[a-f0-9]{37,45})(?:[^A-Za-z0-9_\-]|$)",
        ];
        let shapes: Vec<SecretShape> = sources
            .iter()
            .map(|s| SecretShape::of(s).unwrap())
            .collect();
        let refs: Vec<&SecretShape> = shapes.iter().collect();
        // Hex inside longer word runs, word runs inside base64, short runs.
        let mut text = String::new();
        for i in 0..200 {
            let hex: String = (0..37 + i % 30)
                .map(|j| b"0123456789abcdef"[(i * 7 + j) % 16] as char)
                .collect();
            let word: String = (0..20 + i % 50)
                .map(|j| b"AbC_dE-9xYz"[(i + j) % 11] as char)
                .collect();
            let alnum: String = (0..40 + i % 30)
                .map(|j| b"Ab9Cd8Ef7"[(i + j) % 9] as char)
                .collect();
            text.push_str(&format!(
                "a {word}{hex} b+/{word}/{hex}\n{hex} x={alnum};\n"
            ));
        }
        let data = text.as_bytes();
        let focus = [1000..5000, 9000..9100];
        for focus in [None, Some(&focus[..])] {
            let together = SecretShape::windows_of_all(&refs, data, focus);
            for (shape, windows) in shapes.iter().zip(&together) {
                assert!(focus.is_some() || !windows.is_empty(), "{shape:?}");
                assert_eq!(windows, &shape.windows(data, focus), "{shape:?}");
            }
        }
        assert_eq!((shapes[5].max_len, shapes[6].max_len), (Some(40), Some(45)));
        // A hex run inside a word run too long for the word shape: found
        // through the family all the same.
        let hex40 = &"0123456789abcdef".repeat(3)[..40];
        let lone = format!("{}\nxx_{hex40} ;\n", ". ".repeat(600));
        let lone = lone.as_bytes();
        let together = SecretShape::windows_of_all(&refs[5..], lone, None);
        assert!(together[0].is_empty());
        assert_eq!(together[1], shapes[6].windows(lone, None));
        assert!(!together[1].is_empty());
        // The hex shapes share one family with the word shape.
        assert!(shapes[1].within(&shapes[0]) && shapes[2].within(&shapes[0]));
        assert!(!shapes[4].within(&shapes[0]) && !shapes[0].within(&shapes[4]));
    }
}

//! Decoders: encoded values inside a blob, and structural checks on encoded
//! credentials.
//!
//! Pure functions over bytes. [`find_encoded`] finds the values worth decoding
//! in a range of a blob and decodes them:
//!
//! - base64 runs (standard or URL-safe, padded or not) of at least
//!   [`MIN_BASE64_RUN`] characters, and PEM bodies, whose lines are joined
//!   first (a cloudflared `cert.pem` holds base64 JSON split over lines);
//! - percent-encoded runs (`%22`, `%3D`: tokens in URLs and query strings);
//! - double-quoted strings with JSON/YAML backslash escapes that hide
//!   characters (`\u0022`, `\x3d`, `\/`); strings with only `\"`, `\n`,
//!   `\t` or `\\` are left alone, because the rules read through those, and
//!   so are those with only escapes the decoder keeps as written (Rust's
//!   `\u{e9}`, a broken `\x4`).
//!
//! It keeps a value only if it decodes to text (valid UTF-8 without control
//! characters), so base64 of images, keys and other binary data is dropped
//! after one decode. It skips runs longer than [`MAX_ENCODED_RUN`],
//! base64 in `data:` URIs of images (SVG excepted), fonts and media, hex strings, and runs
//! that have neither a digit nor `+`/`/` (identifiers). What to do with the decoded text
//! (substitute it, run the rules again) is the scan stage's business.
//!
//! Every input may be hostile: nothing here panics, and the work and memory
//! are linear in the input.
//!
//! Stage: scan. It never reads a source, filters or reports.

use std::ops::Range;
use std::sync::LazyLock;

use memchr::{memchr, memchr2, memmem, memrchr};

use crate::kernel::base64::base64_any;
use crate::kernel::runs::{ByteClass, Pair};
use crate::matcher::PEM_BEGIN;

/// Shortest base64 run worth decoding: 30 bytes, less than any credential
/// keyflare knows with a name around it.
pub const MIN_BASE64_RUN: usize = 40;
/// Longer encoded runs are not decoded: credentials are short, and long runs
/// are embedded files (images, fonts, archives).
pub const MAX_ENCODED_RUN: usize = 64 * 1024;
/// Shortest percent-encoded run worth decoding.
const MIN_PERCENT_RUN: usize = 16;
/// Shortest escaped string worth decoding.
const MIN_ESCAPED_STRING: usize = 16;

/// How a value was encoded: a finding records it (see [`crate::finding::Decoded`]).
pub use crate::finding::Encoding;

/// An encoded value found in a text, and its decoded bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// Where the encoded text is.
    pub span: Range<usize>,
    /// How it was encoded.
    pub encoding: Encoding,
    /// What it decodes to: always text (see [`is_textual`]).
    pub decoded: Vec<u8>,
}

/// Finds and decodes the encoded values in `data[within]`. The result is
/// sorted by position and never overlaps: where two candidates overlap,
/// base64 beats percent-encoding beats escapes, then the earlier and longer
/// one wins (what is inside a decoded value is found one level deeper).
/// `pem` false says that no [`PEM_BEGIN`] is there (the matcher's keyword
/// pass looks for it): the search for PEM blocks is skipped.
pub fn find_encoded(data: &[u8], within: Range<usize>, pem: bool) -> Vec<Encoded> {
    let within = within.start.min(data.len())..within.end.min(data.len());
    let mut found = Vec::new();
    let pem_spans = if pem {
        pem_bodies(data, within.clone(), &mut found)
    } else {
        Vec::new()
    };
    base64_runs(data, within.clone(), &pem_spans, &mut found);
    percent_runs(data, within.clone(), &mut found);
    escaped_strings(data, within, &mut found);
    if found.len() <= 1 {
        return found;
    }
    found.sort_by(|a, b| {
        (a.encoding, a.span.start, std::cmp::Reverse(a.span.end)).cmp(&(
            b.encoding,
            b.span.start,
            std::cmp::Reverse(b.span.end),
        ))
    });
    let mut taken: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let mut kept = Vec::with_capacity(found.len());
    for e in found {
        // Taken spans are disjoint, so only the last one starting before our
        // end can overlap us.
        let overlaps = taken
            .range(..e.span.end)
            .next_back()
            .is_some_and(|(_, &end)| end > e.span.start);
        if !overlaps {
            taken.insert(e.span.start, e.span.end);
            kept.push(e);
        }
    }
    kept.sort_by_key(|e| e.span.start);
    kept
}

/// True if `bytes` reads as text: valid UTF-8, not empty, and no control
/// characters but tab, CR and LF. Random bytes almost never pass.
pub fn is_textual(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    if bytes.is_ascii() {
        return bytes
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')),
        Err(_) => false,
    }
}

const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// Base64 characters, both alphabets.
static BASE64_CHARS: [bool; 256] = byte_table(b"+/-_");
static BASE64_CLASS: LazyLock<ByteClass> = LazyLock::new(|| ByteClass::new(BASE64_CHARS));

/// PEM blocks (`-----BEGIN X-----` … `-----END X-----`): the body's lines are
/// joined and decoded. Returns the body spans, decodable or not, so that the
/// base64 scan does not decode their lines one by one.
fn pem_bodies(data: &[u8], within: Range<usize>, out: &mut Vec<Encoded>) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let hay = &data[within.clone()];
    let mut next = 0;
    for pos in memmem::find_iter(hay, PEM_BEGIN) {
        if pos < next {
            continue;
        }
        let begin_line_end = memchr(b'\n', &hay[pos..]).map_or(hay.len(), |i| pos + i);
        if memmem::find(&hay[pos + PEM_BEGIN.len()..begin_line_end], b"-----").is_none() {
            continue;
        }
        let body_start = (begin_line_end + 1).min(hay.len());
        let search_end = (body_start + MAX_ENCODED_RUN + 1024).min(hay.len());
        let Some(end_at) = memmem::find(&hay[body_start..search_end], b"-----END ") else {
            continue;
        };
        let body_end = body_start + end_at;
        next = body_end;
        let body = &hay[body_start..body_end];
        // Trim to the first and last base64 character: the span reported.
        let Some(first) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
            continue;
        };
        let last = body
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .unwrap_or(first);
        let span = within.start + body_start + first..within.start + body_start + last + 1;
        spans.push(span.clone());
        // RFC 1421 headers (Proc-Type: ...) mean an encrypted key: binary.
        if body.contains(&b':') {
            continue;
        }
        let joined: Vec<u8> = body
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !joined
            .iter()
            .all(|&b| BASE64_CHARS[b as usize] || b == b'=')
        {
            continue;
        }
        if let Some(decoded) = base64_any(&joined) {
            if is_textual(&decoded) {
                out.push(Encoded {
                    span,
                    encoding: Encoding::Base64,
                    decoded,
                });
            }
        }
    }
    spans
}

/// Runs of base64 characters (then up to two `=`), outside PEM bodies.
fn base64_runs(data: &[u8], within: Range<usize>, skip: &[Range<usize>], out: &mut Vec<Encoded>) {
    let mut skip = skip.iter().peekable();
    BASE64_CLASS.runs(data, within.clone(), MIN_BASE64_RUN, |run| {
        let (start, run_end) = (run.start, run.end);
        if run.len() > MAX_ENCODED_RUN {
            return;
        }
        while let Some(s) = skip.peek() {
            if s.end <= start {
                skip.next();
            } else {
                break;
            }
        }
        if skip.peek().is_some_and(|s| s.start < run_end) {
            return;
        }
        // `=` padding, unless it is an assignment (KEY=value).
        let mut end = run_end;
        while end < within.end && end - run_end < 2 && data[end] == b'=' {
            end += 1;
        }
        if end < within.end && BASE64_CHARS[data[end] as usize] {
            end = run_end;
        }
        let run = &data[start..run_end];
        if !worth_decoding(run) || in_media_data_uri(data, start) {
            return;
        }
        if let Some(decoded) = base64_any(&data[start..end]) {
            if is_textual(&decoded) {
                out.push(Encoded {
                    span: start..end,
                    encoding: Encoding::Base64,
                    decoded,
                });
            }
        }
    });
}

/// Cheap rejections before decoding a base64-looking run.
fn worth_decoding(run: &[u8]) -> bool {
    if run.len() % 4 == 1 {
        return false;
    }
    // One pass for all the tests below (a registry's checksum files hold a
    // 64-digit hash per file): what some byte is, and whether all are hex.
    let (mut all_hex, mut digit, mut standard, mut url_safe) = (true, false, false, false);
    for &b in run {
        all_hex &= b.is_ascii_hexdigit();
        digit |= b.is_ascii_digit();
        standard |= b == b'+' || b == b'/';
        url_safe |= b == b'-' || b == b'_';
    }
    // Hex (hashes, ids) is not base64 of anything keyflare looks for, and
    // no base64 mixes both alphabets.
    if all_hex || standard && url_safe {
        return false;
    }
    // Identifiers and words: base64 of 30+ bytes has a digit or +/ with
    // probability above 99.8%.
    standard || digit
}

/// True if the run at `start` is the payload of a `data:` URI of an image,
/// font or media file: decoding those is wasted work.
fn in_media_data_uri(data: &[u8], start: usize) -> bool {
    let before = &data[start.saturating_sub(128)..start];
    if !before.ends_with(b";base64,") {
        return false;
    }
    let Some(d) = memmem::rfind(before, b"data:") else {
        return false;
    };
    let mime = before[d + 5..].to_ascii_lowercase();
    // SVG is text, and small: worth reading.
    if mime.starts_with(b"image/svg") {
        return false;
    }
    const MEDIA: &[&[u8]] = &[
        b"image/",
        b"font/",
        b"audio/",
        b"video/",
        b"application/font",
        b"application/x-font",
        b"application/vnd.ms-fontobject",
        b"application/octet-stream",
        b"application/wasm",
    ];
    MEDIA.iter().any(|m| mime.starts_with(m))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Bytes that end a percent-encoded run: whitespace, quotes and brackets
/// that delimit URLs in text, and control characters.
fn ends_percent_run(b: u8) -> bool {
    b <= b' ' || b == 0x7f || matches!(b, b'"' | b'<' | b'>' | b'`' | b'\\')
}

/// A `%` and a hex digit: where a `%XX` escape may start.
static PERCENT: LazyLock<Pair> = LazyLock::new(|| Pair::new(b'%', b"0123456789abcdefABCDEF"));

/// Runs of URL text holding `%XX` escapes, decoded.
fn percent_runs(data: &[u8], within: Range<usize>, out: &mut Vec<Encoded>) {
    let mut next = within.start;
    let mut from = within.start;
    while let Some(at) = PERCENT.find(data, from..within.end) {
        from = at + 1;
        if at < next || at + 2 >= within.end {
            continue;
        }
        if hex_value(data[at + 1]).is_none() || hex_value(data[at + 2]).is_none() {
            continue;
        }
        let mut start = at;
        while start > next && !ends_percent_run(data[start - 1]) {
            start -= 1;
        }
        let mut end = at;
        while end < within.end && !ends_percent_run(data[end]) {
            end += 1;
        }
        next = end;
        if !(MIN_PERCENT_RUN..=MAX_ENCODED_RUN).contains(&(end - start)) {
            continue;
        }
        let decoded = percent_decode(&data[start..end]);
        if decoded.len() < end - start && is_textual(&decoded) {
            out.push(Encoded {
                span: start..end,
                encoding: Encoding::Percent,
                decoded,
            });
        }
    }
}

/// Replaces each `%XX` by its byte; anything else is kept.
pub fn percent_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%' && i + 2 < text.len() {
            if let (Some(h), Some(l)) = (hex_value(text[i + 1]), hex_value(text[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

/// A backslash and the letter of an escape that hides characters: where a
/// line worth parsing for escaped strings is.
static HIDING_ESCAPE: LazyLock<Pair> = LazyLock::new(|| Pair::new(b'\\', b"uUx/"));

/// Double-quoted strings with backslash escapes, line by line (only lines
/// with a `\u`, `\U`, `\x` or `\/` escape are parsed), decoded.
fn escaped_strings(data: &[u8], within: Range<usize>, out: &mut Vec<Encoded>) {
    let mut pos = within.start;
    // The start of the line holding `seen`, and how far newlines were looked for.
    let (mut line_start, mut seen) = (within.start, within.start);
    while pos < within.end {
        // An escaped backslash before the letter (`\\u`) finds a line
        // that need not be parsed; parsing it finds nothing.
        let Some(backslash) = HIDING_ESCAPE.find(data, pos..within.end) else {
            break;
        };
        if let Some(i) = memrchr(b'\n', &data[seen..backslash]) {
            line_start = seen + i + 1;
        }
        let line_end =
            memchr(b'\n', &data[backslash..within.end]).map_or(within.end, |i| backslash + i);
        strings_in_line(data, line_start..line_end, out);
        pos = line_end + 1;
        line_start = pos;
        seen = pos.min(within.end);
    }
}

fn strings_in_line(data: &[u8], line: Range<usize>, out: &mut Vec<Encoded>) {
    let mut i = line.start;
    let mut open: Option<usize> = None;
    let mut escaped = false;
    // Only quotes and backslashes matter: jump from one to the next (a
    // minified line or a source map's sources can be megabytes long), byte
    // by byte where the line is short: escapes can be every few bytes.
    let short = line.len() <= 256;
    while i < line.end {
        let rest = &data[i..line.end];
        let next = if short {
            rest.iter().position(|&b| b == b'"' || b == b'\\')
        } else {
            memchr2(b'"', b'\\', rest)
        };
        let Some(at) = next else {
            break;
        };
        i += at;
        match (data[i], open) {
            (b'"', None) => {
                open = Some(i + 1);
                escaped = false;
            }
            (b'\\', Some(_)) => {
                // \" \n \t \\ hide nothing from the rules (they allow \" around
                // values); only escapes that replace the characters themselves
                // make a string worth decoding.
                let escape = &data[i..line.end];
                if hides_characters(escape) {
                    escaped = true;
                }
                // A string with a control character (a byte string in
                // generated data: `b"\x00\x07..."`) decodes to nothing
                // (see [`unescape`]): on to its closing quote, past its
                // other escapes.
                if stands_for_control(escape) {
                    let Some(close) = closing_quote(data, i + 2..line.end) else {
                        break;
                    };
                    open = None;
                    i = close + 1;
                    continue;
                }
                i += 1;
            }
            (b'"', Some(start)) => {
                let len = i - start;
                if escaped && (MIN_ESCAPED_STRING..=MAX_ENCODED_RUN).contains(&len) {
                    if let Some(decoded) = unescape(&data[start..i]) {
                        if decoded != data[start..i] && is_textual(&decoded) {
                            out.push(Encoded {
                                span: start..i,
                                encoding: Encoding::Escape,
                                decoded,
                            });
                        }
                    }
                }
                open = None;
            }
            _ => {}
        }
        i += 1;
    }
}

/// True if `escape` (from its backslash on) is one that [`unescape`] turns
/// into the character it hides: `\/`, `\xXX`, `\uXXXX` or `\UXXXXXXXX`.
/// Rust's `\u{...}` is not one: a string with only those is left alone.
fn hides_characters(escape: &[u8]) -> bool {
    escape.get(1) == Some(&b'/')
        || hex_digits(escape).is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit))
}

/// True if `escape` (from its backslash on) is one that [`unescape`] turns
/// into a control character other than tab, CR and LF, so that the string
/// holding it is not decoded.
fn stands_for_control(escape: &[u8]) -> bool {
    matches!(escape.get(1), Some(b'0' | b'b' | b'f'))
        || hex_digits(escape)
            .and_then(hex_number)
            .and_then(char::from_u32)
            .is_some_and(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// What stands where the digits of a `\xXX`, `\uXXXX` or `\UXXXXXXXX`
/// escape (from its backslash on) go, digits or not; None for another
/// escape or one cut short.
fn hex_digits(escape: &[u8]) -> Option<&[u8]> {
    let width = match escape.get(1)? {
        b'x' => 2,
        b'u' => 4,
        b'U' => 8,
        _ => return None,
    };
    escape.get(2..2 + width)
}

/// The first `"` in `within` that no backslash escapes (an even number of
/// them before it, counted back to `within.start`).
fn closing_quote(data: &[u8], within: Range<usize>) -> Option<usize> {
    let mut from = within.start.min(within.end);
    loop {
        let quote = from + memchr(b'"', &data[from..within.end])?;
        let backslashes = data[within.start..quote]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return Some(quote);
        }
        from = quote + 1;
    }
}

fn hex_number(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc << 4 | u32::from(hex_value(d)?)))
}

/// Decodes JSON and YAML double-quoted string escapes: `\" \\ \/ \n \r \t
/// \b \f \0`, `\uXXXX` (surrogate pairs too), YAML's `\xXX` and `\UXXXXXXXX`.
/// Unknown or broken escapes are kept as they are. None as soon as an
/// escape stands for a control character other than tab, CR and LF: the
/// string is not text (byte strings in tests are full of them), and its
/// decoding would be thrown away.
pub fn unescape(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    let push_char = |out: &mut Vec<u8>, c: char| {
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            return None;
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Some(())
    };
    while i < text.len() {
        if text[i] != b'\\' || i + 1 >= text.len() {
            out.push(text[i]);
            i += 1;
            continue;
        }
        let simple = match text[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'\'' => Some(b'\''),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'0' => Some(0),
            _ => None,
        };
        if let Some(b) = simple {
            push_char(&mut out, char::from(b))?;
            i += 2;
            continue;
        }
        let Some((code, width)) =
            hex_digits(&text[i..]).and_then(|digits| Some((hex_number(digits)?, digits.len())))
        else {
            out.push(text[i]);
            i += 1;
            continue;
        };
        i += 2 + width;
        // A UTF-16 surrogate pair written as two \u escapes.
        if (0xD800..0xDC00).contains(&code) && text.get(i..i + 2) == Some(b"\\u") {
            if let Some(low) = text.get(i + 2..i + 6).and_then(hex_number) {
                if (0xDC00..0xE000).contains(&low) {
                    let c = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    push_char(&mut out, char::from_u32(c).unwrap_or('\u{FFFD}'))?;
                    i += 6;
                    continue;
                }
            }
        }
        push_char(&mut out, char::from_u32(code).unwrap_or('\u{FFFD}'))?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;

    fn decoded_all(text: &str) -> Vec<(String, Encoding, String)> {
        find_encoded(text.as_bytes(), 0..text.len(), true)
            .into_iter()
            .map(|e| {
                (
                    text[e.span.clone()].to_string(),
                    e.encoding,
                    String::from_utf8_lossy(&e.decoded).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn base64_values_are_found_with_their_span() {
        let secret = "CLOUDFLARE_API_TOKEN=some text that is long enough";
        let enc = STANDARD.encode(secret);
        let text = format!("  api-token: {enc}\n");
        let found = decoded_all(&text);
        assert_eq!(
            found,
            vec![(enc.clone(), Encoding::Base64, secret.to_string())]
        );
        // URL-safe without padding, and an assignment right before it.
        let enc = URL_SAFE_NO_PAD.encode("?>?>?> url-safe text long enough to matter");
        let text = format!("X={enc}");
        assert_eq!(decoded_all(&text)[0].0, enc);
    }

    #[test]
    fn sampled_run_search_misses_no_run() {
        // 30 bytes of text: exactly 40 base64 characters, the shortest run.
        let enc = STANDARD.encode("thirty bytes of harmless text!");
        assert_eq!(enc.len(), MIN_BASE64_RUN);
        for lead in 0..2 * MIN_BASE64_RUN {
            for (before, after) in [("", ""), (" ", " "), ("ab cd ", " ef"), ("k=", "\n")] {
                let filler = "w ".repeat(lead / 2) + if lead % 2 == 1 { "." } else { "" };
                let text = format!("{filler}{before}{enc}{after}");
                let found = decoded_all(&text);
                assert_eq!(found.len(), 1, "{text:?}");
                assert_eq!(found[0].0, enc, "{text:?}");
            }
        }
        // Two runs in a row, and a long word just before a run.
        let text = format!("{enc} {enc} {} {enc}", "z".repeat(39));
        assert_eq!(decoded_all(&text).len(), 3);
        // One character short: not a run.
        assert!(decoded_all(&enc[..MIN_BASE64_RUN - 1]).is_empty());
    }

    #[test]
    fn binary_hex_identifiers_and_media_are_not_decoded() {
        let binary: Vec<u8> = (0u8..=255).cycle().skip(7).step_by(7).take(60).collect();
        let hex = "8f14e45fceea167a5a36dedd4bea2543e6f1c3d2e1d0c9b8a7f6e5d4c3b2a190";
        let ident = "this_is_a_very_long_identifier_without_any_digits_in_it";
        let image = format!(
            "background: url(data:image/png;base64,{})",
            STANDARD.encode("plain text hidden in an image payload, long")
        );
        for text in [
            STANDARD.encode(&binary),
            hex.to_string(),
            ident.to_string(),
            image,
        ] {
            assert!(decoded_all(&text).is_empty(), "{text}");
        }
        let long = STANDARD.encode("a".repeat(MAX_ENCODED_RUN));
        assert!(decoded_all(&long).is_empty());
    }

    #[test]
    fn pem_bodies_are_joined() {
        let json = r#"{"zoneID":"00000000000000000000000000000000","accountID":"0123456789abcdef0123456789abcdef","apiToken":"Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo"}"#;
        let b64 = STANDARD.encode(json);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!(
            "-----BEGIN ARGO TUNNEL TOKEN-----\n{}\n-----END ARGO TUNNEL TOKEN-----\n",
            lines.join("\n")
        );
        let found = decoded_all(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].2, json);
        assert!(found[0].0.starts_with(lines[0]) && found[0].0.ends_with(lines[lines.len() - 1]));
    }

    #[test]
    fn percent_and_escapes() {
        let text = "curl 'https://hooks.example.com/deploy?auth=Bearer%20abc%2Fdef&x=1'";
        let found = decoded_all(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, Encoding::Percent);
        assert!(found[0].2.contains("Bearer abc/def"));
        let text = r#"{"cmd": "CLOUDFLARE_API_TOKEN\u003dabc \"quoted\"\n"}"#;
        let found = decoded_all(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].2, "CLOUDFLARE_API_TOKEN=abc \"quoted\"\n");
        // Escapes the rules read through are not worth a decode.
        assert!(
            decoded_all(r#"println!("usage: keyflare \"scan\" PATH\n\tmore text\\");"#).is_empty()
        );
        assert_eq!(
            String::from_utf8(unescape(br"\ud83d\ude00 \x41 \q \u12").unwrap()).unwrap(),
            "\u{1F600} A \\q \\u12"
        );
        // A control character is not text: the decoding stops there.
        assert_eq!(unescape(br"abc\x00def"), None);
        assert_eq!(unescape(br"abc\u0085def"), None);
        assert_eq!(
            unescape(br"tab\tand\nnewline").as_deref(),
            Some(&b"tab\tand\nnewline"[..])
        );
        // Rust's \u{...} hides nothing the decoder would reveal: such strings
        // are left alone, whatever else they hold.
        assert!(decoded_all(r#"let s = "caf\u{e9} au lait, \"bien\" s\u{fb}r\n";"#).is_empty());
        // An escaped backslash before the letter is no escape of its own.
        assert!(decoded_all(r#"path = "C:\\users\\xavier\\u0041dir\\x""#).is_empty());
        assert_eq!(percent_decode(b"a%2"), b"a%2");
        assert_eq!(percent_decode(b"%41%zz"), b"A%zz");
    }

    #[test]
    fn strings_with_control_escapes_are_passed_over_to_their_end() {
        // Generated data: a byte string of control characters, then, on
        // the same line, a string that hides a token's prefix.
        let text = r#"(b"\x00\x07\x1f\\\"\x00", "\u0063fut_and more text", b"\0\x41\x42\x43\x44\x45\x46\x47")"#;
        let found = decoded_all(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].2, "cfut_and more text");
        // Random lines of quotes, backslashes and escapes: the same strings
        // as a plain reading, one byte at a time, finds and decodes.
        let pieces: [&[u8]; 10] = [
            b"\"", b"\\", br"\x00", br"\x41", br"\u0063", br"\b", b"ab", b" ", br"\/", b"cdefgh",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut line = Vec::new();
            for _ in 0..next() % 24 {
                line.extend_from_slice(pieces[(next() >> 32) as usize % pieces.len()]);
            }
            let mut got = Vec::new();
            strings_in_line(&line, 0..line.len(), &mut got);
            let mut want = Vec::new();
            let (mut open, mut i) = (None, 0);
            while i < line.len() {
                match (line[i], open) {
                    (b'"', None) => open = Some(i + 1),
                    (b'\\', Some(_)) => i += 1,
                    (b'"', Some(start)) => {
                        let inner = &line[start..i];
                        let hides = (0..inner.len()).any(|k| {
                            inner[k] == b'\\'
                                && inner[..k].iter().rev().take_while(|&&b| b == b'\\').count() % 2
                                    == 0
                                && hides_characters(&inner[k..])
                        });
                        if let Some(d) = unescape(inner).filter(|d| {
                            hides
                                && inner.len() >= MIN_ESCAPED_STRING
                                && d != inner
                                && is_textual(d)
                        }) {
                            want.push((start..i, d));
                        }
                        open = None;
                    }
                    _ => {}
                }
                i += 1;
            }
            let got: Vec<_> = got.into_iter().map(|e| (e.span, e.decoded)).collect();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn overlaps_prefer_base64() {
        let enc = STANDARD.encode("text long enough to be decoded as base64!!");
        let text = format!(r#""{enc}\n""#);
        let found = decoded_all(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, Encoding::Base64);
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        for text in [
            &b"-----BEGIN "[..],
            b"-----BEGIN X-----\n",
            b"-----BEGIN X-----\n-----END ",
            b"\"\\",
            b"\\u",
            b"%",
            b"%4",
            b"\"aaaaaaaaaaaaaaaaaaaaaa\\u00\"",
        ] {
            let _ = find_encoded(text, 0..text.len(), true);
            let _ = find_encoded(text, 0..text.len() + 10, true);
        }
    }
}

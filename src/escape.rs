//! Output escaping: one function per output format for every value that
//! comes from a scanned repository, a URL, a rule file or the network
//! (paths, archive member names, authors, commit messages, ref names, rule
//! text, error messages that quote them).
//!
//! Reporters call these at the moment they write a value, so each value is
//! escaped once, for the format it lands in. JSON and SARIF need nothing
//! here: `serde_json` writes any string as valid JSON. HTML escaping lives
//! with the HTML report.
//!
//! Ground floor, used by findings and reporters: it imports nothing from the
//! crate.

use std::borrow::Cow;

/// Characters that change what a terminal or an editor shows without being
/// visible themselves: C0/C1 controls (escape, bell, carriage return,
/// newline...), and the Unicode format characters that reorder or hide text
/// (bidirectional overrides and isolates, zero-width characters, BOM).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}')
}

/// For a terminal or a plain-text log: hidden characters written as Rust
/// escapes (`\n`, `\u{1b}`, `\u{202e}`), so that the value can neither start
/// a new report line nor send an escape sequence (title, screen clear,
/// hyperlink) to the terminal. Text without them is returned as it is.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// For a SARIF `message.text`: plain text in which `[text](target)` is an
/// embedded link (SARIF 2.1.0 §3.11.6) that viewers such as GitHub code
/// scanning render. Brackets get a backslash, as the specification says,
/// and so does a backslash of the value right before one; JSON encoding
/// does the rest.
pub fn sarif_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let bracket = |c: Option<&char>| matches!(c, Some('[' | ']'));
        if bracket(Some(&c)) || (c == '\\' && bracket(chars.peek())) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where a Markdown value is written: a GFM table cell needs its pipes
/// escaped even inside a code span; elsewhere that escape would show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Md {
    /// A paragraph, a list item, a quote.
    Inline,
    /// A cell of a GFM table.
    Cell,
}

/// Whether `s` ends with the ASCII word `w`, in any case.
fn ends_with(s: &str, w: &str) -> bool {
    s.get(s.len().saturating_sub(w.len())..)
        .is_some_and(|t| t.eq_ignore_ascii_case(w))
}

/// Markdown inline text: [`text`] first, then a backslash before each
/// character that can open Markdown or GFM syntax: emphasis, code, links,
/// images, raw HTML and autolinks (`< [ ] ! * _ ~ \` # | & $ \`), the `@` of
/// GFM's email autolinks and GitHub mentions, the `:` of `http://`,
/// `https://` and `ftp://` and the `.` of `www.` (GFM's bare URL autolinks,
/// which it recognises for these schemes only, and not through escapes). Everything else, the common `( ) . : -` of prose included,
/// stays as it is: a value is never at the start of a line, where those
/// would start a list or a heading.
pub fn md_text(s: &str) -> String {
    let s = text(s);
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let escape = match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '|' | '!' | '&' | '$'
            | '@' => true,
            ':' => {
                chars.peek() == Some(&'/')
                    && ["http", "https", "ftp"].iter().any(|w| ends_with(&out, w))
            }
            '.' => ends_with(&out, "www"),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown code span holding `s` exactly (after [`text`]): its fence is
/// one backtick longer than the longest run of backticks in `s`, so nothing
/// in `s` can close it, and inside it nothing is a link. In a table cell,
/// each `|` gets a backslash: GFM splits cells before it parses code spans,
/// takes any backslash right before a pipe as its escape (whatever comes
/// before that backslash) and removes it again.
pub fn md_code(s: &str, at: Md) -> String {
    let s = text(s);
    if s.is_empty() {
        // Two backticks would open nothing and show as two backticks.
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each end when both ends have one:
    // the padding, and only it, goes again.
    // Content of spaces only is kept as it is, so it gets no padding.
    let spaces_only = s.chars().all(|c| c == ' ');
    let pad = if !spaces_only && (s.starts_with(['`', ' ']) || s.ends_with(['`', ' '])) {
        " "
    } else {
        ""
    };
    let body = match at {
        Md::Cell => s.replace('|', "\\|"),
        Md::Inline => s.into_owned(),
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// Prose with `code` spans (rule remediation, notes of ours that quote
/// repository values): the spans stay code spans ([`md_code`]), the rest
/// is [`md_text`]. An unpaired backtick is shown as one.
pub fn md_prose(s: &str, at: Md) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let paired = parts.len() % 2 == 1;
    let mut out = String::with_capacity(s.len() + 8);
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if i % 2 == 1 && (paired || !last) {
            out.push_str(&md_code(part, at));
        } else {
            if i % 2 == 1 {
                out.push_str("\\`");
            }
            out.push_str(&md_text(part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_terminal_controls() {
        assert_eq!(text("Eve\u{1b}]0;pwned\u{7}"), "Eve\\u{1b}]0;pwned\\u{7}");
        assert_eq!(text("a\nb\r\u{202e}c"), "a\\nb\\r\\u{202e}c");
        assert!(matches!(text("plain é"), Cow::Borrowed("plain é")));
    }

    #[test]
    fn markdown_text_forms_no_syntax() {
        assert_eq!(
            md_text("![i](x) www.e.com a@b.c https://e (ok: a.b) file:///x"),
            "\\!\\[i\\](x) www\\.e.com a\\@b.c https\\://e (ok: a.b) file:///x"
        );
        assert_eq!(md_text("a\\|b"), "a\\\\\\|b");
    }

    #[test]
    fn sarif_text_forms_no_embedded_link() {
        assert_eq!(sarif_text("[x](1) a\\b"), "\\[x\\](1) a\\b");
        assert_eq!(sarif_text("a\\[x]"), "a\\\\\\[x\\]");
    }

    #[test]
    fn code_spans_cannot_be_closed() {
        assert_eq!(md_code("a`b", Md::Inline), "``a`b``");
        assert_eq!(md_code("`x``", Md::Inline), "``` `x`` ```");
        assert_eq!(md_code("a|b", Md::Cell), "`a\\|b`");
        assert_eq!(md_code("a|b", Md::Inline), "`a|b`");
        assert_eq!(md_code("a\\|b", Md::Cell), "`a\\\\|b`");
        assert_eq!(md_code("a\nb", Md::Inline), "`a\\nb`");
    }

    #[test]
    fn prose_keeps_our_code_spans() {
        assert_eq!(
            md_prose("run `wrangler secret put` now.", Md::Inline),
            "run `wrangler secret put` now."
        );
        assert_eq!(md_prose("odd ` tick", Md::Inline), "odd \\` tick");
    }
}

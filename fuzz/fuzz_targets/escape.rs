//! The output escaping layer on arbitrary text (file names, authors, commit
//! messages...): terminal text keeps no control or bidi character, escaped
//! Markdown reads back as the value with no link, image, HTML or emphasis,
//! and a code span holds exactly the value, whatever its backticks.
#![no_main]

use keyflare::escape::{md_code, md_prose, md_text, text, Md};
use libfuzzer_sys::fuzz_target;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// What escape::text must never let through (its own list, restated).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The plain text and the code spans of a one-paragraph document; anything
/// else (a link, an image, HTML, emphasis) is a failure.
fn paragraph(md: &str) -> (String, Vec<String>) {
    let mut plain = String::new();
    let mut code = Vec::new();
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {}
            Event::Text(t) => plain.push_str(&t),
            Event::Code(c) => code.push(c.into_string()),
            other => panic!("{md:?} gives {other:?}"),
        }
    }
    (plain, code)
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let shown = text(&s);
    assert!(!shown.chars().any(hidden), "{shown:?}");

    let (read, code) = paragraph(&format!("x {} y", md_text(&s)));
    assert!(code.is_empty());
    assert_eq!(read, format!("x {shown} y"));

    let (around, code) = paragraph(&format!("x {} y", md_code(&s, Md::Inline)));
    assert_eq!(around, "x  y");
    if shown.is_empty() {
        assert!(code.is_empty());
    } else {
        assert_eq!(code, vec![shown.into_owned()]);
    }

    // Prose: only text and code spans, whatever the backticks.
    let _ = paragraph(&format!("x {} y", md_prose(&s, Md::Inline)));
});

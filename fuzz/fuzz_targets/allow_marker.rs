//! Inline allow markers: a synthetic user API token followed on its line by
//! arbitrary text. Never a panic; a line with no marker at all still reports
//! the token, with no marker noted; a bare `keyflare:allow` right after it is
//! always noted on the token's match (the matcher notes markers, the filter
//! decides, so the match must still be there, carrying its marker).
#![no_main]

use std::sync::OnceLock;

use keyflare::matcher::Matcher;
use keyflare::RuleSet;
use libfuzzer_sys::fuzz_target;

fn matcher() -> &'static Matcher<'static> {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    static MATCHER: OnceLock<Matcher<'static>> = OnceLock::new();
    MATCHER.get_or_init(|| {
        Matcher::new(RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules")))
    })
}

/// A synthetic token with a valid checksum (never a real credential).
fn token() -> String {
    let body = "Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo";
    format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()))
}

fuzz_target!(|suffix: &[u8]| {
    let t = token();
    let m = matcher();
    let line_end = suffix
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(suffix.len());
    let own_line = suffix[..line_end].to_ascii_lowercase();
    let holds = |s: &[u8]| own_line.windows(s.len()).any(|w| w == s);
    let no_marker = !holds(b"allow");

    let mut data = format!("x={t} # ").into_bytes();
    data.extend_from_slice(suffix);
    let found = m.scan_blob("f.txt", &data);
    if no_marker {
        assert!(
            found.iter().any(|f| f.secret == t && f.marker.is_none()),
            "token lost, or a marker noted, without an allow marker"
        );
    }

    let mut allowed = format!("x={t} # keyflare:allow\n").into_bytes();
    allowed.extend_from_slice(suffix);
    let found = m.scan_blob("f.txt", &allowed);
    assert!(
        found
            .iter()
            .any(|f| f.line == 1 && f.secret == t && f.marker.is_some()),
        "a bare keyflare:allow was not noted on its line's token"
    );
    assert!(
        found.iter().filter(|f| f.line == 1).all(|f| f.marker.is_some()),
        "a match on the allowed line without its marker"
    );
});

//! `Matcher::scan_blob` (and the library's `scan_blob`, which also decodes
//! UTF-16, base64 and archives) on arbitrary bytes at an arbitrary path: must
//! not panic, and the matches must stay in bounds, sorted and apart, with
//! 1-based positions.
//!
//! Input layout: the first byte is the path length (0-255), then the path
//! (lossy UTF-8), then the blob.
#![no_main]

use std::sync::OnceLock;

use keyflare::source::blob::Blob;
use keyflare::source::Stats;
use keyflare::{RuleSet, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"))
}

fn scanner() -> &'static Scanner<'static> {
    static SCANNER: OnceLock<Scanner<'static>> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(rules(), ScanOptions::default()))
}

fuzz_target!(|input: &[u8]| {
    let (path, data) = match input.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n).min(rest.len())),
        None => (&[][..], input),
    };
    let path = String::from_utf8_lossy(path).into_owned();
    let m = keyflare::matcher::Matcher::new(rules());
    let found = m.scan_blob(&path, data);
    let mut previous_end = 0;
    for (i, f) in found.iter().enumerate() {
        assert!(
            f.start <= f.end && f.end <= data.len(),
            "span out of bounds"
        );
        assert!(i == 0 || f.start >= previous_end, "overlapping or unsorted");
        assert!(f.line >= 1 && f.column >= 1 && f.end_column >= f.column);
        previous_end = f.end;
    }
    let blob = Blob::file(path, data.to_vec());
    for f in keyflare::scan_blob(scanner(), &blob, &Stats::default()) {
        assert!(f.line >= 1 && f.column >= 1);
    }
});

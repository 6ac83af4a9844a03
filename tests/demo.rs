//! `keyflare demo`, the README's first command: one screen (at most 40 rows
//! on an 80-column terminal) showing a scannable token, a legacy Global API
//! Key and a hygiene note, each with its fix, and the summary line.

mod support;

use std::path::Path;

use support::keyflare;

/// Rows the text takes on a terminal `width` columns wide (long lines wrap).
fn rows(text: &str, width: usize) -> usize {
    text.lines()
        .map(|l| l.chars().count().div_ceil(width).max(1))
        .sum()
}

#[test]
fn demo_fits_one_screen_and_shows_three_kinds_with_fixes() {
    let out = keyflare().arg("demo").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(rows(&text, 80) <= 40, "{} rows:\n{text}", rows(&text, 80));
    for rule in [
        "kf.cloudflare.user-api-token",
        "kf.cloudflare.global-api-key.legacy",
        "kf.cloudflare.hygiene.plaintext-api",
    ] {
        assert!(
            text.contains(&format!("keyflare explain {rule}")),
            "{rule}:\n{text}"
        );
    }
    assert_eq!(text.matches("\n    fix: ").count(), 3, "{text}");
    // The summary line (its wording after the counts may change).
    assert!(
        text.lines()
            .any(|l| l.starts_with("3 findings (1 critical, 1 high, 1 low)")
                && l.contains(" in 2 files")
                && l.contains("scanned 4 files")),
        "{text}"
    );
    assert!(text.contains("keyflare scan PATH") && text.contains("keyflare audit PATH"));
    // Redacted as any report is: the token's body never shows.
    assert!(
        text.contains("cfut_***") && !text.contains("cfut_Yx711"),
        "{text}"
    );
}

#[test]
fn built_in_demo_is_examples_demo() {
    // A file added to examples/demo must be added to the binary's copy too
    // (the contents are include_str!'d, so they cannot drift).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    let mut on_disk = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read examples/demo") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&dir).expect("inside").to_string_lossy();
                on_disk.push(rel.replace('\\', "/"));
            }
        }
    }
    on_disk.sort();
    let mut built_in: Vec<String> = keyflare::pipeline::demo::FILES
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    built_in.sort();
    assert_eq!(on_disk, built_in);
}

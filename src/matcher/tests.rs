//! Matcher unit tests.
//!
//! Stage: matcher (tests only).

use super::prefilter::COMMON_WORDS;
use super::*;
use crate::rules::NEAR_BYTES;

#[test]
fn chars_count_like_the_byte_rule_on_any_bytes() {
    let mut data: Vec<u8> = "héllo wörld ünïcode € 𝄞 ".repeat(40).into_bytes();
    data.extend((0..=255u8).cycle().take(1000));
    for start in 0..40 {
        for end in [start, start + 1, start + 31, start + 33, data.len()] {
            let slice = &data[start..end.min(data.len())];
            let naive = slice.iter().filter(|&&b| (b & 0xC0) != 0x80).count();
            assert_eq!(count_chars(slice), naive, "{start}..{end}");
        }
    }
}

fn token(prefix: &str, body: &str) -> String {
    format!("{prefix}{body}{:08x}", crc32fast::hash(body.as_bytes()))
}

#[test]
fn crc32_suffix() {
    let t = token("cfut_", "Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo");
    assert!(crc32_suffix_ok(t.as_bytes()));
    let mut bad = t.clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    assert!(!crc32_suffix_ok(&bad));
    assert!(!crc32_suffix_ok(b"short"));
}

#[test]
fn entropy_and_placeholders() {
    assert!(shannon_entropy(b"aaaaaaaa") < 0.01);
    assert!(shannon_entropy(b"Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo") > 4.5);
    assert!(looks_like_placeholder(b"your-api-token"));
    assert!(looks_like_placeholder(b"0000000000"));
    assert!(looks_like_placeholder(b"abcdef012345"));
    assert!(!looks_like_placeholder(
        b"Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo"
    ));
}

#[test]
fn positions_on_crlf_and_long_lines() {
    let rules = RuleSet::builtin().unwrap();
    let m = Matcher::new(&rules);
    let t = token("cfut_", "Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo");
    let text = format!("a\r\nbé\r\n   x={t} y={t}\r\n");
    let found = m.scan_blob("f.txt", text.as_bytes());
    assert_eq!(found.len(), 2);
    assert_eq!((found[0].line, found[0].column), (3, 6));
    assert_eq!(found[0].end_column, 6 + t.len());
    assert_eq!((found[1].line, found[1].column), (3, 6 + t.len() + 3));
}

#[test]
fn builtin_anchors_are_few_and_rare() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let m = Matcher::new(&rules);
    let anchors: Vec<&str> = m.prefilter_anchors().collect();
    for common in COMMON_WORDS {
        assert!(!anchors.contains(common), "{common} is an anchor");
    }
    // The SIMD search takes at most 32 keys; beyond that the prefilter
    // falls back to lowercasing text for aho-corasick.
    assert!(m.keys.len() <= 32, "{} keys", m.keys.len());
    // Rust code says `cfg(` everywhere, and `else`: no key stops there.
    // (`cf`, the key of `cf_` once, let 64k `cfg` through on the crates of
    // a cargo registry, against 219 anchors.)
    let rust =
        b"#[cfg(test)]\n#[cfg(feature = \"x\")]\nif x { a } else { b }\nlet c = cfg.clone();\n";
    if let Some(n) = m.keys.candidates(rust) {
        assert_eq!(n, 0, "keys: {:?}", m.keys.words().collect::<Vec<_>>());
    }
    // Checked only where an anchor was seen: a common word alone runs nothing.
    let blob = "client_secret = 'x'\nbearer abc\n";
    assert!(m.scan_blob("a.py", blob.as_bytes()).is_empty());
    let seen = m.active_rules("a.py", blob.as_bytes());
    assert!(m
        .patterns_to_run(&Input::blob("a.py", blob.as_bytes()), &seen)
        .is_empty());
}

#[test]
fn matchers_built_for_little_text_find_the_same() {
    let rules = RuleSet::builtin().unwrap();
    let bulk = Matcher::new(&rules);
    let little = Matcher::built_for(&rules, Volume::Little);
    let mut found = 0;
    for rule in rules.rules() {
        for p in &rule.patterns {
            for ex in p.examples.iter().chain(&p.negative_examples) {
                let (path, text) = ex.parts();
                // In upper case too: keyword searches ignore ASCII case.
                for text in [text.to_string(), text.to_ascii_uppercase()] {
                    let a = bulk.scan_blob(path, text.as_bytes());
                    let b = little.scan_blob(path, text.as_bytes());
                    assert!(a == b, "{} on {text:?}", rule.id);
                    found += a.len();
                }
            }
        }
    }
    assert!(found > 50, "{found} matches");
}

#[test]
fn keys_are_shared_pieces() {
    let words = [
        "r2_secret",
        "tunnelsecret",
        "cloudflare",
        "api.cloudflare.com",
        "x-auth-key",
    ];
    let keys = choose_keys(&words);
    assert_eq!(
        keys,
        [
            ("cloudflare".to_string(), vec![2, 3]),
            ("secret".to_string(), vec![0, 1]),
            ("x-auth-key".to_string(), vec![4]),
        ]
    );
    // Pieces shorter than MIN_SHARED_KEY are not shared.
    assert_eq!(choose_keys(&["foo_key", "bar_key"]).len(), 2);
}

#[test]
fn anchors_are_seen_through_their_keys() {
    let rules = RuleSet::builtin().unwrap();
    let m = Matcher::new(&rules);
    // Each anchor alone, after or overlapping another anchor's key
    // (`secret_r2` in `tunnelsecret_r2`, `flarectl` in `cloudflarectl`,
    // `cloudflare` in `cf_cloudflare`), at a block boundary and in upper
    // case.
    for (k, word) in m.anchor_words.iter().map(Word::as_str).enumerate() {
        // Across a 32-byte block of the SIMD search and a chunk of the
        // portable one.
        let pad = "x".repeat(crate::kernel::literals::LOWERED_CHUNK - word.len() / 2);
        for text in [
            word.to_string(),
            format!("tunnel{word}"),
            format!("cloud{word}"),
            format!("cf_{word}"),
            format!("{pad}{}", word.to_uppercase()),
        ] {
            let seen = m.active_rules("a.txt", text.as_bytes());
            assert!(seen[k], "{word} not seen in {text:.40}");
        }
    }
    let seen = m.active_rules("a.txt", b"secret access cf cloudflar");
    assert!(seen.iter().all(|s| !s), "a key alone is not its anchors");
}

#[test]
fn window_is_bounded() {
    let data = vec![b'a'; 10_000];
    let (lo, hi) = line_window(&data, 5000, 5010, 3);
    assert_eq!((lo, hi), (5000 - NEAR_BYTES, 5010 + NEAR_BYTES));
    let (lo, hi) = line_window(b"l1\nl2\nXX\nl4\nl5", 6, 8, 1);
    assert_eq!(&b"l1\nl2\nXX\nl4\nl5"[lo..hi], b"l2\nXX\nl4");
}

#[test]
fn allow_comments() {
    let rules = RuleSet::builtin().unwrap();
    let m = Matcher::new(&rules);
    let t = token("cfut_", "Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo");
    for (line, allowed) in [
        (format!("x={t} # keyflare:allow"), true),
        (
            format!("x={t} # keyflare:allow kf.cloudflare.user-api-token"),
            true,
        ),
        (
            format!("x={t} # keyflare:allow kf.cloudflare.origin-ca-key"),
            false,
        ),
        (format!("x={t} // gitleaks:allow"), true),
        (format!("x={t} # pragma: allowlist secret"), true),
        (format!("# keyflare:allow\nx={t}"), false),
    ] {
        // The matcher notes the marker; the filter stage decides.
        let found = m.scan_blob("f.txt", line.as_bytes());
        assert_eq!(found.len(), 1, "{line}");
        assert_eq!(found[0].marker.is_some(), allowed, "{line}");
    }
}

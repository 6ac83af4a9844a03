//! Matcher, credibility kernels: the CRC32 checksum of scannable tokens,
//! Shannon entropy and the placeholder filter. Pure functions of a value;
//! the rule-driven word checks are in [`crate::rules::credibility`].
//!
//! Stage: matcher. No I/O, no rule or finding.

/// True if the last 8 characters are the lowercase-hex CRC32 of the 40 before.
pub fn crc32_suffix_ok(value: &[u8]) -> bool {
    if value.len() < 48 {
        return false;
    }
    let (body, sum) = value[value.len() - 48..].split_at(40);
    let expected = format!("{:08x}", crc32fast::hash(body));
    expected.as_bytes() == sum
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Placeholders and documentation values: words people put where a secret
/// goes, long runs of one character, and counting sequences. A random
/// credential contains these with negligible probability.
pub fn looks_like_placeholder(body: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "example",
        "your",
        "xxxx",
        "placeholder",
        "redacted",
        "changeme",
        "change_me",
        "dummy",
        "sample",
        "replace",
        "insert",
        "here",
        "token",
        "secret",
        "apikey",
        "api_key",
        "api-key",
        "...",
        "<",
        ">",
        "****",
    ];
    let lower = body.to_ascii_lowercase();
    if WORDS
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
    {
        return true;
    }
    let mut same = 1;
    let mut ascending = 1;
    for w in lower.windows(2) {
        same = if w[1] == w[0] { same + 1 } else { 1 };
        ascending = if w[1] == w[0].wrapping_add(1) && w[1].is_ascii_alphanumeric() {
            ascending + 1
        } else {
            1
        };
        if same >= 6 || ascending >= 6 {
            return true;
        }
    }
    false
}

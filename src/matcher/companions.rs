//! Matcher, companions: the values a credential is verified with (the
//! account's email beside a Global API Key, account ids beside account
//! tokens), looked for near a match. Pure functions of the blob's bytes;
//! they never decide whether a match is credible.

use std::sync::LazyLock;

use regex::bytes::Regex;

static EMAIL_LABELED: LazyLock<Regex> = LazyLock::new(|| {
    fixed_regex(
        r#"(?i)(?:x-auth-email|email|e-mail|mail)["'`]?[ \t]*(?:=|:|=>|,)[ \t]*["'`]?([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24})"#,
    )
});

static EMAIL_ANY: LazyLock<Regex> = LazyLock::new(|| {
    fixed_regex(
        r"([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24})",
    )
});

static ACCOUNT_LABELED: LazyLock<Regex> = LazyLock::new(|| {
    fixed_regex(
        r#"(?i)(?:account[_-]?(?:id|tag)|accountid|accounttag|"a")["'`]?[ \t]*(?:=|:|=>)[ \t]*["'`]?([a-f0-9]{32})\b|dash\.cloudflare\.com/([a-f0-9]{32})\b|\b([a-f0-9]{32})\.(?:eu\.|fedramp\.)?r2\.cloudflarestorage\.com|/accounts/([a-f0-9]{32})\b"#,
    )
});

static HEX32: LazyLock<Regex> = LazyLock::new(|| fixed_regex(r"\b([a-f0-9]{32})\b"));

/// The first non-empty capture group of each match, deduplicated, at most MAX_COMPANIONS.
fn collect_group(re: &Regex, hay: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for caps in re.captures_iter(hay) {
        if let Some(g) = caps.iter().skip(1).flatten().next() {
            let s = String::from_utf8_lossy(g.as_bytes()).into_owned();
            if !out.contains(&s) {
                out.push(s);
                if out.len() >= MAX_COMPANIONS {
                    break;
                }
            }
        }
    }
    out
}

/// How far companions (emails, account ids) are looked for on each side.
const COMPANION_BYTES: usize = 4096;

/// Blobs up to this size are searched whole for account ids.
const COMPANION_WHOLE_BLOB: usize = 64 * 1024;

/// At most this many companions of a kind are kept per match.
const MAX_COMPANIONS: usize = 4;

/// Email addresses near a match (labelled ones first): what a Global API
/// Key is verified with.
pub(super) fn emails_near(data: &[u8], start: usize, end: usize) -> Vec<String> {
    let lo = start.saturating_sub(COMPANION_BYTES);
    let hi = (end + COMPANION_BYTES).min(data.len());
    let window = &data[lo..hi];
    let mut out = collect_group(&EMAIL_LABELED, window);
    if out.is_empty() {
        out = collect_group(&EMAIL_ANY, window);
    }
    out
}

/// Account ids near a match, or anywhere in a small blob (labelled ones
/// first): what an account token is verified with.
pub(super) fn account_ids_near(data: &[u8], start: usize, end: usize) -> Vec<String> {
    let window = if data.len() <= COMPANION_WHOLE_BLOB {
        data
    } else {
        &data[start.saturating_sub(COMPANION_BYTES)..(end + COMPANION_BYTES).min(data.len())]
    };
    let mut out = collect_group(&ACCOUNT_LABELED, window);
    if out.is_empty() {
        out = collect_group(&HEX32, window);
    }
    out
}

fn fixed_regex(pattern: &str) -> Regex {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("built-in companion regexes are valid")
}

//! Matcher, companions: the values a credential is verified with (the
//! account's email beside a Global API Key, account ids beside account
//! tokens), looked for near a match with the regexes of the rule files'
//! `[[companion]]` tables ([`crate::rules::Companion`]). Pure functions of
//! the blob's bytes; they never decide whether a match is credible.
//!
//! Stage: matcher. It may not touch sources, the scan stage, findings,
//! filters or reporters; what to look for is rule data, not code here.

use regex::bytes::Regex;

use crate::rules::Companion;

/// What `companion` finds near `data[start..end]` (or anywhere in a blob of
/// at most its `whole_blob_bytes`): the index of the first of its regexes
/// that finds anything, and the distinct values it finds, at most `max`.
/// None when no regex finds anything.
pub fn companion_near(
    companion: &Companion,
    data: &[u8],
    start: usize,
    end: usize,
) -> Option<(usize, Vec<String>)> {
    let window = if data.len() <= companion.whole_blob_bytes {
        data
    } else {
        let lo = start.saturating_sub(companion.window_bytes).min(data.len());
        let hi = end.saturating_add(companion.window_bytes).min(data.len());
        data.get(lo..hi).unwrap_or_default()
    };
    companion.regexes().enumerate().find_map(|(i, re)| {
        let values = collect_group(re, window, companion.max);
        (!values.is_empty()).then_some((i, values))
    })
}

/// The first capture group that took part in each match, deduplicated, at
/// most `max`.
fn collect_group(re: &Regex, hay: &[u8], max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for caps in re.captures_iter(hay) {
        if let Some(g) = caps.iter().skip(1).flatten().next() {
            let s = String::from_utf8_lossy(g.as_bytes()).into_owned();
            if !out.contains(&s) {
                out.push(s);
                if out.len() >= max {
                    break;
                }
            }
        }
    }
    out
}

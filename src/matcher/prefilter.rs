//! Matcher, prefilter: which patterns may run on a blob. Keyword sets,
//! anchors (the rarest set of each pattern, searched in every blob), the
//! shared keys the SIMD search looks for, and the memo of keyword checks.
//! It never runs a regex.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::kernel::literals::for_each_lowered;

pub(super) const PREFILTER_OVERLAP: usize = crate::rules::MAX_KEYWORD_LEN;

/// A pattern runs only where one keyword of each of its keyword sets (its
/// rule's or its own keywords, its `near` and its `in_file` keywords) occurs.
/// One set, the rarest, is the anchor: the prefilter looks for it in every
/// blob. The others are checked only in the few blobs where the anchor was
/// seen. Searching every blob for words as common as `secret` or `bearer`
/// would cost more than all the regexes together, and more than twenty-odd
/// keywords push the SIMD search onto its slower path.
pub(super) struct Gate {
    /// Anchor keyword ids, one of which must be seen; None: the pattern's
    /// path condition is its gate.
    pub(super) anchor: Option<Vec<usize>>,
    /// Ids in [`Matcher::checks`].
    pub(super) checks: Vec<usize>,
    /// The check of the pattern's `near` keywords, which each match's
    /// surroundings must also hold.
    pub(super) near: Option<usize>,
    /// The check of its `in_file` keywords.
    pub(super) in_file: Option<usize>,
}

/// Where a keyword set may be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope {
    /// Rule or pattern keywords: the path, the text or the whole blob.
    Anywhere,
    /// `near` keywords: the path or the text (each match checks its window).
    Near,
    /// `in_file` keywords: the path or the whole blob.
    InFile,
}

pub(super) struct Check {
    pub(super) words: Vec<String>,
    pub(super) scope: Scope,
    /// Built on first use (start-up is most of a small scan's time).
    pub(super) searcher: OnceLock<Keywords>,
}

impl Check {
    pub(super) fn searcher(&self, automaton: Option<AhoCorasickKind>) -> &Keywords {
        self.searcher
            .get_or_init(|| Keywords::new(&self.words, automaton))
    }
}

/// Verdicts of the checks run so far on one input.
pub(super) struct CheckMemo(pub(super) Vec<Option<bool>>);

impl CheckMemo {
    pub(super) fn new(checks: usize) -> CheckMemo {
        CheckMemo(vec![None; checks])
    }
}

/// Keywords found whatever their ASCII case: lowercased words searched for
/// in lowercased text. With few words that search runs on SIMD; an
/// ASCII-case-insensitive automaton would double the patterns and fall back
/// to a byte-at-a-time DFA, several times slower on large files.
pub(super) struct Keywords(AhoCorasick);

impl Keywords {
    pub(super) fn new(words: &[String], automaton: Option<AhoCorasickKind>) -> Keywords {
        let lower = words.iter().map(|w| w.to_ascii_lowercase());
        // Leftmost (not standard) semantics: only those get the SIMD search.
        let searcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(automaton)
            .build(lower)
            .expect("keywords are plain literals");
        Keywords(searcher)
    }

    pub(super) fn found_in(&self, text: &[u8]) -> bool {
        for_each_lowered(text, PREFILTER_OVERLAP, |_, chunk| self.0.is_match(chunk))
    }
}

/// Words that occur in most codebases: poor anchors.
pub(super) const COMMON_WORDS: &[&str] = &[
    "secret",
    "token",
    "bearer",
    "password",
    "key",
    "api_key",
    "apikey",
    "api_token",
    "oauth_token",
    "refresh_token",
];

/// How poor an anchor a keyword set is: its worst keyword decides.
pub(super) fn anchor_cost(words: &[String]) -> usize {
    let cost = |w: &String| {
        if COMMON_WORDS.contains(&w.as_str()) {
            3
        } else if w.len() <= 3 {
            2
        } else {
            1
        }
    };
    words.iter().map(cost).max().unwrap_or(3)
}

/// The index of `word` in `words`, added if new.
pub(super) fn id_of(word: &String, words: &mut Vec<String>) -> usize {
    match words.iter().position(|w| w == word) {
        Some(i) => i,
        None => {
            words.push(word.clone());
            words.len() - 1
        }
    }
}

/// The index of the check for `words` in `scope`, added if new.
pub(super) fn check_id(words: &[String], scope: Scope, checks: &mut Vec<Check>) -> usize {
    if let Some(i) = checks
        .iter()
        .position(|c| c.scope == scope && c.words == words)
    {
        return i;
    }
    checks.push(Check {
        words: words.to_vec(),
        scope,
        searcher: OnceLock::new(),
    });
    checks.len() - 1
}

/// Shared keys are at least this long: a shorter piece of two keywords
/// (`_key`, `.com`) is too common to be searched for in every blob.
pub(super) const MIN_SHARED_KEY: usize = 6;

/// The keys the SIMD search looks for to find `words` (keywords of four
/// bytes or more), each with the words it stands for. Each word is found
/// by a key that it contains, verified where the key is found. A SIMD
/// search slows down with every bucket of patterns it must tell apart (on a
/// tree of source, 48 keywords searched at 2 GB/s, 12 at 4 GB/s), so
/// words share a key where they can: `secret` stands for `r2_secret`,
/// `tunnelsecret` and `kind: secret`. Greedy: the longest piece shared by
/// the most words not yet covered; words that share none are their own key.
pub(super) fn choose_keys(words: &[&str]) -> Vec<(String, Vec<usize>)> {
    let mut keys: Vec<(String, Vec<usize>)> = Vec::new();
    let mut uncovered: Vec<usize> = (0..words.len()).collect();
    loop {
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for &i in &uncovered {
            let w = words[i];
            let mut pieces: Vec<&str> = Vec::new();
            for a in (0..w.len()).filter(|&a| w.is_char_boundary(a)) {
                for b in (a + MIN_SHARED_KEY..=w.len()).filter(|&b| w.is_char_boundary(b)) {
                    pieces.push(&w[a..b]);
                }
            }
            pieces.sort_unstable();
            pieces.dedup();
            for piece in pieces {
                *counts.entry(piece).or_default() += 1;
            }
        }
        let best = counts
            .into_iter()
            .filter(|&(_, n)| n >= 2)
            .max_by_key(|&(piece, n)| (n, piece.len(), std::cmp::Reverse(piece)));
        let Some((key, _)) = best else { break };
        let (members, rest) = uncovered.iter().partition(|&&i| words[i].contains(key));
        keys.push((key.to_string(), members));
        uncovered = rest;
    }
    keys.extend(
        uncovered
            .into_iter()
            .map(|i| (words[i].to_string(), vec![i])),
    );
    keys
}

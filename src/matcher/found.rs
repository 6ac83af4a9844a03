//! Matcher, what goes in and comes out: the [`Input`] of one run (a blob, or
//! a window of decoded text), the [`Match`]es, the [`FileFacts`] a file
//! scanned in pieces carries, and the [`Volume`] a matcher is built for.
//! Plain data: no searching here.

use std::ops::Range;

use aho_corasick::AhoCorasickKind;

/// A credible match of one rule in one blob.
#[derive(Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in the rule set.
    pub rule: usize,
    /// Byte span of the secret in the blob.
    pub start: usize,
    /// End of the span (exclusive).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`, in Unicode code points.
    pub column: usize,
    /// 1-based column just past the secret (SARIF's exclusive endColumn).
    pub end_column: usize,
    /// The matched text (lossy UTF-8). A secret: never print it unredacted.
    pub secret: String,
    /// The name the secret was assigned to, when the pattern captured one.
    pub key: Option<String>,
    /// Emails found near a Global API Key (verification needs one).
    pub emails: Vec<String>,
    /// 32-hex account ids found near an account token.
    pub account_ids: Vec<String>,
    /// The inline allow marker on the secret's line that covers this rule,
    /// lowercased (`keyflare:allow`...). The matcher only notes it: whether
    /// it suppresses the finding is the filter stage's decision.
    pub marker: Option<String>,
}

impl std::fmt::Debug for Match {
    // Never print the secret, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Match")
            .field("rule", &self.rule)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("marker", &self.marker)
            .field(
                "secret",
                &format_args!("<{} bytes redacted>", self.secret.len()),
            )
            .finish()
    }
}

/// What to scan. For a plain blob only `path` and `data` are set; for a
/// window of decoded text standing in for part of a blob, `file` is the
/// original blob and `keep` the decoded parts of `data`; for a piece of a
/// file too large to hold, `file` is what was found in the whole file and
/// `focus` the part of `data` this piece answers for.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// Path the rules see (relative, `/`-separated).
    pub path: &'a str,
    /// The bytes searched.
    pub data: &'a [u8],
    /// The whole file, that whole-file conditions (`in_file`, keywords) look at.
    pub file: Whole<'a>,
    /// When set, only matches whose secret lies inside one of these sorted,
    /// disjoint ranges of `data` are kept (the rest was scanned already).
    pub keep: Option<&'a [Range<usize>]>,
    /// When set, only secrets that start inside one of these sorted,
    /// disjoint ranges of `data` are wanted (the lines a change added): a
    /// pattern whose secret characters form no run there is not run, nor
    /// even compiled.
    pub focus: Option<&'a [Range<usize>]>,
}

impl<'a> Input<'a> {
    /// A whole blob.
    pub fn blob(path: &'a str, data: &'a [u8]) -> Input<'a> {
        Input {
            path,
            data,
            file: Whole::Data,
            keep: None,
            focus: None,
        }
    }
}

/// The whole file behind an [`Input`].
#[derive(Clone, Copy, Debug)]
pub enum Whole<'a> {
    /// The input's data is the whole file.
    Data,
    /// The input is a window of decoded text from this blob.
    Blob(&'a [u8]),
    /// The input is a piece of a file read in pieces; these are the
    /// keyword passes' verdicts on the whole file.
    Seen(&'a FileFacts),
}

/// What the keyword passes found in a whole file that is scanned in pieces
/// ([`super::Matcher::see_piece`], [`super::Matcher::check_piece`]): the same verdicts a
/// scan of the whole file would reach.
#[derive(Clone, Debug)]
pub struct FileFacts {
    /// Which anchors occur (as [`super::Matcher::active_rules`] returns them).
    pub seen: Vec<bool>,
    /// For each keyword check: found in the file; None: not looked for
    /// (no pattern that needs it is anchored).
    pub(super) checks: Vec<Option<bool>>,
}

impl FileFacts {
    /// Adds what `other` found in other pieces of the same file.
    pub fn merge(&mut self, other: &FileFacts) {
        for (a, b) in self.seen.iter_mut().zip(&other.seen) {
            *a |= *b;
        }
        for (a, b) in self.checks.iter_mut().zip(&other.checks) {
            *a = match (*a, *b) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), _) | (_, Some(false)) => Some(false),
                (None, None) => None,
            };
        }
    }
}

/// How much text a matcher is built for. The keyword searches are
/// automata whose DFA form takes about a millisecond to build and searches
/// some 15% faster than the NFA form: worth it on a tree or a history, never
/// earned back by the few kilobytes of a staged change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Volume {
    /// Megabytes or more (the default): DFAs where the crate picks them.
    #[default]
    Bulk,
    /// A few kilobytes: NFAs, cheap to build.
    Little,
}

impl Volume {
    pub(super) fn automaton(self) -> Option<AhoCorasickKind> {
        match self {
            Volume::Bulk => None,
            Volume::Little => Some(AhoCorasickKind::ContiguousNFA),
        }
    }
}

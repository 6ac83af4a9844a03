//! Matcher: runs the compiled rules over one blob's bytes. No I/O.
//!
//! For each blob: one pass looks for each pattern's anchor, the rarest of its
//! keyword sets (a blob with no anchor costs that one pass); where an anchor
//! is seen, the pattern's other keyword sets are looked for; then the
//! regexes of the patterns left run, and each match must pass the rule's
//! credibility checks (checksum, validator, entropy, placeholder filter,
//! words and cut-off runs ([`crate::rules::credibility`]), nearby Cloudflare
//! context, denied key names, inline allow comments).
//! Overlapping matches are resolved by rule priority, so one piece of text is
//! one finding. Line and column numbers are computed in one forward pass, so
//! a single enormous line costs linear time.
//!
//! The scan stage also runs the matcher over windows of decoded text
//! ([`Input`]): then only matches inside the decoded parts count, and
//! whole-file conditions (`in_file`) look at the original blob.

use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use memchr::memchr_iter;
use regex::bytes::Regex;

use crate::kernel::literals::{for_each_lowered, Literals, Word};
use crate::rules::shape::SecretShape;
use crate::rules::{Checksum, Companion, RuleSet, Validator, NEAR_BYTES};
/// How far companions (emails, account ids) are looked for on each side.
const COMPANION_BYTES: usize = 4096;
/// Blobs up to this size are searched whole for account ids.
const COMPANION_WHOLE_BLOB: usize = 64 * 1024;
/// Keyword checks lowercase blobs in chunks overlapping by this much, which
/// must exceed the longest keyword.
/// What a PEM block begins with.
pub const PEM_BEGIN: &[u8] = b"-----BEGIN ";

const PREFILTER_OVERLAP: usize = crate::rules::MAX_KEYWORD_LEN;
/// Blobs up to this size are searched whole by every pattern; larger ones
/// only in windows around runs of the pattern's secret characters.
const WINDOWED_BLOB: usize = 8 * 1024;
/// At most this many companions of a kind are kept per match.
const MAX_COMPANIONS: usize = 4;

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
}

impl std::fmt::Debug for Match {
    // Never print the secret, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Match")
            .field("rule", &self.rule)
            .field("line", &self.line)
            .field("column", &self.column)
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
/// ([`Matcher::see_piece`], [`Matcher::check_piece`]): the same verdicts a
/// scan of the whole file would reach.
#[derive(Clone, Debug)]
pub struct FileFacts {
    /// Which anchors occur (as [`Matcher::active_rules`] returns them).
    pub seen: Vec<bool>,
    /// For each keyword check: found in the file; None: not looked for
    /// (no pattern that needs it is anchored).
    checks: Vec<Option<bool>>,
}

/// True if `start..end` lies inside one of the sorted, disjoint `ranges`.
pub(crate) fn inside(ranges: &[Range<usize>], start: usize, end: usize) -> bool {
    let i = ranges.partition_point(|r| r.end <= start);
    ranges
        .get(i)
        .is_some_and(|r| r.start <= start && end <= r.end)
}

/// The compiled form of a rule set, ready to scan blobs from many threads.
pub struct Matcher<'r> {
    rules: &'r RuleSet,
    /// The anchor keywords, searched in every blob (see [`Gate`]); ids index
    /// this list.
    anchor_words: Vec<Word>,
    /// The keys the anchors are found by, in one search (see
    /// [`choose_keys`]).
    keys: Literals,
    /// For each key: the anchors to verify where it is found, with the
    /// key's offset in each.
    keyed: Vec<Vec<(usize, usize)>>,
    /// The anchor that stands for the start of a PEM block: no rule's, but
    /// noted in the same pass, so that the decoder's own search for PEM
    /// blocks runs only where one may be.
    pem_anchor: usize,
    /// Keyword sets checked only in blobs where a pattern's anchor was seen.
    checks: Vec<Check>,
    /// For each rule, for each pattern: what must be seen before its regex
    /// runs, and its context checks.
    gates: Vec<Vec<Gate>>,
    /// The kind of keyword automata to build (see [`Volume`]).
    automaton: Option<AhoCorasickKind>,
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
    fn automaton(self) -> Option<AhoCorasickKind> {
        match self {
            Volume::Bulk => None,
            Volume::Little => Some(AhoCorasickKind::ContiguousNFA),
        }
    }
}

/// Searchers for what surrounds a match, the same for every rule set.
static ALLOW_MARKERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .build([
            "keyflare:allow",
            "gitleaks:allow",
            "pragma: allowlist secret",
        ])
        .expect("fixed literals")
});
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

/// A pattern runs only where one keyword of each of its keyword sets (its
/// rule's or its own keywords, its `near` and its `in_file` keywords) occurs.
/// One set, the rarest, is the anchor: the prefilter looks for it in every
/// blob. The others are checked only in the few blobs where the anchor was
/// seen. Searching every blob for words as common as `secret` or `bearer`
/// would cost more than all the regexes together, and more than twenty-odd
/// keywords push the SIMD search onto its slower path.
struct Gate {
    /// Anchor keyword ids, one of which must be seen; None: the pattern's
    /// path condition is its gate.
    anchor: Option<Vec<usize>>,
    /// Ids in [`Matcher::checks`].
    checks: Vec<usize>,
    /// The check of the pattern's `near` keywords, which each match's
    /// surroundings must also hold.
    near: Option<usize>,
    /// The check of its `in_file` keywords.
    in_file: Option<usize>,
}

/// Where a keyword set may be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Rule or pattern keywords: the path, the text or the whole blob.
    Anywhere,
    /// `near` keywords: the path or the text (each match checks its window).
    Near,
    /// `in_file` keywords: the path or the whole blob.
    InFile,
}

struct Check {
    words: Vec<String>,
    scope: Scope,
    /// Built on first use (start-up is most of a small scan's time).
    searcher: OnceLock<Keywords>,
}

impl Check {
    fn searcher(&self, automaton: Option<AhoCorasickKind>) -> &Keywords {
        self.searcher
            .get_or_init(|| Keywords::new(&self.words, automaton))
    }
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

/// Verdicts of the checks run so far on one input.
struct CheckMemo(Vec<Option<bool>>);

impl CheckMemo {
    fn new(checks: usize) -> CheckMemo {
        CheckMemo(vec![None; checks])
    }
}

/// Keywords found whatever their ASCII case: lowercased words searched for
/// in lowercased text. With few words that search runs on SIMD; an
/// ASCII-case-insensitive automaton would double the patterns and fall back
/// to a byte-at-a-time DFA, several times slower on large files.
struct Keywords(AhoCorasick);

impl Keywords {
    fn new(words: &[String], automaton: Option<AhoCorasickKind>) -> Keywords {
        let lower = words.iter().map(|w| w.to_ascii_lowercase());
        // Leftmost (not standard) semantics: only those get the SIMD search.
        let searcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(automaton)
            .build(lower)
            .expect("keywords are plain literals");
        Keywords(searcher)
    }

    fn found_in(&self, text: &[u8]) -> bool {
        for_each_lowered(text, PREFILTER_OVERLAP, |_, chunk| self.0.is_match(chunk))
    }
}

/// Words that occur in most codebases: poor anchors.
const COMMON_WORDS: &[&str] = &[
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
fn anchor_cost(words: &[String]) -> usize {
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
fn id_of(word: &String, words: &mut Vec<String>) -> usize {
    match words.iter().position(|w| w == word) {
        Some(i) => i,
        None => {
            words.push(word.clone());
            words.len() - 1
        }
    }
}

/// The index of the check for `words` in `scope`, added if new.
fn check_id(words: &[String], scope: Scope, checks: &mut Vec<Check>) -> usize {
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

fn fixed_regex(pattern: &str) -> Regex {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("built-in companion regexes are valid")
}

impl<'r> Matcher<'r> {
    /// Compiles the prefilter and context searchers for `rules`.
    pub fn new(rules: &'r RuleSet) -> Matcher<'r> {
        Matcher::built_for(rules, Volume::Bulk)
    }

    /// Like [`Matcher::new`], with keyword automata suited to `volume`.
    pub fn built_for(rules: &'r RuleSet, volume: Volume) -> Matcher<'r> {
        let mut anchors: Vec<String> = Vec::new();
        let mut checks: Vec<Check> = Vec::new();
        let mut gates = Vec::new();
        for rule in rules.rules() {
            let mut per_pattern = Vec::new();
            for p in &rule.patterns {
                let own = if p.keywords.is_empty() {
                    &rule.keywords
                } else {
                    &p.keywords
                };
                let mut sets = vec![(own, Scope::Anywhere)];
                if !p.near.is_empty() {
                    sets.push((&p.near, Scope::Near));
                }
                if !p.in_file.is_empty() {
                    sets.push((&p.in_file, Scope::InFile));
                }
                // The cheapest set anchors. Between equals, a set that can be
                // met by "cloudflare" comes last: that word is in every file
                // of a Cloudflare project, the code keyflare is pointed at
                // most. Then the first (the keywords) wins.
                let best = (0..sets.len())
                    .min_by_key(|&i| {
                        let cloudflare = sets[i].0.iter().any(|w| w == "cloudflare");
                        (anchor_cost(sets[i].0), cloudflare, i)
                    })
                    .unwrap_or(0);
                let path_gated = rule.path.is_some() || p.path.is_some();
                let anchor_set = if path_gated && anchor_cost(sets[best].0) == 3 {
                    None
                } else {
                    Some(best)
                };
                let anchor =
                    anchor_set.map(|i| sets[i].0.iter().map(|k| id_of(k, &mut anchors)).collect());
                let ids: Vec<usize> = sets
                    .iter()
                    .map(|&(words, scope)| check_id(words, scope, &mut checks))
                    .collect();
                let of_scope = |scope: Scope| {
                    (0..sets.len())
                        .find(|&i| sets[i].1 == scope)
                        .map(|i| ids[i])
                };
                per_pattern.push(Gate {
                    checks: (0..sets.len())
                        .filter(|&i| Some(i) != anchor_set)
                        .map(|i| ids[i])
                        .collect(),
                    anchor,
                    near: of_scope(Scope::Near),
                    in_file: of_scope(Scope::InFile),
                });
            }
            gates.push(per_pattern);
        }
        let pem = String::from_utf8_lossy(PEM_BEGIN).to_ascii_lowercase();
        let pem_anchor = id_of(&pem, &mut anchors);
        // Anchors shorter than the SIMD search's fingerprint are found by
        // their first two bytes, and so are the longer ones that begin with
        // those bytes (that key is looked for anyway). Each key shorter than
        // the fingerprint lets every position with its bytes through.
        let mut keys: Vec<(String, Vec<(usize, usize)>)> = Vec::new();
        for k in (0..anchors.len()).filter(|&k| anchors[k].len() < 4) {
            let prefix = &anchors[k][..anchors[k].len().min(2)];
            match keys.iter_mut().find(|(key, _)| key == prefix) {
                Some((_, members)) => members.push((k, 0)),
                None => keys.push((prefix.to_string(), vec![(k, 0)])),
            }
        }
        let mut long = Vec::new();
        for k in (0..anchors.len()).filter(|&k| anchors[k].len() >= 4) {
            match keys
                .iter_mut()
                .find(|(key, _)| anchors[k].starts_with(key.as_str()))
            {
                Some((_, members)) => members.push((k, 0)),
                None => long.push(k),
            }
        }
        let words: Vec<&str> = long.iter().map(|&k| anchors[k].as_str()).collect();
        for (key, members) in choose_keys(&words) {
            let members = members
                .iter()
                .map(|&i| (long[i], words[i].find(&key).unwrap_or(0)))
                .collect();
            keys.push((key, members));
        }
        let (keys, keyed): (Vec<String>, Vec<_>) = keys.into_iter().unzip();
        let keys = Literals::new(
            &keys.iter().map(String::as_str).collect::<Vec<_>>(),
            volume.automaton(),
        );
        Matcher {
            rules,
            anchor_words: anchors.iter().map(|a| Word::new(a)).collect(),
            keys,
            keyed,
            pem_anchor,
            checks,
            gates,
            automaton: volume.automaton(),
        }
    }

    /// The keywords the prefilter looks for in every blob.
    pub fn prefilter_anchors(&self) -> impl Iterator<Item = &str> {
        self.gates
            .iter()
            .flatten()
            .filter_map(|g| g.anchor.as_ref())
            .flatten()
            .map(|&k| self.anchor_words[k].as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
    }

    /// The rule set this matcher runs.
    pub fn rules(&self) -> &'r RuleSet {
        self.rules
    }

    /// Finds every credible match in `data`, which lives at `path` (relative,
    /// `/`-separated; rules may look at it). Matches come out sorted by offset,
    /// without overlaps.
    pub fn scan_blob(&self, path: &str, data: &[u8]) -> Vec<Match> {
        let active = self.active_rules(path, data);
        self.scan_active(&Input::blob(path, data), &active)
    }

    /// Like [`Matcher::scan_blob`], with the prefilter's verdict given by
    /// `active` (from [`Matcher::active_rules`], maybe widened by the caller
    /// by OR-ing in another text's verdict).
    pub fn scan_active(&self, input: &Input<'_>, active: &[bool]) -> Vec<Match> {
        let mut checks = CheckMemo::new(self.checks.len());
        let anchored: Vec<(usize, usize)> = self.anchored(input.path, active).collect();
        if anchored.is_empty() {
            return Vec::new();
        }
        let (path, data) = (input.path, input.data);
        let mut found: Vec<Match> = Vec::new();
        let whole = 0..data.len();
        // Windows are computed once per secret shape (many patterns share
        // one), before the keyword checks: most blobs have no room for most
        // secrets, and then the checks need not search them.
        let mut shapes: Vec<&SecretShape> = Vec::new();
        for &(ri, pi) in &anchored {
            if let Some(shape) = self.rules.rules()[ri].patterns[pi].shape() {
                if !shapes.contains(&shape) {
                    shapes.push(shape);
                }
            }
        }
        let windows = SecretShape::windows_of_all(&shapes, data, input.focus);
        for (ri, pi) in anchored {
            let rule = &self.rules.rules()[ri];
            let pattern = &rule.patterns[pi];
            let gate = &self.gates[ri][pi];
            let spans: &[Range<usize>] = match pattern.shape() {
                Some(shape) => {
                    let i = shapes.iter().position(|s| *s == shape).unwrap_or(0);
                    match &windows[i] {
                        // No room for the secret: the regex is not even
                        // compiled (most of a small scan's time otherwise).
                        w if w.is_empty() => &[],
                        // Small blobs are searched whole, in one pass.
                        _ if data.len() <= WINDOWED_BLOB => std::slice::from_ref(&whole),
                        w => w,
                    }
                }
                None => std::slice::from_ref(&whole),
            };
            if spans.is_empty()
                || !gate
                    .checks
                    .iter()
                    .all(|&c| self.holds(c, input, &mut checks))
                // Also when it is the anchor: a decoded window's anchors
                // include the file's.
                || gate
                    .in_file
                    .is_some_and(|id| !self.holds(id, input, &mut checks))
            {
                continue;
            }
            // `near` keywords in the path stand for every match.
            let near = gate
                .near
                .map(|id| self.keywords(id))
                .filter(|kw| !kw.found_in(path.as_bytes()));
            for span in spans {
                for caps in pattern.regex().captures_iter(&data[span.clone()]) {
                    let Some(secret) = caps.name("secret") else {
                        continue;
                    };
                    let (start, end) = (span.start + secret.start(), span.start + secret.end());
                    if let Some(keep) = input.keep {
                        if !inside(keep, start, end) {
                            continue;
                        }
                    }
                    let key = caps.name("key").map(|k| k.as_bytes());
                    if let (Some(deny), Some(key)) = (&rule.deny_keys, key) {
                        if deny.get().is_match(key) {
                            continue;
                        }
                    }
                    let value = secret.as_bytes();
                    if !self.credible(rule, value)
                        || rule.credibility.rejects(data, start, end, key).is_some()
                    {
                        continue;
                    }
                    if let Some(near) = near {
                        let window = line_window_bytes(
                            data,
                            start,
                            end,
                            pattern.near_lines,
                            pattern.near_bytes,
                        );
                        if !near.found_in(&data[window.0..window.1]) {
                            continue;
                        }
                    }
                    if self.allowed_inline(data, start, &rule.id) {
                        continue;
                    }
                    found.push(Match {
                        rule: ri,
                        start,
                        end,
                        line: 0,
                        column: 0,
                        end_column: 0,
                        secret: String::from_utf8_lossy(value).into_owned(),
                        key: key.map(|k| String::from_utf8_lossy(k).into_owned()),
                        emails: Vec::new(),
                        account_ids: Vec::new(),
                    });
                }
            }
        }
        let mut kept = self.resolve_overlaps(found);
        // After overlaps are resolved, so that a match just outside the
        // focus still beats a weaker one inside it, as in the whole blob.
        if let Some(focus) = input.focus {
            kept.retain(|m| inside(focus, m.start, m.start));
        }
        for m in &mut kept {
            let companions = &self.rules.rules()[m.rule].companions;
            if companions.contains(&Companion::Email) {
                m.emails = self.find_emails(data, m.start, m.end);
            }
            if companions.contains(&Companion::AccountId) {
                m.account_ids = self.find_account_ids(data, m.start, m.end);
            }
        }
        set_positions(data, &mut kept);
        kept
    }

    /// The (rule, pattern) pairs whose path conditions `input`'s path meets,
    /// whose anchor the prefilter saw (`seen`, from [`Matcher::active_rules`])
    /// and whose other keyword sets `input` holds: the only regexes worth
    /// running.
    pub fn patterns_to_run(&self, input: &Input<'_>, seen: &[bool]) -> Vec<(usize, usize)> {
        self.runnable(input, seen, &mut CheckMemo::new(self.checks.len()))
    }

    fn runnable(
        &self,
        input: &Input<'_>,
        seen: &[bool],
        checks: &mut CheckMemo,
    ) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (ri, pi) in self.anchored(input.path, seen) {
            if self.gates[ri][pi]
                .checks
                .iter()
                .all(|&c| self.holds(c, input, checks))
            {
                out.push((ri, pi));
            }
        }
        out
    }

    /// The (rule, pattern) pairs whose path conditions `path` meets and
    /// whose anchor is in `seen`.
    fn anchored<'s>(
        &'s self,
        path: &'s str,
        seen: &'s [bool],
    ) -> impl Iterator<Item = (usize, usize)> + 's {
        let path = path.as_bytes();
        self.rules
            .rules()
            .iter()
            .enumerate()
            .filter(move |(_, rule)| rule.path.as_ref().is_none_or(|p| p.get().is_match(path)))
            .flat_map(move |(ri, rule)| {
                rule.patterns
                    .iter()
                    .enumerate()
                    .filter_map(move |(pi, pattern)| {
                        let gate = &self.gates[ri][pi];
                        let anchored = gate
                            .anchor
                            .as_ref()
                            .is_none_or(|ids| ids.iter().any(|&k| seen[k]));
                        (anchored && pattern.path.as_ref().is_none_or(|p| p.get().is_match(path)))
                            .then_some((ri, pi))
                    })
            })
    }

    /// The searcher of keyword check `id`, built on first use.
    fn keywords(&self, id: usize) -> &Keywords {
        self.checks[id].searcher(self.automaton)
    }

    /// True if keyword check `id` holds for `input`: one of its words is in
    /// the path or where the check's scope says. Each check runs once per
    /// input (`memo`).
    fn holds(&self, id: usize, input: &Input<'_>, memo: &mut CheckMemo) -> bool {
        if let Some(known) = memo.0[id] {
            return known;
        }
        let check = &self.checks[id];
        let kw = self.keywords(id);
        // Decoded text is not part of the file: it is searched as well.
        let decoded = || input.keep.is_some() && kw.found_in(input.data);
        let found = kw.found_in(input.path.as_bytes())
            || match (check.scope, input.file) {
                (Scope::Near, _) => kw.found_in(input.data),
                (Scope::Anywhere | Scope::InFile, Whole::Data) => kw.found_in(input.data),
                (Scope::Anywhere, Whole::Blob(blob)) => decoded() || kw.found_in(blob),
                (Scope::InFile, Whole::Blob(blob)) => kw.found_in(blob),
                // The passes over the whole file looked; a piece holds nothing more.
                (Scope::Anywhere, Whole::Seen(facts)) => {
                    facts.checks[id] == Some(true) || decoded()
                }
                (Scope::InFile, Whole::Seen(facts)) => facts.checks[id] == Some(true),
            };
        memo.0[id] = Some(found);
        found
    }

    /// One keyword pass over the path and the blob: which prefilter keywords
    /// occur. The result is opaque (indexed by keyword); callers may OR two
    /// of them together to widen what may match.
    pub fn active_rules(&self, path: &str, data: &[u8]) -> Vec<bool> {
        let mut seen = vec![false; self.anchor_words.len()];
        if !self.see(path.as_bytes(), &mut seen) {
            self.see(data, &mut seen);
        }
        seen
    }

    /// False if `active` (from [`Matcher::active_rules`]) says that its text
    /// holds no [`PEM_BEGIN`].
    pub fn may_hold_pem(&self, active: &[bool]) -> bool {
        active.get(self.pem_anchor).copied().unwrap_or(true)
    }

    /// Marks in `seen` the anchors that occur in `text`; true once all are seen.
    fn see(&self, text: &[u8], seen: &mut [bool]) -> bool {
        let mut remaining = seen.iter().filter(|&&s| !s).count();
        if remaining == 0 {
            return true;
        }
        let see = |k: usize, seen: &mut [bool], remaining: &mut usize| {
            if !seen[k] {
                seen[k] = true;
                *remaining -= 1;
            }
        };
        self.keys.for_each(text, |key, at| {
            for &(k, offset) in &self.keyed[key] {
                if !seen[k]
                    && at
                        .checked_sub(offset)
                        .is_some_and(|at| self.anchor_words[k].is_at(text, at))
                {
                    see(k, seen, &mut remaining);
                }
            }
            remaining == 0
        });
        remaining == 0
    }

    /// What nothing has been found in yet: the start of [`FileFacts`] for a
    /// file read in pieces, given to [`Matcher::see_piece`] with each piece
    /// in turn and then to [`Matcher::check_piece`] with each again.
    pub fn new_facts(&self, path: &str) -> FileFacts {
        let mut seen = vec![false; self.anchor_words.len()];
        self.see(path.as_bytes(), &mut seen);
        FileFacts {
            seen,
            checks: vec![None; self.checks.len()],
        }
    }

    /// First pass over a file in pieces: the anchors in `piece`. Pieces
    /// must overlap by [`crate::rules::MAX_KEYWORD_LEN`] bytes, so that no
    /// keyword is cut in two.
    pub fn see_piece(&self, facts: &mut FileFacts, piece: &[u8]) {
        self.see(piece, &mut facts.seen);
    }

    /// Second pass, once every piece was seen: the whole-file keyword checks
    /// that the anchored patterns need, looked for in `piece`. False when
    /// none are left to look for (the second pass can stop).
    pub fn check_piece(&self, facts: &mut FileFacts, path: &str, piece: &[u8]) -> bool {
        if facts.checks.iter().all(Option::is_none) {
            // First piece: decide which checks are wanted.
            for (ri, pi) in self.anchored(path, &facts.seen) {
                let gate = &self.gates[ri][pi];
                for &id in gate.checks.iter().chain(&gate.in_file) {
                    if self.checks[id].scope != Scope::Near {
                        facts.checks[id] = Some(false);
                    }
                }
            }
        }
        let mut left = false;
        for (id, verdict) in facts.checks.iter_mut().enumerate() {
            if *verdict == Some(false) {
                *verdict = Some(self.keywords(id).found_in(piece));
                left |= *verdict == Some(false);
            }
        }
        left
    }

    /// The checks that need only the value itself.
    fn credible(&self, rule: &crate::rules::Rule, value: &[u8]) -> bool {
        if let Some(Checksum::Crc32) = rule.checksum {
            if !crc32_suffix_ok(value) {
                return false;
            }
        }
        if let Some(Validator::TunnelToken) = rule.validator {
            if !crate::rules::credibility::is_tunnel_token(value) {
                return false;
            }
        }
        let body = match &rule.public_prefix {
            Some(p) if value.starts_with(p.as_bytes()) => &value[p.len()..],
            _ => value,
        };
        if let Some(min) = rule.min_entropy {
            if shannon_entropy(body) < min {
                return false;
            }
        }
        if rule.secret && looks_like_placeholder(body) {
            return false;
        }
        true
    }

    /// True if the match's line carries an allow marker that covers this rule.
    fn allowed_inline(&self, data: &[u8], at: usize, rule_id: &str) -> bool {
        let (start, end) = line_window(data, at, at, 0);
        let line = &data[start..end];
        for m in ALLOW_MARKERS.find_iter(line) {
            let marker = &line[m.start()..m.end()];
            if !marker.eq_ignore_ascii_case(b"keyflare:allow") {
                return true;
            }
            // `keyflare:allow` alone allows every rule; followed by rule ids, only those.
            let rest = &line[m.end()..];
            let ids: Vec<&[u8]> = rest
                .split(|b| b.is_ascii_whitespace() || *b == b',')
                .filter(|w| !w.is_empty())
                .take_while(|w| w.starts_with(b"kf."))
                .collect();
            if ids.is_empty() || ids.contains(&rule_id.as_bytes()) {
                return true;
            }
        }
        false
    }

    /// Keeps one match per piece of text: the highest priority rule wins.
    fn resolve_overlaps(&self, mut found: Vec<Match>) -> Vec<Match> {
        let rules = self.rules.rules();
        found.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then(rules[b.rule].priority.cmp(&rules[a.rule].priority))
                .then((b.end - b.start).cmp(&(a.end - a.start)))
        });
        let mut kept: Vec<Match> = Vec::with_capacity(found.len());
        for m in found {
            match kept.last_mut() {
                Some(last) if m.start < last.end => {
                    // Hygiene findings about a header name never overlap a secret,
                    // so any overlap is two rules claiming the same text.
                    let (lp, mp) = (rules[last.rule].priority, rules[m.rule].priority);
                    if mp > lp {
                        *last = m;
                    }
                }
                _ => kept.push(m),
            }
        }
        kept
    }

    fn find_emails(&self, data: &[u8], start: usize, end: usize) -> Vec<String> {
        let lo = start.saturating_sub(COMPANION_BYTES);
        let hi = (end + COMPANION_BYTES).min(data.len());
        let window = &data[lo..hi];
        let mut out = collect_group(&EMAIL_LABELED, window);
        if out.is_empty() {
            out = collect_group(&EMAIL_ANY, window);
        }
        out
    }

    fn find_account_ids(&self, data: &[u8], start: usize, end: usize) -> Vec<String> {
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
}

/// Shared keys are at least this long: a shorter piece of two keywords
/// (`_key`, `.com`) is too common to be searched for in every blob.
const MIN_SHARED_KEY: usize = 6;

/// The keys the SIMD search looks for to find `words` (keywords of four
/// bytes or more), each with the words it stands for. Each word is found
/// by a key that it contains, verified where the key is found. A SIMD
/// search slows down with every bucket of patterns it must tell apart (on a
/// tree of source, 48 keywords searched at 2 GB/s, 12 at 4 GB/s), so
/// words share a key where they can: `secret` stands for `r2_secret`,
/// `tunnelsecret` and `kind: secret`. Greedy: the longest piece shared by
/// the most words not yet covered; words that share none are their own key.
fn choose_keys(words: &[&str]) -> Vec<(String, Vec<usize>)> {
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

/// The byte range of `lines` lines before `start` through `lines` lines after
/// `end` (0 = the match's own line), never more than NEAR_BYTES on each side.
pub(crate) fn line_window(data: &[u8], start: usize, end: usize, lines: usize) -> (usize, usize) {
    line_window_bytes(data, start, end, lines, NEAR_BYTES)
}

/// [`line_window`] with its own byte bound on each side.
fn line_window_bytes(
    data: &[u8],
    start: usize,
    end: usize,
    lines: usize,
    max_bytes: usize,
) -> (usize, usize) {
    let lo_limit = start.saturating_sub(max_bytes);
    let mut lo = start;
    let mut newlines = 0;
    while lo > lo_limit {
        if data[lo - 1] == b'\n' {
            if newlines == lines {
                break;
            }
            newlines += 1;
        }
        lo -= 1;
    }
    let hi_limit = (end + max_bytes).min(data.len());
    let mut hi = end.min(data.len());
    newlines = 0;
    while hi < hi_limit {
        if data[hi] == b'\n' {
            if newlines == lines {
                break;
            }
            newlines += 1;
        }
        hi += 1;
    }
    (lo, hi)
}

/// Fills line/column for matches sorted by offset, in one forward pass.
pub(crate) fn set_positions(data: &[u8], matches: &mut [Match]) {
    let mut pos = 0usize;
    let mut line = 1usize;
    let mut line_start = 0usize;
    // Characters from `line_start` to `pos`, carried forward so that many
    // matches on one enormous line cost one pass over it, not one each.
    let mut chars_to_pos = 0usize;
    for m in matches.iter_mut() {
        let target = m.start.min(data.len());
        if target >= pos {
            for nl in memchr_iter(b'\n', &data[pos..target]) {
                line += 1;
                line_start = pos + nl + 1;
            }
            chars_to_pos = if line_start > pos {
                count_chars(&data[line_start..target])
            } else {
                chars_to_pos + count_chars(&data[pos..target])
            };
            pos = target;
            m.column = chars_to_pos + 1;
        } else {
            // Out of order (never for the matcher's sorted output): count afresh.
            m.column = count_chars(&data[line_start.min(target)..target]) + 1;
        }
        m.line = line;
        m.end_column = m.column + count_chars(&data[target..m.end.min(data.len())]);
    }
}

/// Unicode code points in UTF-8 bytes (continuation bytes don't count, so
/// invalid UTF-8 counts each other byte). `bytecount` counts 32 bytes at a
/// time; over a 100 MB minified line it takes the scan from 1.44 to 0.89
/// billion instructions (callgrind), the counting itself from ~480 to ~15 million.
pub(crate) fn count_chars(bytes: &[u8]) -> usize {
    bytecount::num_chars(bytes)
}

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

#[cfg(test)]
mod tests {
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

    use super::*;

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
        eprintln!("{} anchors: {anchors:?}", anchors.len());
        for common in COMMON_WORDS {
            assert!(!anchors.contains(common), "{common} is an anchor");
        }
        // The SIMD search takes at most 32 keys; beyond that the prefilter
        // falls back to lowercasing text for aho-corasick.
        assert!(m.keys.len() <= 32, "{} keys", m.keys.len());
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
            let found = m.scan_blob("f.txt", line.as_bytes());
            assert_eq!(found.is_empty(), allowed, "{line}");
        }
    }
}

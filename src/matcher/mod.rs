//! Matcher: runs the compiled rules over one blob's bytes. No I/O.
//!
//! For each blob: one pass looks for each pattern's anchor, the rarest of its
//! keyword sets (a blob with no anchor costs that one pass); where an anchor
//! is seen, the pattern's other keyword sets are looked for; then the
//! regexes of the patterns left run, and each match must pass the rule's
//! credibility checks (checksum, validator, entropy, placeholder filter,
//! words and cut-off runs ([`crate::rules::credibility`]), nearby Cloudflare
//! context, denied key names). An inline allow marker on the secret's line
//! is noted on the match ([`Match::marker`]), never acted on here: the filter
//! stage decides whether it suppresses the finding.
//! Overlapping matches are resolved by rule priority, so one piece of text is
//! one finding. Line and column numbers are computed in one forward pass, so
//! a single enormous line costs linear time.
//!
//! The scan stage also runs the matcher over windows of decoded text
//! ([`Input`]): then only matches inside the decoded parts count, and
//! whole-file conditions (`in_file`) look at the original blob.
//!
//! Stage: matcher, below the scan stage. It may not touch sources, the scan
//! stage, findings, filters or reporters.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};

mod companions;
mod credible;
mod found;
mod positions;
mod prefilter;

pub use companions::companion_near;
pub use credible::{crc32_suffix_ok, looks_like_placeholder, shannon_entropy};
pub use found::{FileFacts, Input, Match, Volume, Whole};
use positions::line_window_bytes;
pub(crate) use positions::{count_chars, inside, line_window, set_positions};
use prefilter::{
    anchor_cost, check_id, choose_keys, id_of, Check, CheckMemo, Gate, Keywords, Scope,
};

use crate::kernel::literals::{Literals, Word};
use crate::rules::shape::SecretShape;
use crate::rules::{Checksum, CompanionKind, RuleSet, Validator};

/// What a PEM block begins with.
pub const PEM_BEGIN: &[u8] = b"-----BEGIN ";

/// Blobs up to this size are searched whole by every pattern; larger ones
/// only in windows around runs of the pattern's secret characters.
const WINDOWED_BLOB: usize = 8 * 1024;

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
    /// For each anchor: the (rule, pattern) pairs it gates, so that a blob
    /// with no anchor seen (most) costs no walk over every pattern.
    gated_by: Vec<Vec<(usize, usize)>>,
    /// The pairs with no anchor: their path conditions gate them.
    unanchored: Vec<(usize, usize)>,
    /// The kind of keyword automata to build (see [`Volume`]).
    automaton: Option<AhoCorasickKind>,
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
        // An anchor shorter than the SIMD search's fingerprint is its own key
        // (or joins a shorter one it begins with), and so are the longer
        // anchors that begin with it: that key is looked for anyway. Each
        // key shorter than the fingerprint lets every position with its
        // bytes through, so it is never cut shorter than its anchor: `cf`
        // for `cf_` would stop at every `cfg` of Rust code.
        let mut keys: Vec<(String, Vec<(usize, usize)>)> = Vec::new();
        let mut short: Vec<usize> = (0..anchors.len())
            .filter(|&k| anchors[k].len() < 4)
            .collect();
        short.sort_by_key(|&k| anchors[k].len());
        for k in short {
            match keys
                .iter_mut()
                .find(|(key, _)| anchors[k].starts_with(key.as_str()))
            {
                Some((_, members)) => members.push((k, 0)),
                None => keys.push((anchors[k].clone(), vec![(k, 0)])),
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
        let mut gated_by = vec![Vec::new(); anchors.len()];
        let mut unanchored = Vec::new();
        for (ri, per_pattern) in gates.iter().enumerate() {
            for (pi, gate) in per_pattern.iter().enumerate() {
                match &gate.anchor {
                    Some(ids) => ids.iter().for_each(|&k| gated_by[k].push((ri, pi))),
                    None => unanchored.push((ri, pi)),
                }
            }
        }
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
            gated_by,
            unanchored,
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
        let anchored = self.anchored(input.path, active);
        if anchored.is_empty() {
            return Vec::new();
        }
        let mut checks = CheckMemo::new(self.checks.len());
        let data = input.data;
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
        let runs = SecretShape::runs_of_all(&shapes, data);
        let windows: Vec<Vec<Range<usize>>> = shapes
            .iter()
            .zip(&runs)
            .map(|(s, r)| s.windows_around(data, r.clone(), input.focus))
            .collect();
        for (ri, pi) in anchored {
            let pattern = &self.rules.rules()[ri].patterns[pi];
            let gate = &self.gates[ri][pi];
            let shaped = pattern
                .shape()
                .map(|shape| (shape, shapes.iter().position(|s| *s == shape).unwrap_or(0)));
            // No room for the secret: the regex is not even compiled (most
            // of a small scan's time otherwise).
            if shaped.is_some_and(|(_, i)| windows[i].is_empty())
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
            let spans: Cow<'_, [Range<usize>]> = match shaped {
                Some((shape, i)) => {
                    let w = match pattern.lead() {
                        // Only the runs the pattern's lead allows get a window.
                        Some(lead) => {
                            let kept = runs[i]
                                .iter()
                                .filter(|r| lead.allows(data, shape.window_start(data, r), r.start))
                                .cloned()
                                .collect();
                            Cow::Owned(shape.windows_around(data, kept, input.focus))
                        }
                        None => Cow::Borrowed(&windows[i][..]),
                    };
                    match w {
                        w if w.is_empty() => continue,
                        // Small blobs are searched whole, in one pass.
                        _ if data.len() <= WINDOWED_BLOB => {
                            Cow::Borrowed(std::slice::from_ref(&whole))
                        }
                        w => w,
                    }
                }
                None => Cow::Borrowed(std::slice::from_ref(&whole)),
            };
            self.matches_in_spans(input, (ri, pi), &spans, &mut found);
        }
        let mut kept = self.resolve_overlaps(found);
        // After overlaps are resolved, so that a match just outside the
        // focus still beats a weaker one inside it, as in the whole blob.
        if let Some(focus) = input.focus {
            kept.retain(|m| inside(focus, m.start, m.start));
        }
        self.add_companions(data, &mut kept);
        set_positions(data, &mut kept);
        kept
    }

    /// Pushes onto `found` the credible matches of pattern `pi` of rule `ri`
    /// in `spans` of the input's data (those inside its `keep`, if any).
    fn matches_in_spans(
        &self,
        input: &Input<'_>,
        (ri, pi): (usize, usize),
        spans: &[Range<usize>],
        found: &mut Vec<Match>,
    ) {
        let (path, data) = (input.path, input.data);
        let rule = &self.rules.rules()[ri];
        let pattern = &rule.patterns[pi];
        // `near` keywords in the path stand for every match.
        let near = self.gates[ri][pi]
            .near
            .map(|id| self.keywords(id))
            .filter(|kw| !kw.found_in(path.as_bytes()));
        for span in spans {
            for caps in pattern.regex().captures_iter(&data[span.clone()]) {
                let Some(secret) = caps.name("secret") else {
                    continue;
                };
                let (start, end) = (span.start + secret.start(), span.start + secret.end());
                if input.keep.is_some_and(|keep| !inside(keep, start, end)) {
                    continue;
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
                    let window =
                        line_window_bytes(data, start, end, pattern.near_lines, pattern.near_bytes);
                    if !near.found_in(&data[window.0..window.1]) {
                        continue;
                    }
                }
                let marker = self.allowed_inline(data, start, &rule.id);
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
                    marker,
                });
            }
        }
    }

    /// Notes on each match the companions its rule names (emails, account
    /// ids) found near it in `data`, each value once.
    fn add_companions(&self, data: &[u8], kept: &mut [Match]) {
        for m in kept {
            let named = &self.rules.rules()[m.rule].companions;
            for c in named.iter().filter_map(|&c| self.rules.companions().get(c)) {
                let Some((_, values)) = companion_near(c, data, m.start, m.end) else {
                    continue;
                };
                let field = match c.kind {
                    CompanionKind::Email => &mut m.emails,
                    CompanionKind::AccountId => &mut m.account_ids,
                };
                for v in values {
                    if !field.contains(&v) {
                        field.push(v);
                    }
                }
            }
        }
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
    fn anchored(&self, path: &str, seen: &[bool]) -> Vec<(usize, usize)> {
        let path = path.as_bytes();
        let path_ok =
            |p: &Option<crate::rules::LazyRegex>| p.as_ref().is_none_or(|p| p.get().is_match(path));
        // The patterns gated by path alone are looked at first: for most
        // files nothing is left, and nothing is allocated.
        let mut pairs: Vec<(usize, usize)> = seen
            .iter()
            .zip(&self.gated_by)
            .filter(|(&s, _)| s)
            .flat_map(|(_, pairs)| pairs.iter().copied())
            .chain(self.unanchored.iter().copied().filter(|&(ri, pi)| {
                let rule = &self.rules.rules()[ri];
                path_ok(&rule.path) && path_ok(&rule.patterns[pi].path)
            }))
            .collect();
        if pairs.is_empty() {
            return pairs;
        }
        // In rule order, as the rules list them (overlaps between equal
        // priorities go to the first).
        pairs.sort_unstable();
        pairs.dedup();
        // A rule's own path is matched once, for its first pattern left.
        let mut rule_path: Option<(usize, bool)> = None;
        pairs.retain(|&(ri, pi)| {
            let rule = &self.rules.rules()[ri];
            let rule_ok = match rule_path {
                Some((r, ok)) if r == ri => ok,
                _ => {
                    let ok = path_ok(&rule.path);
                    rule_path = Some((ri, ok));
                    ok
                }
            };
            rule_ok && path_ok(&rule.patterns[pi].path)
        });
        pairs
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

    /// The allow marker on the match's line that covers this rule, if any
    /// (lowercased). Noted, never acted on here: the filter stage decides
    /// ([`crate::pipeline::filter::suppress`]).
    fn allowed_inline(&self, data: &[u8], at: usize, rule_id: &str) -> Option<String> {
        let (start, end) = line_window(data, at, at, 0);
        let line = &data[start..end];
        for m in ALLOW_MARKERS.find_iter(line) {
            let marker = &line[m.start()..m.end()];
            let name = String::from_utf8_lossy(marker).to_ascii_lowercase();
            if !marker.eq_ignore_ascii_case(b"keyflare:allow") {
                return Some(name);
            }
            // `keyflare:allow` alone allows every rule; followed by rule ids, only those.
            let rest = &line[m.end()..];
            let ids: Vec<&[u8]> = rest
                .split(|b| b.is_ascii_whitespace() || *b == b',')
                .filter(|w| !w.is_empty())
                .take_while(|w| w.starts_with(b"kf."))
                .collect();
            if ids.is_empty() || ids.contains(&rule_id.as_bytes()) {
                return Some(name);
            }
        }
        None
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
}

#[cfg(test)]
mod tests;

//! A few short words found wherever they occur, whatever their ASCII case:
//! the anchor search that every blob goes through (see `matcher`), so one
//! of the hot loops of a scan.
//!
//! With AVX2, 32 positions are tested at once by the method of Hyperscan's
//! "Teddy": each word is put in one of eight buckets, and for each of a
//! word's first four bytes two 16-entry tables, one per nibble, give the
//! buckets with a word that may have that byte there. A position where the
//! four bytes agree on a bucket is verified against that bucket's words.
//! Case is folded into the tables (both cases of a letter share its low
//! nibble, and both high nibbles are marked), so the text is searched as it
//! is. Elsewhere the text is lowercased a chunk at a time and searched by
//! aho-corasick.
//!
//! Kernel: imports nothing from the crate; knows no rule, blob or finding.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// Text is lowercased in chunks of this size for the portable search and
/// the keyword checks: small enough to stay in cache, large enough that the
/// searchers' start-up costs nothing.
pub(crate) const LOWERED_CHUNK: usize = 32 * 1024;

/// A lowercased word, recognised in text whatever its ASCII case, its first
/// 16 bytes in one comparison (candidates are verified by the thousand in
/// text that says `cloudflare` on every line).
pub struct Word {
    text: String,
    /// The first 16 bytes, little-endian, zero past the end of the word.
    head: u128,
    /// 0x20 at the head's letters: OR-ed into the text, it lowercases them.
    fold: u128,
    /// 0xFF over the head's bytes.
    mask: u128,
}

impl Word {
    /// `word`, lowercased.
    pub fn new(word: &str) -> Word {
        let text = word.to_ascii_lowercase();
        let bytes = text.as_bytes();
        let (mut head, mut fold, mut mask) = ([0u8; 16], [0u8; 16], [0u8; 16]);
        for (i, &b) in bytes.iter().take(16).enumerate() {
            head[i] = b;
            fold[i] = if b.is_ascii_lowercase() { 0x20 } else { 0 };
            mask[i] = 0xff;
        }
        Word {
            text,
            head: u128::from_le_bytes(head),
            fold: u128::from_le_bytes(fold),
            mask: u128::from_le_bytes(mask),
        }
    }

    /// The word, lowercased.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The word's bytes, lowercased.
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// True if the word occurs at `text[at..]`, in any ASCII case.
    pub fn is_at(&self, text: &[u8], at: usize) -> bool {
        let Some(here) = text.get(at..at + self.text.len()) else {
            return false;
        };
        match text[at..].first_chunk::<16>() {
            Some(&block) => {
                let block = u128::from_le_bytes(block);
                (block | self.fold) & self.mask == self.head
                    && here
                        .get(16..)
                        .is_none_or(|rest| rest.eq_ignore_ascii_case(&self.as_bytes()[16..]))
            }
            None => here.eq_ignore_ascii_case(self.as_bytes()),
        }
    }
}

/// Lowercased words, found wherever they occur in text in any ASCII case.
pub struct Literals {
    words: Vec<Word>,
    search: Search,
}

enum Search {
    #[cfg(target_arch = "x86_64")]
    Simd(Box<Teddy>),
    Lowered {
        automaton: AhoCorasick,
        /// For each word, the other words that begin it: the leftmost-longest
        /// search reports one word per position, and these are there too.
        prefixes: Vec<Vec<usize>>,
        longest: usize,
    },
}

impl Literals {
    /// A search for `words` (none of them empty); `automaton` is the kind
    /// of automaton the portable search builds.
    pub fn new(words: &[&str], automaton: Option<AhoCorasickKind>) -> Literals {
        let words: Vec<Word> = words.iter().map(|w| Word::new(w)).collect();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && words.len() <= 4 * BUCKETS {
            let search = Search::Simd(Box::new(Teddy::new(&words)));
            return Literals { words, search };
        }
        let search = Literals::lowered(&words, automaton);
        Literals { words, search }
    }

    fn lowered(words: &[Word], automaton: Option<AhoCorasickKind>) -> Search {
        let words: Vec<&[u8]> = words.iter().map(Word::as_bytes).collect();
        let prefixes = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (0..words.len())
                    .filter(|&j| j != i && w.starts_with(words[j]))
                    .collect()
            })
            .collect();
        // Leftmost (not standard) semantics: only those get the SIMD search.
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(automaton)
            .build(&words)
            .expect("words are plain literals");
        let longest = words.iter().map(|w| w.len()).max().unwrap_or(0);
        Search::Lowered {
            automaton,
            prefixes,
            longest,
        }
    }

    /// The words, lowercased (for tests).
    #[cfg(test)]
    pub(crate) fn words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(Word::as_str)
    }

    /// How many words there are.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Calls `found(word, position)` once for each occurrence of each word
    /// in `text`, until it returns true. Returns true if it did.
    pub fn for_each(&self, text: &[u8], mut found: impl FnMut(usize, usize) -> bool) -> bool {
        match &self.search {
            // SAFETY: `Simd` is only built where AVX2 was detected.
            #[cfg(target_arch = "x86_64")]
            Search::Simd(teddy) => unsafe { teddy.search(&self.words, text, &mut found) },
            Search::Lowered {
                automaton,
                prefixes,
                longest,
            } => {
                let overlap = longest.saturating_sub(1);
                for_each_lowered(text, overlap, |from, chunk| {
                    // What ends before `overlap` was found in the chunk before.
                    let fresh = if from == 0 { 0 } else { overlap };
                    let mut input = aho_corasick::Input::new(chunk);
                    while let Some(m) = automaton.find(input.clone()) {
                        let w = m.pattern().as_usize();
                        for &w in std::iter::once(&w).chain(&prefixes[w]) {
                            if m.start() + self.words[w].as_bytes().len() > fresh
                                && found(w, from + m.start())
                            {
                                return true;
                            }
                        }
                        input.set_start(m.start() + 1);
                    }
                    false
                })
            }
        }
    }

    /// True if the SIMD search is in use (for tests).
    #[cfg(test)]
    fn is_simd(&self) -> bool {
        !matches!(self.search, Search::Lowered { .. })
    }

    /// The same search with the AVX2 nibble tables only, whatever else the
    /// CPU has (for tests: both SIMD searches are checked where both run).
    #[cfg(test)]
    fn nibbles_only(mut self) -> Literals {
        #[cfg(target_arch = "x86_64")]
        if let Search::Simd(teddy) = &mut self.search {
            teddy.ascii = None;
        }
        self
    }

    /// True if the one-lookup-a-byte search is in use (for tests).
    #[cfg(test)]
    fn is_ascii_tables(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Search::Simd(teddy) = &self.search {
            return teddy.ascii.is_some();
        }
        false
    }

    /// How many positions of `text` the SIMD search's fingerprint lets
    /// through to be verified, or None without it (for tests).
    #[cfg(test)]
    pub(crate) fn candidates(&self, text: &[u8]) -> Option<usize> {
        match &self.search {
            #[cfg(target_arch = "x86_64")]
            Search::Simd(teddy) => Some(
                (0..text.len())
                    .filter(|&i| teddy.agree(&text[i..]) != 0)
                    .count(),
            ),
            Search::Lowered { .. } => None,
        }
    }
}

/// Calls `f(start, chunk)` with `data` lowercased a chunk at a time, in a
/// buffer kept per thread; each chunk starts `overlap` bytes before the end
/// of the one before, so that no word that long is cut in two. Stops when
/// `f` returns true, and returns true if it did.
pub fn for_each_lowered(
    data: &[u8],
    overlap: usize,
    mut f: impl FnMut(usize, &[u8]) -> bool,
) -> bool {
    thread_local! {
        static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LOWER.with(|cell| {
        // A call from inside `f` (there is none today) gets a buffer of its own.
        let mut own = Vec::new();
        let mut borrowed = cell.try_borrow_mut();
        let lower = match borrowed.as_mut() {
            Ok(buf) => &mut **buf,
            Err(_) => &mut own,
        };
        lower.resize(LOWERED_CHUNK + overlap, 0);
        let mut start = 0;
        while start < data.len() {
            let from = start.saturating_sub(overlap);
            let to = (start + LOWERED_CHUNK).min(data.len());
            let n = to - from;
            lower[..n].copy_from_slice(&data[from..to]);
            lower[..n].make_ascii_lowercase();
            if f(from, &lower[..n]) {
                return true;
            }
            start = to;
        }
        false
    })
}

#[cfg(target_arch = "x86_64")]
const BUCKETS: usize = 8;
/// How many leading bytes of a word the tables test.
#[cfg(target_arch = "x86_64")]
const FINGERPRINT: usize = 4;

#[cfg(target_arch = "x86_64")]
struct Teddy {
    /// Per fingerprint byte: per low nibble, the buckets with a word that
    /// may have a byte with that low nibble there; repeated for both 16-byte
    /// lanes.
    low: [[u8; 32]; FINGERPRINT],
    /// The same per high nibble.
    high: [[u8; 32]; FINGERPRINT],
    /// Per fingerprint byte, per ASCII byte, the buckets the two nibble
    /// tables let through: one lookup a byte where AVX-512 VBMI is (a
    /// two-register byte permute takes 7-bit indices), else None.
    ascii: Option<Box<[[u8; 128]; FINGERPRINT]>>,
    /// The words in each bucket.
    buckets: [Vec<usize>; BUCKETS],
}

#[cfg(target_arch = "x86_64")]
impl Teddy {
    fn new(words: &[Word]) -> Teddy {
        let words: Vec<&[u8]> = words.iter().map(Word::as_bytes).collect();
        let grouped = group(&words);
        let (mut low, mut high) = ([[0u8; 32]; FINGERPRINT], [[0u8; 32]; FINGERPRINT]);
        let mut buckets: [Vec<usize>; BUCKETS] = Default::default();
        for (b, (members, nibbles)) in grouped.into_iter().enumerate() {
            let bit = 1u8 << b;
            for (j, &(lows, highs)) in nibbles.0.iter().enumerate() {
                for n in (0..16).filter(|n| lows >> n & 1 == 1) {
                    low[j][n] |= bit;
                    low[j][16 + n] |= bit;
                }
                for n in (0..16).filter(|n| highs >> n & 1 == 1) {
                    high[j][n] |= bit;
                    high[j][16 + n] |= bit;
                }
            }
            buckets[b] = members;
        }
        let ascii = avx512_vbmi().then(|| {
            Box::new(std::array::from_fn(|j| {
                std::array::from_fn(|c| low[j][c & 15] & high[j][c >> 4])
            }))
        });
        Teddy {
            low,
            high,
            ascii,
            buckets,
        }
    }

    /// Calls `found` for each word at each position of `text`, with the
    /// widest search the CPU has.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    unsafe fn search(
        &self,
        words: &[Word],
        text: &[u8],
        found: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        match &self.ascii {
            // SAFETY: `ascii` is only built where AVX-512 VBMI was detected.
            #[cfg(avx512_intrinsics)]
            Some(ascii) => unsafe { self.search_ascii(ascii, words, text, found) },
            _ => unsafe { self.search_nibbles(words, text, found) },
        }
    }

    /// The search 64 positions at a time, one table lookup per byte:
    /// the byte permute indexes 128 entries by a byte's low 7 bits, so a
    /// non-ASCII byte is looked up as its ASCII namesake (a candidate more,
    /// never one less: candidates are verified).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, BW and VBMI.
    #[cfg(avx512_intrinsics)]
    #[clippy::msrv = "1.89"]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn search_ascii(
        &self,
        ascii: &[[u8; 128]; FINGERPRINT],
        words: &[Word],
        text: &[u8],
        found: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        use std::arch::x86_64::*;
        let half = |t: &[u8]| _mm512_loadu_si512(t.as_ptr().cast());
        let first = ascii.each_ref().map(|t| half(&t[..64]));
        let second = ascii.each_ref().map(|t| half(&t[64..]));
        let verdict = |j: usize, at: usize| {
            // In bounds: the loop below keeps at + 3 + 64 within the text.
            let bytes = _mm512_loadu_si512(text.as_ptr().add(at + j).cast());
            _mm512_permutex2var_epi8(first[j], bytes, second[j])
        };
        let mut at = 0;
        while at + 64 + (FINGERPRINT - 1) <= text.len() {
            let agree = _mm512_and_si512(
                _mm512_and_si512(verdict(0, at), verdict(1, at)),
                _mm512_and_si512(verdict(2, at), verdict(3, at)),
            );
            let hits = _mm512_test_epi8_mask(agree, agree);
            if hits != 0 {
                let mut buckets = [0u8; 64];
                _mm512_storeu_si512(buckets.as_mut_ptr().cast(), agree);
                if self.verify_hits(words, text, at, hits, &buckets, found) {
                    return true;
                }
            }
            at += 64;
        }
        self.search_tail(words, text, at, found)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn search_nibbles(
        &self,
        words: &[Word],
        text: &[u8],
        found: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        use std::arch::x86_64::*;
        let table = |t: &[u8; 32]| _mm256_loadu_si256(t.as_ptr().cast());
        let low = self.low.each_ref().map(table);
        let high = self.high.each_ref().map(table);
        let nibble = _mm256_set1_epi8(0x0f);
        // Starts are tested 32 at a time: fingerprint byte j of the starts
        // at..at + 32 is the block loaded at at + j. Four overlapping loads
        // cost less than shifting one block's verdicts into the next
        // (two shuffles each, on ports the table lookups need).
        let verdict = |j: usize, at: usize| {
            // In bounds: the loop below keeps at + 3 + 32 within the text.
            let bytes = _mm256_loadu_si256(text.as_ptr().add(at + j).cast());
            let lo_nibble = _mm256_and_si256(bytes, nibble);
            let hi_nibble = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble);
            _mm256_and_si256(
                _mm256_shuffle_epi8(low[j], lo_nibble),
                _mm256_shuffle_epi8(high[j], hi_nibble),
            )
        };
        let mut at = 0;
        while at + 32 + (FINGERPRINT - 1) <= text.len() {
            let agree = _mm256_and_si256(
                _mm256_and_si256(verdict(0, at), verdict(1, at)),
                _mm256_and_si256(verdict(2, at), verdict(3, at)),
            );
            let none = _mm256_cmpeq_epi8(agree, _mm256_setzero_si256());
            let hits = !(_mm256_movemask_epi8(none) as u32);
            if hits != 0 {
                let mut buckets = [0u8; 32];
                _mm256_storeu_si256(buckets.as_mut_ptr().cast(), agree);
                if self.verify_hits(words, text, at, hits.into(), &buckets, found) {
                    return true;
                }
            }
            at += 32;
        }
        self.search_tail(words, text, at, found)
    }

    /// Verifies the starts `at + i` for each bit i of `hits`, against the
    /// words of the buckets in `buckets[i]`.
    fn verify_hits(
        &self,
        words: &[Word],
        text: &[u8],
        at: usize,
        mut hits: u64,
        buckets: &[u8],
        found: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        while hits != 0 {
            let t = hits.trailing_zeros() as usize;
            if self.verify(words, text, at + t, buckets[t], found) {
                return true;
            }
            hits &= hits - 1;
        }
        false
    }

    /// The starts from `at` on, whose fingerprint reaches past the last
    /// whole block, one at a time.
    fn search_tail(
        &self,
        words: &[Word],
        text: &[u8],
        at: usize,
        found: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        for i in at..text.len() {
            let agree = self.agree(&text[i..]);
            if agree != 0 && self.verify(words, text, i, agree, found) {
                return true;
            }
        }
        false
    }

    /// The buckets with a word that may begin `text`, one byte at a time.
    fn agree(&self, text: &[u8]) -> u8 {
        // Past the end of the text any byte may be: `verify` measures.
        let mut agree = u8::MAX;
        for (j, &c) in text.iter().take(FINGERPRINT).enumerate() {
            agree &= self.low[j][usize::from(c & 15)] & self.high[j][usize::from(c >> 4)];
        }
        agree
    }

    /// Reports the words of `buckets` that occur at `at`.
    fn verify(
        &self,
        words: &[Word],
        text: &[u8],
        at: usize,
        mut buckets: u8,
        found: &mut impl FnMut(usize, usize) -> bool,
    ) -> bool {
        while buckets != 0 {
            let b = buckets.trailing_zeros() as usize;
            for &i in &self.buckets[b] {
                if words[i].is_at(text, at) && found(i, at) {
                    return true;
                }
            }
            buckets &= buckets - 1;
        }
        false
    }
}

/// True if the CPU has what [`Teddy::search_ascii`] needs, and the
/// compiler its intrinsics (see build.rs).
#[cfg(target_arch = "x86_64")]
fn avx512_vbmi() -> bool {
    cfg!(avx512_intrinsics)
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vbmi")
}

/// The low and high nibbles (bit n for nibble n) that the tables let
/// through at each fingerprint byte for a word, or for a bucket of words.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Nibbles([(u16, u16); FINGERPRINT]);

#[cfg(target_arch = "x86_64")]
impl Nibbles {
    fn of(word: &[u8]) -> Nibbles {
        Nibbles(std::array::from_fn(|j| match word.get(j) {
            // Past a short word's end any byte may be there.
            None => (u16::MAX, u16::MAX),
            Some(&c) if c.is_ascii_lowercase() => {
                (1 << (c & 15), 1 << (c >> 4) | 1 << ((c ^ 0x20) >> 4))
            }
            Some(&c) => (1 << (c & 15), 1 << (c >> 4)),
        }))
    }

    fn union(self, other: Nibbles) -> Nibbles {
        Nibbles(std::array::from_fn(|j| {
            (self.0[j].0 | other.0[j].0, self.0[j].1 | other.0[j].1)
        }))
    }

    /// The share of positions in plain text (tab, newline and printable
    /// ASCII, all equally likely) that these tables let through.
    fn pass_rate(&self) -> f64 {
        // Per high nibble, the low nibbles of the text's bytes.
        const TEXT: [u16; 8] = [
            1 << 9 | 1 << 10,
            0,
            u16::MAX,
            u16::MAX,
            u16::MAX,
            u16::MAX,
            u16::MAX,
            0x7fff,
        ];
        const TEXT_BYTES: u32 = 2 + 6 * 16 - 1;
        self.0
            .iter()
            .map(|&(low, high)| {
                let pass: u32 = (0..8)
                    .filter(|&h| high >> h & 1 == 1)
                    .map(|h| (low & TEXT[h]).count_ones())
                    .sum();
                f64::from(pass) / f64::from(TEXT_BYTES)
            })
            .product()
    }
}

/// Puts `words` in the buckets. A bucket lets through every byte that some
/// word of it has at each fingerprint position, mixed with the others' (`cfk_`
/// and `cfglobal` together pass `cfg_`), and each position it lets through
/// is verified against every word in it. Greedy, from one bucket per word:
/// the two whose merging adds the least expected cost (the share of text
/// positions let through, times one plus the words to verify) are merged,
/// until there are eight at most. Returns each bucket's words and nibbles.
#[cfg(target_arch = "x86_64")]
fn group(words: &[&[u8]]) -> Vec<(Vec<usize>, Nibbles)> {
    let cost = |n: &Nibbles, members: usize| n.pass_rate() * (1 + members) as f64;
    // Each bucket: its words, their nibbles and its cost.
    let mut groups: Vec<(Vec<usize>, Nibbles, f64)> = (0..words.len())
        .map(|i| {
            let n = Nibbles::of(words[i]);
            (vec![i], n, cost(&n, 1))
        })
        .collect();
    while groups.len() > BUCKETS {
        let mut best = (f64::INFINITY, 0, 1);
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let ((wa, na, ca), (wb, nb, cb)) = (&groups[a], &groups[b]);
                let added = cost(&na.union(*nb), wa.len() + wb.len()) - ca - cb;
                if added < best.0 {
                    best = (added, a, b);
                }
            }
        }
        let (_, a, b) = best;
        let (wb, nb, _) = groups.swap_remove(b);
        let merged = &mut groups[a];
        merged.0.extend(wb);
        merged.1 = merged.1.union(nb);
        merged.2 = cost(&merged.1, merged.0.len());
    }
    groups.into_iter().map(|(w, n, _)| (w, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The portable search, whatever the CPU.
    fn lowered(words: &[&str]) -> Literals {
        let words: Vec<Word> = words.iter().map(|w| Word::new(w)).collect();
        let search = Literals::lowered(&words, None);
        Literals { words, search }
    }

    #[test]
    fn words_compared_whatever_their_case() {
        let long = "\"cloudflare_account_token\"";
        for word in ["cf", "x-auth-", "0123456789abcdef", long, "a_@["] {
            let w = Word::new(word);
            for text in [
                word.to_string(),
                word.to_uppercase(),
                format!("{word}{}", "x".repeat(20)),
                format!("{}{}", word.to_uppercase(), "x".repeat(20)),
            ] {
                assert!(w.is_at(text.as_bytes(), 0), "{word} in {text}");
                // One byte changed anywhere, the end cut off, or case folded
                // where the word has no letter: not the word.
                for i in 0..word.len() {
                    let mut other = text.clone().into_bytes();
                    other[i] ^= if other[i].is_ascii_alphabetic() {
                        1
                    } else {
                        0x20
                    };
                    assert!(
                        !w.is_at(&other, 0),
                        "{word} in {}",
                        String::from_utf8_lossy(&other)
                    );
                }
                assert!(!w.is_at(&text.as_bytes()[..word.len() - 1], 0));
                assert!(!w.is_at(text.as_bytes(), 1));
            }
        }
    }

    /// Every (word, position) the slow way.
    fn naive(words: &[&str], text: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for at in 0..text.len() {
            for (i, w) in words.iter().enumerate() {
                if text[at..].len() >= w.len()
                    && text[at..at + w.len()].eq_ignore_ascii_case(w.as_bytes())
                {
                    out.push((i, at));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn every_occurrence_in_any_case() {
        // Short words, words that begin others, words alike in their first
        // bytes, a non-letter word, more words than buckets.
        let words = [
            "cf",
            "secret",
            "cloudflare",
            "access",
            "x-auth-",
            "flarectl",
            "wrangler",
            "v1.0-",
            "eyjhijoi",
            "0x4aa",
            ".env",
            ".dev.vars",
            "apitoken",
            "cloud",
            "secretr2",
            "a",
        ];
        let searches = [
            Literals::new(&words, None),
            Literals::new(&words, None).nibbles_only(),
            lowered(&words),
        ];
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(
                searches[0].is_simd(),
                std::arch::is_x86_feature_detected!("avx2")
            );
            assert_eq!(
                searches[0].is_ascii_tables(),
                searches[0].is_simd() && avx512_vbmi()
            );
            assert!(!searches[1].is_ascii_tables());
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..3000 {
            let mut text = Vec::new();
            // Long enough to cross the portable search's chunks now and then.
            let len = if round % 100 == 0 {
                70_000
            } else {
                (next() % 300) as usize
            };
            while text.len() < len {
                let r = next();
                if r % 7 == 0 {
                    let w = words[(r >> 8) as usize % words.len()].as_bytes();
                    text.extend(w.iter().map(|&c| {
                        if (r >> 20) & 1 == 1 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    }));
                } else {
                    text.push(b"xyzCFLA-.\xe9\xc3 \n"[(r >> 8) as usize % 12]);
                }
            }
            let want = naive(&words, &text);
            for search in &searches {
                let mut got = Vec::new();
                search.for_each(&text, |w, at| {
                    got.push((w, at));
                    false
                });
                got.sort_unstable();
                assert_eq!(got, want, "round {round}, len {}", text.len());
            }
        }
    }

    #[test]
    fn more_short_words_than_buckets() {
        // Ten words under the fingerprint and one over, in eight buckets:
        // some share.
        let words = [
            "ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st", "secret",
        ];
        let text = b"xAbcdEFghIJklMNopQRst secret SeCrEt st qr q".repeat(3);
        let mut got = Vec::new();
        Literals::new(&words, None).for_each(&text, |w, at| {
            got.push((w, at));
            false
        });
        got.sort_unstable();
        assert_eq!(got, naive(&words, &text));
    }

    #[test]
    fn stops_when_asked() {
        let search = Literals::new(&["ab"], None);
        let mut n = 0;
        let stopped = search.for_each(&b"ab ".repeat(100), |_, _| {
            n += 1;
            n == 3
        });
        assert!(stopped);
        assert_eq!(n, 3);
    }
}

//! Runs of one class of bytes (a secret's characters, base64's), at least
//! some length long: where a secret of a given shape, or an encoded value,
//! can be. Looked for in every blob a rule may match, so this is one of the
//! hot loops of a scan.
//!
//! On x86-64 with AVX2, 32 bytes are classified at once (two table lookups
//! on the nibbles of each byte, the technique of Hyperscan's "shufti"), and
//! a block is looked at more closely only when a long-enough run may be
//! there: a run longer than a block where a block is all members or the
//! members at a block boundary add up to it, a shorter one where a block
//! holds a group of members that it must cover. The run is measured 32
//! bytes at a time too (minified code has runs of thousands of word
//! characters). Elsewhere, and for classes with non-ASCII bytes, the scalar
//! sampled search of [`sampled_runs`] runs.
//!
//! Kernel: imports nothing from the crate; knows no rule, blob or finding.

use std::ops::Range;

/// A set of bytes, and what finds its runs fast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteClass {
    member: [bool; 256],
    /// How many bytes are members (shapes are ordered by it for every blob).
    size: usize,
    /// Nibble tables for the SIMD search; None without AVX2 or for a class
    /// with bytes above 0x7F.
    simd: Option<Shufti>,
}

/// Per low nibble, a bit for each high nibble (0 to 7) that makes a member
/// with it; per high nibble, its bit. Both repeated for each 16-byte lane.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shufti {
    low: [u8; 32],
    high: [u8; 32],
}

impl ByteClass {
    /// The class of the bytes marked in `member`.
    pub fn new(member: [bool; 256]) -> ByteClass {
        let simd = (avx2() && !member[0x80..].iter().any(|&m| m)).then(|| {
            let (mut low, mut high) = ([0u8; 32], [0u8; 32]);
            for b in (0..0x80).filter(|&b| member[b]) {
                low[b & 15] |= 1 << (b >> 4);
                low[16 + (b & 15)] |= 1 << (b >> 4);
            }
            for h in 0..8 {
                high[h] = 1 << h;
                high[16 + h] = 1 << h;
            }
            Shufti { low, high }
        });
        let size = member.iter().filter(|&&m| m).count();
        ByteClass { member, size, simd }
    }

    /// True if `byte` is in the class.
    pub fn contains(&self, byte: u8) -> bool {
        self.member[usize::from(byte)]
    }

    /// The number of bytes in the class.
    pub fn size(&self) -> usize {
        self.size
    }

    /// True if every member of this class is one of `other`'s.
    pub fn within(&self, other: &ByteClass) -> bool {
        self.member
            .iter()
            .zip(&other.member)
            .all(|(&a, &b)| !a || b)
    }

    /// Calls `found` with each maximal run of members in `data[within]` at
    /// least `min_len` long, in order.
    pub fn runs(
        &self,
        data: &[u8],
        within: Range<usize>,
        min_len: usize,
        mut found: impl FnMut(Range<usize>),
    ) {
        let within = within.start.min(data.len())..within.end.min(data.len());
        let member = |i: usize| self.member[usize::from(data[i])];
        // Blocks where no such run can be are passed over. A run longer than
        // a block covers one or crosses one boundary ([`Shufti::next_long_run`]);
        // a shorter one of 2g - 1 members covers a whole aligned group of g.
        let long = min_len > 32;
        let group = match min_len {
            31.. => 16,
            15.. => 8,
            _ => 0,
        };
        #[cfg(target_arch = "x86_64")]
        if let (Some(simd), true) = (&self.simd, group > 0) {
            let mut at = within.start;
            // SAFETY: `simd` exists only where AVX2 was detected.
            while let Some((block, group)) = unsafe {
                if long {
                    simd.next_long_run(data, at..within.end, min_len)
                } else {
                    simd.next_full_group(data, at..within.end, group)
                        .map(|b| (b, group))
                }
            } {
                // SAFETY: as above.
                let (start, end) = unsafe {
                    (
                        simd.run_start(&self.member, data, at..block),
                        simd.run_end(&self.member, data, block + group..within.end),
                    )
                };
                if end - start >= min_len {
                    found(start..end);
                }
                at = end;
            }
            // What is left is shorter than a block; a run may reach into it.
            let mut start = within.end - (within.end - at) % 32;
            while start > at && member(start - 1) {
                start -= 1;
            }
            return sampled_runs(start..within.end, min_len, member, found);
        }
        sampled_runs(within, min_len, member, found)
    }
}

/// A byte followed by a member of a class (`%` and a hex digit, `\\` and
/// `u`): what the decoders look for. Where the byte alone is common (a
/// backslash every 265 bytes of the crates in a cargo registry), looking for
/// it and then at the next byte costs a search per byte found; this looks
/// at both, 32 positions at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    first: u8,
    then: ByteClass,
}

impl Pair {
    /// `first` followed by a byte of `then` (ASCII bytes, for the SIMD search).
    pub fn new(first: u8, then: &[u8]) -> Pair {
        let mut member = [false; 256];
        for &b in then {
            member[usize::from(b)] = true;
        }
        Pair {
            first,
            then: ByteClass::new(member),
        }
    }

    /// The first position `i` in `within` where `data[i]` is the first byte
    /// and `data[i + 1]`, also in `within`, is one of the others.
    pub fn find(&self, data: &[u8], within: Range<usize>) -> Option<usize> {
        let within = within.start.min(data.len())..within.end.min(data.len());
        #[allow(unused_mut)]
        let mut at = within.start;
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = &self.then.simd {
            // SAFETY: `simd` exists only where AVX2 was detected.
            match unsafe { simd.find_pair(self.first, data, within.clone()) } {
                Ok(found) => return Some(found),
                Err(rest) => at = rest,
            }
        }
        let end = within.end.checked_sub(1)?;
        (at..end).find(|&i| data[i] == self.first && self.then.contains(data[i + 1]))
    }
}

/// Calls `found` with each maximal run of consecutive positions in `within`
/// where `member` holds that is at least `min_len` long, in order. A run
/// that long covers one of every `min_len` consecutive positions, so only
/// those are tested and the run around a hit is measured: most positions are
/// never looked at.
fn sampled_runs(
    within: Range<usize>,
    min_len: usize,
    member: impl Fn(usize) -> bool,
    mut found: impl FnMut(Range<usize>),
) {
    let min_len = min_len.max(1);
    // Positions before `floor` belong to runs already measured.
    let mut floor = within.start;
    let mut probe = within.start + min_len - 1;
    while probe < within.end {
        if !member(probe) {
            probe += min_len;
            continue;
        }
        let mut start = probe;
        while start > floor && member(start - 1) {
            start -= 1;
        }
        // A run long enough reaches `last`. Tested from there back towards
        // the probe, a short run usually fails at once, and the gap found
        // is the furthest one: the next run starts after it.
        let last = start + min_len - 1;
        if last >= within.end {
            break;
        }
        if let Some(gap) = (probe + 1..=last).rev().find(|&i| !member(i)) {
            // The next run starts after `gap` and, if long enough, covers
            // gap + min_len.
            floor = gap + 1;
            probe = gap + min_len;
            continue;
        }
        let mut end = last.max(probe) + 1;
        while end < within.end && member(end) {
            end += 1;
        }
        found(start..end);
        floor = end;
        probe = end + min_len;
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
impl Shufti {
    /// Where the first run of at least `min_len` (over 32) members shows
    /// among the whole 32-byte blocks of `within`: a block of members (then
    /// `(its start, 32)`), or the end of one block and the start of the next
    /// (then `(the boundary, 0)`). Such a run is longer than a block, so it
    /// either covers one or crosses one boundary: exact, and one test a block.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn next_long_run(
        &self,
        data: &[u8],
        within: Range<usize>,
        min_len: usize,
    ) -> Option<(usize, usize)> {
        let mut at = within.start;
        // Members at the end of the block before.
        let mut tail = 0usize;
        while at + 32 <= within.end {
            let out = self.outside(data, at);
            if out == 0 {
                return Some((at, 32));
            }
            if tail + out.trailing_zeros() as usize >= min_len {
                return Some((at, 0));
            }
            tail = out.leading_zeros() as usize;
            at += 32;
        }
        None
    }

    /// The start of the first whole group of `group` (8 or 16) members
    /// aligned on `within.start`, among the whole 32-byte blocks of
    /// `within`; None if there is none.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn next_full_group(
        &self,
        data: &[u8],
        within: Range<usize>,
        group: usize,
    ) -> Option<usize> {
        let mut at = within.start;
        while at + 32 <= within.end {
            let out = self.outside(data, at);
            let first = match group {
                16 => [0, 16].into_iter().find(|&g| (out >> g) & 0xffff == 0),
                // The lowest all-zero byte of `out` (the classic zero-byte test:
                // its lowest hit is exact).
                _ => {
                    let zero = out.wrapping_sub(0x0101_0101) & !out & 0x8080_8080;
                    (zero != 0).then(|| (zero.trailing_zeros() as usize) & !7)
                }
            };
            if let Some(g) = first {
                return Some(at + g);
            }
            at += 32;
        }
        None
    }

    /// Where the run of members ending at `within.end` starts (not before
    /// `within.start`); `member` is the class's table, for the bytes short
    /// of a block.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn run_start(&self, member: &[bool; 256], data: &[u8], within: Range<usize>) -> usize {
        let mut end = within.end;
        while end >= within.start + 32 {
            let out = self.outside(data, end - 32);
            if out != 0 {
                return end - out.leading_zeros() as usize;
            }
            end -= 32;
        }
        let tail = data[within.start..end]
            .iter()
            .rposition(|&b| !member[usize::from(b)]);
        tail.map_or(within.start, |i| within.start + i + 1)
    }

    /// Where the run of members starting at `within.start` ends (not after
    /// `within.end`); `member` as for [`Shufti::run_start`].
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn run_end(&self, member: &[bool; 256], data: &[u8], within: Range<usize>) -> usize {
        let mut start = within.start;
        while start + 32 <= within.end {
            let out = self.outside(data, start);
            if out != 0 {
                return start + out.trailing_zeros() as usize;
            }
            start += 32;
        }
        let tail = data[start..within.end]
            .iter()
            .position(|&b| !member[usize::from(b)]);
        tail.map_or(within.end, |i| start + i)
    }

    /// The first `i` in `within` with `data[i] == first` and `data[i + 1]`
    /// a member, among the positions with 32 bytes after them in `within`;
    /// if there is none, Err with the first position not looked at.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn find_pair(
        &self,
        first: u8,
        data: &[u8],
        within: Range<usize>,
    ) -> Result<usize, usize> {
        use std::arch::x86_64::*;
        let first = _mm256_set1_epi8(first as i8);
        let firsts = |at: usize| {
            let bytes = _mm256_loadu_si256(data[at..at + 32].as_ptr().cast());
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, first)) as u32
        };
        let equal = |at: usize| {
            let bytes = _mm256_loadu_si256(data[at..at + 32].as_ptr().cast());
            _mm256_cmpeq_epi8(bytes, first)
        };
        let mut at = within.start;
        while at + 33 <= within.end {
            // Four blocks at a time where none holds the first byte (most),
            // with one test for the four, as `memchr` does.
            if at + 129 <= within.end {
                let any = _mm256_or_si256(
                    _mm256_or_si256(equal(at), equal(at + 32)),
                    _mm256_or_si256(equal(at + 64), equal(at + 96)),
                );
                if _mm256_testz_si256(any, any) == 1 {
                    at += 128;
                    continue;
                }
            }
            let mut hits = firsts(at);
            if hits != 0 {
                hits &= !self.outside(data, at + 1);
                if hits != 0 {
                    return Ok(at + hits.trailing_zeros() as usize);
                }
            }
            at += 32;
        }
        Err(at)
    }

    /// Bit i set: `data[at + i]` is not a member, for i below 32.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn outside(&self, data: &[u8], at: usize) -> u32 {
        use std::arch::x86_64::*;
        let block = &data[at..at + 32];
        let low = _mm256_loadu_si256(self.low.as_ptr().cast());
        let high = _mm256_loadu_si256(self.high.as_ptr().cast());
        let nibble = _mm256_set1_epi8(0x0f);
        let bytes = _mm256_loadu_si256(block.as_ptr().cast());
        let lo = _mm256_shuffle_epi8(low, _mm256_and_si256(bytes, nibble));
        // High nibbles 8 to 15 (non-ASCII bytes) find a zero in `high`.
        let hi_nibble = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), nibble);
        let hi = _mm256_shuffle_epi8(high, hi_nibble);
        let outside = _mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), _mm256_setzero_si256());
        _mm256_movemask_epi8(outside) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every maximal run of members at least `min_len` long, the slow way.
    fn naive(
        member: impl Fn(usize) -> bool,
        within: Range<usize>,
        min_len: usize,
    ) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut i = within.start;
        while i < within.end {
            if !member(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < within.end && member(i) {
                i += 1;
            }
            if i - start >= min_len.max(1) {
                out.push(start..i);
            }
        }
        out
    }

    /// A xorshift generator: random enough for test inputs, and the same every run.
    fn xorshift() -> impl FnMut() -> u64 {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn sampled_runs_are_the_maximal_long_runs() {
        let mut next = xorshift();
        for round in 0..3000 {
            let len = (next() % 300) as usize;
            // From sparse to dense members, so that runs of every length occur.
            let density = 50 + (round % 50) as u64;
            let data: Vec<bool> = (0..len).map(|_| next() % 100 < density).collect();
            let min_len = (next() % 12) as usize;
            let a = (next() as usize) % (len + 1);
            let b = (next() as usize) % (len + 1);
            let within = a.min(b)..a.max(b);
            let mut got = Vec::new();
            sampled_runs(within.clone(), min_len, |i| data[i], |r| got.push(r));
            assert_eq!(
                got,
                naive(|i| data[i], within.clone(), min_len),
                "{within:?} min {min_len}"
            );
        }
    }

    #[test]
    fn pairs_are_found_where_they_first_are() {
        let pair = Pair::new(b'%', b"0123456789abcdefABCDEF");
        assert_eq!(pair.then.simd.is_some(), avx2(), "ASCII followers use SIMD");
        let mut next = xorshift();
        let alphabet = b"%%%a9Fg \n\xe9";
        for round in 0..4000 {
            let len = (next() % 200) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| alphabet[next() as usize % alphabet.len()])
                .collect();
            let a = (next() as usize) % (len + 1);
            let b = (next() as usize) % (len + 1);
            // Now and then a range past the end, which is cut to the data.
            let within = a.min(b)..a.max(b) + (round % 7 == 0) as usize * 5;
            let end = within.end.min(len);
            let naive = (within.start..end.saturating_sub(1))
                .find(|&i| data[i] == b'%' && data[i + 1].is_ascii_hexdigit());
            assert_eq!(pair.find(&data, within.clone()), naive, "{within:?}");
        }
    }

    #[test]
    fn runs_are_the_maximal_long_runs() {
        let mut word = [false; 256];
        for b in (b'0'..=b'9')
            .chain(b'a'..=b'z')
            .chain(b'A'..=b'Z')
            .chain([b'_', b'-'])
        {
            word[usize::from(b)] = true;
        }
        let mut wide = word;
        wide[0xe9] = true;
        let classes = [ByteClass::new(word), ByteClass::new(wide)];
        assert_eq!(classes[0].simd.is_some(), avx2(), "ASCII classes use SIMD");
        assert!(classes[1].simd.is_none());
        let mut next = xorshift();
        let alphabet = b"aZ9_-.= \n\xe9\xff";
        for round in 0..4000 {
            let len = (next() % 700) as usize;
            // From sparse to dense members, so that runs of every length occur.
            let density = 40 + (round % 61) as u64;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 100 < density {
                        alphabet[(r >> 8) as usize % 5]
                    } else {
                        alphabet[5 + (r >> 8) as usize % 6]
                    }
                })
                .collect();
            let min_len = [1, 8, 15, 16, 20, 30, 31, 37, 40, 62, 63, 64, 88][round % 13];
            let a = (next() as usize) % (len + 1);
            let b = (next() as usize) % (len + 1);
            let within = a.min(b)..a.max(b);
            for class in &classes {
                let mut got = Vec::new();
                class.runs(&data, within.clone(), min_len, |r| got.push(r));
                assert_eq!(
                    got,
                    naive(|i| class.contains(data[i]), within.clone(), min_len),
                    "{within:?} min {min_len}"
                );
            }
        }
    }
}

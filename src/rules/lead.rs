//! Leads: what a pattern requires right before its secret, checked at each
//! run of secret characters before the regex is run around it.
//!
//! Windows ([`crate::rules::shape`]) keep the regexes off most of a blob, but
//! in real repositories most runs of secret characters are not secrets: the
//! 40-hex commit ids of every changelog, hashes in lock files, long
//! identifiers. A pattern's regex then ran around each of them, only to find
//! no `name = ` in front (half of a scan of cloudflare/workers-sdk). A lead
//! is the part of the pattern before the `secret` group, compiled backwards:
//! a lazy DFA run from the run's first byte towards the start of its line
//! answers, usually within a few bytes, whether any match of that part ends
//! there. A run it rules out cannot hold a match, so no window is made for
//! it.
//!
//! A lead is only made when the secret must start a run: every match of the
//! part before it ends with a byte outside the secret's class. It reads the
//! same bytes as the pattern's window would (from the same start), with the
//! same ASCII semantics, so it never rules out a match the window holds.
//!
//! Stage: rules (derived from a pattern). It never scans a blob or reports.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::{Hir, HirKind};

/// Makes a DFA cache for a thread that has none.
type MakeCache = Box<dyn Fn() -> Cache + Send + Sync + std::panic::RefUnwindSafe>;

/// The part of a pattern before its secret, compiled to search backwards.
pub struct Lead {
    dfa: DFA,
    caches: Pool<Cache, MakeCache>,
}

impl std::fmt::Debug for Lead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lead")
    }
}

impl Lead {
    /// The lead of `parts`, the top-level parts of a pattern before its
    /// secret (parsed as the pattern is compiled: ASCII, bytes). The caller
    /// ([`crate::rules::shape::SecretShape::lead_of`]) asks only when every
    /// match of them ends with a byte outside the secret's class. None when
    /// the DFA cannot be built: then every run gets its window, as without
    /// leads.
    pub(crate) fn of(parts: &[&Hir]) -> Option<Lead> {
        if parts.is_empty() {
            return None;
        }
        let hir = Hir::concat(parts.iter().map(|h| (*h).clone()).collect());
        if matches!(hir.kind(), HirKind::Empty) {
            return None;
        }
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .reverse(true)
                    // Only whether a match ends here matters, not where.
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_from_hir(&hir)
            .ok()?;
        let dfa = DFA::builder().build_from_nfa(nfa).ok()?;
        let for_caches = dfa.clone();
        let make: MakeCache = Box::new(move || for_caches.create_cache());
        Some(Lead {
            dfa,
            caches: Pool::new(make),
        })
    }

    /// False only if no match of the lead ends at `at` when the text is
    /// `data[from..]` (the window's view: its start is the text's start;
    /// a word boundary at `at` sees the secret's first byte). True when the
    /// DFA gives up: the window decides then.
    pub fn allows(&self, data: &[u8], from: usize, at: usize) -> bool {
        let (Some(text), Some(end)) = (data.get(from..), at.checked_sub(from)) else {
            return true;
        };
        if end > text.len() {
            return true;
        }
        let input = Input::new(text)
            .range(..end)
            .anchored(Anchored::Yes)
            .earliest(true);
        let mut cache = self.caches.get();
        !matches!(self.dfa.try_search_rev(&mut cache, &input), Ok(None))
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::shape::SecretShape;

    fn lead(source: &str) -> Option<super::Lead> {
        SecretShape::of(source)?.lead_of(source)
    }

    const HEX: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_run_after_a_name_and_an_assignment_is_allowed_and_others_are_not() {
        let source = r#"(?P<key>(?i:[\w.-]*cloudflare[\w.-]{0,24}))[ \t]*[:=][ \t]*["']?(?P<secret>[a-f0-9]{37,45})(?:[^a-f0-9]|$)"#;
        let lead = lead(source).expect("the secret starts a run");
        let at = |text: &str| {
            let data = format!("{text}{HEX}\n");
            lead.allows(data.as_bytes(), 0, text.len())
        };
        assert!(at("CLOUDFLARE_KEY = \""));
        assert!(at("x\ncloudflare_api_key: "));
        // A changelog's commit link, a URL, a bare hash.
        assert!(!at("- [`"));
        assert!(!at("https://github.com/cloudflare/workers-sdk/commit/"));
        assert!(!at(""));
        assert!(!at("cloudflare key is "));
    }

    #[test]
    fn the_window_start_is_the_text_start_and_a_boundary_sees_the_secret() {
        // `^` holds where the window starts; `\b` right before the secret
        // looks at its first byte, not at the end of the lead's text.
        let lead = lead(r"^token=\b(?P<secret>[a-f0-9]{40})\b").expect("a lead");
        let data = format!("xx token={HEX}");
        assert!(lead.allows(data.as_bytes(), 3, 9));
        assert!(!lead.allows(data.as_bytes(), 0, 9), "^ is not at 0");
    }

    #[test]
    fn no_lead_when_the_part_before_may_end_inside_the_secret_class() {
        // `[\w]*` may end with a hex digit: the secret need not start a run.
        assert!(lead(r"key\w*(?P<secret>[a-f0-9]{40})\b").is_none());
        // Nothing before the secret: nothing to check.
        assert!(lead(r"(?P<secret>[a-f0-9]{40})\b").is_none());
    }
}

//! Credibility of unprefixed values: is this a random credential, or a name?
//!
//! Part of the matcher stage, run only on regex matches (never on the whole
//! blob), for the formats that have no prefix or checksum to vouch for them:
//! the pre-2026 40-character tokens and the 64-hex Access and R2 secrets
//! (the 37-45 hex Global API Key has entropy and context checks only). A
//! rule names the checks it wants
//! ([`Credibility`], from `rules/*.toml`); each is a measure that fits random
//! base62 and hex, not a list of names seen in the wild:
//!
//! - **words**: the share of the value made of letter words (camelCase,
//!   snake_case and kebab-case segments of five letters or more, or
//!   all-capitals parts of four or more between separators) that could be
//!   spoken (a vowel in every six letters, no four consonants in a row).
//!   Identifiers like `dataSourceCloudflareTunnelVirtualNetwork` are nearly
//!   all words; a random token almost never is.
//! - **like its key**: the value starts with the same six characters or
//!   more as the name it is assigned to (`"acmeissuerdns01providercloudflare-v1alpha1",
//!   "acmeissuerdns01providerclouddns-v1alpha1"`): a sibling in a list of
//!   names. A random value shares its first six characters with its name
//!   with probability 62^-6.
//! - **cut**: the value goes on past the match into a longer base64, hex or
//!   dotted run (`h1:<base64>+...=` in go.sum), or is itself followed by
//!   `=` (a name being assigned): it is a piece of something else.
//!
//! What share of random tokens each check drops is measured by the ignored
//! test `random_token_drop_rates` in tests/real_world.rs (figures in the
//! README).
//!
//! Stage: rules (data and the pure checks it names). It never scans a blob.

use serde::Deserialize;

/// The checks a rule asks of its values, as written in its rule file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credibility {
    /// Reject a value whose share of word letters ([`word_share`]) is at
    /// least this.
    #[serde(default)]
    pub max_word_share: Option<f64>,
    /// Reject a value that starts like its key ([`like_key`]).
    #[serde(default)]
    pub not_like_key: bool,
    /// Reject a value that is cut out of a longer run ([`is_cut`]).
    #[serde(default)]
    pub not_cut: bool,
}

/// One check of [`Credibility`], to say which one rejected a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// `max_word_share`.
    Words,
    /// `not_like_key`.
    LikeKey,
    /// `not_cut`.
    Cut,
}

impl Check {
    /// The rule file's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Check::Words => "max_word_share",
            Check::LikeKey => "not_like_key",
            Check::Cut => "not_cut",
        }
    }
}

impl Credibility {
    /// True if no check is asked for.
    pub fn is_empty(&self) -> bool {
        self.max_word_share.is_none() && !self.not_like_key && !self.not_cut
    }

    /// The checks asked for.
    pub fn checks(&self) -> Vec<Check> {
        let mut out = Vec::new();
        if self.max_word_share.is_some() {
            out.push(Check::Words);
        }
        if self.not_like_key {
            out.push(Check::LikeKey);
        }
        if self.not_cut {
            out.push(Check::Cut);
        }
        out
    }

    /// The first check that the value `data[start..end]`, assigned to
    /// `key` if the pattern saw one, fails.
    pub fn rejects(
        &self,
        data: &[u8],
        start: usize,
        end: usize,
        key: Option<&[u8]>,
    ) -> Option<Check> {
        self.checks()
            .into_iter()
            .find(|&c| !self.passes(c, data, start, end, key))
    }

    /// Whether the value `data[start..end]` (assigned to `key`) passes
    /// `check` (true when the rule does not ask for it).
    pub fn passes(
        &self,
        check: Check,
        data: &[u8],
        start: usize,
        end: usize,
        key: Option<&[u8]>,
    ) -> bool {
        let value = &data[start..end];
        match check {
            Check::Words => self
                .max_word_share
                .is_none_or(|max| word_share(value) < max),
            Check::LikeKey => !self.not_like_key || !key.is_some_and(|k| like_key(value, k)),
            Check::Cut => !self.not_cut || !is_cut(data, start, end),
        }
    }
}

/// The share (0 to 1) of `value`'s bytes that are in words: split at `_`,
/// `-`, `.` and digits, then at camelCase boundaries (`dataSource` →
/// `data`, `Source`; `HTTPServer` → `HTTP`, `Server`), a word is a
/// segment of five letters or more with at most its first letter upper case,
/// or a part between separators (or the ends) that is all capitals, four
/// letters or more (`WORKERS` in `TF_ACCT_WORKERS_API_KEY`).
pub fn word_share(value: &[u8]) -> f64 {
    if value.is_empty() {
        return 0.0;
    }
    let mut words = 0usize;
    for part in value.split(|b| matches!(b, b'_' | b'-' | b'.')) {
        if part.len() >= 4 && part.iter().all(u8::is_ascii_uppercase) && speakable(part) {
            words += part.len();
            continue;
        }
        for run in part.split(|b| !b.is_ascii_alphabetic()) {
            words += camel_words(run);
        }
    }
    words as f64 / value.len() as f64
}

/// Letters of `run` (letters only) in camelCase words of five or more.
fn camel_words(run: &[u8]) -> usize {
    let mut words = 0;
    let mut i = 0;
    while i < run.len() {
        // A segment: optional capital, then lower case letters; a run of
        // capitals before a lower case letter gives its last capital to it.
        let mut j = i;
        while j < run.len() && run[j].is_ascii_uppercase() {
            j += 1;
        }
        let start = if j > i + 1 && j < run.len() { j - 1 } else { i };
        let mut k = j;
        while k < run.len() && run[k].is_ascii_lowercase() {
            k += 1;
        }
        if k - start >= 5 && k > j && speakable(&run[start..k]) {
            words += k - start;
        }
        i = k.max(i + 1);
    }
    words
}

/// Letters that could be a word: a vowel (`y` counts) in every six, and
/// no four consonants in a row. Random lower case runs (`xowqhweuk`,
/// `pxhszq`) mostly fail this; words rarely do.
fn speakable(letters: &[u8]) -> bool {
    let vowel = |b: &u8| b"aeiouyAEIOUY".contains(b);
    let vowels = letters.iter().filter(|b| vowel(b)).count();
    if vowels * 6 < letters.len() {
        return false;
    }
    let mut run = 0;
    for b in letters {
        run = if vowel(b) { 0 } else { run + 1 };
        if run >= 4 {
            return false;
        }
    }
    true
}

/// True if `value` starts with the same six characters or more as `key`
/// (ASCII case ignored): a name listed beside another name.
pub fn like_key(value: &[u8], key: &[u8]) -> bool {
    let common = value
        .iter()
        .zip(key)
        .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
        .count();
    common >= 6
}

/// True if the value `data[start..end]` is a piece of a longer run: the
/// next byte is `+` or `/` followed by a base64 character, `.` followed by a
/// letter or digit (a path, a dotted name), or `=` (base64 padding, or the
/// value is a name being assigned); or the byte before is `+`, `/` or `.`
/// after a letter or digit.
pub fn is_cut(data: &[u8], start: usize, end: usize) -> bool {
    let joins = |b: u8| matches!(b, b'+' | b'/' | b'.');
    let base64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let after = match data.get(end) {
        Some(b'=') => true,
        // `h1:<40>//w=`: base64 goes on after a `+` or `/`.
        Some(b'+' | b'/') => data.get(end + 1).is_some_and(base64),
        Some(b'.') => data.get(end + 1).is_some_and(u8::is_ascii_alphanumeric),
        _ => false,
    };
    let before = start >= 2 && joins(data[start - 1]) && data[start - 2].is_ascii_alphanumeric();
    after || before
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True if `text` is a cloudflared tunnel token: base64 of a JSON object with
/// `a` (32-hex account tag), `t` (tunnel UUID) and a non-empty `s` (secret).
/// Extra keys are tolerated: newer cloudflared versions may add some.
pub fn is_tunnel_token(text: &[u8]) -> bool {
    let Some(json) = crate::kernel::base64::base64_any(text) else {
        return false;
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&json)
    else {
        return false;
    };
    let field = |k: &str| map.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let tunnel = field("t");
    is_hex(field("a"), 32)
        && tunnel.len() == 36
        && tunnel.split('-').map(str::len).eq([8, 4, 4, 4, 12])
        && field("s").len() >= 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    #[test]
    fn names_are_words_random_tokens_are_not() {
        for name in [
            "dataSourceCloudflareTunnelVirtualNetwork",
            "TunnelCloudflaredNewResponseTunTypeMagic",
            "cloudflare_zero_trust_access_application",
            "TF_ACCT_WORKERS_WORKERS_EXTENDED_API_KEY",
        ] {
            assert!(word_share(name.as_bytes()) >= 0.6, "{name}");
        }
        for token in [
            "Xk9vB2mN4pQ7rS1tU3wY5zA8cD0eF2gH4jK6lM8n",
            "msHctX_FyTz7vDtcM4xBUbcDAaIEfIQ8FkJR6sod",
        ] {
            assert!(word_share(token.as_bytes()) < 0.3, "{token}");
        }
        // The camelCase split: HTTPServer is HTTP + Server.
        assert_eq!(camel_words(b"HTTPServer"), 6);
        assert_eq!(camel_words(b"abcd"), 0);
        assert_eq!(word_share(b""), 0.0);
    }

    #[test]
    fn values_like_their_key_are_names() {
        assert!(like_key(
            b"acmeissuerdns01providerclouddns-v1alpha1",
            b"acmeissuerdns01providercloudflare-v1alpha1"
        ));
        assert!(!like_key(
            b"Xk9vB2mN4pQ7rS1tU3wY5zA8cD0eF2gH4jK6lM8n",
            b"CLOUDFLARE_API_TOKEN"
        ));
        assert!(!like_key(b"cloudXk9vB2mN", b"cloudflare"));
    }

    #[test]
    fn random_lower_case_runs_are_not_words() {
        assert!(!speakable(b"xowqhweuk"));
        assert!(!speakable(b"pxhszq"));
        assert!(speakable(b"Cloudflare"));
        assert!(speakable(b"SCRIPT"));
        // Peers' lower case sample tokens are not names.
        assert!(word_share(b"8xmo5pg4zyeqy_plefa41ry-xowqhweuk3pxhszq") < 0.6);
    }

    #[test]
    fn cut_values_continue_into_a_longer_run() {
        let d = b"h1:dk7sVDyTzZQeq1MJESPRLckhgia7A1w1pgxNj6ZJ+abc=";
        assert!(is_cut(d, 3, 43));
        let d = b"h1:dk7sVDyTzZQeq1MJESPRLckhgia7A1w1pgxNj6ZJ//w=";
        assert!(is_cut(d, 3, 43));
        let d = b"KEY=dk7sVDyTzZQeq1MJESPRLckhgia7A1w1pgxNj6ZJ\n";
        assert!(!is_cut(d, 4, 44));
        let d = b"x NAME= 1";
        assert!(is_cut(d, 2, 6));
        let d = b"a/b.VALUE end.";
        assert!(is_cut(d, 4, 9));
        assert!(!is_cut(b"token VALUE.", 6, 11));
    }

    #[test]
    fn rejects_names_the_first_failing_check() {
        let c = Credibility {
            max_word_share: Some(0.6),
            not_like_key: true,
            not_cut: true,
        };
        let name = b"dataSourceCloudflareTunnelVirtualNetwork";
        assert_eq!(c.rejects(name, 0, name.len(), None), Some(Check::Words));
        let ok = b"Xk9vB2mN4pQ7rS1tU3wY5zA8cD0eF2gH4jK6lM8n";
        assert_eq!(
            c.rejects(ok, 0, ok.len(), Some(b"Xk9vB2")),
            Some(Check::LikeKey)
        );
        assert_eq!(c.rejects(ok, 0, ok.len(), Some(b"CF_API_TOKEN")), None);
        assert!(Credibility::default().is_empty());
    }

    #[test]
    fn tunnel_tokens() {
        let json = r#"{"a":"0123456789abcdef0123456789abcdef","t":"6f6d54b0-9c62-4e2b-8d7a-1f3b5c6d7e8f","s":"ZGVtbyB0dW5uZWwgc2VjcmV0IGZvciBrZXlmbGFyZQ=="}"#;
        let token = STANDARD.encode(json);
        assert!(is_tunnel_token(token.as_bytes()));
        assert!(is_tunnel_token(token.trim_end_matches('=').as_bytes()));
        let no_secret = STANDARD.encode(r#"{"a":"0123456789abcdef0123456789abcdef","t":"6f6d54b0-9c62-4e2b-8d7a-1f3b5c6d7e8f"}"#);
        assert!(!is_tunnel_token(no_secret.as_bytes()));
        assert!(!is_tunnel_token(b"eyJhIjoi!!!"));
        assert!(!is_tunnel_token(b""));
    }
}

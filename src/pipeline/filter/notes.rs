//! Notes: shapes hygiene findings into what an owner should read, after
//! matching and the configuration's allowlist, before the baseline,
//! verification and reports.
//!
//! A hygiene match is a remark about how credentials are handled, not a
//! leak, so it is held to "would the owner act on it?":
//! - none from vendored or third-party code ([`vendored`]) or a git
//!   submodule's path, unless asked for: that code implements the API, the
//!   owner does not maintain it. Credentials there are still reported.
//! - a rule with `per_file = true` (committed `.env`/`.dev.vars` files) gives
//!   one note per file naming its keys, and none for values that are plainly
//!   not secrets ([`plainly_not_secret`]).
//!
//! Credential findings pass through untouched.
//!
//! Pipeline, filter stage: shapes findings; never reads a source or renders.

use std::collections::BTreeMap;

use crate::finding::{fingerprint, Finding, FindingClass, Secret};
use crate::rules::RuleSet;

/// Path components that hold other people's code: Go, PHP and Ruby's
/// `vendor`, npm's `node_modules` (and Bower's `bower_components`), and
/// `third_party` / `third-party`, the two spellings of the convention for
/// copied-in libraries (Chromium and Google use the first, LLVM and many C++
/// projects the second).
pub const VENDORED_DIRS: &[&str] = &[
    "vendor",
    "node_modules",
    "bower_components",
    "third_party",
    "third-party",
];

/// What [`shape`] keeps.
#[derive(Clone, Debug, Default)]
pub struct NoteOptions {
    /// Keep notes from vendored directories and submodules
    /// (`--vendored-notes`).
    pub vendored: bool,
    /// Submodule paths (from `.gitmodules`), `/`-separated, relative to the
    /// scan root.
    pub submodules: Vec<String>,
}

/// True if `path` has a vendored component ([`VENDORED_DIRS`]); an archive
/// member's path (`a.zip!b/c`) counts its inner components too.
pub fn vendored(path: &str) -> bool {
    path.split(['/', '!'])
        .any(|component| VENDORED_DIRS.contains(&component))
}

/// True if `path` is a submodule's path or under one.
fn in_submodule(path: &str, submodules: &[String]) -> bool {
    submodules.iter().any(|s| {
        path.strip_prefix(s.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The `path = ...` entries of a `.gitmodules` file.
pub fn submodule_paths(gitmodules: &str) -> Vec<String> {
    gitmodules
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "path").then(|| v.trim().trim_matches('/').to_string())
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// Applies the rules above to `findings` (in report order, which it keeps).
pub fn shape(findings: &mut Vec<Finding>, rules: &RuleSet, opts: &NoteOptions) {
    let per_file = |f: &Finding| rules.get(&f.rule_id).is_some_and(|r| r.per_file);
    findings.retain(|f| {
        if f.class() != FindingClass::Note {
            return true;
        }
        if !opts.vendored && (vendored(&f.path) || in_submodule(&f.path, &opts.submodules)) {
            return false;
        }
        !(per_file(f) && plainly_not_secret(f.secret.expose()))
    });
    // One note per (path, rule): the first finding's slot holds it.
    let mut groups: BTreeMap<(String, String), Vec<Finding>> = BTreeMap::new();
    let mut slots = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        if f.class() == FindingClass::Note && per_file(&f) {
            let k = (f.path.clone(), f.rule_id.clone());
            let group = groups.entry(k.clone()).or_default();
            if group.is_empty() {
                slots.push(Err(k));
            }
            group.push(f);
        } else {
            slots.push(Ok(f));
        }
    }
    for slot in slots {
        match slot {
            Ok(f) => findings.push(f),
            Err(k) => {
                if let Some(group) = groups.remove(&k) {
                    findings.extend(per_file_note(group));
                }
            }
        }
    }
}

/// Folds one file's matches of a per-file rule into one note: at the match
/// introduced first (history) or the first line, naming every key. The
/// fingerprint covers the keys and their values, so a new value under a
/// known key is a new note, not one a baseline already holds.
fn per_file_note(mut group: Vec<Finding>) -> Option<Finding> {
    let when = |f: &Finding| {
        let at = f.commit.as_ref().map(|c| c.time);
        (at.is_none(), at, f.line, f.column)
    };
    group.sort_by_key(when);
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<(String, String)> = Vec::new();
    for f in &group {
        let k = f.key.clone().unwrap_or_else(|| "(unnamed)".to_string());
        if !keys.contains(&k) {
            keys.push(k.clone());
        }
        values.push((k, f.secret.expose().to_string()));
    }
    values.sort();
    values.dedup();
    let mut note = group.into_iter().next()?;
    let shown = keys.join(", ");
    let mut hashed = shown.clone();
    for (k, v) in &values {
        hashed.push('\0');
        hashed.push_str(k);
        hashed.push('=');
        hashed.push_str(v);
    }
    note.fingerprint = fingerprint(&note.rule_id, &hashed);
    // The note shows key names, never a value.
    note.secret = Secret::new(shown.clone());
    note.redacted = shown;
    note.sensitive = false;
    note.key = None;
    note.decoded = None;
    Some(note)
}

/// Longest piece of a word-like value that still reads as a word (English
/// words past 12 letters are rare; random strings are rarely one case with
/// no digit).
const MAX_WORD: usize = 12;

/// True for values that cannot be a credential: empty, a placeholder
/// (`<token>`, `${VAR}`, `xxxxxxxx`), a number, port, version or date, a URL
/// with no credentials in it, or words in one case (`development`,
/// `my-dev-var-value`, `your-api-token-here`, `true`).
///
/// The word test is what separates `development` from a secret: every piece
/// between separators a word (letters, all in one case or Capitalized, at
/// most [`MAX_WORD`] of them; one letter repeated, `xxxxxxxxxxxxxxxx`, at any
/// length) or a number of at most 4 digits. A random base62 value passes it
/// only if it has no digit and one case: for 16 characters,
/// 2 × (26/62)^16 ≈ 1 in 10⁶.
pub fn plainly_not_secret(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']);
    v.is_empty() || placeholder(v) || number(v) || url_without_credentials(v) || words(v)
}

fn repeated(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|first| s.len() >= 3 && cs.all(|c| c == first))
}

fn placeholder(v: &str) -> bool {
    (v.starts_with('<') && v.ends_with('>'))
        || (v.starts_with("${") && v.ends_with('}'))
        || (v.starts_with("{{") && v.ends_with("}}"))
        || repeated(v)
}

/// A port, version, IP address or date: digits and separators, at most 15
/// long (`255.255.255.255`); a longer run of digits may be a numeric secret
/// (or random hex that happens to have no letter).
fn number(v: &str) -> bool {
    v.len() <= 15
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b".:-_+/".contains(&b))
}

/// `https://host:port/path` with no password, no secret-named query
/// parameter and no random-looking path piece (a webhook's token).
fn url_without_credentials(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once("://") else {
        return false;
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
    {
        return false;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'))
    {
        return false;
    }
    let secret_param = |name: &str| {
        let n = name.to_ascii_lowercase();
        [
            "token",
            "key",
            "secret",
            "sig",
            "pass",
            "auth",
            "credential",
        ]
        .iter()
        .any(|w| n.contains(w))
    };
    let query = tail.split_once('?').map(|(_, q)| q).unwrap_or("");
    if query
        .split('&')
        .any(|p| secret_param(p.split('=').next().unwrap_or("")))
    {
        return false;
    }
    !tail
        .split(['/', '?', '&', '=', '#'])
        .any(|piece| piece.len() >= 20 && !words(piece))
}

fn words(v: &str) -> bool {
    // A piece is a word (letters in one case or Capitalized, at most
    // MAX_WORD of them, or one letter repeated) or a short number
    // (`my-dev-var-2`). `my-PRODUCTION-dev-var-value` is words; a random
    // value mixes cases inside its pieces.
    let word = |p: &str| {
        let tail = p.get(1..).unwrap_or("");
        p.bytes().all(|b| b.is_ascii_alphabetic())
            && (p.len() <= MAX_WORD || repeated(p))
            && (!tail.bytes().any(|b| b.is_ascii_uppercase())
                || !p.bytes().any(|b| b.is_ascii_lowercase()))
    };
    let number = |p: &str| p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
    let mut pieces = v.split(['-', '_', '.', ' ', '/', ':']);
    v.bytes().any(|b| b.is_ascii_alphabetic()) && pieces.all(|p| word(p) || number(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_not_secrets() {
        for v in [
            "",
            "development",
            "production",
            "true",
            "FALSE",
            "8787",
            "0.0.0.0:8080",
            "2024-01-31",
            "my-dev-var-value",
            "your-api-token-here",
            "changeme",
            "xxxxxxxxxxxxxxxxxxxxxxxx",
            "sk_test_xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "<your token>",
            "${CLOUDFLARE_API_TOKEN}",
            "http://localhost:8787",
            "https://example.com/api/v1?format=json",
            "postgres://app@db.internal:5432/app",
            "LOG_LEVEL_DEBUG",
            "my-dev-var-value-12",
            "change-me-to-a-long-random-string",
            "my-PRODUCTION-dev-var-value",
            "Development",
        ] {
            assert!(plainly_not_secret(v), "{v:?} should not be a secret");
        }
    }

    #[test]
    fn secret_looking_values_stay() {
        for v in [
            "Xk9vB2mN4pQ7rS1tU3wY",
            "whsec_1a2B3c4D5e6F7g8H",
            "q9w8e7r6t5y4u3i2",
            "correcthorsebatterystaple",
            "postgres://app:hunter2pass@db.internal:5432/app",
            "https://api.example.com/hook?token=abc",
            "https://hooks.example.com/services/T0A1B2C3D/B9Z8Y7X6W5V4U3T2S1R0",
            "changeme123",
            "aB-cD_eF-gH_iJ-kL",
            "Zp4Lq8Rt2Wv6Xy0Bn3Mc",
        ] {
            assert!(!plainly_not_secret(v), "{v:?} should stay a secret");
        }
    }

    /// The share of random values the test drops: base62, base64url and hex
    /// of 16 to 40 characters, as generated secrets are. A xorshift
    /// generator with a fixed seed keeps the figure reproducible.
    #[test]
    fn random_values_are_almost_never_dropped() {
        const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const BASE64URL: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const HEX: &[u8] = b"abcdef0123456789";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let n = 300_000;
        let mut dropped = 0;
        for i in 0..n {
            let len = 16 + (next() % 25) as usize;
            let alphabet = [BASE62, BASE64URL, HEX][i % 3];
            let v: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                .collect();
            if plainly_not_secret(&v) {
                dropped += 1;
            }
        }
        // Measured: 0 of 300,000 (one case and no digit in 16+ random
        // characters is ~1 in 10^6; a hex value of digits only is longer
        // than a port or a date).
        assert_eq!(dropped, 0, "{dropped} of {n} random values dropped");
    }

    #[test]
    fn vendored_paths_and_submodules() {
        assert!(vendored(
            "vendor/github.com/cloudflare/cloudflare-go/auth.go"
        ));
        assert!(vendored("web/node_modules/cf/index.js"));
        assert!(vendored("src/third-party/lib.go"));
        assert!(vendored("dist/bundle.zip!node_modules/x.js"));
        assert!(!vendored("src/vendored.go"));
        assert!(!vendored("vendors.md"));
        let subs = submodule_paths("[submodule \"x\"]\n\tpath = libs/cf\n\turl = https://e.x/cf\n");
        assert_eq!(subs, ["libs/cf"]);
        assert!(in_submodule("libs/cf/a.go", &subs));
        assert!(in_submodule("libs/cf", &subs));
        assert!(!in_submodule("libs/cfx/a.go", &subs));
    }
}

//! Property tests for the stages that take hostile input: rule loading, the
//! decoders, the checksum and the matcher.
//!
//! What they hold to: nothing panics on arbitrary bytes, text or paths; rule
//! files load or fail with an error that names the file; match spans stay in
//! bounds, sorted and without overlaps, with 1-based positions that agree with
//! the bytes; a synthetic `cfut_` token spliced into random bytes is found
//! exactly when the bytes on either side of it are not word characters; a
//! UTF-16 file with a byte-order mark is searched as text.
//!
//! Case counts are modest (64 to 256) so that the file runs in seconds; the
//! cargo-fuzz targets in `fuzz/` run the same entry points for as long as you
//! like. Every token here is synthetic: `cfut_` + 40 random alphanumerics + the
//! CRC32 of those 40.

use std::sync::{Mutex, MutexGuard, OnceLock};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use keyflare::kernel::base64::base64_any;
use keyflare::matcher::{crc32_suffix_ok, looks_like_placeholder, Match, Matcher};
use keyflare::rules::credibility::is_tunnel_token;
use keyflare::source::blob::Blob;
use keyflare::RuleSet;
use proptest::prelude::*;
use proptest::sample::select;

const USER_TOKEN_RULE: &str = "kf.cloudflare.user-api-token";

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Pieces that steer random bytes into the matcher's interesting paths:
/// keywords, names, separators, companions, non-ASCII, a BOM. No allow
/// markers: those would legitimately hide an embedded token.
const PIECES: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b"=",
    b": ",
    b"\"",
    b"'",
    b"_",
    b"-",
    b"a",
    b"Z",
    b"7",
    b"cfut_",
    b"cfat_",
    b"cfk_",
    b"cf_",
    b"cf-",
    b"cloudflare",
    b"CLOUDFLARE_API_TOKEN=",
    b"CF_API_KEY=\"",
    b"X-Auth-Key: ",
    b"X-Auth-Email: ops@example.com\n",
    b"account_id = 0123456789abcdef0123456789abcdef\n",
    b"https://dash.cloudflare.com/fedcba9876543210fedcba9876543210",
    b"http://api.cloudflare.com/client/v4",
    b"api.cloudflare.com",
    b"r2.cloudflarestorage.com",
    b"wrangler",
    b"bearer ",
    b"eyJhIjoi",
    b"TunnelSecret",
    b"v1.0-",
    b"0x4AA",
    b"Xk9vB2mN4pQ7rS1tU3wY5zA8cD0eF2gH4jK6lM8n",
    b"4f2a9c1e8b7d6053a1c2e3f4b5a6978d1e2c3",
    "é€😀".as_bytes(),
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\x00",
];

/// The allow markers, added to the noise where nothing has to be found.
const MARKERS: &[&[u8]] = &[
    b" # keyflare:allow",
    b" # keyflare:allow kf.cloudflare.user-api-token",
    b" // gitleaks:allow",
    b" # pragma: allowlist secret",
];

fn builtin() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules load"))
}

fn matcher() -> &'static Matcher<'static> {
    static MATCHER: OnceLock<Matcher<'static>> = OnceLock::new();
    MATCHER.get_or_init(|| Matcher::new(builtin()))
}

fn scanner() -> &'static keyflare::Scanner<'static> {
    static SCANNER: OnceLock<keyflare::Scanner<'static>> = OnceLock::new();
    SCANNER.get_or_init(|| keyflare::Scanner::new(builtin(), keyflare::ScanOptions::default()))
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn token_from(body: &[u8]) -> String {
    let body = String::from_utf8(body.to_vec()).expect("alphanumeric body");
    format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()))
}

/// A synthetic user token that passes the matcher's credibility checks
/// (the placeholder filter rejects e.g. bodies containing "here" or "abcdef").
fn token() -> impl Strategy<Value = String> {
    prop::collection::vec(select(ALNUM), 40)
        .prop_map(|body| token_from(&body))
        .prop_filter("looks like a placeholder", |t| {
            !looks_like_placeholder(&t.as_bytes()["cfut_".len()..])
        })
}

/// Random bytes mixed with pieces of credential-shaped text.
fn noise_from(pieces: &'static [&'static [u8]], max: usize) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..12),
        3 => select(pieces).prop_map(|p| p.to_vec()),
        1 => token().prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

fn noise() -> impl Strategy<Value = Vec<u8>> {
    noise_from(PIECES, 24)
}

fn noise_with_markers() -> impl Strategy<Value = Vec<u8>> {
    static ALL: OnceLock<Vec<&'static [u8]>> = OnceLock::new();
    let all = ALL.get_or_init(|| PIECES.iter().chain(MARKERS).copied().collect());
    noise_from(all.as_slice(), 24)
}

/// Paths: arbitrary text, or names the rules look at.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        select(vec![
            "",
            ".env",
            "deploy/.dev.vars",
            "wrangler.toml",
            "cloudflare/creds.ini",
            "a/b/c.txt",
            "é/😀/\u{fffd}",
            "../../etc/passwd",
        ])
        .prop_map(String::from),
    ]
}

/// Every invariant a match list must keep, whatever the input.
fn check_matches(rules: &RuleSet, data: &[u8], found: &[Match]) -> Result<(), TestCaseError> {
    let mut previous_end = 0usize;
    for (i, m) in found.iter().enumerate() {
        prop_assert!(m.rule < rules.rules().len());
        prop_assert!(
            m.start <= m.end && m.end <= data.len(),
            "span out of bounds"
        );
        prop_assert!(i == 0 || m.start >= previous_end, "overlap or unsorted");
        previous_end = m.end;
        prop_assert!(m.line >= 1 && m.column >= 1 && m.end_column >= m.column);
        let newlines = data[..m.start].iter().filter(|&&b| b == b'\n').count();
        prop_assert_eq!(m.line, newlines + 1);
        prop_assert_eq!(
            &m.secret,
            &String::from_utf8_lossy(&data[m.start..m.end]).into_owned()
        );
    }
    Ok(())
}

/// A rule file with one rule whose fields come from the test: serialised with
/// the `toml` crate, so the text parses and the rule compiler is what is tested.
fn rule_file(
    regex: &str,
    keywords: &[String],
    near: &[String],
    near_lines: i64,
    priority: i64,
    min_entropy: f64,
    path: Option<&str>,
) -> String {
    let s = |v: &str| toml::Value::String(v.to_string()).to_string();
    let list = |v: &[String]| {
        let items: Vec<String> = v.iter().map(|k| s(k)).collect();
        format!("[{}]", items.join(", "))
    };
    let mut text = format!(
        "[fragments]\nword = '[A-Za-z0-9]'\n\n[[rule]]\nid = \"test.prop\"\nname = \"n\"\n\
         description = \"d\"\nseverity = \"low\"\npriority = {priority}\nkeywords = {}\n\
         min_entropy = {}\nremediation = \"r\"\n",
        list(keywords),
        toml::Value::Float(min_entropy)
    );
    if let Some(p) = path {
        text.push_str(&format!("path = {}\n", s(p)));
    }
    text.push_str(&format!(
        "[[rule.patterns]]\nregex = {}\nnear = {}\nnear_lines = {near_lines}\n",
        s(regex),
        list(near)
    ));
    text
}

/// Pieces of regex syntax, valid and not, that random rules are made of.
const REGEX_PIECES: &[&str] = &[
    "(?P<secret>",
    "(?P<key>",
    "(",
    ")",
    "[a-z]",
    "[A-Za-z0-9]{40}",
    "{{word}}",
    "{{nope}}",
    "{{",
    "}}",
    "${{ secrets.X }}",
    "\\b",
    "^",
    "$",
    "a",
    "cf",
    "_",
    "*",
    "+",
    "?",
    "{2,5}",
    "{100}",
    "|",
    ".",
    "(?i)",
    "(?-u:\\xff)",
    "\\",
    "\\p{L}",
    "[^\\n]",
];

fn regex_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(select(REGEX_PIECES), 0..12).prop_map(|v| v.concat()),
        // Always has a secret group, so more of them compile.
        prop::collection::vec(select(REGEX_PIECES), 0..6)
            .prop_map(|v| format!("(?P<secret>{})", v.concat())),
    ]
}

fn keyword_list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            any::<String>(),
            select(vec!["", "cf", "cfut_", "cloudflare", "a", "é", "CF_"]).prop_map(String::from),
        ],
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // ---- decoders and checksum ----

    #[test]
    fn base64_any_never_panics_and_stays_small(text in any::<Vec<u8>>()) {
        if let Some(decoded) = base64_any(&text) {
            prop_assert!(decoded.len() <= text.len() * 3 / 4 + 3);
        }
    }

    #[test]
    fn base64_any_reads_every_alphabet_and_padding(data in any::<Vec<u8>>()) {
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let text = engine.encode(&data);
            prop_assert_eq!(base64_any(text.as_bytes()), Some(data.clone()));
        }
    }

    #[test]
    fn tunnel_check_never_panics(text in any::<Vec<u8>>(), json in any::<String>()) {
        let _ = is_tunnel_token(&text);
        let _ = is_tunnel_token(STANDARD.encode(&json).as_bytes());
    }

    #[test]
    fn generated_tunnel_tokens_pass_and_broken_ones_fail(
        account in "[0-9a-f]{32}",
        tunnel in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        secret in "[A-Za-z0-9+/=]{16,64}",
        extra in any::<String>(),
        short in 0usize..32,
    ) {
        let good = serde_json::json!({"a": account, "t": tunnel, "s": secret, "x": extra});
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            prop_assert!(is_tunnel_token(engine.encode(good.to_string()).as_bytes()));
        }
        let bad_account = serde_json::json!({"a": &account[..short], "t": tunnel, "s": secret});
        prop_assert!(!is_tunnel_token(STANDARD.encode(bad_account.to_string()).as_bytes()));
        let short_secret = serde_json::json!({"a": account, "t": tunnel, "s": &secret[..short.min(15)]});
        prop_assert!(!is_tunnel_token(STANDARD.encode(short_secret.to_string()).as_bytes()));
    }

    #[test]
    fn crc32_suffix_never_panics(value in any::<Vec<u8>>()) {
        let ok = crc32_suffix_ok(&value);
        prop_assert!(!ok || value.len() >= 48);
    }

    #[test]
    fn crc32_suffix_accepts_its_own_sum_and_rejects_any_other(
        prefix in any::<Vec<u8>>(),
        body in prop::collection::vec(any::<u8>(), 40),
        at in 0usize..8,
        replacement in select(b"0123456789abcdefABCDEFxyz_".to_vec()),
    ) {
        let sum = format!("{:08x}", crc32fast::hash(&body));
        let value = [prefix.as_slice(), &body, sum.as_bytes()].concat();
        prop_assert!(crc32_suffix_ok(&value));
        let mut broken = value.clone();
        let i = value.len() - 8 + at;
        prop_assume!(broken[i] != replacement);
        broken[i] = replacement;
        prop_assert!(!crc32_suffix_ok(&broken));
    }

    // ---- matcher ----

    #[test]
    fn matcher_keeps_its_invariants_on_any_bytes(path in path(), data in any::<Vec<u8>>()) {
        let found = matcher().scan_blob(&path, &data);
        check_matches(builtin(), &data, &found)?;
    }

    #[test]
    fn matcher_keeps_its_invariants_on_credential_shaped_noise(
        path in path(),
        data in noise_with_markers(),
    ) {
        let found = matcher().scan_blob(&path, &data);
        check_matches(builtin(), &data, &found)?;
    }

    #[test]
    fn embedded_token_is_found_exactly_at_word_boundaries(
        path in path(),
        prefix in noise(),
        token in token(),
        suffix in noise(),
    ) {
        let data = [prefix.as_slice(), token.as_bytes(), &suffix].concat();
        let (start, end) = (prefix.len(), prefix.len() + token.len());
        let found = matcher().scan_blob(&path, &data);
        check_matches(builtin(), &data, &found)?;
        let rules = builtin().rules();
        let hit = found.iter().find(|m| m.start == start && m.end == end);
        let bounded = prefix.last().is_none_or(|&b| !is_word(b))
            && suffix.first().is_none_or(|&b| !is_word(b));
        prop_assert_eq!(hit.is_some(), bounded, "boundary bytes {:?} {:?}", prefix.last(), suffix.first());
        if let Some(m) = hit {
            prop_assert_eq!(rules[m.rule].id.as_str(), USER_TOKEN_RULE);
            prop_assert_eq!(&m.secret, &token);
        }
    }

    #[test]
    fn utf16_text_with_a_bom_is_scanned_as_text(
        prefix in "\\PC{0,40}(\n\\PC{0,20}){0,3}",
        before in select(vec![" ", "\n", "\r\n", "=", "\"", "\t", "é", "😀"]),
        token in token(),
        after in select(vec![" ", "\n", "\r\n", "\"", ";", "é"]),
        suffix in "\\PC{0,40}",
        big_endian in any::<bool>(),
    ) {
        let text = format!("{prefix}{before}{token}{after}{suffix}");
        let mut data = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
        for unit in text.encode_utf16() {
            data.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        let blob = Blob::file("notes.txt", data);
        let findings = keyflare::scan_blob(scanner(), &blob, &keyflare::source::Stats::default());
        let line = format!("{prefix}{before}").matches('\n').count() + 1;
        let hit = findings.iter().find(|f| f.secret.expose() == token);
        prop_assert!(hit.is_some(), "token not found in UTF-16 text");
        let hit = hit.expect("checked");
        prop_assert_eq!(hit.rule_id.as_str(), USER_TOKEN_RULE);
        prop_assert_eq!(hit.line, line);
        prop_assert!(hit.column >= 1);
    }

    #[test]
    fn lib_scan_blob_never_panics(path in path(), data in any::<Vec<u8>>(), bom in 0u8..3) {
        let data = match bom {
            0 => data,
            1 => [&[0xFF, 0xFE][..], &data].concat(),
            _ => [&[0xFE, 0xFF][..], &data].concat(),
        };
        for f in keyflare::scan_blob(scanner(), &Blob::file(path, data), &keyflare::source::Stats::default()) {
            prop_assert!(f.line >= 1 && f.column >= 1);
        }
    }
}

/// A rule set kept across the cases of one test, because compiling the
/// built-in rules takes a quarter of a second in a debug build. `keep_builtin`:
/// the built-in rules stay (a loaded file must coexist with them) or go (a
/// mangled copy of them must load on its own). Whatever an earlier case added
/// is dropped first, so every case starts from the same rules.
fn scratch(
    slot: &'static OnceLock<Mutex<RuleSet>>,
    keep_builtin: bool,
) -> MutexGuard<'static, RuleSet> {
    let mut set = slot
        .get_or_init(|| Mutex::new(RuleSet::builtin().expect("built-in rules")))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let builtin_ids: Vec<String> = builtin().rules().iter().map(|r| r.id.clone()).collect();
    let extra: Vec<String> = set
        .rules()
        .iter()
        .map(|r| r.id.clone())
        .filter(|id| !keep_builtin || !builtin_ids.contains(id))
        .collect();
    set.disable(&extra);
    set
}

/// The built-in rule file cut into the `[fragments]` table (with the comments
/// before it) and one text per `[[rule]]`.
fn builtin_rule_blocks() -> &'static (String, Vec<String>) {
    static BLOCKS: OnceLock<(String, Vec<String>)> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        let (_, text) = keyflare::rules::BUILTIN_RULE_FILES
            .iter()
            .find(|(name, _)| *name == "cloudflare.toml")
            .expect("cloudflare.toml is built in");
        let mut parts = text.split("\n[[rule]]\n");
        let head = parts.next().unwrap_or("").to_string();
        let rules = parts.map(|r| format!("\n[[rule]]\n{r}")).collect();
        (head, rules)
    })
}

fn cut_at_char(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Regex atoms that always compile, so a secret group made of them does.
const VALID_REGEX_PIECES: &[&str] = &[
    "[a-z]{8}",
    "[A-Za-z0-9]{40}",
    "{{word}}{12}",
    "[0-9a-f]{37}",
    "cf",
    "_",
    "\\w+",
    "[A-Z]{4}",
];

/// A regex with one secret group that compiles.
fn valid_regex() -> impl Strategy<Value = String> {
    (
        select(vec!["", "(?i)", "CF_TOKEN=", "(?:token|key)\\s*=\\s*"]),
        prop::collection::vec(select(VALID_REGEX_PIECES), 1..5),
    )
        .prop_map(|(head, v)| format!("{head}(?P<secret>{})", v.concat()))
}

/// A random rule file: valid values most of the time (so most cases reach the
/// compile-and-scan step), hostile ones (overflowing priorities, negative
/// `near_lines`, empty keywords, broken regexes) the rest.
fn random_rule_file() -> impl Strategy<Value = String> {
    let valid_words = || {
        prop::collection::vec(
            select(vec!["cf", "cfut_", "cloudflare", "CF_", "token"]).prop_map(String::from),
            1..3,
        )
    };
    (
        prop_oneof![6 => valid_regex(), 1 => regex_text()],
        prop_oneof![6 => valid_words(), 1 => keyword_list()],
        prop_oneof![6 => valid_words(), 1 => keyword_list()],
        prop_oneof![6 => 0i64..=20, 1 => Just(-1i64), 1 => any::<i64>()],
        prop_oneof![6 => -100i64..=100, 1 => Just(i64::from(i32::MAX) + 1), 1 => any::<i64>()],
        prop_oneof![
            6 => 0.0f64..=4.0,
            1 => select(vec![f64::NAN, -1.0, 8.0, f64::INFINITY]),
            1 => any::<f64>()
        ],
        prop_oneof![6 => Just(None), 1 => prop::option::of(regex_text())],
    )
        .prop_map(
            |(regex, keywords, near, near_lines, priority, min_entropy, path)| {
                rule_file(
                    &regex,
                    &keywords,
                    &near,
                    near_lines,
                    priority,
                    min_entropy,
                    path.as_deref(),
                )
            },
        )
}

/// The rule generator itself is checked: most of its files must load, or
/// the property above only ever tests the error path (it once let 0-5 of 64
/// through).
#[test]
fn random_rule_files_mostly_load() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = random_rule_file();
    static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
    let mut loaded = 0;
    for _ in 0..64 {
        let text = strategy.new_tree(&mut runner).expect("a value").current();
        let mut set = scratch(&SET, false);
        if set.add_file("random.toml", &text).is_ok() {
            loaded += 1;
        }
    }
    assert!(loaded >= 32, "only {loaded} of 64 random rule files loaded");
}

/// A rule file with arbitrary text spliced in: anywhere in the file (this
/// mostly tests the TOML parser's errors), or into the rule's regex, which
/// then reaches the rule compiler (random text alone never does).
fn spliced_rule_file() -> impl Strategy<Value = String> {
    let splice = |text: &str, at: prop::sample::Index, insert: &str| {
        let at = cut_at_char(text, at.index(text.len() + 1));
        format!("{}{insert}{}", &text[..at], &text[at..])
    };
    let words = || vec!["cf".to_string(), "token".to_string()];
    prop_oneof![
        1 => (random_rule_file(), any::<prop::sample::Index>(), any::<String>())
            .prop_map(move |(file, at, insert)| splice(&file, at, &insert)),
        2 => (valid_regex(), any::<prop::sample::Index>(), any::<String>())
            .prop_map(move |(regex, at, insert)| {
                rule_file(&splice(&regex, at, &insert), &words(), &words(), 3, 0, 3.0, None)
            }),
    ]
}

/// The spliced files are checked too: enough of them must load (pass the
/// TOML parser and the rule compiler), or `any_rule_text_loads_or_fails_clearly`
/// only ever tests the parser's errors.
#[test]
fn spliced_rule_files_reach_the_compiler() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = spliced_rule_file();
    static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
    let (mut loaded, mut compiled) = (0, 0);
    for _ in 0..128 {
        let text = strategy.new_tree(&mut runner).expect("a value").current();
        let mut set = scratch(&SET, false);
        match set.add_file("spliced.toml", &text) {
            Ok(()) => loaded += 1,
            // Parsed, then refused by the rule checks or the regex compiler.
            Err(e) if !e.to_string().contains("TOML") => compiled += 1,
            Err(_) => {}
        }
    }
    println!("{loaded} of 128 spliced rule files loaded, {compiled} more refused after parsing");
    assert!(
        loaded >= 16,
        "only {loaded} of 128 spliced rule files loaded"
    );
}

/// Found by `random_rules_compile_or_fail_clearly_and_then_scan_safely`:
/// a keyword shorter than four bytes whose second byte is inside a
/// character (" ®") made the matcher cut its two-byte key mid-character
/// and panic while building. Any text is a valid keyword.
#[test]
fn short_keywords_with_wide_characters_build_a_matcher() {
    static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
    for keyword in [" \u{ae}", "\"\u{d1}", "\u{20ac}", "\u{1d11e}", "a\u{e9}"] {
        let text = format!(
            "[[rule]]\nid = \"test.wide\"\nname = \"n\"\ndescription = \"d\"\n\
             severity = \"low\"\npriority = 0\nkeywords = [{keyword:?}]\nmin_entropy = 0.0\n\
             remediation = \"r\"\n[[rule.patterns]]\nregex = \"(?P<secret>[a-z]{{8}})\"\n"
        );
        let mut set = scratch(&SET, false);
        set.add_file("wide.toml", &text)
            .unwrap_or_else(|e| panic!("{keyword:?}: {e}"));
        let m = Matcher::new(&set);
        let data = format!("x {keyword} qzmvkrtw\n");
        let found = m.scan_blob("f.txt", data.as_bytes());
        assert_eq!(found.len(), 1, "{keyword:?}: {found:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    // ---- rule loading ----

    #[test]
    fn any_rule_text_loads_or_fails_clearly(
        text in prop_oneof![any::<String>(), spliced_rule_file()]
    ) {
        static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
        let mut set = scratch(&SET, true);
        match set.add_file("prop.toml", &text) {
            Ok(()) => {
                // What loaded builds a matcher that scans.
                let m = Matcher::new(&set);
                let sample = b"CLOUDFLARE_API_TOKEN=Xk9vB2mN4pQ7rS1tU3wY5zA8cD0eF2gH4jK6lM8n\n";
                check_matches(&set, sample, &m.scan_blob(".env", sample))?;
            }
            Err(e) => prop_assert!(e.to_string().contains("prop.toml"), "{}", e),
        }
    }

    #[test]
    fn mangled_builtin_rules_load_or_fail_clearly(
        which in any::<prop::sample::Index>(),
        cut_at in any::<prop::sample::Index>(),
        cut_len in 0usize..120,
        insert in prop_oneof![
            any::<String>(),
            select(vec!["[[rule]]\n", "\"", "'''", "{{", "}}", "\n", "(?P<secret>", "= [", "]", "{{cfname}}"])
                .prop_map(String::from),
        ],
    ) {
        // One rule at a time (with the fragments): the whole file takes too
        // long to compile per case in a debug build.
        let (head, rules) = builtin_rule_blocks();
        let original = format!("{head}{}", rules[which.index(rules.len())]);
        let at = cut_at_char(&original, cut_at.index(original.len()));
        let end = cut_at_char(&original, at + cut_len);
        let text = format!("{}{insert}{}", &original[..at], &original[end..]);
        static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
        let mut set = scratch(&SET, false);
        match set.add_file("mangled.toml", &text) {
            Ok(()) => {
                // Whatever loaded must also build and run.
                let m = Matcher::new(&set);
                let sample = b"CLOUDFLARE_API_TOKEN=Xk9vB2mN4pQ7rS1tU3wY5zA8cD0eF2gH4jK6lM8n\n";
                check_matches(&set, sample, &m.scan_blob(".env", sample))?;
            }
            Err(e) => prop_assert!(e.to_string().contains("mangled.toml"), "{}", e),
        }
    }

    #[test]
    fn random_rules_compile_or_fail_clearly_and_then_scan_safely(
        text in random_rule_file(),
        data in noise_with_markers(),
        blob_path in path(),
    ) {
        static SET: OnceLock<Mutex<RuleSet>> = OnceLock::new();
        let mut set = scratch(&SET, true);
        match set.add_file("random.toml", &text) {
            Ok(()) => {
                let m = Matcher::new(&set);
                check_matches(&set, &data, &m.scan_blob(&blob_path, &data))?;
            }
            Err(e) => prop_assert!(e.to_string().contains("random.toml"), "{}", e),
        }
    }
}

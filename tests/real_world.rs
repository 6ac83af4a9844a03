//! Detection on shapes seen in real repositories (issue 19: credibility of
//! unprefixed values, documented examples, byte-order marks). Every excerpt
//! is self-written, shaped like what real histories hold; every value is
//! synthetic, except the documented examples, which are public documentation
//! values listed in rules/examples.toml.
//!
//! The ignored test `random_token_drop_rates` measures what share of random
//! tokens each credibility check drops (the README's figures):
//! `cargo test --release --test real_world -- --ignored --nocapture`.

mod support;

use keyflare::finding::{Finding, FindingClass};
use keyflare::matcher::{looks_like_placeholder, shannon_entropy};
use keyflare::pipeline::filter::examples::Examples;
use keyflare::rules::credibility::{is_cut, like_key, word_share};
use keyflare::rules::{RuleSet, Severity};
use keyflare::source::blob::Blob;
use keyflare::source::Stats;
use keyflare::{ScanOptions, Scanner};
use support::keyflare;

fn scan(path: &str, text: &[u8]) -> Vec<Finding> {
    let rules = RuleSet::builtin().expect("rules");
    let scanner = Scanner::new(&rules, ScanOptions::default());
    let blob = Blob::file(path, text.to_vec());
    scanner.scan_blob(&blob, &Stats::default())
}

/// The secrets found in `text` at `path`, as (rule id, value).
fn found(path: &str, text: &str) -> Vec<(String, String)> {
    scan(path, text.as_bytes())
        .into_iter()
        .map(|f| (f.rule_id.clone(), f.secret.expose().to_string()))
        .collect()
}

fn assert_silent(path: &str, text: &str) {
    let f = found(path, text);
    assert!(f.is_empty(), "{path}: expected nothing, found {f:?}");
}

fn assert_finds(path: &str, text: &str, rule: &str, value: &str) {
    let f = found(path, text);
    assert!(
        f.iter().any(|(r, v)| r == rule && v == value),
        "{path}: expected {rule} to find {value}, found {f:?}\n{text}"
    );
}

// --- Names, not tokens --------------------------------------------------

#[test]
fn terraform_resource_names_are_not_tokens() {
    // A Grit migration pattern renaming resources, and a docs page title.
    assert_silent(
        ".grit/patterns/zero_trust_renames.grit",
        "language hcl\n\
         or {\n  \
           `cloudflare_access_application` => `cloudflare_zero_trust_access_application`,\n  \
           `cloudflare_access_custom_page` => `cloudflare_zero_trust_access_custom_page`,\n  \
           `cloudflare_tunnel` => `cloudflare_zero_trust_tunnel_cloudflared`,\n\
         }\n",
    );
    assert_silent(
        "docs/resources/access_mutual_tls_certificate.md",
        "---\npage_title: \"Cloudflare: cloudflare_access_mutual_tls_certificate\"\n\
         subcategory: \"\"\n---\n",
    );
    assert_silent(
        "main.tf",
        "resource \"cloudflare_zero_trust_access_application\" \"app\" {\n  \
           cloudflare = cloudflare_zero_trust_access_application\n}\n",
    );
}

#[test]
fn go_identifiers_are_not_tokens() {
    assert_silent(
        "internal/provider/provider.go",
        "DataSourcesMap: map[string]*schema.Resource{\n\t\
         \"cloudflare_tunnel_virtual_network\":     dataSourceCloudflareTunnelVirtualNetwork(),\n\
         },\n",
    );
    assert_silent(
        "zero_trust/tunnelcloudflared.go",
        "switch r {\n\
         case TunnelCloudflaredNewResponseTunTypeWARP, TunnelCloudflaredNewResponseTunTypeMagic, \
         TunnelCloudflaredNewResponseTunTypeIPSec:\n\treturn true\n}\n",
    );
}

#[test]
fn generated_docs_identifiers_are_not_tokens() {
    // A generated API docs index: kebab-case section names with versions.
    assert_silent(
        "docs/api-docs/navData.js",
        "navData = {\"toc\":[{\"section\":\"acmeissuerdns01providercloudflare-v1alpha1\",\
         \"acmeissuerdns01providerclouddns-v1alpha1\"}]}\n",
    );
}

#[test]
fn environment_variable_names_are_not_tokens() {
    // A CI workflow naming the secret it reads, and the same name assigned.
    // (`..._API_KEY` was already silent: `api_key` is a placeholder word.)
    assert_silent(
        ".github/workflows/acceptance.yml",
        "env:\n  cloudflare_workers_key: TF_ACCT_WORKERS_SCRIPT_EXTENDED_ZONE_KEY\n",
    );
    assert_silent(
        "scripts/acceptance.sh",
        "# cloudflare: TF_ACCT_WORKERS_SCRIPT_EXTENDED_ZONE_KEY=$(vault read -field=key x)\n",
    );
    assert_silent(
        ".github/workflows/acceptance.yml",
        "env:\n  cloudflare_workers_key: TF_ACCT_WORKERS_WORKERS_EXTENDED_API_KEY\n",
    );
    assert_silent(
        "scripts/acceptance.sh",
        "# cloudflare: TF_ACCT_WORKERS_WORKERS_EXTENDED_API_KEY=$(vault read -field=key x)\n",
    );
}

#[test]
fn go_sum_hashes_are_not_tokens() {
    // 40 characters of an h1: base64 hash run up to a `+` or `/`; a 64-hex
    // digest in a path.
    assert_silent(
        "go.sum",
        "github.com/cloudflare/cloudflare-go v0.46.0 h1:Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUu1iOo+fj3kLm0nPq=\n\
         github.com/cloudflare/cloudflare-go v0.46.0/go.mod h1:Zx1Cv3Bn5Mq7We9Rt5Yu7Io9Pa1Sd3Fg5Hj7Kl9Z/w8=\n\
         github.com/cloudflare/cloudflare-go v0.47.0 h1:Hj7Kl9Zx1Cv3Bn5Mq7We9Rt5Yu7Io9Pa1Sd3Fg5H//w=\n",
    );
    assert_silent(
        "assets/cf_access_client_secret.txt",
        "cf_access_client_secret=3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d/manifest.json\n",
    );
}

#[test]
fn repeated_pattern_test_values_are_not_secrets() {
    assert_silent(
        "hyperdrive_test.go",
        "Origin: HyperdriveOrigin{\n\tAccessClientID: \"0123456789abcdef0123456789abcdef.access\",\n\t\
         AccessClientSecret: \"1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a\",\n}\n",
    );
}

// --- Real leaks must still be found ---------------------------------------

const TOKEN: &str = "q7Rk2ZpW9xTm4LbV8nYc1HdJ5sFg3Ae6Uo0Ki_Pu";
const TOKEN_DASH: &str = "Gx4-Tq9mW2zR7pLk1VbN6cY8dH3sJ0fA5eU-iOyB";
const KEY: &str = "7d3f9a1c5e8b2d4f6a0c9e1b3d5f7a9c2e4b6";

#[test]
fn random_tokens_after_cloudflare_names_are_found() {
    let rule = "kf.cloudflare.api-token.legacy";
    let cases = [
        (".env", format!("CLOUDFLARE_API_TOKEN={TOKEN}\n")),
        (
            ".env.production",
            format!("CLOUDFLARE_API_TOKEN=\"{TOKEN_DASH}\"\n"),
        ),
        (
            "deploy/values.yaml",
            format!("cloudflare:\n  apiToken: {TOKEN}\n"),
        ),
        (
            "infra/main.tf",
            format!("provider \"cloudflare\" {{\n  api_token = \"{TOKEN}\"\n}}\n"),
        ),
        (
            "config.json",
            format!("{{\"cloudflare_api_token\": \"{TOKEN_DASH}\"}}\n"),
        ),
        (
            "cmd/dns.go",
            format!("api, err := cloudflare.NewWithAPIToken(\"{TOKEN}\")\n"),
        ),
        (
            "src/deploy.js",
            format!("const CLOUDFLARE_API_TOKEN = '{TOKEN}';\n"),
        ),
        (
            "tools/purge.py",
            format!("cf = CloudFlare.CloudFlare(token=\"{TOKEN_DASH}\")  # cloudflare\n"),
        ),
    ];
    for (path, text) in &cases {
        let value = if text.contains(TOKEN) {
            TOKEN
        } else {
            TOKEN_DASH
        };
        assert_finds(path, text, rule, value);
    }
}

#[test]
fn hex_global_keys_with_an_email_near_are_found() {
    let rule = "kf.cloudflare.global-api-key.legacy";
    let cases = [
        (
            ".env",
            format!("CF_API_EMAIL=ops@example.com\nCF_API_KEY={KEY}\n"),
        ),
        (
            "ansible/vars.yml",
            format!("cf_api_email: ops@example.com\ncf_api_key: \"{KEY}\"\n"),
        ),
        (
            "dns.tf",
            format!(
                "provider \"cloudflare\" {{\n  email   = \"ops@example.com\"\n  api_key = \"{KEY}\"\n}}\n"
            ),
        ),
        (
            "secrets.json",
            format!("{{\"CF_API_EMAIL\": \"ops@example.com\", \"CF_API_KEY\": \"{KEY}\"}}\n"),
        ),
        (
            "main.go",
            format!("api, err := cloudflare.New(\"{KEY}\", \"ops@example.com\")\n"),
        ),
        (
            "purge.js",
            format!(
                "headers: {{ 'X-Auth-Email': 'ops@example.com', 'X-Auth-Key': '{KEY}' }}\n"
            ),
        ),
        (
            "purge.py",
            format!("CF_API_EMAIL = 'ops@example.com'\nCF_API_KEY = '{KEY}'\n"),
        ),
    ];
    for (path, text) in &cases {
        assert_finds(path, text, rule, KEY);
    }
}

#[test]
fn lower_case_random_tokens_are_still_found() {
    // Peers' sample generators write lower case tokens: long letter runs,
    // but not words.
    for t in [
        "8xmo5pg4zyeqy_plefa41ry-xowqhweuk3pxhszq",
        "kj7fzxg1tuepd15ch_-_txpwnoaq924vw8868rmm",
    ] {
        assert_finds(
            "config.yml",
            &format!("cloudflare_token: {t}\n"),
            "kf.cloudflare.api-token.legacy",
            t,
        );
    }
}

#[test]
fn real_shaped_tokens_in_readmes_and_examples_are_found() {
    // A token pasted into a README's JSON config and a Terraform example:
    // random-looking, one place only, so not a documented example.
    assert_finds(
        "README.md",
        "```json\n\"provider\": {\n  \"name\": \"cloudflare\",\n  \"api_token\": \"mT5x_QrZ8vKp2WcN7hLd4FbJ9sYg1AeUo3Ri6-Xn\"\n}\n```\n",
        "kf.cloudflare.api-token.legacy",
        "mT5x_QrZ8vKp2WcN7hLd4FbJ9sYg1AeUo3Ri6-Xn",
    );
}

// --- Documented examples --------------------------------------------------

const SDK_TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
const LEGO_KEY: &str = "b9841238feb177a84330febba8a83208921177bffe733";

fn sdk_readme() -> String {
    format!(
        "client := cloudflare.NewClient(\n\toption.WithAPIToken(\"{SDK_TOKEN}\"), // defaults to CLOUDFLARE_API_TOKEN\n)\n"
    )
}

#[test]
fn documented_examples_are_reported_once_at_the_lowest_severity() {
    let mut all = Vec::new();
    for i in 0..5 {
        all.extend(scan(
            &format!("examples/ex{i}/README.md"),
            sdk_readme().as_bytes(),
        ));
    }
    all.extend(scan(
        "providers/dns/cloudflare/cloudflare.toml",
        format!("Example = '''\nCLOUDFLARE_EMAIL=you@example.com \\\nCLOUDFLARE_API_KEY={LEGO_KEY} \\\nlego run --dns cloudflare\n'''\n").as_bytes(),
    ));
    all.extend(scan(
        ".env",
        format!("CLOUDFLARE_API_TOKEN={TOKEN}\n").as_bytes(),
    ));
    assert_eq!(all.len(), 7, "{all:?}");
    let examples = Examples::builtin().expect("examples");
    let notice = examples.mark(&mut all, false).expect("a notice");
    assert!(
        notice.contains("2 documented example values") && notice.contains("6 places"),
        "{notice}"
    );
    assert_eq!(all.len(), 3);
    let sdk = all
        .iter()
        .find(|f| f.secret.expose() == SDK_TOKEN)
        .expect("kept once");
    assert_eq!(sdk.path, "examples/ex0/README.md");
    assert_eq!(sdk.example_repeats, 4);
    assert_eq!(sdk.severity, Severity::Low);
    assert_eq!(sdk.class(), FindingClass::Example);
    assert!(sdk
        .documented_example
        .as_deref()
        .is_some_and(|s| s.contains("cloudflare-go")));
    let lego = all
        .iter()
        .find(|f| f.secret.expose() == LEGO_KEY)
        .expect("lego");
    assert_eq!(lego.class(), FindingClass::Example);
    // The real leak stays a credential at its own severity.
    let leak = all
        .iter()
        .find(|f| f.secret.expose() == TOKEN)
        .expect("leak");
    assert_eq!(leak.class(), FindingClass::Credential);
    assert_eq!(leak.severity, Severity::High);
    assert!(leak.documented_example.is_none());
}

#[test]
fn strict_examples_leave_every_finding_as_it_is() {
    let mut all = Vec::new();
    for i in 0..3 {
        all.extend(scan(&format!("ex{i}.go"), sdk_readme().as_bytes()));
    }
    assert!(Examples::builtin().unwrap().mark(&mut all, true).is_none());
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .all(|f| f.class() == FindingClass::Credential && f.severity == Severity::High));
}

#[test]
fn strict_examples_flag_and_config_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..3 {
        std::fs::write(dir.path().join(format!("ex{i}.go")), sdk_readme()).expect("write");
    }
    let run = |extra: &[&str]| {
        let out = keyflare()
            .arg("scan")
            .arg(dir.path())
            .args(["--format", "json"])
            .args(extra)
            .output()
            .expect("run");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["severity"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&[]), vec!["low"]);
    assert_eq!(run(&["--strict-examples"]), vec!["high"; 3]);
    std::fs::write(dir.path().join("keyflare.toml"), "strict_examples = true\n").expect("config");
    assert_eq!(run(&[]), vec!["high"; 3]);
}

// --- Byte-order marks -----------------------------------------------------

#[test]
fn ff_fe_then_ascii_is_read_as_bytes_too() {
    let mut data = vec![0xFF, 0xFE];
    data.extend_from_slice(format!("# deploy settings\nCLOUDFLARE_API_TOKEN={TOKEN}\n").as_bytes());
    let f = scan("settings.env", &data);
    assert!(
        f.iter().any(|f| f.secret.expose() == TOKEN && f.line == 2),
        "{f:?}"
    );
    assert_eq!(f.len(), 1, "{f:?}");
}

#[test]
fn real_utf16_is_still_transcoded() {
    let mut data = vec![0xFF, 0xFE];
    for u in format!("# deploy settings\r\nCLOUDFLARE_API_TOKEN={TOKEN}\r\n").encode_utf16() {
        data.extend_from_slice(&u.to_le_bytes());
    }
    let f = scan("settings.ps1", &data);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].secret.expose(), f[0].line), (TOKEN, 2));
}

// --- Measurement ----------------------------------------------------------

/// xorshift64*: a fixed, dependency-free stream of random bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn token(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[(self.next() >> 33) as usize % alphabet.len()])
            .collect()
    }
}

/// What share of random tokens each check drops, over 1,000,000 tokens per
/// alphabet (the README's table). The thresholds are the built-in rules'.
#[test]
#[ignore = "measurement: 6,000,000 tokens"]
fn random_token_drop_rates() {
    const N: usize = 1_000_000;
    let base62 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let base64url = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let lower = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let lower_sep = b"abcdefghijklmnopqrstuvwxyz0123456789_-";
    let hex = b"0123456789abcdef";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    println!("| values | check | dropped |");
    println!("|---|---|---|");
    for (name, alphabet, lens, token_rule) in [
        ("40 base62", &base62[..], 40..=40, true),
        ("40 [A-Za-z0-9_-]", &base64url[..], 40..=40, true),
        ("40 [a-z0-9]", &lower[..], 40..=40, true),
        ("40 [a-z0-9_-]", &lower_sep[..], 40..=40, true),
        ("37-45 hex", &hex[..], 37..=45, false),
        ("64 hex", &hex[..], 64..=64, false),
    ] {
        let (mut words, mut like, mut cut, mut entropy, mut placeholder, mut any) =
            (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
        let span = lens.end() - lens.start() + 1;
        for i in 0..N {
            let len = lens.start() + i % span;
            let t = rng.token(alphabet, len);
            let w = token_rule && word_share(&t) >= 0.6;
            // Assigned to a usual name, after `=`, before a newline.
            let l = token_rule && like_key(&t, b"CLOUDFLARE_API_TOKEN");
            let line = [b"KEY=".as_slice(), &t, b"\n"].concat();
            let k = is_cut(&line, 4, 4 + t.len());
            let min_entropy = if token_rule { 3.5 } else { 3.0 };
            let e = shannon_entropy(&t) < min_entropy;
            let p = looks_like_placeholder(&t);
            words += w as usize;
            like += l as usize;
            cut += k as usize;
            entropy += e as usize;
            placeholder += p as usize;
            any += (w || l || k || e || p) as usize;
        }
        let pct = |n: usize| format!("{:.4}%", n as f64 * 100.0 / N as f64);
        if token_rule {
            println!("| {name} | max_word_share 0.6 | {} |", pct(words));
            println!("| {name} | not_like_key | {} |", pct(like));
        }
        println!("| {name} | not_cut | {} |", pct(cut));
        println!("| {name} | min_entropy | {} |", pct(entropy));
        println!("| {name} | placeholder filter | {} |", pct(placeholder));
        println!("| {name} | all of the rule's checks | {} |", pct(any));
        // Random tokens must still be found: under 1% dropped in all.
        assert!(any * 100 < N, "{name}: {}", pct(any));
    }
}

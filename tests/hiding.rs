//! Secrets where they hide: encoded values, Cloudflare tool files,
//! infrastructure state and archives (fixtures/hiding, written by
//! fixtures/generate_hiding.py), plus look-alikes that must stay silent and
//! archives that try to exhaust memory.

mod support;

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::Value;
use support::{fixture_tree, fixtures, json_scan, keyflare};

/// (path, line, column, rule, decoded)
type Row = (String, u64, u64, String, Option<String>);

fn rows(findings: &[Value]) -> BTreeSet<Row> {
    findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                f["rule_id"].as_str().unwrap_or("").to_string(),
                f["decoded"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn expected() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("hiding.expected.json")).expect("expected");
    serde_json::from_str::<Value>(&text)
        .expect("json")
        .as_array()
        .expect("array")
        .clone()
}

fn expected_warnings() -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join("hiding.warnings.json")).expect("warnings");
    serde_json::from_str(&text).expect("json")
}

fn found(v: &Value) -> Vec<Value> {
    v["findings"].as_array().expect("findings").clone()
}

fn secrets() -> Vec<String> {
    let mut s: Vec<String> = expected()
        .iter()
        .filter(|e| !e["rule_id"].as_str().unwrap_or("").contains("hygiene"))
        .map(|e| e["secret"].as_str().expect("secret").to_string())
        .collect();
    s.sort();
    s.dedup();
    s
}

#[test]
fn finds_every_hidden_secret_where_it_is_encoded() {
    let (_t, dir) = fixture_tree("hiding");
    let (v, code) = json_scan(&dir, &[]);
    assert_eq!(code, 1);
    assert_eq!(rows(&found(&v)), rows(&expected()));
    // Each decoded finding names the key it was stored under, when there is one.
    let by_path = |p: &str| {
        found(&v)
            .into_iter()
            .find(|f| f["path"] == p)
            .expect("finding")
    };
    assert_eq!(by_path("k8s/cert-manager.yaml")["key"], "api-token");
    assert_eq!(by_path("docker/config.json")["key"], "auth");
    assert_eq!(by_path("home/.cloudflared/cert.pem")["key"], "apiToken");
    // The account id in cert.pem's JSON comes along for verification.
    assert_eq!(
        by_path("home/.cloudflared/cert.pem")["account_ids"]
            .as_array()
            .map(|a| a.len()),
        Some(1)
    );
    let s = &v["summary"];
    assert!(s["archive_members"].as_u64().unwrap_or(0) >= 6, "{s}");
    assert!(s["decoded_values"].as_u64().unwrap_or(0) >= 10, "{s}");
}

#[test]
fn archives_bombs_and_deep_nesting_are_warnings() {
    let (_t, dir) = fixture_tree("hiding");
    let (v, _) = json_scan(&dir, &[]);
    let warnings: Vec<String> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap_or("").to_string())
        .collect();
    for w in expected_warnings() {
        assert!(
            warnings.iter().any(|got| got.starts_with(&w)),
            "no warning {w:?} in {warnings:?}"
        );
    }
    assert_eq!(warnings.len(), expected_warnings().len(), "{warnings:?}");
    // Only bombs: nothing found, the scan is incomplete, so exit 2.
    let (v, code) = json_scan(&dir.join("bombs"), &[]);
    assert_eq!(code, 2);
    assert!(found(&v).is_empty());
}

#[test]
fn a_big_bomb_is_skipped_without_inflating_it() {
    // 64 MiB of zeros deflate to 64 KiB: the scan stops after about 6 MiB
    // (100 times the compressed size), and never holds more.
    let tmp = tempfile::tempdir().expect("tmp");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("zeros.bin", opts).expect("start");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        w.write_all(&chunk).expect("write");
    }
    let bytes = w.finish().expect("finish").into_inner();
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
    std::fs::write(tmp.path().join("big.zip"), &bytes).expect("write");
    let (v, code) = json_scan(tmp.path(), &[]);
    assert_eq!(code, 2);
    assert!(v["warnings"][0].as_str().unwrap_or("").contains("zip bomb"));
}

#[test]
fn look_alikes_images_fonts_and_plain_encoded_text_stay_silent() {
    let (_t, dir) = fixture_tree("hiding");
    let (v, code) = json_scan(&dir.join("negatives"), &[]);
    assert_eq!(code, 0, "{:#?}", found(&v));
    assert!(found(&v).is_empty());
    assert!(v["warnings"].as_array().is_some_and(|w| w.is_empty()));
    // Ordinary base64 text is decoded (and found harmless)...
    assert!(v["summary"]["decoded_values"].as_u64().unwrap_or(0) >= 4);
    // ...but images, fonts and their data: URIs are not even decoded.
    let (v, _) = json_scan(&dir.join("negatives/assets"), &[]);
    assert_eq!(v["summary"]["decoded_values"].as_u64(), Some(0));
}

#[test]
fn no_decode_and_no_archives_turn_the_stages_off() {
    let (_t, dir) = fixture_tree("hiding");
    let all = rows(&expected());
    let (v, _) = json_scan(&dir, &["--no-decode"]);
    let plain: BTreeSet<Row> = all.iter().filter(|r| r.4.is_none()).cloned().collect();
    assert_eq!(rows(&found(&v)), plain);
    assert_eq!(v["summary"]["decoded_values"].as_u64(), Some(0));

    let (v, _) = json_scan(&dir, &["--no-archives"]);
    let outside: BTreeSet<Row> = all.iter().filter(|r| !r.0.contains('!')).cloned().collect();
    assert_eq!(rows(&found(&v)), outside);
    assert_eq!(v["summary"]["archive_members"].as_u64(), Some(0));
    assert!(v["warnings"].as_array().is_some_and(|w| w.is_empty()));
}

#[test]
fn decoded_secrets_are_redacted_and_say_how_they_were_decoded() {
    let (_t, dir) = fixture_tree("hiding");
    let secrets = secrets();
    assert!(secrets.len() >= 20);
    support::assert_no_format_prints_a_secret(&dir, &secrets);
    let out = keyflare().arg("scan").arg(&dir).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for note in [
        "decoded: base64 > base64 \u{2192} token",
        "decoded: base64 \u{2192} api-token",
        "decoded: percent",
        "decoded: escape \u{2192} CLOUDFLARE_API_KEY",
        "      dist/release.tar.gz!bundle/app.zip!config/.env:",
        "archive members",
    ] {
        assert!(text.contains(note), "text report lacks {note:?}");
    }
}

#[test]
fn sarif_points_archive_members_at_the_archive() {
    let (_t, dir) = fixture_tree("hiding");
    let out = keyflare()
        .arg("scan")
        .arg(&dir)
        .args(["--format", "sarif"])
        .output()
        .expect("run");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    support::assert_valid_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), expected().len());
    let member = results
        .iter()
        .find(|r| r["properties"]["archive_member"] == "bundle/app.zip!config/.env")
        .expect("archive result");
    let loc = &member["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "dist/release.tar.gz");
    assert!(member["message"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("In archive member bundle/app.zip!config/.env, line 2"));
    let decoded = results
        .iter()
        .filter(|r| r["properties"]["decoded"].is_string())
        .count();
    assert_eq!(
        decoded,
        expected()
            .iter()
            .filter(|e| e["decoded"].is_string())
            .count()
    );
}

#[test]
fn decoding_skips_what_cannot_hold_a_credential() {
    // A stylesheet of inline images and a file of hashes: thousands of long
    // base64-alphabet runs, none decoded.
    let tmp = tempfile::tempdir().expect("tmp");
    let mut css = String::new();
    let mut hashes = String::new();
    let mut n: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        n ^= n << 13;
        n ^= n >> 7;
        n ^= n << 17;
        n
    };
    for i in 0..3000 {
        let png: Vec<u8> = (0..300).map(|_| next() as u8).collect();
        css.push_str(&format!(
            ".i{i} {{ background: url(data:image/png;base64,{}); }}\n",
            base64_encode(&png)
        ));
        hashes.push_str(&format!(
            "{:016x}{:016x}{:016x}{:016x}  file{i}\n",
            next(),
            next(),
            next(),
            next()
        ));
    }
    // One run longer than 64 KiB: an embedded file, not a credential.
    let long = base64_encode(format!("CLOUDFLARE_API_TOKEN={}\n", "x".repeat(70_000)).as_bytes());
    std::fs::write(tmp.path().join("icons.css"), css).expect("write");
    std::fs::write(tmp.path().join("SHA256SUMS"), hashes).expect("write");
    std::fs::write(tmp.path().join("blob.txt"), long).expect("write");
    let (v, code) = json_scan(tmp.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["decoded_values"].as_u64(), Some(0));
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn scan_blob_expands_archives_for_any_source() {
    // Sources other than the tree (git blobs) hand bytes to the same function.
    let rules = keyflare::RuleSet::builtin().expect("rules");
    let scanner = keyflare::Scanner::new(&rules, keyflare::ScanOptions::default());
    let stats = keyflare::source::Stats::default();
    let body = "Xq3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7Q";
    let token = format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()));
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("deploy/.env", zip::write::SimpleFileOptions::default())
        .expect("start");
    w.write_all(format!("CLOUDFLARE_API_TOKEN={token}\n").as_bytes())
        .expect("write");
    let data = w.finish().expect("finish").into_inner();
    let blob = keyflare::source::blob::Blob::file("vendor/site.zip", data);
    let findings = keyflare::scan_blob(&scanner, &blob, &stats);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].path, "vendor/site.zip!deploy/.env");
    assert_eq!((findings[0].line, findings[0].column), (1, 22));
    assert_eq!(findings[0].secret.expose(), token);
}

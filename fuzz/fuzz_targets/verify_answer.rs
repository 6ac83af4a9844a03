//! The verification client's answer parser on any bytes, any JSON shape, any
//! size: never a panic, never `active` without the fields that mean it, and
//! nothing from the body reaches a detail as control characters.
//!
//! Input layout: byte 0 picks the reading (bit 0: Global API Key `GET /user`,
//! else token verify), bytes 1-2 the HTTP status (big-endian, modulo 600),
//! the rest is the body.
#![no_main]

use keyflare::verify::{judge_answer, read_listing_answer, VerifyStatus};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A fixed "now" so the `not_before` check is deterministic.
const NOW: i64 = 1_800_000_000;

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let global_key = input[0] & 1 == 1;
    let http = u16::from_be_bytes([input[1], input[2]]) % 600;
    let body = &input[3..];
    let (status, detail) = judge_answer(global_key, http, body, NOW);
    assert!(!detail.chars().any(char::is_control), "{detail:?}");
    if status == VerifyStatus::Active {
        // What "active" means: a 2xx answer whose envelope says success, and for a
        // token, a result whose status is "active".
        assert!((200..300).contains(&http), "active on HTTP {http}");
        // Lossy: serde skips the fields it does not read without checking
        // their UTF-8, so a stray byte there does not change the verdict
        // (found by this target; see envelope.rs `invalid_utf8_in_a_skipped_field`).
        let text = String::from_utf8_lossy(body);
        let v: Value = serde_json::from_str(&text).expect("active from a body that is not JSON");
        assert_eq!(
            v.get("success"),
            Some(&Value::Bool(true)),
            "active without success"
        );
        if !global_key {
            assert_eq!(
                v.get("result").and_then(|r| r.get("status")),
                Some(&Value::String("active".into())),
                "active without result.status"
            );
        }
    }
    if let Ok((names, _total)) = read_listing_answer(http, body) {
        assert!((200..300).contains(&http));
        for n in &names {
            assert!(!n.chars().any(char::is_control), "{n:?}");
            assert!(n.chars().count() <= 253);
        }
    }
});

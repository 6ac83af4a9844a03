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
use serde::de::IgnoredAny;
use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope<R> {
    success: bool,
    result: Option<R>,
}

#[derive(Deserialize)]
struct TokenResult {
    status: String,
}

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
        // token, a result whose status is "active". Read here with serde like the
        // parser does (fields it does not name are skipped unchecked: a stray
        // non-UTF-8 byte or a 1e999 there does not matter; found by this target,
        // see envelope.rs `skipped_fields_are_not_checked`), but by other code.
        assert!((200..300).contains(&http), "active on HTTP {http}");
        if global_key {
            let e: Envelope<IgnoredAny> =
                serde_json::from_slice(body).expect("active from a body that is not an envelope");
            assert!(e.success, "active without success");
        } else {
            let e: Envelope<TokenResult> =
                serde_json::from_slice(body).expect("active from a body that is not an envelope");
            assert!(e.success, "active without success");
            let status = e.result.map(|r| r.status);
            assert_eq!(
                status.as_deref(),
                Some("active"),
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

//! The decoders and the checksum on arbitrary bytes: `base64_any`,
//! `is_tunnel_token`, `crc32_suffix_ok` and the UTF-16 transcoder. None may
//! panic or allocate much more than its input. And the SIMD search for a
//! byte and its follower (`%` and a hex digit) finds what a plain loop does.
#![no_main]

use keyflare::kernel::base64::base64_any;
use keyflare::kernel::runs::Pair;
use keyflare::matcher::crc32_suffix_ok;
use keyflare::rules::credibility::is_tunnel_token;
use keyflare::source::blob::utf16_to_utf8;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(decoded) = base64_any(data) {
        assert!(decoded.len() <= data.len() * 3 / 4 + 3);
    }
    let _ = is_tunnel_token(data);
    if crc32_suffix_ok(data) {
        assert!(data.len() >= 48);
    }
    let pair = Pair::new(b'%', b"0123456789abcdefABCDEF");
    // Any range, chosen by the first two bytes.
    let (a, b) = match data {
        [x, y, ..] => (
            usize::from(*x) % (data.len() + 1),
            data.len() - usize::from(*y) % (data.len() + 1),
        ),
        _ => (0, data.len()),
    };
    let within = a.min(b)..a.max(b);
    let naive = (within.start..within.end.saturating_sub(1))
        .find(|&i| data[i] == b'%' && data[i + 1].is_ascii_hexdigit());
    assert_eq!(pair.find(data, within), naive);
    if let Some(text) = utf16_to_utf8(data) {
        // Each UTF-16 unit becomes at most 3 UTF-8 bytes.
        assert!(text.len() <= data.len() / 2 * 3);
    }
});

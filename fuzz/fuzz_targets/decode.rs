//! The decoders and the checksum on arbitrary bytes: `base64_any`,
//! `is_tunnel_token`, `crc32_suffix_ok` and the UTF-16 transcoder. None may
//! panic or allocate much more than its input.
#![no_main]

use keyflare::source::blob::utf16_to_utf8;
use keyflare::kernel::base64::base64_any;
use keyflare::rules::credibility::is_tunnel_token;
use keyflare::matcher::crc32_suffix_ok;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(decoded) = base64_any(data) {
        assert!(decoded.len() <= data.len() * 3 / 4 + 3);
    }
    let _ = is_tunnel_token(data);
    if crc32_suffix_ok(data) {
        assert!(data.len() >= 48);
    }
    if let Some(text) = utf16_to_utf8(data) {
        // Each UTF-16 unit becomes at most 3 UTF-8 bytes.
        assert!(text.len() <= data.len() / 2 * 3);
    }
});

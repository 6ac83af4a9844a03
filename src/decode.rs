//! Decoders: structural checks on encoded credentials.
//!
//! Pure functions over bytes; the matcher calls them through a rule's
//! `validator`. Every input may be hostile: nothing here panics or allocates
//! more than a small multiple of its input.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Decodes standard or URL-safe base64, padded or not. None if it is not base64.
pub fn base64_any(text: &[u8]) -> Option<Vec<u8>> {
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    if text.iter().any(|&b| b == b'-' || b == b'_') {
        URL_SAFE.decode(text).ok()
    } else {
        STANDARD.decode(text).ok()
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True if `text` is a cloudflared tunnel token: base64 of a JSON object with
/// `a` (32-hex account tag), `t` (tunnel UUID) and a non-empty `s` (secret).
/// Extra keys are tolerated: newer cloudflared versions may add some.
pub fn is_tunnel_token(text: &[u8]) -> bool {
    let Some(json) = base64_any(text) else {
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

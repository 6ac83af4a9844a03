//! Blobs: the unit the matcher scans, whatever source it came from.
//!
//! Stage: source. Plain data; it never matches, filters or reports.

/// Bytes to scan and the path they are reported under.
pub struct Blob {
    /// Path relative to the scan root, `/`-separated (for git: the path in the commit).
    pub path: String,
    /// The content. Not necessarily UTF-8.
    pub data: Vec<u8>,
}

/// True if `data` starts with a UTF-16 byte-order mark.
pub fn has_utf16_bom(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF])
}

/// If `data` starts with a UTF-16 byte-order mark, returns it as UTF-8 so the
/// rules (which are ASCII) can match it; line numbers stay the same.
pub fn utf16_to_utf8(data: &[u8]) -> Option<Vec<u8>> {
    if !has_utf16_bom(data) {
        return None;
    }
    let little = data[0] == 0xFF;
    let units = data[2..].chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(text.into_bytes())
}

/// True if `data` (which starts with a UTF-16 byte-order mark) really is
/// UTF-16: an even number of bytes, no unpaired surrogate, and a NUL byte
/// somewhere (UTF-16 text writes every ASCII character, newlines included,
/// with one). A file that merely starts with the bytes FF FE is not: its
/// ASCII pairs decode to CJK characters, hiding a token on its next line,
/// so the scan stage reads its raw bytes too.
pub fn utf16_decodes_cleanly(data: &[u8]) -> bool {
    if !has_utf16_bom(data) {
        return false;
    }
    let body = &data[2..];
    if body.len() % 2 != 0 || (!body.is_empty() && memchr::memchr(0, body).is_none()) {
        return false;
    }
    let little = data[0] == 0xFF;
    let units = body.chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units).all(|r| r.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_utf16_decodes_cleanly() {
        let mut le = vec![0xFF, 0xFE];
        for u in "a=b\nc".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert!(utf16_decodes_cleanly(&le));
        // FF FE, then ASCII: no NUL byte.
        assert!(!utf16_decodes_cleanly(b"\xFF\xFEab\ncd"));
        // Odd length.
        let mut odd = le.clone();
        odd.push(b'x');
        assert!(!utf16_decodes_cleanly(&odd));
        // An unpaired surrogate.
        let mut bad = le.clone();
        bad.extend_from_slice(&0xD800u16.to_le_bytes());
        bad.extend_from_slice(&0x0041u16.to_le_bytes());
        assert!(!utf16_decodes_cleanly(&bad));
        assert!(!utf16_decodes_cleanly(b"plain"));
    }

    #[test]
    fn utf16_bom_is_decoded() {
        let mut le = vec![0xFF, 0xFE];
        for u in "a=b\nc".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(utf16_to_utf8(&le).unwrap(), b"a=b\nc");
        let mut be = vec![0xFE, 0xFF];
        for u in "xy".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(utf16_to_utf8(&be).unwrap(), b"xy");
        assert!(utf16_to_utf8(b"plain").is_none());
        assert!(utf16_to_utf8(&[0xFF, 0xFE, 0x41]).is_some());
    }
}

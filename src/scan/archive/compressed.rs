//! Compressed data: gzip, bzip2, xz and Zstandard, whether a tar's
//! compression (`.tgz`, `.tar.xz`), a single compressed file (`.env.bz2`),
//! or a zip member stored with one of those methods (or zip's LZMA).
//!
//! Every decoder reads from bytes in memory and streams what it decodes, so
//! the caller's bound on what it reads (a [`Stream`], or a member's cap)
//! stops a bomb, whatever its headers claim. The one thing held whole is a
//! Zstandard frame's window, at most 128 MiB.
//!
//! Stage: scan. It never reads a source, filters or reports.

use std::io::{self, Cursor, Read};

use super::{
    bomb_warning, expand_tar, is_tar_header, members_warning, ratio_cap, total_warning, Budget,
    Expanded, Stop, Stream,
};
use crate::source::blob::Blob;
use crate::source::Warning;

/// The compressions keyflare undoes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`.gz`, `.tgz`).
    Gzip,
    /// bzip2 (`.bz2`, `.tbz2`).
    Bzip2,
    /// xz (`.xz`, `.txz`).
    Xz,
    /// Zstandard (`.zst`, `.tzst`).
    Zstd,
}

/// Recognises compressed data by its first bytes.
pub(super) fn detect(data: &[u8]) -> Option<Compression> {
    if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(Compression::Gzip)
    } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Compression::Xz)
    } else if is_zstd(data) {
        Some(Compression::Zstd)
    } else if is_bzip2(data) {
        Some(Compression::Bzip2)
    } else {
        None
    }
}

/// A Zstandard frame, or a skippable frame and then one (`pzstd` starts its
/// files with one).
fn is_zstd(data: &[u8]) -> bool {
    const FRAME: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    if data.starts_with(&FRAME) {
        return true;
    }
    let skippable = data.len() >= 8 && data[0] & 0xf0 == 0x50 && data[1..4] == [0x2a, 0x4d, 0x18];
    skippable && {
        let length = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
        data.get(8usize.saturating_add(length)..)
            .is_some_and(|rest| rest.starts_with(&FRAME))
    }
}

/// `BZh`, the block size (1 to 9), then the magic of a first block (the
/// digits of pi) or of the end of an empty stream: text that starts with
/// `BZh5` is not taken for bzip2.
fn is_bzip2(data: &[u8]) -> bool {
    data.len() >= 10
        && data.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&data[3])
        && matches!(
            &data[4..10],
            [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] | [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]
        )
}

/// A reader of what `data` decompresses to. The decoders stream: what they
/// hold grows with what they give, which the caller's [`Stream`] bounds
/// (but for a Zstandard window, held whole: see [`ZstdFrames`]).
pub(super) fn decoder(compression: Compression, data: &[u8]) -> Box<dyn Read + '_> {
    match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(data)),
        // Concatenated streams, as `xz` writes for appended files. The
        // dictionary a block claims (up to 4 GiB) is reserved, but its pages
        // are only touched as bytes come out.
        Compression::Xz => Box::new(lzma_rust2::XzReader::new(data, true)),
        Compression::Zstd => Box::new(ZstdFrames {
            rest: data,
            frame: None,
        }),
    }
}

/// The zip compression methods undone here, from a member's raw bytes,
/// rather than by the zip crate (built for deflate only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ZipMethod {
    Compressed(Compression),
    Lzma,
}

impl ZipMethod {
    /// The method a zip member says it was stored with, if it is one of these.
    pub(super) fn of(method: zip::CompressionMethod) -> Option<ZipMethod> {
        use zip::CompressionMethod as M;
        match method {
            m if m == M::BZIP2 => Some(ZipMethod::Compressed(Compression::Bzip2)),
            m if m == M::XZ => Some(ZipMethod::Compressed(Compression::Xz)),
            m if m == M::ZSTD => Some(ZipMethod::Compressed(Compression::Zstd)),
            m if m == M::LZMA => Some(ZipMethod::Lzma),
            _ => None,
        }
    }

    /// A reader of what the member's `raw` bytes decompress to. `size` is
    /// its size as its header says; `cap` bounds what will be read of it.
    pub(super) fn reader(self, raw: &[u8], size: u64, cap: u64) -> io::Result<Box<dyn Read + '_>> {
        match self {
            ZipMethod::Compressed(compression) => Ok(decoder(compression, raw)),
            ZipMethod::Lzma => zip_lzma(raw, size, cap),
        }
    }
}

/// Zip's LZMA: a 2-byte version, the length of the properties (2 bytes,
/// always 5), the properties (the lc/lp/pb byte and the dictionary size),
/// then the stream, `size` bytes once decoded.
fn zip_lzma(raw: &[u8], size: u64, cap: u64) -> io::Result<Box<dyn Read + '_>> {
    let bad = || io::Error::other("not a zip LZMA stream");
    let Some((&[_, _, 5, 0, props, d0, d1, d2, d3], stream)) = raw.split_first_chunk::<9>() else {
        return Err(bad());
    };
    // No match reaches further back than what was decoded, and no more than
    // `cap` bytes will be: a larger dictionary than that is never used.
    let dict = u32::from_le_bytes([d0, d1, d2, d3]).min(u32::try_from(cap).unwrap_or(u32::MAX));
    let reader = lzma_rust2::LzmaReader::new_with_props(stream, size, props, dict, None)?;
    Ok(Box::new(reader))
}

/// The name of the file inside a compressed file: `x` for `x.gz`, `x.bz2`,
/// `x.xz` or `x.zst`, `x.tar` for `x.tgz`, `x.tbz2`, `x.txz` or `x.tzst`.
fn decompressed_name(path: &str, compression: Compression) -> String {
    let base = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    let (single, tar): (&[&str], &[&str]) = match compression {
        Compression::Gzip => (&[".gz"], &[".tgz"]),
        Compression::Bzip2 => (&[".bz2"], &[".tbz2", ".tbz"]),
        Compression::Xz => (&[".xz"], &[".txz"]),
        Compression::Zstd => (&[".zst", ".zstd"], &[".tzst"]),
    };
    let stem = |suffix: &str| &base[..base.len() - suffix.len()];
    if let Some(s) = tar.iter().find(|s| lower.ends_with(*s)) {
        format!("{}.tar", stem(s))
    } else if let Some(s) = single
        .iter()
        .find(|s| lower.ends_with(*s) && base.len() > s.len())
    {
        stem(s).to_string()
    } else {
        let unpacked = match compression {
            Compression::Gzip => "gunzipped",
            _ => "decompressed",
        };
        format!("{base}.{unpacked}")
    }
}

/// The frames of a Zstandard file one after another (`zstd` writes one,
/// `pzstd` and appended files several), skippable frames skipped.
struct ZstdFrames<'a> {
    rest: &'a [u8],
    frame: Option<ruzstd::decoding::StreamingDecoder<&'a [u8], ruzstd::decoding::FrameDecoder>>,
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if let Some(frame) = &mut self.frame {
                let n = frame.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.rest = self.frame.take().map_or(&[], |f| f.into_inner());
            }
            if self.rest.is_empty() {
                return Ok(0);
            }
            // ruzstd holds a frame's whole window before it gives a byte, so
            // its default limit (128 MiB, as the zstd command's without
            // `--long`) stays: a frame with a larger one (`zstd --long=31`)
            // is reported, not decoded.
            match ruzstd::decoding::StreamingDecoder::new(self.rest) {
                Ok(frame) => self.frame = Some(frame),
                Err(FrameDecoderError::WindowSizeTooBig { requested, max }) => {
                    let why = format!(
                        "a Zstandard window of {} MiB, over the {} MiB keyflare holds",
                        requested >> 20,
                        max >> 20
                    );
                    return Err(io::Error::new(io::ErrorKind::Unsupported, why));
                }
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    // The 4-byte magic, the 4-byte length, then `length` bytes.
                    let skip = 8usize.saturating_add(length as usize);
                    self.rest = self.rest.get(skip..).unwrap_or_default();
                }
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
    }
}

/// A compressed file: a compressed tar's members, or the single file inside.
pub(super) fn expand_compressed(
    path: &str,
    data: &[u8],
    compression: Compression,
    budget: &Budget,
    visit: &mut dyn FnMut(Blob<'static>),
    done: &mut Expanded,
) -> bool {
    let limits = budget.limits().clone();
    let cap = ratio_cap(&limits, data.len() as u64);
    let decoder = decoder(compression, data);
    let mut stream = Stream::new(decoder, budget, Some(cap));
    let mut head = Vec::with_capacity(512);
    if let Err(e) = (&mut stream).take(512).read_to_end(&mut head) {
        if head.is_empty() {
            // A bomb, or a file that is surely of this kind but that cannot
            // be undone here (say so), or not of this kind after all: its
            // bytes are scanned as they are.
            let warning = match (stream.stop.get(), e.kind()) {
                (Some(_), _) => bomb_warning(path, &limits),
                (None, io::ErrorKind::Unsupported) => Warning::ArchiveInflate {
                    member: path.to_string(),
                    error: e.into(),
                },
                (None, _) => return false,
            };
            done.warnings.push(warning);
            return true;
        }
    }
    if is_tar_header(&head) {
        let Stream {
            inner,
            budget,
            ratio_cap,
            read,
            stop,
        } = stream;
        let chained = Stream {
            inner: Cursor::new(head).chain(inner),
            budget,
            ratio_cap,
            read,
            stop,
        };
        // The 512 bytes already read were counted; the chain recounts them,
        // a negligible over-estimate.
        return expand_tar(path, chained, budget, visit, done);
    }
    let member_path = format!("{path}!{}", decompressed_name(path, compression));
    if !budget.take_member() {
        done.warnings.push(members_warning(path, &limits));
        return true;
    }
    let mut data = head;
    let room = limits.max_member_bytes + 1 - (data.len() as u64).min(limits.max_member_bytes);
    let result = (&mut stream).take(room).read_to_end(&mut data);
    match (result, stream.stop.get()) {
        (_, Some(Stop::Ratio)) => done.warnings.push(bomb_warning(&member_path, &limits)),
        (_, Some(Stop::Total)) => done.warnings.push(total_warning(&member_path, &limits)),
        (Err(e), None) => done.warnings.push(Warning::ArchiveInflate {
            member: member_path,
            error: e.into(),
        }),
        (Ok(_), None) if data.len() as u64 > limits.max_member_bytes => done.skipped_large += 1,
        (Ok(_), None) => visit(Blob::member(member_path, data)),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        use Compression::*;
        for (path, compression, name) in [
            ("a/b.tgz", Gzip, "b.tar"),
            ("x.zip!c.json.gz", Gzip, "c.json"),
            ("blob", Gzip, "blob.gunzipped"),
            ("a/b.TBZ2", Bzip2, "b.tar"),
            ("a/b.tbz", Bzip2, "b.tar"),
            ("k8s.yaml.bz2", Bzip2, "k8s.yaml"),
            ("s.txz", Xz, "s.tar"),
            (".env.xz", Xz, ".env"),
            ("x.tzst", Zstd, "x.tar"),
            ("dump.sql.zstd", Zstd, "dump.sql"),
            (".zst", Zstd, ".zst.decompressed"),
            ("x.gz", Xz, "x.gz.decompressed"),
        ] {
            assert_eq!(decompressed_name(path, compression), name, "{path}");
        }
    }
}

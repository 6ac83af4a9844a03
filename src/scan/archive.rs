//! Archives: zip (jar, whl, docx... are zips), tar, tar compressed with gzip,
//! bzip2, xz or zstd (`.tgz`, `.tar.bz2`, `.tar.xz`, `.tar.zst`), and single
//! files compressed with one of those (`.gz`, `.bz2`, `.xz`, `.zst`), opened
//! in memory so that their members can be scanned like files. No file system
//! access: bytes in, members out (as blobs whose origin is
//! [`crate::source::blob::Origin::Member`]).
//!
//! Archives are recognised by their magic bytes, not their names. A member's
//! path is the archive's path, `!`, and the path inside (`app.zip!config/.env`).
//! The compression layer of a compressed tar is not a level of its own.
//!
//! Guarantees against hostile archives ([`ArchiveLimits`]): at most
//! `max_members` members and `max_total_bytes` inflated bytes per top-level
//! blob, however deep the nesting (one [`Budget`] is shared); no member larger
//! than `max_member_bytes`; and anything that inflates to more than
//! `max_ratio` times its compressed size (past 1 MiB) is a zip bomb: it is
//! skipped with a warning and the rest of its archive is not read. Reads are
//! bounded before the bytes arrive, so a bomb never exhausts memory, whatever
//! its headers claim. Nesting depth is the scan stage's business.
//!
//! Stage: scan. It never reads a source, filters or reports.

use std::cell::Cell;
use std::io::{self, Cursor, Read};

use crate::source::blob::Blob;
use crate::source::Warning;

/// Limits on what archives may cost.
#[derive(Clone, Debug)]
pub struct ArchiveLimits {
    /// Archives inside archives are opened down to this many levels.
    pub max_depth: usize,
    /// Members scanned per top-level blob, at all levels together.
    pub max_members: u64,
    /// Bytes inflated or copied out of archives per top-level blob.
    pub max_total_bytes: u64,
    /// Larger members are skipped (counted like files over --max-file-size).
    pub max_member_bytes: u64,
    /// Inflated size over compressed size above which data is a bomb.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 2,
            max_members: 10_000,
            max_total_bytes: 256 << 20,
            max_member_bytes: 256 << 20,
            max_ratio: 100,
        }
    }
}

/// Below this many inflated bytes nothing is called a bomb: small runs of
/// zeros compress a thousandfold and are harmless.
const RATIO_FLOOR: u64 = 1 << 20;

/// What one top-level blob may still spend on archives. Shared by nested
/// archives; single-threaded (a blob is scanned on one thread).
#[derive(Debug)]
pub struct Budget {
    limits: ArchiveLimits,
    members: Cell<u64>,
    bytes: Cell<u64>,
}

impl Budget {
    /// A fresh budget.
    pub fn new(limits: &ArchiveLimits) -> Budget {
        Budget {
            limits: limits.clone(),
            members: Cell::new(0),
            bytes: Cell::new(0),
        }
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> &ArchiveLimits {
        &self.limits
    }

    fn bytes_left(&self) -> u64 {
        self.limits.max_total_bytes.saturating_sub(self.bytes.get())
    }

    fn spend(&self, n: u64) {
        self.bytes.set(self.bytes.get().saturating_add(n));
    }

    /// Counts one more member; false once the limit is reached.
    fn take_member(&self) -> bool {
        if self.members.get() >= self.limits.max_members {
            return false;
        }
        self.members.set(self.members.get() + 1);
        true
    }
}

/// The archive formats keyflare opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// zip and everything built on it (jar, war, whl, apk, docx...).
    Zip,
    /// POSIX (ustar) or GNU tar.
    Tar,
    /// gzip: a tar.gz's members, or the single file inside.
    Gzip,
    /// bzip2, the same.
    Bzip2,
    /// xz, the same.
    Xz,
    /// Zstandard, the same.
    Zstd,
}

/// Recognises an archive by its first bytes.
pub fn detect(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(Kind::Gzip)
    } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Kind::Xz)
    } else if is_zstd(data) {
        Some(Kind::Zstd)
    } else if is_bzip2(data) {
        Some(Kind::Bzip2)
    } else if is_tar_header(data) {
        Some(Kind::Tar)
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

fn is_tar_header(data: &[u8]) -> bool {
    data.len() >= 512 && &data[257..262] == b"ustar"
}

/// What expanding an archive did.
#[derive(Debug, Default)]
pub struct Expanded {
    /// Problems worth telling the user: members not scanned, bombs, limits.
    pub warnings: Vec<Warning>,
    /// Members skipped for exceeding `max_member_bytes`.
    pub skipped_large: u64,
}

/// Opens the archive `data` (found at `path`, of `kind`) and calls `visit`
/// with each regular file in it. None if it does not open as that kind of
/// archive after all: the caller scans the bytes as they are.
pub fn expand(
    path: &str,
    data: &[u8],
    kind: Kind,
    budget: &Budget,
    visit: &mut dyn FnMut(Blob<'static>),
) -> Option<Expanded> {
    let mut done = Expanded::default();
    let opened = match kind {
        Kind::Zip => expand_zip(path, data, budget, visit, &mut done),
        Kind::Tar => {
            let reader = Stream::new(data, budget, None);
            expand_tar(path, reader, budget, visit, &mut done)
        }
        Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::Zstd => {
            expand_compressed(path, data, kind, budget, visit, &mut done)
        }
    };
    opened.then_some(done)
}

/// The largest inflated size that is not a bomb, for `compressed` bytes.
fn ratio_cap(limits: &ArchiveLimits, compressed: u64) -> u64 {
    compressed
        .max(1)
        .saturating_mul(limits.max_ratio)
        .max(RATIO_FLOOR)
}

fn bomb_warning(what: &str, limits: &ArchiveLimits) -> Warning {
    Warning::ArchiveBomb {
        path: what.to_string(),
        max_ratio: limits.max_ratio,
    }
}

fn total_warning(what: &str, limits: &ArchiveLimits) -> Warning {
    Warning::ArchiveTotal {
        path: what.to_string(),
        max_total_bytes: limits.max_total_bytes,
    }
}

fn members_warning(path: &str, limits: &ArchiveLimits) -> Warning {
    Warning::ArchiveMembers {
        path: path.to_string(),
        max_members: limits.max_members,
    }
}

fn expand_zip(
    path: &str,
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Blob<'static>),
    done: &mut Expanded,
) -> bool {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(data)) else {
        return false;
    };
    let limits = budget.limits().clone();
    let mut unreadable = 0u64;
    for i in 0..zip.len() {
        let mut file = match zip.by_index(i) {
            Ok(f) => f,
            // Encrypted members and compression methods keyflare does not
            // inflate (bzip2, lzma, zstd...).
            Err(_) => {
                unreadable += 1;
                continue;
            }
        };
        if !file.is_file() {
            continue;
        }
        let member_path = format!("{path}!{}", String::from_utf8_lossy(file.name_raw()));
        if !budget.take_member() {
            done.warnings.push(members_warning(path, &limits));
            break;
        }
        let bomb_at = ratio_cap(&limits, file.compressed_size());
        if file.size() > bomb_at {
            done.warnings.push(bomb_warning(&member_path, &limits));
            break;
        }
        if file.size() > limits.max_member_bytes {
            done.skipped_large += 1;
            continue;
        }
        // The header may lie about the size: bound the read itself.
        let cap = limits
            .max_member_bytes
            .min(budget.bytes_left())
            .min(bomb_at);
        let mut buf = Vec::with_capacity(file.size().min(cap).min(1 << 20) as usize);
        if let Err(e) = (&mut file).take(cap + 1).read_to_end(&mut buf) {
            done.warnings.push(Warning::ArchiveInflate {
                member: member_path,
                error: e.into(),
            });
            continue;
        }
        drop(file);
        budget.spend(buf.len() as u64);
        if buf.len() as u64 > cap {
            if cap == bomb_at {
                done.warnings.push(bomb_warning(&member_path, &limits));
                break;
            }
            if cap < limits.max_member_bytes {
                done.warnings.push(total_warning(&member_path, &limits));
                break;
            }
            done.skipped_large += 1;
            continue;
        }
        visit(Blob::member(member_path, buf));
    }
    if unreadable > 0 {
        done.warnings.push(Warning::ArchiveUnsupported {
            path: path.to_string(),
            count: unreadable,
        });
    }
    true
}

/// Why a [`Stream`] stopped giving bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Ratio,
    Total,
}

/// A reader that spends the budget as bytes come out of it, and fails once
/// the budget or the bomb ratio is exceeded.
struct Stream<'b, R> {
    inner: R,
    budget: &'b Budget,
    ratio_cap: Option<u64>,
    read: u64,
    stop: Cell<Option<Stop>>,
}

impl<'b, R: Read> Stream<'b, R> {
    fn new(inner: R, budget: &'b Budget, ratio_cap: Option<u64>) -> Self {
        Stream {
            inner,
            budget,
            ratio_cap,
            read: 0,
            stop: Cell::new(None),
        }
    }
}

impl<R: Read> Read for Stream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.budget.spend(n as u64);
        if self.ratio_cap.is_some_and(|cap| self.read > cap) {
            self.stop.set(Some(Stop::Ratio));
        } else if self.budget.bytes_left() == 0 && n > 0 {
            self.stop.set(Some(Stop::Total));
        }
        match self.stop.get() {
            Some(_) => Err(io::Error::other("archive limit reached")),
            None => Ok(n),
        }
    }
}

/// Reads tar members from `reader`, which spends the budget as the tar
/// stream goes by (member copies are not counted again).
fn expand_tar<R: Read>(
    path: &str,
    mut reader: Stream<'_, R>,
    budget: &Budget,
    visit: &mut dyn FnMut(Blob<'static>),
    done: &mut Expanded,
) -> bool {
    let limits = budget.limits().clone();
    let mut stop_message: Option<Warning> = None;
    {
        let mut archive = tar::Archive::new(&mut reader);
        let Ok(entries) = archive.entries() else {
            return false;
        };
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    stop_message = Some(Warning::ArchiveTruncated {
                        path: path.to_string(),
                        error: e.into(),
                    });
                    break;
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let member_path = format!("{path}!{}", String::from_utf8_lossy(&entry.path_bytes()));
            if !budget.take_member() {
                done.warnings.push(members_warning(path, &limits));
                break;
            }
            if entry.size() > limits.max_member_bytes {
                done.skipped_large += 1;
                continue;
            }
            let cap = limits.max_member_bytes;
            let mut buf = Vec::with_capacity(entry.size().min(cap).min(1 << 20) as usize);
            if let Err(e) = (&mut entry).take(cap + 1).read_to_end(&mut buf) {
                stop_message = Some(Warning::ArchiveMemberRead {
                    member: member_path,
                    error: e.into(),
                });
                break;
            }
            visit(Blob::member(member_path, buf));
        }
    }
    match reader.stop.get() {
        Some(Stop::Ratio) => done.warnings.push(bomb_warning(path, &limits)),
        Some(Stop::Total) => done.warnings.push(total_warning(path, &limits)),
        None => done.warnings.extend(stop_message),
    }
    true
}

/// The name of the file inside a compressed file: `x` for `x.gz`, `x.bz2`,
/// `x.xz` or `x.zst`, `x.tar` for `x.tgz`, `x.tbz2`, `x.txz` or `x.tzst`.
fn decompressed_name(path: &str, kind: Kind) -> String {
    let base = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    let (single, tar): (&[&str], &[&str]) = match kind {
        Kind::Gzip => (&[".gz"], &[".tgz"]),
        Kind::Bzip2 => (&[".bz2"], &[".tbz2", ".tbz"]),
        Kind::Xz => (&[".xz"], &[".txz"]),
        Kind::Zstd => (&[".zst", ".zstd"], &[".tzst"]),
        Kind::Zip | Kind::Tar => (&[], &[]),
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
        let unpacked = match kind {
            Kind::Gzip => "gunzipped",
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
            match ruzstd::decoding::StreamingDecoder::new(self.rest) {
                Ok(frame) => self.frame = Some(frame),
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

/// xz decoded whole on the first read, into at most `cap` bytes (lzma-rs
/// decodes into a writer, not from a reader): a bomb stops at the cap.
struct XzWhole<'a> {
    data: &'a [u8],
    cap: u64,
    out: Option<Cursor<Vec<u8>>>,
}

/// A writer that takes `cap` bytes and then fails.
struct Capped {
    buf: Vec<u8>,
    cap: u64,
}

impl io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = self.cap.saturating_sub(self.buf.len() as u64);
        if room == 0 && !bytes.is_empty() {
            return Err(io::Error::other("archive limit reached"));
        }
        let n = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.buf.extend_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for XzWhole<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out.is_none() {
            let mut capped = Capped {
                buf: Vec::new(),
                cap: self.cap,
            };
            let decoded = lzma_rs::xz_decompress(&mut io::BufReader::new(self.data), &mut capped);
            // At the cap, the error is the writer's: the bytes decoded are
            // handed out, and the stream that reads them sees the limit
            // passed and says which.
            if let Err(e) = decoded {
                if (capped.buf.len() as u64) < self.cap {
                    return Err(io::Error::other(e.to_string()));
                }
            }
            self.out = Some(Cursor::new(capped.buf));
        }
        self.out.as_mut().map_or(Ok(0), |out| out.read(buf))
    }
}

/// A compressed file: a compressed tar's members, or the single file inside.
fn expand_compressed(
    path: &str,
    data: &[u8],
    kind: Kind,
    budget: &Budget,
    visit: &mut dyn FnMut(Blob<'static>),
    done: &mut Expanded,
) -> bool {
    let limits = budget.limits().clone();
    let cap = ratio_cap(&limits, data.len() as u64);
    let decoder: Box<dyn Read + '_> = match kind {
        Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(data)),
        Kind::Xz => Box::new(XzWhole {
            data,
            // One byte past either limit, so that the stream sees it passed.
            cap: cap.min(budget.bytes_left()).saturating_add(1),
            out: None,
        }),
        Kind::Zstd => Box::new(ZstdFrames {
            rest: data,
            frame: None,
        }),
        // Zip and tar are not compressed files: only gzip comes here.
        Kind::Gzip | Kind::Zip | Kind::Tar => Box::new(flate2::read::MultiGzDecoder::new(data)),
    };
    let mut stream = Stream::new(decoder, budget, Some(cap));
    let mut head = Vec::with_capacity(512);
    if (&mut stream).take(512).read_to_end(&mut head).is_err() && head.is_empty() {
        return match stream.stop.get() {
            Some(_) => {
                done.warnings.push(bomb_warning(path, &limits));
                true
            }
            None => false,
        };
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
    let member_path = format!("{path}!{}", decompressed_name(path, kind));
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
    use crate::source::blob::Content;
    use std::io::Write;

    fn zip_of(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn gz_of(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn run(
        path: &str,
        data: &[u8],
        limits: &ArchiveLimits,
    ) -> (Vec<(String, Vec<u8>)>, Option<Expanded>) {
        let budget = Budget::new(limits);
        let mut seen = Vec::new();
        let kind = detect(data).expect("an archive");
        let done = expand(path, data, kind, &budget, &mut |m| {
            let Content::Held(bytes) = m.content else {
                panic!("a member not read whole")
            };
            seen.push((m.path.into_owned(), bytes.into_owned()))
        });
        (seen, done)
    }

    #[test]
    fn members_of_each_format() {
        let limits = ArchiveLimits::default();
        let z = zip_of(
            &[("a/b.txt", b"hello"), ("c.txt", b"world")],
            zip::CompressionMethod::Deflated,
        );
        let (seen, done) = run("x.zip", &z, &limits);
        assert_eq!(
            seen,
            vec![
                ("x.zip!a/b.txt".into(), b"hello".to_vec()),
                ("x.zip!c.txt".into(), b"world".to_vec())
            ]
        );
        assert!(done.unwrap().warnings.is_empty());
        let t = tar_of(&[("d/e.env", b"K=V")]);
        let (seen, _) = run("x.tar", &t, &limits);
        assert_eq!(seen, vec![("x.tar!d/e.env".into(), b"K=V".to_vec())]);
        let (seen, _) = run("x.tgz", &gz_of(&t), &limits);
        assert_eq!(seen, vec![("x.tgz!d/e.env".into(), b"K=V".to_vec())]);
        let (seen, _) = run("dir/notes.txt.gz", &gz_of(b"plain"), &limits);
        assert_eq!(
            seen,
            vec![("dir/notes.txt.gz!notes.txt".into(), b"plain".to_vec())]
        );
        for (ext, compress) in COMPRESSORS {
            let (seen, done) = run(&format!("x.tar.{ext}"), &compress(&t), &limits);
            assert_eq!(
                seen,
                vec![(format!("x.tar.{ext}!d/e.env"), b"K=V".to_vec())],
                "{ext}"
            );
            assert!(done.unwrap().warnings.is_empty(), "{ext}");
            let (seen, _) = run(&format!("dir/.env.{ext}"), &compress(b"plain"), &limits);
            assert_eq!(
                seen,
                vec![(format!("dir/.env.{ext}!.env"), b"plain".to_vec())],
                "{ext}"
            );
        }
    }

    fn bz2_of(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn xz_of(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        lzma_rs::xz_compress(&mut io::BufReader::new(data), &mut out).unwrap();
        out
    }

    fn zst_of(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    /// A compressor for tests.
    type Compress = fn(&[u8]) -> Vec<u8>;

    /// The compressions besides gzip, with their file extensions.
    const COMPRESSORS: [(&str, Compress); 3] = [("bz2", bz2_of), ("xz", xz_of), ("zst", zst_of)];

    #[test]
    fn compressed_files_are_recognised_by_their_bytes() {
        assert_eq!(detect(&bz2_of(b"a")), Some(Kind::Bzip2));
        assert_eq!(detect(&bz2_of(b"")), Some(Kind::Bzip2));
        assert_eq!(detect(&xz_of(b"a")), Some(Kind::Xz));
        assert_eq!(detect(&zst_of(b"a")), Some(Kind::Zstd));
        // pzstd's files start with a skippable frame.
        let mut pzstd = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
        pzstd.extend(zst_of(b"a"));
        assert_eq!(detect(&pzstd), Some(Kind::Zstd));
        assert_eq!(detect(&pzstd[..14]), None);
        // Text that starts like a bzip2 header is text; text with the whole
        // magic is tried, refused, and scanned as it is.
        assert_eq!(detect(b"BZh5 and more"), None);
        let text = b"BZh91AY&SY is how a bzip2 file starts";
        assert_eq!(detect(text), Some(Kind::Bzip2));
        let budget = Budget::new(&ArchiveLimits::default());
        assert!(expand("f", text, Kind::Bzip2, &budget, &mut |_| ()).is_none());
    }

    #[test]
    fn zstd_frames_are_read_one_after_another() {
        let limits = ArchiveLimits::default();
        // Two frames with a skippable frame between them, as appended files
        // and pzstd's output have.
        let mut z = zst_of(b"CLOUDFLARE_API_TOKEN=");
        z.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        z.extend_from_slice(&3u32.to_le_bytes());
        z.extend_from_slice(b"xyz");
        z.extend(zst_of(b"abc\n"));
        let (seen, done) = run("t.env.zst", &z, &limits);
        assert_eq!(
            seen,
            vec![(
                "t.env.zst!t.env".into(),
                b"CLOUDFLARE_API_TOKEN=abc\n".to_vec()
            )]
        );
        assert!(done.unwrap().warnings.is_empty());
    }

    #[test]
    fn broken_compressed_files_are_scanned_as_they_are_or_warned() {
        let limits = ArchiveLimits::default();
        let budget = Budget::new(&limits);
        for (ext, compress) in COMPRESSORS {
            let whole = compress(&vec![b'k'; 10_000]);
            // Only the header: nothing decodes, the bytes are scanned as they are.
            let head = &whole[..whole.len().min(12)];
            let kind = detect(head).unwrap_or_else(|| panic!("{ext}"));
            let mut n = 0;
            let done = expand("f", head, kind, &budget, &mut |_| n += 1);
            assert!(done.is_none(), "{ext}: {done:?}");
            // Corrupt after the start: a warning, never a member of garbage.
            let mut bad = whole.clone();
            let at = bad.len() / 2;
            bad[at..].iter_mut().for_each(|b| *b ^= 0x5a);
            let done = expand("f", &bad, kind, &budget, &mut |_| n += 1);
            if let Some(done) = done {
                assert!(
                    n == 0 && !done.warnings.is_empty(),
                    "{ext}: {n} members, {:?}",
                    done.warnings
                );
            }
        }
    }

    #[test]
    fn not_really_archives_are_refused() {
        let budget = Budget::new(&ArchiveLimits::default());
        let mut n = 0;
        assert!(
            expand("f", b"PK\x03\x04garbage", Kind::Zip, &budget, &mut |_| n +=
                1)
            .is_none()
        );
        assert!(expand(
            "f",
            &[0x1f, 0x8b, 0x08, 0, 0],
            Kind::Gzip,
            &budget,
            &mut |_| n += 1
        )
        .is_none());
        assert_eq!(n, 0);
        assert_eq!(detect(b"plain text"), None);
    }

    #[test]
    fn bombs_and_limits_are_warnings() {
        let limits = ArchiveLimits::default();
        let zeros = vec![0u8; 4 << 20];
        let z = zip_of(
            &[
                ("ok.txt", b"fine"),
                ("bomb.bin", &zeros),
                ("after.txt", b"x"),
            ],
            zip::CompressionMethod::Deflated,
        );
        let (seen, done) = run("b.zip", &z, &limits);
        assert_eq!(seen.len(), 1);
        let w = done.unwrap().warnings;
        assert!(
            matches!(&w[0], Warning::ArchiveBomb { path, .. } if path == "b.zip!bomb.bin")
                && w[0].to_string().contains("zip bomb"),
            "{w:?}"
        );
        let (seen, done) = run("b.gz", &gz_of(&zeros), &limits);
        assert!(seen.is_empty());
        assert!(matches!(
            done.unwrap().warnings[0],
            Warning::ArchiveBomb { .. }
        ));
        let t = tar_of(&[("z.bin", &zeros)]);
        let (seen, done) = run("b.tar.gz", &gz_of(&t), &limits);
        assert!(seen.is_empty());
        assert!(matches!(
            done.unwrap().warnings[0],
            Warning::ArchiveBomb { .. }
        ));
        // lzma-rs's encoder only stores: the xz bomb is one `xz` made.
        let xz_bomb = include_bytes!("../../fixtures/hiding/bombs/zeros.bin.xz");
        let (seen, done) = run("b.xz", xz_bomb, &limits);
        assert!(seen.is_empty());
        let w = done.unwrap().warnings;
        assert!(matches!(w[..], [Warning::ArchiveBomb { .. }]), "{w:?}");
        for (ext, compress) in COMPRESSORS {
            for (name, data) in [("b", &zeros), ("b.tar", &t)] {
                if ext == "xz" {
                    continue;
                }
                let (seen, done) = run(&format!("{name}.{ext}"), &compress(data), &limits);
                assert!(seen.is_empty(), "{name}.{ext}");
                let w = done.unwrap().warnings;
                assert!(
                    matches!(w[..], [Warning::ArchiveBomb { .. }]),
                    "{name}.{ext}: {w:?}"
                );
            }
            // Under the ratio, over the bytes left: the total's warning.
            let text: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
            let over = ArchiveLimits {
                max_total_bytes: 50_000,
                ..limits.clone()
            };
            let (seen, done) = run(&format!("c.{ext}"), &compress(&text), &over);
            assert!(seen.is_empty(), "{ext}");
            let w = done.unwrap().warnings;
            assert!(
                matches!(w[..], [Warning::ArchiveTotal { .. }]),
                "{ext}: {w:?}"
            );
        }

        let small = ArchiveLimits {
            max_members: 1,
            ..limits.clone()
        };
        let (seen, done) = run(
            "m.zip",
            &zip_of(&[("a", b"1"), ("b", b"2")], zip::CompressionMethod::Stored),
            &small,
        );
        assert_eq!(seen.len(), 1);
        assert!(done.unwrap().warnings[0]
            .to_string()
            .contains("more than 1 archive members"));

        let tight = ArchiveLimits {
            max_total_bytes: 10,
            ..limits.clone()
        };
        let (seen, done) = run(
            "t.zip",
            &zip_of(
                &[("a", b"12345678"), ("b", b"12345678")],
                zip::CompressionMethod::Stored,
            ),
            &tight,
        );
        assert_eq!(seen.len(), 1);
        assert!(done.unwrap().warnings[0]
            .to_string()
            .contains("inflate to more than"));

        let tiny = ArchiveLimits {
            max_member_bytes: 4,
            ..limits
        };
        let (seen, done) = run(
            "s.zip",
            &zip_of(
                &[("big", b"123456789"), ("ok", b"12")],
                zip::CompressionMethod::Stored,
            ),
            &tiny,
        );
        assert_eq!(seen.len(), 1);
        assert_eq!(done.unwrap().skipped_large, 1);
    }

    #[test]
    fn names() {
        assert_eq!(decompressed_name("a/b.tgz", Kind::Gzip), "b.tar");
        assert_eq!(decompressed_name("x.zip!c.json.gz", Kind::Gzip), "c.json");
        assert_eq!(decompressed_name("blob", Kind::Gzip), "blob.gunzipped");
        assert_eq!(decompressed_name("a/b.TBZ2", Kind::Bzip2), "b.tar");
        assert_eq!(decompressed_name("a/b.tbz", Kind::Bzip2), "b.tar");
        assert_eq!(decompressed_name("k8s.yaml.bz2", Kind::Bzip2), "k8s.yaml");
        assert_eq!(decompressed_name("s.txz", Kind::Xz), "s.tar");
        assert_eq!(decompressed_name(".env.xz", Kind::Xz), ".env");
        assert_eq!(decompressed_name("x.tzst", Kind::Zstd), "x.tar");
        assert_eq!(decompressed_name("dump.sql.zstd", Kind::Zstd), "dump.sql");
        assert_eq!(decompressed_name(".zst", Kind::Zstd), ".zst.decompressed");
        assert_eq!(decompressed_name("x.gz", Kind::Xz), "x.gz.decompressed");
    }
}

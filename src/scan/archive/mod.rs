//! Archives: zip (jar, whl, docx... are zips), tar, tar compressed with gzip,
//! bzip2, xz or zstd (`.tgz`, `.tar.bz2`, `.tar.xz`, `.tar.zst`), and single
//! files compressed with one of those (`.gz`, `.bz2`, `.xz`, `.zst`), opened
//! in memory so that their members can be scanned like files. No file system
//! access: bytes in, members out (as blobs whose origin is
//! [`crate::source::blob::Origin::Member`]). Zip and tar are here; the
//! compressions, and zip members stored with bzip2, LZMA, xz or zstd, are in
//! `compressed.rs`.
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
//! its headers claim (a Zstandard frame's window is held whole: at most
//! 128 MiB). Nesting depth is the scan stage's business.
//!
//! Stage: scan. It never reads a source, filters or reports.

use std::cell::Cell;
use std::io::{self, Cursor, Read};

use crate::source::blob::Blob;
use crate::source::Warning;

mod compressed;

pub use compressed::Compression;
use compressed::ZipMethod;

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
    /// Compressed data: a compressed tar's members, or the single file inside.
    Compressed(Compression),
}

/// Recognises an archive by its first bytes.
pub fn detect(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if let Some(compression) = compressed::detect(data) {
        Some(Kind::Compressed(compression))
    } else if is_tar_header(data) {
        Some(Kind::Tar)
    } else {
        None
    }
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
        Kind::Compressed(compression) => {
            compressed::expand_compressed(path, data, compression, budget, visit, &mut done)
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
        let Ok(member) = zip.by_index_raw(i).map(|f| ZipMember::of(&f)) else {
            unreadable += 1;
            continue;
        };
        if !member.is_file {
            continue;
        }
        let member_path = format!("{path}!{}", member.name);
        if !budget.take_member() {
            done.warnings.push(members_warning(path, &limits));
            break;
        }
        let bomb_at = ratio_cap(&limits, member.compressed_size);
        if member.size > bomb_at {
            done.warnings.push(bomb_warning(&member_path, &limits));
            break;
        }
        if member.size > limits.max_member_bytes {
            done.skipped_large += 1;
            continue;
        }
        // The header may lie about the size: bound the read itself.
        let cap = limits
            .max_member_bytes
            .min(budget.bytes_left())
            .min(bomb_at);
        let mut buf = Vec::with_capacity(member.size.min(cap).min(1 << 20) as usize);
        // bzip2, LZMA, xz and Zstandard are undone here, from the raw bytes;
        // the zip crate inflates the rest. Encrypted members, and methods
        // neither knows, are counted, not read.
        let ours = ZipMethod::of(member.method).filter(|_| !member.encrypted);
        let read = match ours {
            Some(method) => match member.raw(data) {
                Some(raw) => method
                    .reader(raw, member.size, cap)
                    .and_then(|reader| reader.take(cap + 1).read_to_end(&mut buf)),
                None => Err(io::Error::other("its bytes are cut short")),
            },
            None => match zip.by_index(i) {
                Ok(file) => file.take(cap + 1).read_to_end(&mut buf),
                Err(_) => {
                    unreadable += 1;
                    continue;
                }
            },
        };
        if let Err(e) = read {
            done.warnings.push(Warning::ArchiveInflate {
                member: member_path,
                error: e.into(),
            });
            continue;
        }
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

/// What a zip's directory and local header say of a member.
struct ZipMember {
    name: String,
    is_file: bool,
    encrypted: bool,
    method: zip::CompressionMethod,
    size: u64,
    compressed_size: u64,
    /// Where its bytes start in the archive.
    data_start: Option<u64>,
}

impl ZipMember {
    fn of<R: Read>(file: &zip::read::ZipFile<'_, R>) -> ZipMember {
        ZipMember {
            name: String::from_utf8_lossy(file.name_raw()).into_owned(),
            is_file: file.is_file(),
            encrypted: file.encrypted(),
            method: file.compression(),
            size: file.size(),
            compressed_size: file.compressed_size(),
            data_start: file.data_start(),
        }
    }

    /// The member's bytes as stored in `archive`; None if they are not all there.
    fn raw<'a>(&self, archive: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.data_start?).ok()?;
        let len = usize::try_from(self.compressed_size).ok()?;
        archive.get(start..start.checked_add(len)?)
    }
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

#[cfg(test)]
mod tests;

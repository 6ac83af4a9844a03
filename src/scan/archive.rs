//! Archives: zip (jar, whl, docx... are zips), tar, tar.gz/tgz and single
//! `.gz` files, opened in memory so that their members can be scanned like
//! files. No file system access: bytes in, members out (as blobs whose
//! origin is [`crate::source::blob::Origin::Member`]).
//!
//! Archives are recognised by their magic bytes, not their names. A member's
//! path is the archive's path, `!`, and the path inside (`app.zip!config/.env`).
//! The gzip layer of a tar.gz is not a level of its own.
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
}

/// Recognises an archive by its first bytes.
pub fn detect(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(Kind::Gzip)
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
        Kind::Gzip => expand_gzip(path, data, budget, visit, &mut done),
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

/// The name of the file inside `x.gz` (`x`), or `x.tar` for `x.tgz`.
fn gunzipped_name(path: &str) -> String {
    let base = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    if lower.ends_with(".tgz") {
        format!("{}.tar", &base[..base.len() - 4])
    } else if lower.ends_with(".gz") && base.len() > 3 {
        base[..base.len() - 3].to_string()
    } else {
        format!("{base}.gunzipped")
    }
}

fn expand_gzip(
    path: &str,
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Blob<'static>),
    done: &mut Expanded,
) -> bool {
    let limits = budget.limits().clone();
    let cap = ratio_cap(&limits, data.len() as u64);
    let mut stream = Stream::new(flate2::read::MultiGzDecoder::new(data), budget, Some(cap));
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
    let member_path = format!("{path}!{}", gunzipped_name(path));
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
        assert_eq!(gunzipped_name("a/b.tgz"), "b.tar");
        assert_eq!(gunzipped_name("x.zip!c.json.gz"), "c.json");
        assert_eq!(gunzipped_name("blob"), "blob.gunzipped");
    }
}

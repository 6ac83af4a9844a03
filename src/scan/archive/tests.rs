//! Tests of zip, tar and compressed archives: members, names, limits, bombs.

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

/// A zip of members stored as given (`method`, the compressed bytes, the
/// plain bytes), as tools other than the zip crate write them.
fn zip_raw(members: &[(&str, u16, &[u8], &[u8])]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, method, stored, plain) in members {
        let offset = out.len() as u32;
        let fields = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&method.to_le_bytes());
            v.extend_from_slice(&[0; 4]); // time, date
            v.extend_from_slice(&crc32fast::hash(plain).to_le_bytes());
            v.extend_from_slice(&(stored.len() as u32).to_le_bytes());
            v.extend_from_slice(&(plain.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(stored);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        fields(&mut central);
        central.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
        central.extend_from_slice(&0o100644u32.wrapping_shl(16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let n = members.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Zip's LZMA: version, properties' length, properties, stream.
fn zip_lzma_of(data: &[u8]) -> Vec<u8> {
    let mut alone = Vec::new();
    lzma_rs::lzma_compress(&mut io::BufReader::new(data), &mut alone).unwrap();
    // The .lzma header is the properties (5 bytes) and the size (8).
    let mut out = vec![9, 20, 5, 0];
    out.extend_from_slice(&alone[..5]);
    out.extend_from_slice(&alone[13..]);
    out
}

#[test]
fn zip_members_stored_with_other_methods() {
    let limits = ArchiveLimits::default();
    let plain: &[u8] = b"CLOUDFLARE_API_TOKEN=abc\n";
    let stored = [
        (12u16, bz2_of(plain)),
        (14, zip_lzma_of(plain)),
        (93, zst_of(plain)),
        (95, xz_of(plain)),
    ];
    for (method, bytes) in &stored {
        let z = zip_raw(&[
            ("a/.env", *method, bytes, plain),
            ("b.txt", 0, b"hi", b"hi"),
        ]);
        let (seen, done) = run("x.zip", &z, &limits);
        assert_eq!(
            seen,
            vec![
                ("x.zip!a/.env".into(), plain.to_vec()),
                ("x.zip!b.txt".into(), b"hi".to_vec())
            ],
            "method {method}"
        );
        assert!(done.unwrap().warnings.is_empty(), "method {method}");
    }
    // A method nobody undoes (PPMd), and broken bytes: counted or warned,
    // never a member of garbage; the other members are still read.
    for (method, bytes, want) in [
        (98u16, b"whatever".to_vec(), "1 member(s) not scanned"),
        (12, b"BZh9 broken".to_vec(), "x.zip!a/.env"),
        (14, vec![9, 20, 5, 0, 0x5d], "x.zip!a/.env"),
    ] {
        let z = zip_raw(&[
            ("a/.env", method, &bytes, plain),
            ("b.txt", 0, b"hi", b"hi"),
        ]);
        let (seen, done) = run("x.zip", &z, &limits);
        assert_eq!(
            seen,
            vec![("x.zip!b.txt".into(), b"hi".to_vec())],
            "{method}"
        );
        let w = done.unwrap().warnings;
        assert!(
            w.len() == 1 && w[0].to_string().contains(want),
            "{method}: {w:?}"
        );
    }
    // A bomb that claims a small size: stopped at the ratio, whatever
    // the method.
    let zeros = vec![0u8; 4 << 20];
    for (method, bytes) in [(12u16, bz2_of(&zeros)), (93, zst_of(&zeros))] {
        let z = zip_raw(&[("z.bin", method, &bytes, b"tiny")]);
        let (seen, done) = run("b.zip", &z, &limits);
        assert!(seen.is_empty(), "{method}");
        let w = done.unwrap().warnings;
        assert!(
            matches!(w[..], [Warning::ArchiveBomb { .. }]),
            "{method}: {w:?}"
        );
    }
}

#[test]
fn compressed_files_are_recognised_by_their_bytes() {
    assert_eq!(
        detect(&bz2_of(b"a")),
        Some(Kind::Compressed(Compression::Bzip2))
    );
    assert_eq!(
        detect(&bz2_of(b"")),
        Some(Kind::Compressed(Compression::Bzip2))
    );
    assert_eq!(
        detect(&xz_of(b"a")),
        Some(Kind::Compressed(Compression::Xz))
    );
    assert_eq!(
        detect(&zst_of(b"a")),
        Some(Kind::Compressed(Compression::Zstd))
    );
    // pzstd's files start with a skippable frame.
    let mut pzstd = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    pzstd.extend(zst_of(b"a"));
    assert_eq!(detect(&pzstd), Some(Kind::Compressed(Compression::Zstd)));
    assert_eq!(detect(&pzstd[..14]), None);
    // Text that starts like a bzip2 header is text; text with the whole
    // magic is tried, refused, and scanned as it is.
    assert_eq!(detect(b"BZh5 and more"), None);
    let text = b"BZh91AY&SY is how a bzip2 file starts";
    assert_eq!(detect(text), Some(Kind::Compressed(Compression::Bzip2)));
    let budget = Budget::new(&ArchiveLimits::default());
    assert!(expand(
        "f",
        text,
        Kind::Compressed(Compression::Bzip2),
        &budget,
        &mut |_| ()
    )
    .is_none());
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
fn a_zstd_window_too_large_to_hold_is_a_warning() {
    // A frame that asks for a 1 GiB window (`zstd --long=30` on a pipe),
    // with one raw block: ruzstd would hold the whole window.
    let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 9, 0, 0, b'a'];
    let budget = Budget::new(&ArchiveLimits::default());
    let kind = detect(&frame).expect("zstd");
    let done = expand("big.tar.zst", &frame, kind, &budget, &mut |_| {
        panic!("a member")
    });
    let w = done.expect("known to be zstd").warnings;
    assert!(
        matches!(&w[..], [Warning::ArchiveInflate { member, .. }] if member == "big.tar.zst")
            && w[0].to_string().contains("window"),
        "{w:?}"
    );
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
        Kind::Compressed(Compression::Gzip),
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
    let xz_bomb = include_bytes!("../../../fixtures/hiding/bombs/zeros.bin.xz");
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

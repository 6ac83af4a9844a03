//! Archive members on arbitrary bytes, opened as zip (members stored with
//! deflate, bzip2, LZMA, xz or zstd), tar, gzip, bzip2, xz and zstd: names with `..`, absolute paths, links, nested and oversized
//! members. Never a panic; every member is named inside its archive
//! (`archive!member`) and the members together stay inside the limits (count,
//! bytes per member, bytes in all). The whole scan (nested archives included)
//! must not panic either.
#![no_main]

use std::sync::OnceLock;

use keyflare::scan::archive::{detect, expand, ArchiveLimits, Budget, Compression, Kind};
use keyflare::source::blob::{Blob, Content};
use keyflare::source::Stats;
use keyflare::{RuleSet, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;

/// Small limits, so that the fuzzer can reach them.
fn limits() -> ArchiveLimits {
    ArchiveLimits {
        max_depth: 2,
        max_members: 16,
        max_total_bytes: 1 << 20,
        max_member_bytes: 64 << 10,
        max_ratio: 100,
    }
}

fn scanner() -> &'static Scanner<'static> {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    static SCANNER: OnceLock<Scanner<'static>> = OnceLock::new();
    SCANNER.get_or_init(|| {
        let rules = RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"));
        let opts = ScanOptions {
            archive_limits: limits(),
            ..ScanOptions::default()
        };
        Scanner::new(rules, opts)
    })
}

fuzz_target!(|data: &[u8]| {
    let limits = limits();
    let kinds = match detect(data) {
        Some(k) => vec![k],
        None => vec![
            Kind::Zip,
            Kind::Tar,
            Kind::Compressed(Compression::Gzip),
            Kind::Compressed(Compression::Bzip2),
            Kind::Compressed(Compression::Xz),
            Kind::Compressed(Compression::Zstd),
        ],
    };
    for kind in kinds {
        let budget = Budget::new(&limits);
        let mut members = 0u64;
        let mut bytes = 0u64;
        let mut visit = |m: Blob<'static>| {
            assert!(m.path.starts_with("up.zip!"), "{:?}", m.path);
            let Content::Held(held) = &m.content else {
                panic!("a member not read whole")
            };
            assert!(held.len() as u64 <= limits.max_member_bytes);
            members += 1;
            bytes += held.len() as u64;
        };
        let _ = expand("up.zip", data, kind, &budget, &mut visit);
        assert!(members <= limits.max_members, "{members} members");
        assert!(bytes <= limits.max_total_bytes, "{bytes} bytes");
    }
    let blob = Blob::file("up.zip", data.to_vec());
    let _ = keyflare::scan_blob(scanner(), &blob, &Stats::default());
});

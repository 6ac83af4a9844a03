//! Bench tool: the cost of inflating every object of a repository once, on
//! every core, with keyflare's libgit2 settings and no matching: the floor
//! of a history scan (`bench/run.sh` times it).
//! `cargo run --release --example inflate_floor -- REPO [THREADS]`
use std::sync::atomic::{AtomicU64, Ordering};

fn main() {
    keyflare::source::git::windows::set_pack_windows(
        keyflare::source::git::windows::PackReads::Unknown,
    );
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| ".".into());
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    // As keyflare's scans: no re-hashing of what is read.
    git2::opts::strict_hash_verification(false);
    let repo = git2::Repository::open(&path).expect("a repository");
    let mut ids = Vec::new();
    repo.odb()
        .expect("objects")
        .foreach(|id| {
            ids.push(*id);
            true
        })
        .expect("list objects");
    let blobs = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let missing = AtomicU64::new(0);
    std::thread::scope(|s| {
        for chunk in ids.chunks(ids.len().div_ceil(threads).max(1)) {
            let (blobs, bytes, missing, path) = (&blobs, &bytes, &missing, &path);
            s.spawn(move || {
                let repo = git2::Repository::open(path).expect("a repository");
                let odb = repo.odb().expect("objects");
                for id in chunk {
                    match odb.read(*id) {
                        Ok(o) if o.kind() == git2::ObjectType::Blob => {
                            blobs.fetch_add(1, Ordering::Relaxed);
                            bytes.fetch_add(o.len() as u64, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(_) => {
                            missing.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    println!(
        "{} objects, {} blobs, {} bytes of blobs, {} unreadable, {threads} threads",
        ids.len(),
        blobs.into_inner(),
        bytes.into_inner(),
        missing.into_inner()
    );
}

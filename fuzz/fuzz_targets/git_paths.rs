//! Git tree entries and paths from a hostile repository, through the history
//! scan that attributes findings: names with control characters, `..`, `/`,
//! NUL-free bytes of any kind, very long names and deep nesting, written as
//! raw tree objects (libgit2's tree builder would refuse most of them).
//! Never a panic; a scan either fails with an error or attributes every
//! finding to the one commit there is.
//!
//! Input layout, repeated: a depth byte (nesting, modulo 64), a name length
//! byte, the name (NUL bytes dropped), a content byte (odd: a synthetic token
//! line, even: nothing). Entries go into one root tree in input order (not
//! necessarily git's sorted order, duplicates allowed).
#![no_main]

use std::sync::OnceLock;

use git2::{ObjectType, Oid, Repository};
use keyflare::source::git::GitOptions;
use keyflare::{RuleSet, ScanOptions};
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"))
}

/// A synthetic token with a valid checksum (never a real credential).
fn token_line() -> Vec<u8> {
    let body = "Q7mK2pX9vL4nR8tW1yB6cD3fH5jG0sZaEeUuIiOo";
    format!("x=cfut_{body}{:08x}\n", crc32fast::hash(body.as_bytes())).into_bytes()
}

fn tree_entry(out: &mut Vec<u8>, mode: &[u8], name: &[u8], id: Oid) {
    out.extend_from_slice(mode);
    out.push(b' ');
    out.extend_from_slice(name);
    out.push(0);
    out.extend_from_slice(id.as_bytes());
}

fuzz_target!(|input: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = Repository::init(dir.path()).expect("git init");
    let odb = repo.odb().expect("odb");
    let empty = odb.write(ObjectType::Blob, b"").expect("blob");
    let secret = odb.write(ObjectType::Blob, &token_line()).expect("blob");

    let mut root = Vec::new();
    let mut rest = input;
    while let [depth, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let name: Vec<u8> = tail[..n].iter().copied().filter(|&b| b != 0).collect();
        let (content, next) = match &tail[n..] {
            [c, next @ ..] => (*c, next),
            [] => (0, &[][..]),
        };
        rest = next;
        let mut id = if content & 1 == 1 { secret } else { empty };
        let mut mode: &[u8] = b"100644";
        for _ in 0..(depth % 64) {
            let mut t = Vec::new();
            tree_entry(&mut t, mode, &name, id);
            id = odb.write(ObjectType::Tree, &t).expect("tree");
            mode = b"40000";
        }
        tree_entry(&mut root, mode, &name, id);
    }
    let tree = odb.write(ObjectType::Tree, &root).expect("tree");
    let commit_text = format!(
        "tree {tree}\nauthor A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nfuzz\n"
    );
    let commit = odb
        .write(ObjectType::Commit, commit_text.as_bytes())
        .expect("commit");
    if repo
        .reference("refs/heads/main", commit, true, "fuzz")
        .is_err()
        || repo.set_head("refs/heads/main").is_err()
    {
        return;
    }
    let opts = GitOptions {
        repo: dir.path().to_path_buf(),
        max_file_size: 1 << 20,
        threads: 1,
        all_objects: false,
        recurse_submodules: false,
        exclude: Vec::new(),
    };
    if let Ok(report) = keyflare::scan_history(&opts, &ScanOptions::default(), rules()) {
        let id = commit.to_string();
        for f in &report.findings {
            let c = f
                .commit
                .as_ref()
                .expect("a history finding without its commit");
            assert_eq!(c.commit, id);
        }
    }
});

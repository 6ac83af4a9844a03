//! Git sources, staged changes: which paths the index may change relative to
//! HEAD, found without reading HEAD's whole tree.
//!
//! A pre-commit scan must not cost the size of the repository. libgit2's
//! tree-to-index diff reads every tree of HEAD and compares every index
//! entry: a second in a repository of 100,000 files, where
//! `git diff --cached` takes milliseconds because it uses the index's
//! cache-tree (its `TREE` extension: for each directory whose entries did not
//! change since git last computed it, the id of the tree they make). A
//! directory whose cached id equals HEAD's tree at that path holds no staged
//! change and is skipped unread; the others are compared entry by entry, as
//! the diff would. The result is a superset of the changed paths, handed to
//! the diff as an exact path list, so the diff (renames included) is the one
//! the whole comparison gives. Anything unexpected (index version 4, a
//! split index, no cache-tree, case-insensitive paths) gives `None`: the
//! caller then diffs everything, as before.

use std::collections::BTreeMap;

use git2::{Oid, Repository, Tree};

/// One index entry, as read from the file.
struct Entry<'a> {
    path: &'a [u8],
    mode: u32,
    id: &'a [u8],
    /// Non-zero for the sides of a conflict.
    stage: u16,
    /// Extended flags (intent-to-add, skip-worktree) are set.
    extended: bool,
    file_size: u32,
}

/// One cache-tree node: a directory and, if valid, the id of its tree.
#[derive(Debug)]
struct Node {
    id: Option<Oid>,
    children: BTreeMap<Vec<u8>, Node>,
}

const HASH: usize = 20;

/// What [`staged`] found: the paths the index may change relative to HEAD
/// (every changed path is in it; unchanged ones may be too) and an
/// in-memory index holding only their entries, so that libgit2 does not
/// load (and checksum) the whole index for the diff.
pub(crate) struct Staged {
    pub paths: Vec<Vec<u8>>,
    pub index: git2::Index,
}

/// Reads the index file `index_file` against HEAD's tree `head`. `None`
/// when it cannot be read this way, or holds a conflict or an entry with
/// extended flags (intent-to-add): the full diff handles those.
pub(crate) fn staged(repo: &Repository, index_file: &[u8], head: &Tree<'_>) -> Option<Staged> {
    let (entries, tree) = parse(index_file)?;
    let paths = candidates(repo, &entries, &tree, head)?;
    let mut index = git2::Index::new().ok()?;
    // The candidates are few and the entries sorted by path: look each one
    // up rather than test every entry against the candidates.
    for path in &paths {
        let first = entries.partition_point(|e| e.path < path.as_slice());
        for e in entries[first..]
            .iter()
            .take_while(|e| e.path == path.as_slice())
        {
            if e.stage != 0 || e.extended {
                return None;
            }
            let zero = git2::IndexTime::new(0, 0);
            index
                .add(&git2::IndexEntry {
                    ctime: zero,
                    mtime: zero,
                    dev: 0,
                    ino: 0,
                    mode: e.mode,
                    uid: 0,
                    gid: 0,
                    file_size: e.file_size,
                    id: Oid::from_bytes(e.id).ok()?,
                    flags: 0,
                    flags_extended: 0,
                    path: e.path.to_vec(),
                })
                .ok()?;
        }
    }
    Some(Staged { paths, index })
}

/// The index file at `path`, mapped rather than read: git replaces the
/// index by renaming a new file over it and never writes into the old one,
/// so the mapping holds one version whatever git does meanwhile.
pub(crate) fn map_index(path: &std::path::Path) -> Option<memmap2::Mmap> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: see above; a file cut short in place by another program would
    // end the process with SIGBUS (a failed hook), never a wrong answer.
    unsafe { memmap2::Mmap::map(&file) }.ok()
}

/// The paths `entries` (with cache-tree `tree`) may change relative to
/// `head`, sorted.
fn candidates(
    repo: &Repository,
    entries: &[Entry<'_>],
    tree: &Node,
    head: &Tree<'_>,
) -> Option<Vec<Vec<u8>>> {
    // Paths that differ only in case would compare unequal here but equal
    // in the diff: leave those repositories to the full diff.
    if repo
        .config()
        .ok()
        .and_then(|c| c.get_bool("core.ignorecase").ok())
        .unwrap_or(false)
    {
        return None;
    }
    let mut out = Vec::new();
    let mut prefix = Vec::new();
    compare(repo, Some(tree), Some(head), entries, &mut prefix, &mut out)?;
    out.sort();
    out.dedup();
    Some(out)
}

/// Compares the index entries `entries` (all under `prefix`, which is empty
/// or ends in `/`) with HEAD's tree `head` at that directory, adding the
/// paths that may differ to `out`.
fn compare(
    repo: &Repository,
    node: Option<&Node>,
    head: Option<&Tree<'_>>,
    entries: &[Entry<'_>],
    prefix: &mut Vec<u8>,
    out: &mut Vec<Vec<u8>>,
) -> Option<()> {
    if let (Some(Node { id: Some(id), .. }), Some(h)) = (node, head) {
        if *id == h.id() {
            return Some(());
        }
    }
    // This directory's index entries, by name: a file (its entries, one per
    // stage) or a subdirectory (its range).
    enum Side<'e, 'a> {
        Files(&'e [Entry<'a>]),
        Dir(&'e [Entry<'a>]),
    }
    let mut here: BTreeMap<&[u8], Side<'_, '_>> = BTreeMap::new();
    let mut i = 0;
    while i < entries.len() {
        let rest = entries[i].path.get(prefix.len()..)?;
        // Entries are sorted by path, so each group is a range whose end is
        // found by bisection: a directory of 100,000 entries costs its
        // groups, not its entries.
        match memchr::memchr(b'/', rest) {
            Some(slash) => {
                let name = &rest[..slash];
                let dir = &entries[i].path[..prefix.len() + slash + 1];
                let j = i + entries[i..].partition_point(|e| e.path.starts_with(dir));
                here.insert(name, Side::Dir(&entries[i..j]));
                i = j;
            }
            None => {
                let path = entries[i].path;
                let j = i + entries[i..].partition_point(|e| e.path == path);
                here.insert(rest, Side::Files(&entries[i..j]));
                i = j;
            }
        }
    }
    let len = prefix.len();
    if let Some(h) = head {
        for e in h.iter() {
            let name = e.name_bytes();
            prefix.truncate(len);
            prefix.extend_from_slice(name);
            let is_tree = e.filemode() == 0o040000;
            match (here.remove(name), is_tree) {
                (Some(Side::Files(f)), false) => {
                    let same = f.len() == 1
                        && f[0].stage == 0
                        && f[0].mode == e.filemode() as u32
                        && f[0].id == e.id().as_bytes();
                    if !same {
                        out.push(prefix.clone());
                    }
                }
                (Some(Side::Dir(d)), true) => {
                    let child = node.and_then(|n| n.children.get(name));
                    // Checked before reading HEAD's subtree: not reading
                    // it is the point.
                    if child.is_some_and(|c| c.id == Some(e.id())) {
                        continue;
                    }
                    let sub = repo.find_tree(e.id()).ok()?;
                    prefix.push(b'/');
                    compare(repo, child, Some(&sub), d, prefix, out)?;
                }
                (Some(Side::Files(_)), true) => {
                    out.push(prefix.clone());
                    let sub = repo.find_tree(e.id()).ok()?;
                    prefix.push(b'/');
                    compare(repo, None, Some(&sub), &[], prefix, out)?;
                }
                (Some(Side::Dir(d)), false) => {
                    out.push(prefix.clone());
                    out.extend(d.iter().map(|x| x.path.to_vec()));
                }
                (None, false) => out.push(prefix.clone()),
                (None, true) => {
                    let sub = repo.find_tree(e.id()).ok()?;
                    prefix.push(b'/');
                    compare(repo, None, Some(&sub), &[], prefix, out)?;
                }
            }
        }
    }
    // What the index has and HEAD does not.
    for (_, side) in here {
        match side {
            Side::Files(f) => out.push(f[0].path.to_vec()),
            Side::Dir(d) => out.extend(d.iter().map(|x| x.path.to_vec())),
        }
    }
    prefix.truncate(len);
    Some(())
}

/// Reads an index file (versions 2 and 3, what git writes unless told
/// otherwise): its entries, in the file's (sorted) order, and its cache-tree.
fn parse(data: &[u8]) -> Option<(Vec<Entry<'_>>, Node)> {
    if data.get(..4)? != b"DIRC" {
        return None;
    }
    let version = be32(data, 4)?;
    if !(2..=3).contains(&version) {
        return None;
    }
    let count = be32(data, 8)? as usize;
    let end = data.len().checked_sub(HASH)?;
    let mut off = 12;
    let mut entries = Vec::with_capacity(count.min(end / 62));
    for _ in 0..count {
        let fixed = data.get(off..off + 62)?;
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        let mut name_at = off + 62;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            name_at += 2;
        }
        let nul = memchr::memchr(0, data.get(name_at..end)?)?;
        entries.push(Entry {
            path: &data[name_at..name_at + nul],
            mode: be32(fixed, 24)?,
            id: &fixed[40..60],
            stage: (flags >> 12) & 3,
            extended: flags & 0x4000 != 0,
            file_size: be32(fixed, 36)?,
        });
        // Each entry is padded with NULs to a multiple of 8 bytes.
        off += (name_at - off + nul + 8) & !7;
    }
    let mut tree = None;
    while off + 8 <= end {
        let sig = &data[off..off + 4];
        let size = be32(data, off + 4)? as usize;
        let body = data.get(off + 8..(off + 8).checked_add(size)?)?;
        match sig {
            b"TREE" => tree = Some(parse_tree(body)?),
            // A split index keeps its entries in another file.
            b"link" => return None,
            _ => {}
        }
        off += 8 + size;
    }
    if off != end {
        return None;
    }
    Some((entries, tree?))
}

/// Reads the cache-tree extension: nodes in pre-order, each "path NUL
/// entry_count SP subtree_count LF" followed by the tree's id unless
/// entry_count is -1 (the directory changed since).
fn parse_tree(mut body: &[u8]) -> Option<Node> {
    let (_, root) = parse_node(&mut body, 0)?;
    Some(root)
}

fn parse_node(body: &mut &[u8], depth: usize) -> Option<(Vec<u8>, Node)> {
    // Deeper than any real tree: a damaged extension.
    if depth > 4096 {
        return None;
    }
    let nul = memchr::memchr(0, body)?;
    let name = body[..nul].to_vec();
    let rest = &body[nul + 1..];
    let nl = memchr::memchr(b'\n', rest)?;
    let line = std::str::from_utf8(&rest[..nl]).ok()?;
    let (entries, subtrees) = line.split_once(' ')?;
    let entries: i64 = entries.parse().ok()?;
    let subtrees: usize = subtrees.parse().ok()?;
    let mut rest = &rest[nl + 1..];
    let id = if entries >= 0 {
        let id = Oid::from_bytes(rest.get(..HASH)?).ok()?;
        rest = &rest[HASH..];
        Some(id)
    } else {
        None
    };
    *body = rest;
    let mut children = BTreeMap::new();
    for _ in 0..subtrees {
        let (n, child) = parse_node(body, depth + 1)?;
        children.insert(n, child);
    }
    Some((name, Node { id, children }))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// The (old, new) paths of libgit2's tree-to-index diff, limited to
    /// `paths` if given.
    fn diff_paths(
        repo: &Repository,
        paths: Option<&[Vec<u8>]>,
        index: Option<&git2::Index>,
    ) -> Vec<(String, String)> {
        let head = repo.head().and_then(|h| h.peel_to_tree()).expect("HEAD");
        let whole = repo.index().expect("index");
        let index = index.unwrap_or(&whole);
        let mut o = git2::DiffOptions::new();
        if let Some(paths) = paths {
            for p in paths {
                o.pathspec(p.clone());
            }
            o.disable_pathspec_match(true);
        }
        let mut diff = repo
            .diff_tree_to_index(Some(&head), Some(index), Some(&mut o))
            .expect("diff");
        diff.find_similar(Some(git2::DiffFindOptions::new().renames(true)))
            .expect("renames");
        diff.deltas()
            .map(|d| {
                let p = |f: git2::DiffFile<'_>| {
                    f.path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                };
                (p(d.old_file()), p(d.new_file()))
            })
            .collect()
    }

    #[test]
    fn the_cache_tree_skips_unchanged_directories_and_keeps_every_change() {
        let tmp = std::env::temp_dir().join(format!("kf-cache-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).expect("tmp");
        git(&tmp, &["init", "-q"]);
        for d in 0..20 {
            for f in 0..5 {
                write(
                    &tmp,
                    &format!("keep{d:02}/sub/f{f}.txt"),
                    &format!("{d} {f}\n"),
                );
            }
        }
        write(&tmp, "a/b/edit.txt", "one\n");
        write(&tmp, "a/b/same.txt", "same\n");
        write(&tmp, "a/mode.sh", "echo\n");
        write(&tmp, "gone/x.txt", "x\n");
        write(
            &tmp,
            "old/moved.txt",
            "a long enough line to be found as a rename\n",
        );
        write(&tmp, "file_then_dir", "f\n");
        write(&tmp, "dir_then_file/y.txt", "y\n");
        write(&tmp, "top.txt", "top\n");
        git(&tmp, &["add", "-A"]);
        git(&tmp, &["commit", "-q", "-m", "base"]);
        // Rewrite the index from HEAD so that every directory has a valid
        // cache-tree entry, as after a checkout.
        git(&tmp, &["read-tree", "HEAD"]);
        write(&tmp, "a/b/edit.txt", "two\n");
        git(&tmp, &["update-index", "--chmod=+x", "a/mode.sh"]);
        git(
            &tmp,
            &["rm", "-q", "-r", "gone", "file_then_dir", "dir_then_file"],
        );
        write(&tmp, "file_then_dir/z.txt", "z\n");
        write(&tmp, "dir_then_file", "now a file\n");
        git(&tmp, &["mv", "old", "new"]);
        write(&tmp, "fresh/deep/n.txt", "new\n");
        git(&tmp, &["add", "-A"]);

        let repo = Repository::open(&tmp).expect("open");
        let head = repo.head().and_then(|h| h.peel_to_tree()).expect("HEAD");
        let data = std::fs::read(tmp.join(".git/index")).expect("index file");
        let staged = staged(&repo, &data, &head).expect("a cache-tree");
        let got = staged.paths.clone();
        let got_text: Vec<String> = got
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        let full = diff_paths(&repo, None, None);
        assert!(full.len() >= 8, "{full:?}");
        for (old, new) in &full {
            assert!(got_text.contains(old), "{old} missing from {got_text:?}");
            assert!(got_text.contains(new), "{new} missing from {got_text:?}");
        }
        // Unchanged directories were skipped, not listed.
        assert!(
            got_text.iter().all(|p| !p.starts_with("keep")),
            "{got_text:?}"
        );
        assert!(!got_text.contains(&"a/b/same.txt".to_string()));
        // And the diff limited to them is the whole diff, renames included.
        assert!(full.contains(&("old/moved.txt".into(), "new/moved.txt".into())));
        assert_eq!(diff_paths(&repo, Some(&got), None), full);
        // The small in-memory index gives that diff too.
        assert_eq!(diff_paths(&repo, Some(&got), Some(&staged.index)), full);
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn a_damaged_index_is_left_to_the_full_diff() {
        assert!(parse(b"DIRC\0\0\0\x02\0\0\0\x05").is_none());
        assert!(parse(b"not an index at all, not at all").is_none());
        let mut body: &[u8] = b"\0-1 3\n";
        assert!(parse_node(&mut body, 0).is_none());
    }
}

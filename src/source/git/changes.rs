//! Change sources: what the commits of a range add, or what the index adds
//! to HEAD, as a pull-request check or a pre-commit hook needs.
//!
//! Each changed file comes out once per commit as a [`Blob`] with its new
//! content and, in its origin, the line numbers the change added and the
//! versions it replaced. A merge commit adds only the lines that are in none
//! of its parents (conflict resolutions, "evil" merges): what it brings from
//! the merged branch was added by that branch's own commits. Renames are
//! detected, so a moved file adds nothing. Only the blobs that differ are
//! read, never whole trees (except [`tree_contains`], which the caller uses
//! only when there are candidates to check).
//!
//! Stage: source. It hands out bytes; it never matches, filters or reports.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, Oid, Repository, Sort, Tree};

use super::{
    commit_meta, list_paths, read_blob, shallow_notice, BlobRead, CommitMeta, GitOptions, Warning,
};
use crate::error::{Error, GitOp};
use crate::source::blob::{Blob, Content, Diff, Origin};
use crate::source::Stats;

pub use crate::source::blob::Added;

/// What a range scan walked, for attributing and filtering its findings.
#[derive(Debug, Default)]
pub struct RangeScan {
    /// The range's commits, oldest first; [`Origin::Range`]'s `commit`
    /// indexes this.
    pub commits: Vec<CommitMeta>,
    /// BASE's tree: secrets already there are not the range's doing.
    pub base_tree: Option<Oid>,
    /// The range's last commit's tree, for `in_head`.
    pub head_tree: Option<Oid>,
    /// What the scan did not cover.
    pub notices: Vec<String>,
}

fn diff_options() -> DiffOptions {
    let mut o = DiffOptions::new();
    // Submodules are gitlinks here; their content is another repository's.
    o.ignore_submodules(false).skip_binary_check(true);
    o
}

/// The base commit of `spec` (`BASE..HEAD`: BASE; `BASE...HEAD`: the
/// merge base) and its HEAD commit.
pub fn range_ends(repo: &Repository, spec: &str) -> Result<(Oid, Oid), Error> {
    let bad = |msg: &str| Error::Usage(format!("--range {spec}: {msg}"));
    let rs = repo.revparse(spec).map_err(|e| bad(e.message()))?;
    if !rs.mode().contains(git2::RevparseMode::RANGE) {
        return Err(bad("expected BASE..HEAD (or BASE...HEAD)"));
    }
    let (Some(from), Some(to)) = (rs.from(), rs.to()) else {
        return Err(bad("expected BASE..HEAD (or BASE...HEAD)"));
    };
    let from = from.peel_to_commit().map_err(|e| bad(e.message()))?;
    let to = to.peel_to_commit().map_err(|e| bad(e.message()))?;
    let base = if rs.mode().contains(git2::RevparseMode::MERGE_BASE) {
        repo.merge_base(from.id(), to.id())
            .map_err(|e| bad(e.message()))?
    } else {
        from.id()
    };
    Ok((base, to.id()))
}

/// Scans the commits of `spec` (`BASE..HEAD`, or `BASE...HEAD` for the
/// commits since the merge base), oldest first, calling `visit` for each
/// changed file of each commit.
pub fn range<F>(
    repo: &Repository,
    spec: &str,
    opts: &GitOptions,
    stats: &Stats,
    mut visit: F,
) -> Result<RangeScan, Error>
where
    F: FnMut(Blob<'_>),
{
    let (base, to) = range_ends(repo, spec)?;
    let to = repo.find_commit(to).map_err(GitOp::ReadCommit.err())?;
    let mut scan = RangeScan {
        base_tree: repo.find_commit(base).ok().map(|c| c.tree_id()),
        head_tree: Some(to.tree_id()),
        notices: shallow_notice(repo).into_iter().collect(),
        ..RangeScan::default()
    };
    let mut walk = repo.revwalk().map_err(GitOp::Walk.err())?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(GitOp::Walk.err())?;
    walk.push(to.id()).map_err(GitOp::Walk.err())?;
    walk.hide(base).map_err(GitOp::Walk.err())?;
    let mut gitlinks = Vec::new();
    for oid in walk {
        let oid = oid.map_err(GitOp::Walk.err())?;
        let commit = match repo.find_commit(oid) {
            Ok(c) => c,
            Err(e) => {
                stats.warn(Warning::Commit {
                    id: oid,
                    error: e.into(),
                });
                continue;
            }
        };
        let tree = match commit.tree() {
            Ok(t) => t,
            Err(e) => {
                stats.warn(Warning::CommitTree {
                    commit: oid,
                    tree: None,
                    error: e.into(),
                });
                continue;
            }
        };
        // Missing parents (a shallow boundary) count as empty.
        let parents: Vec<Tree<'_>> = commit.parents().filter_map(|p| p.tree().ok()).collect();
        let meta = commit_meta(repo, oid).map_err(GitOp::ReadCommit.err())?;
        let idx = scan.commits.len();
        scan.commits.push(meta);
        let diff = repo
            .diff_tree_to_tree(parents.first(), Some(&tree), Some(&mut diff_options()))
            .map_err(GitOp::Diff.err())?;
        let what = format!("commit {oid}");
        changed_files(
            repo,
            diff,
            parents.get(1..).unwrap_or(&[]),
            Some(idx),
            &what,
            opts,
            stats,
            &mut gitlinks,
            &mut visit,
        )?;
    }
    scan.notices.extend(submodule_notice(gitlinks));
    Ok(scan)
}

/// Scans what the index adds to HEAD (everything staged, if there is no
/// commit yet). Honours `GIT_INDEX_FILE`, which git sets for hooks of
/// `git commit -a` and `git commit <paths>`. Returns notices.
pub fn staged<F>(
    repo: &Repository,
    opts: &GitOptions,
    stats: &Stats,
    mut visit: F,
) -> Result<Vec<String>, Error>
where
    F: FnMut(Blob<'_>),
{
    if repo.is_bare() {
        return Err(Error::Usage(format!(
            "--staged: {} is a bare repository, which has no index",
            repo.path().display()
        )));
    }
    let index_file = match std::env::var_os("GIT_INDEX_FILE") {
        Some(p) if !p.is_empty() => Some(std::path::PathBuf::from(p)),
        _ => None,
    };
    let head = match repo.head() {
        Ok(h) => Some(h.peel_to_tree().map_err(GitOp::ReadTree.err())?),
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            None
        }
        Err(e) => return Err(GitOp::ReadTree.err()(e)),
    };
    let mut options = diff_options();
    // First the index's cache-tree (see `cache_tree`): the same diff,
    // without reading all of HEAD and all of the index.
    let file = index_file
        .clone()
        .unwrap_or_else(|| repo.path().join("index"));
    let fast = head.as_ref().and_then(|h| {
        let mapped = super::cache_tree::map_index(&file)?;
        super::cache_tree::staged(repo, &mapped, h)
    });
    let index = match fast {
        Some(s) if s.paths.is_empty() => return Ok(Vec::new()),
        Some(s) => {
            for p in s.paths {
                options.pathspec(p);
            }
            options.disable_pathspec_match(true);
            s.index
        }
        None => {
            let mut index = match index_file {
                Some(p) => git2::Index::open(&p).map_err(GitOp::ReadIndex.err())?,
                None => repo.index().map_err(GitOp::ReadIndex.err())?,
            };
            // Another process may have staged since the repository was opened.
            index.read(false).map_err(GitOp::ReadIndex.err())?;
            index
        }
    };
    let diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut options))
        .map_err(GitOp::Diff.err())?;
    let mut gitlinks = Vec::new();
    changed_files(
        repo,
        diff,
        &[],
        None,
        "the index",
        opts,
        stats,
        &mut gitlinks,
        &mut visit,
    )?;
    Ok(submodule_notice(gitlinks).into_iter().collect())
}

fn submodule_notice(mut gitlinks: Vec<String>) -> Option<String> {
    gitlinks.sort();
    gitlinks.dedup();
    (!gitlinks.is_empty()).then(|| {
        format!(
            "skipped changes to {} submodule{} ({}): their commits are scanned in their own repositories",
            gitlinks.len(),
            if gitlinks.len() == 1 { "" } else { "s" },
            list_paths(&gitlinks)
        )
    })
}

/// Calls `visit` for each file `diff` adds or changes, with the lines added
/// relative to the diff's old side and to each of `other_parents`.
#[allow(clippy::too_many_arguments)]
fn changed_files<F>(
    repo: &Repository,
    mut diff: git2::Diff<'_>,
    other_parents: &[Tree<'_>],
    commit: Option<usize>,
    what: &str,
    opts: &GitOptions,
    stats: &Stats,
    gitlinks: &mut Vec<String>,
    visit: &mut F,
) -> Result<(), Error>
where
    F: FnMut(Blob<'_>),
{
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))
        .map_err(GitOp::Diff.err())?;
    let odb = repo.odb().map_err(GitOp::OpenObjects.err())?;
    for delta in diff.deltas() {
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) {
            continue;
        }
        let new = delta.new_file();
        let path = new
            .path_bytes()
            .map(|p| String::from_utf8_lossy(p).replace('\\', "/"))
            .unwrap_or_default();
        match new.mode() {
            FileMode::Blob | FileMode::BlobExecutable | FileMode::BlobGroupWritable => {}
            FileMode::Commit => {
                gitlinks.push(path);
                continue;
            }
            _ => continue,
        }
        let new_id = new.id();
        let mut old_ids = Vec::new();
        let old = delta.old_file();
        if delta.status() != Delta::Added
            && matches!(
                old.mode(),
                FileMode::Blob | FileMode::BlobExecutable | FileMode::BlobGroupWritable
            )
        {
            old_ids.push(old.id());
        }
        // A merge adds a line only if no parent had it.
        let mut unchanged_in_a_parent = false;
        for p in other_parents {
            match p.get_path(Path::new(&path)) {
                Ok(e) if e.id() == new_id => unchanged_in_a_parent = true,
                Ok(e) if e.kind() == Some(git2::ObjectType::Blob) => old_ids.push(e.id()),
                _ => {}
            }
        }
        if unchanged_in_a_parent {
            continue;
        }
        let describe = || format!("{path} in {what}");
        let data = match read_blob(&odb, new_id, opts.max_file_size, stats, &describe) {
            BlobRead::Data(obj) => obj,
            BlobRead::Skip => continue,
        };
        let mut before = Vec::new();
        for id in old_ids {
            // An old version too large to read counts as absent: all lines are new.
            if let BlobRead::Data(o) = read_blob(&odb, id, opts.max_file_size, stats, &describe) {
                before.push(o.data().to_vec());
            }
        }
        let mut added = Added::All;
        for old in &before {
            added = added.intersect(added_lines(old, data.data()));
        }
        if added.is_empty() {
            continue;
        }
        stats.add_blob(data.len());
        let diff = Diff {
            added: &added,
            before: &before,
        };
        visit(Blob {
            id: Some(new_id),
            path: Cow::Borrowed(&path),
            origin: match commit {
                Some(commit) => Origin::Range { commit, diff },
                None => Origin::Staged(diff),
            },
            content: Content::Held(Cow::Borrowed(data.data())),
        });
    }
    Ok(())
}

/// The 1-based lines of `new` whose text is on no line of `old`: what the
/// change brought in. A line that is only moved or repeated brings nothing
/// new, so unlike a diff's hunks these leave it out; a secret on a new line
/// is always a line of its own text. (A diff was the slowest part of a
/// pre-commit scan: a line set costs a hash per line.)
pub fn added_lines(old: &[u8], new: &[u8]) -> Added {
    // Sized up front: growing the set rehashes every line again.
    let mut had: HashSet<&[u8]> =
        HashSet::with_capacity(memchr::memchr_iter(b'\n', old).count() + 1);
    had.extend(old.split(|&b| b == b'\n'));
    let lines = new
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !had.contains(line))
        .map(|(i, _)| i + 1)
        .collect();
    Added::Lines(lines)
}

/// For each needle, whether any blob of `tree` (up to the size limit)
/// contains it. Stops reading once all are found.
pub fn tree_contains(
    repo: &Repository,
    tree: Oid,
    needles: &[&[u8]],
    max_size: u64,
    stats: &Stats,
) -> Vec<bool> {
    search_tree(repo, tree, needles, max_size, stats, false)
        .into_iter()
        .map(|paths| !paths.is_empty())
        .collect()
}

/// For each needle, the paths of `tree` whose blob (up to the size limit)
/// contains it, sorted. Reads the whole tree.
pub fn tree_holders(
    repo: &Repository,
    tree: Oid,
    needles: &[&[u8]],
    max_size: u64,
    stats: &Stats,
) -> Vec<Vec<String>> {
    search_tree(repo, tree, needles, max_size, stats, true)
}

/// Paths of `tree` holding each needle; with `all` false, stops at the
/// first path of each (once all needles have one).
fn search_tree(
    repo: &Repository,
    tree: Oid,
    needles: &[&[u8]],
    max_size: u64,
    stats: &Stats,
    all: bool,
) -> Vec<Vec<String>> {
    let mut found: Vec<Vec<String>> = vec![Vec::new(); needles.len()];
    if needles.is_empty() {
        return found;
    }
    let (Ok(tree), Ok(odb)) = (repo.find_tree(tree), repo.odb()) else {
        return found;
    };
    let finders: Vec<memchr::memmem::Finder<'_>> =
        needles.iter().map(memchr::memmem::Finder::new).collect();
    let quiet = Stats::default();
    let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() != Some(git2::ObjectType::Blob) {
            return git2::TreeWalkResult::Ok;
        }
        let describe = || format!("{dir}{}", String::from_utf8_lossy(e.name_bytes()));
        // Size skips here were not the scan's: count them apart.
        if let BlobRead::Data(o) = read_blob(&odb, e.id(), max_size, &quiet, &describe) {
            for (i, f) in finders.iter().enumerate() {
                if (all || found[i].is_empty()) && f.find(o.data()).is_some() {
                    found[i].push(describe());
                }
            }
        }
        if !all && found.iter().all(|f| !f.is_empty()) {
            git2::TreeWalkResult::Abort
        } else {
            git2::TreeWalkResult::Ok
        }
    });
    for w in quiet
        .warnings
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
    {
        stats.warn(w);
    }
    for paths in &mut found {
        paths.sort();
    }
    found
}

/// The content of `path` in `tree`, if it is a blob there.
pub fn blob_at(repo: &Repository, tree: Oid, path: &str) -> Option<Vec<u8>> {
    let tree = repo.find_tree(tree).ok()?;
    let entry = tree.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    Some(blob.content().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::Range;

    #[test]
    fn added_lines_are_those_with_new_text() {
        let old = b"a\nb\nc\nd\n";
        let new = b"a\nB\nc\nd\ne\nf\n";
        assert_eq!(added_lines(old, new), Added::Lines(vec![2, 5, 6]));
        assert_eq!(added_lines(new, new), Added::Lines(vec![]));
        assert_eq!(added_lines(b"", b"x\ny"), Added::Lines(vec![1, 2]));
        // Moved and repeated lines bring nothing; an edited one does.
        assert_eq!(
            added_lines(b"k=1\nx\n", b"x\nk=1\nk=1\nk=2\n"),
            Added::Lines(vec![4])
        );
    }

    #[test]
    fn byte_ranges_cover_runs_of_added_lines() {
        let data = b"a\nbb\ncc\nd\neee";
        let ranges = |lines: Vec<usize>| Added::Lines(lines).byte_ranges(data).unwrap();
        assert_eq!(ranges(vec![2, 3]), vec![2..8]);
        assert_eq!(ranges(vec![1, 3, 5]), vec![0..2, 5..8, 10..13]);
        assert_eq!(ranges(vec![]), Vec::<Range<usize>>::new());
        assert_eq!(Added::All.byte_ranges(data), None);
    }

    #[test]
    fn merges_keep_lines_new_to_every_parent() {
        let a = Added::Lines(vec![1, 2, 5]);
        let b = Added::Lines(vec![2, 5, 7]);
        assert_eq!(a.clone().intersect(b), Added::Lines(vec![2, 5]));
        assert_eq!(Added::All.intersect(a.clone()), a);
        assert!(a.contains(5) && !a.contains(3) && Added::All.contains(9));
    }
}

//! History source, moves: where a secret came from when a commit brought
//! it to a new path (a rename or a copy), looked up in the trees of walked
//! commits after the scan. Reads trees only, never a blob's content, and
//! never matches.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use git2::{Oid, Repository, Tree};

use super::Plan;

/// A rename or copy: the paths that held a secret in the first parent of
/// the commit that brought it to a new path.
#[derive(Debug, Default)]
pub struct MoveSources {
    /// Those paths (at most the limit asked for).
    pub from: Vec<String>,
    /// Whether the commit took the secret away from them (a rename; the
    /// paths are then those it left), else they still hold it (a copy).
    pub renamed: bool,
}

/// Looks up moves in the trees of walked commits, keeping each repository
/// open between lookups.
pub struct Mover<'p> {
    plan: &'p Plan,
    open: HashMap<u16, Option<Repository>>,
    /// Per commit: git's renames (new path → old path).
    pairings: HashMap<usize, HashMap<String, String>>,
    /// Full paths that hold some secret: only they can be a move's ends.
    watched: Vec<String>,
    /// Answers of [`Mover::descends`]: each walks the commit graph.
    descends: HashMap<(usize, usize), bool>,
}

impl Plan {
    /// The repository (0 for the top, then submodules) commit `idx` is of.
    pub fn repo_of(&self, idx: usize) -> Option<u16> {
        self.commits.get(idx).map(|&(r, _)| r)
    }

    /// A [`Mover`] over this walk's commits; `watched` are the (full)
    /// paths that hold a secret somewhere in history.
    pub fn mover(&self, watched: Vec<String>) -> Mover<'_> {
        Mover {
            plan: self,
            open: HashMap::new(),
            pairings: HashMap::new(),
            watched,
            descends: HashMap::new(),
        }
    }
}

impl Mover<'_> {
    /// True if commit `earlier` is an ancestor of commit `idx` (both of
    /// this walk): only then can `idx` have brought a secret from it. The
    /// same secret added on an unrelated branch was written again, not
    /// moved. False when it cannot be told.
    pub fn descends(&mut self, idx: usize, earlier: usize) -> bool {
        if let Some(&known) = self.descends.get(&(idx, earlier)) {
            return known;
        }
        let (Some(&(r, id)), Some(&(re, e))) =
            (self.plan.commits.get(idx), self.plan.commits.get(earlier))
        else {
            return false;
        };
        let answer = r == re
            && opened(&mut self.open, self.plan, r)
                .is_some_and(|repo| repo.graph_descendant_of(id, e).unwrap_or(false));
        self.descends.insert((idx, earlier), answer);
        answer
    }

    /// Which of `candidates` (full paths, each with the blobs that hold the
    /// secret there) held the secret in the first parent of commit `idx`,
    /// at most `limit` of them: those `idx` took it from if there are any
    /// (a rename), else those that kept it (a copy). When git's own rename
    /// detection (`-M`, once per commit, among watched paths only) pairs
    /// `target` with a path that held the secret (`blobs_at` gives the blobs holding it at
    /// a full path), that path goes first, whether or not it is among
    /// `candidates`: with a secret in hundreds of files, it says which one
    /// the file came from.
    pub fn sources<'c>(
        &mut self,
        idx: usize,
        target: &str,
        candidates: &[(&str, &HashSet<Oid>)],
        blobs_at: impl Fn(&str) -> Option<&'c HashSet<Oid>>,
        limit: usize,
    ) -> MoveSources {
        let mut out = MoveSources::default();
        let Some(&(r, id)) = self.plan.commits.get(idx) else {
            return out;
        };
        let plan = self.plan;
        let Some(repo) = opened(&mut self.open, plan, r) else {
            return out;
        };
        let Ok(commit) = repo.find_commit(id) else {
            return out;
        };
        let (Ok(tree), Some(parent)) = (
            commit.tree(),
            commit.parent(0).ok().and_then(|p| p.tree().ok()),
        ) else {
            return out;
        };
        let prefix = plan.prefixes[usize::from(r)].as_str();
        let relative = |path: &'_ str| -> Option<String> {
            match prefix {
                "" => Some(path.to_string()),
                p => path
                    .strip_prefix(p)
                    .and_then(|x| x.strip_prefix('/'))
                    .map(str::to_string),
            }
        };
        // Paths the commit took it from (a rename), and those it kept it
        // at (a copy's sources), by path relative to the repository.
        let mut renamed_from = Vec::new();
        let mut copied_from = Vec::new();
        for (path, blobs) in candidates {
            let Some(rel) = relative(path) else {
                continue;
            };
            let held = |t: &Tree<'_>| {
                t.get_path(Path::new(&rel))
                    .is_ok_and(|e| blobs.contains(&e.id()))
            };
            if !held(&parent) {
                continue;
            }
            if held(&tree) {
                copied_from.push(rel);
            } else {
                renamed_from.push(rel);
            }
        }
        let watched = &self.watched;
        let pairs = self.pairings.entry(idx).or_insert_with(|| {
            let rel: Vec<&str> = watched
                .iter()
                .filter_map(|p| match prefix {
                    "" => Some(p.as_str()),
                    pre => p.strip_prefix(pre).and_then(|x| x.strip_prefix('/')),
                })
                .collect();
            git_renames(repo, &parent, &tree, &rel)
        });
        let full = |rel: &str| match prefix {
            "" => rel.to_string(),
            pre => format!("{pre}/{rel}"),
        };
        let paired = relative(target)
            .and_then(|t| pairs.get(&t).cloned())
            .filter(|src| {
                blobs_at(&full(src)).is_some_and(|b| {
                    parent
                        .get_path(Path::new(src))
                        .is_ok_and(|e| b.contains(&e.id()))
                })
            });
        let (mut from, renamed) = match paired {
            Some(src) => {
                renamed_from.retain(|p| *p != src);
                renamed_from.insert(0, src);
                (renamed_from, true)
            }
            None if !renamed_from.is_empty() => (renamed_from, true),
            None => (copied_from, false),
        };
        from.truncate(limit);
        out.from = from.iter().map(|p| full(p)).collect();
        out.renamed = renamed;
        out
    }
}

/// Repository `r` of `plan`'s walk, opened once into `open`.
fn opened<'o>(
    open: &'o mut HashMap<u16, Option<Repository>>,
    plan: &Plan,
    r: u16,
) -> Option<&'o Repository> {
    open.entry(r)
        .or_insert_with(|| Repository::open(&plan.repos[usize::from(r)]).ok())
        .as_ref()
}

/// Git's rename detection between `old` and `new` (as `git diff -M`,
/// libgit2's rename limit) among `paths` only (relative to the repository):
/// new path → old path. Files that hold no secret are neither read nor
/// compared, and copy detection, which compares every modified file too,
/// is left out: in big generated commits it cost a tenth of the scan.
/// Empty if the diff fails.
fn git_renames(
    repo: &Repository,
    old: &Tree<'_>,
    new: &Tree<'_>,
    paths: &[&str],
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if paths.is_empty() {
        return out;
    }
    let mut opts = git2::DiffOptions::new();
    opts.disable_pathspec_match(true);
    for p in paths {
        opts.pathspec(p);
    }
    let Ok(mut diff) = repo.diff_tree_to_tree(Some(old), Some(new), Some(&mut opts)) else {
        return out;
    };
    let mut find = git2::DiffFindOptions::new();
    find.renames(true);
    if diff.find_similar(Some(&mut find)).is_err() {
        return out;
    }
    for d in diff.deltas() {
        if d.status() != git2::Delta::Renamed {
            continue;
        }
        if let (Some(to), Some(from)) = (d.new_file().path_bytes(), d.old_file().path_bytes()) {
            out.insert(
                String::from_utf8_lossy(to).into_owned(),
                String::from_utf8_lossy(from).into_owned(),
            );
        }
    }
    out
}

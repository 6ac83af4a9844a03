//! Lifetimes: when secrets left HEAD's line of history.
//!
//! The history source knows where each blob was *introduced*; an audit also
//! wants to know where a secret was *removed*. [`removals`] walks HEAD's
//! first-parent line oldest first, compares each commit's tree with its first
//! parent's (ids only, no contents are read), and keeps for each watched
//! secret how many paths hold a blob that contains it. When that count drops
//! to zero the commit removed it; when it rises again the removal is void.
//! The caller says which blobs hold which secrets (it matched them); this
//! module never matches.
//!
//! Stage: source. It reads trees; it never matches, filters or reports.

use std::collections::HashMap;

use git2::{Oid, Repository, Sort};

use super::{commit_meta, CommitMeta};
use crate::error::{Error, GitOp};
use crate::source::{Stats, Warning};

/// What HEAD's first-parent line says about one secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lifetime {
    /// The commit whose tree no longer held the secret at any path, if it
    /// was on HEAD's line and is not in HEAD now (the last removal, if it
    /// came and went more than once).
    pub removed: Option<CommitMeta>,
    /// How many commits of HEAD's first-parent line hold the secret.
    pub commits_holding: usize,
}

/// For secrets `0..count`, where HEAD's first-parent line lost them.
/// `watched` maps each blob that holds a secret to the secrets it holds.
/// An unborn HEAD gives default lifetimes; unreadable commits are warned
/// about and skipped.
pub fn removals(
    repo: &Repository,
    watched: &HashMap<Oid, Vec<usize>>,
    count: usize,
    stats: &Stats,
) -> Result<Vec<Lifetime>, Error> {
    let mut out = vec![Lifetime::default(); count];
    if watched.is_empty() {
        return Ok(out);
    }
    let mut walk = repo.revwalk().map_err(GitOp::Walk.err())?;
    if walk.push_head().is_err() {
        return Ok(out);
    }
    walk.simplify_first_parent().map_err(GitOp::Walk.err())?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(GitOp::Walk.err())?;
    let mut holding = vec![0usize; count];
    // Index (in the walk) of the commit since which a secret is held.
    let mut since: Vec<Option<usize>> = vec![None; count];
    let mut removed: Vec<Option<Oid>> = vec![None; count];
    let mut walked = 0usize;
    for oid in walk {
        let oid = match oid {
            Ok(o) => o,
            Err(e) => {
                stats.warn(Warning::RemovalWalkStopped { error: e.into() });
                break;
            }
        };
        let Ok(commit) = repo.find_commit(oid) else {
            continue;
        };
        let Ok(tree) = commit.tree() else {
            continue;
        };
        let parent = commit.parent(0).ok().and_then(|p| p.tree().ok());
        let diff = match repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None) {
            Ok(d) => d,
            Err(e) => {
                stats.warn(Warning::Diff {
                    commit: oid,
                    error: e.into(),
                });
                continue;
            }
        };
        let mut touched = Vec::new();
        for delta in diff.deltas() {
            for s in watched.get(&delta.old_file().id()).into_iter().flatten() {
                holding[*s] = holding[*s].saturating_sub(1);
                touched.push(*s);
            }
            for s in watched.get(&delta.new_file().id()).into_iter().flatten() {
                holding[*s] += 1;
                touched.push(*s);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for s in touched {
            match (since[s], holding[s] > 0) {
                (None, true) => {
                    since[s] = Some(walked);
                    removed[s] = None;
                }
                (Some(from), false) => {
                    out[s].commits_holding += walked - from;
                    since[s] = None;
                    removed[s] = Some(oid);
                }
                _ => {}
            }
        }
        walked += 1;
    }
    for (s, from) in since.iter().enumerate() {
        if let Some(from) = from {
            out[s].commits_holding += walked - from;
        }
    }
    for (s, r) in removed.into_iter().enumerate() {
        if let Some(id) = r {
            out[s].removed = commit_meta(repo, id).ok();
        }
    }
    Ok(out)
}

//! History source: every blob reachable from any ref, each read once.
//!
//! Two phases. [`plan`] walks the commits of every ref (branches, tags,
//! remote-tracking refs, the stash, a detached HEAD) oldest first in
//! topological order and compares each commit's tree with its first
//! parent's, skipping subtrees whose ids are equal, so a commit costs what it
//! changed, not the size of its tree. The first commit that shows a (path,
//! blob) pair is the one that introduced it: any later commit holding the
//! pair has an ancestor that held it already. The plan keeps ids and paths
//! only, never contents.
//!
//! [`read`] then reads each distinct blob once, in parallel, and hands it on
//! with all its (path, commit) sites; memory holds one blob per thread.
//! Each thread opens its own `Repository`, which is not `Sync`.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository, Sort, Tree, TreeWalkMode, TreeWalkResult};
use rayon::prelude::*;

use super::{commit_meta, list_paths, read_blob, shallow_notice, BlobRead, CommitMeta, GitOptions};
use crate::error::Error;
use crate::source::Stats;

const MODE_TREE: i32 = 0o040000;
const MODE_BLOB: i32 = 0o100644;
const MODE_EXEC: i32 = 0o100755;
/// An old, non-canonical mode some early repositories still have.
const MODE_BLOB_GROUP: i32 = 0o100664;
const MODE_GITLINK: i32 = 0o160000;

/// Where a blob appears: a path (index into [`Plan`]'s paths) and the commit
/// that introduced it there (`None` for a tree or blob a ref points at).
#[derive(Clone, Copy, Debug)]
struct Site {
    path: u32,
    commit: Option<u32>,
}

#[derive(Debug)]
struct PlannedBlob {
    /// Which repository holds it (0: the one scanned; then submodules).
    repo: u16,
    id: Oid,
    /// Empty for objects found only by `--all-objects`.
    sites: Vec<Site>,
}

/// What to read, found by walking history: distinct blobs with their sites.
#[derive(Debug, Default)]
pub struct Plan {
    /// Git directories: the repository, then each scanned submodule.
    repos: Vec<PathBuf>,
    blobs: Vec<PlannedBlob>,
    paths: Vec<String>,
    /// Commits in the order they were walked (oldest first, per repository).
    commits: Vec<(u16, Oid)>,
    /// Blobs in each repository's HEAD tree.
    head_blobs: HashSet<Oid>,
    /// What the scan did not cover (partial history, skipped submodules).
    pub notices: Vec<String>,
}

/// One blob to scan, with everywhere it appears.
pub struct GitBlob<'a> {
    /// The blob's id.
    pub id: Oid,
    /// Its bytes.
    pub data: &'a [u8],
    /// Each path it appears under and the commit that introduced it there.
    pub sites: Vec<BlobSite<'a>>,
    /// Whether HEAD's tree holds this blob (at any path).
    pub in_head: bool,
}

/// A path and the introducing commit (an index for [`Plan::commit_metas`];
/// the order of indices is the walk's: smaller is older within a repository).
pub struct BlobSite<'a> {
    /// `/`-separated path in that commit; submodule paths are prefixed with
    /// the submodule's path. Objects no commit reaches get
    /// `(unreachable)/<id>`.
    pub path: Cow<'a, str>,
    /// The introducing commit, if a commit reaches the blob.
    pub commit: Option<usize>,
}

struct Walker<'p> {
    plan: &'p mut Plan,
    stats: &'p Stats,
    path_ids: HashMap<Vec<u8>, u32>,
    blob_ids: HashMap<Oid, usize>,
    pairs: HashSet<(Oid, u32)>,
    gitlinks: BTreeSet<String>,
}

impl Walker<'_> {
    fn record(&mut self, repo: u16, path: &[u8], id: Oid, commit: Option<u32>) {
        let next = self.plan.paths.len() as u32;
        let path_id = match self.path_ids.get(path) {
            Some(&p) => p,
            None => {
                self.path_ids.insert(path.to_vec(), next);
                self.plan
                    .paths
                    .push(String::from_utf8_lossy(path).into_owned());
                next
            }
        };
        if !self.pairs.insert((id, path_id)) {
            return;
        }
        let site = Site {
            path: path_id,
            commit,
        };
        match self.blob_ids.get(&id) {
            Some(&i) => self.plan.blobs[i].sites.push(site),
            None => {
                self.blob_ids.insert(id, self.plan.blobs.len());
                self.plan.blobs.push(PlannedBlob {
                    repo,
                    id,
                    sites: vec![site],
                });
            }
        }
    }

    /// Records every blob of `new` whose entry differs from `old`'s, below
    /// `path`. Equal subtree ids are skipped without being read.
    fn diff_trees(
        &mut self,
        repo: &Repository,
        repo_idx: u16,
        old: Option<&Tree<'_>>,
        new: &Tree<'_>,
        path: &mut Vec<u8>,
        commit: Option<u32>,
    ) {
        for entry in new.iter() {
            let id = entry.id();
            let name = entry.name_bytes();
            let old_entry = old.and_then(|t| t.get_name_bytes(name));
            if old_entry.as_ref().is_some_and(|o| o.id() == id) {
                continue;
            }
            let len = path.len();
            if len > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            match entry.filemode() {
                MODE_TREE => match repo.find_tree(id) {
                    Ok(sub) => {
                        let old_sub = old_entry
                            .filter(|o| o.filemode() == MODE_TREE)
                            .and_then(|o| repo.find_tree(o.id()).ok());
                        self.diff_trees(repo, repo_idx, old_sub.as_ref(), &sub, path, commit);
                    }
                    Err(e) => self.stats.warn(format!(
                        "cannot read tree {id} ({}): {}",
                        String::from_utf8_lossy(path),
                        e.message()
                    )),
                },
                MODE_BLOB | MODE_EXEC | MODE_BLOB_GROUP => {
                    self.record(repo_idx, path, id, commit);
                }
                MODE_GITLINK => {
                    self.gitlinks
                        .insert(String::from_utf8_lossy(path).into_owned());
                }
                // Symlinks hold a target path, not content.
                _ => {}
            }
            path.truncate(len);
        }
    }

    /// Walks all of `repo`'s history, recording sites under `prefix` (a
    /// directory, without a trailing `/`; empty for the top).
    fn walk_repo(&mut self, repo: &Repository, prefix: &str) -> Result<(), Error> {
        let repo_idx = self.plan.repos.len() as u16;
        self.plan.repos.push(repo.path().to_path_buf());
        let git = |e: git2::Error| Error::Git(e.message().to_string());
        let mut walk = repo.revwalk().map_err(git)?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
            .map_err(git)?;
        // A detached or plain HEAD; an unborn one has nothing to push.
        let _ = walk.push_head();
        let mut ref_roots: Vec<(String, Oid, ObjectType)> = Vec::new();
        let refs = repo.references().map_err(git)?;
        for r in refs {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    self.stats
                        .warn(format!("cannot read a reference: {}", e.message()));
                    continue;
                }
            };
            let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
            match r.peel(ObjectType::Any) {
                Ok(obj) => match obj.kind() {
                    Some(ObjectType::Commit) => {
                        if let Err(e) = walk.push(obj.id()) {
                            self.stats
                                .warn(format!("cannot walk {name}: {}", e.message()));
                        }
                    }
                    Some(kind @ (ObjectType::Tree | ObjectType::Blob)) => {
                        ref_roots.push((name, obj.id(), kind));
                    }
                    _ => {}
                },
                // A symbolic ref to an unborn branch, or a broken one.
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => self
                    .stats
                    .warn(format!("cannot resolve {name}: {}", e.message())),
            }
        }
        let base: Vec<u8> = prefix.as_bytes().to_vec();
        let mut path = base.clone();
        for oid in walk {
            let oid = match oid {
                Ok(o) => o,
                Err(e) => {
                    // The walk cannot go on past a commit it cannot parse.
                    self.stats.warn(format!(
                        "history walk stopped: {} (commits not yet walked are missing)",
                        e.message()
                    ));
                    break;
                }
            };
            let commit = match repo.find_commit(oid) {
                Ok(c) => c,
                Err(e) => {
                    self.stats
                        .warn(format!("cannot read commit {oid}: {}", e.message()));
                    continue;
                }
            };
            let tree = match commit.tree() {
                Ok(t) => t,
                Err(e) => {
                    self.stats.warn(format!(
                        "cannot read tree {} of commit {oid}: {}",
                        commit.tree_id(),
                        e.message()
                    ));
                    continue;
                }
            };
            // Missing parents (the boundary of a shallow clone) count as empty.
            let parent_tree = commit.parent(0).ok().and_then(|p| p.tree().ok());
            let idx = self.plan.commits.len() as u32;
            self.plan.commits.push((repo_idx, oid));
            path.truncate(base.len());
            self.diff_trees(
                repo,
                repo_idx,
                parent_tree.as_ref(),
                &tree,
                &mut path,
                Some(idx),
            );
        }
        for (name, id, kind) in ref_roots {
            let mut p = base.clone();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(name.as_bytes());
            match kind {
                ObjectType::Blob => self.record(repo_idx, &p, id, None),
                _ => match repo.find_tree(id) {
                    Ok(t) => self.diff_trees(repo, repo_idx, None, &t, &mut p, None),
                    Err(e) => self
                        .stats
                        .warn(format!("cannot read tree {id} ({name}): {}", e.message())),
                },
            }
        }
        if let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) {
            let head = &mut self.plan.head_blobs;
            let _ = tree.walk(TreeWalkMode::PreOrder, |_, e| {
                if e.kind() == Some(ObjectType::Blob) {
                    head.insert(e.id());
                }
                TreeWalkResult::Ok
            });
        }
        Ok(())
    }
}

/// Walks the history of `repo` (and, if asked, of its checked-out
/// submodules) and lists the distinct blobs to read.
pub fn plan(repo: &Repository, opts: &GitOptions, stats: &Stats) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut w = Walker {
        plan: &mut plan,
        stats,
        path_ids: HashMap::new(),
        blob_ids: HashMap::new(),
        pairs: HashSet::new(),
        gitlinks: BTreeSet::new(),
    };
    w.walk_repo(repo, "")?;
    let mut notices: Vec<String> = shallow_notice(repo).into_iter().collect();
    if w.plan.commits.is_empty() {
        notices.push("the repository has no commits".into());
    }
    if !w.gitlinks.is_empty() {
        let links: Vec<String> = std::mem::take(&mut w.gitlinks).into_iter().collect();
        if opts.recurse_submodules {
            notices.extend(walk_submodules(&mut w, repo, "", &links));
        } else {
            notices.push(format!(
                "skipped {} submodule{} ({}): pass --recurse-submodules to scan their history",
                links.len(),
                if links.len() == 1 { "" } else { "s" },
                list_paths(&links)
            ));
        }
    }
    if opts.all_objects {
        add_unreachable(&mut w, repo)?;
    }
    plan.notices = notices;
    Ok(plan)
}

/// Walks each checked-out submodule of `repo` (whose paths are under
/// `prefix`) and, in turn, theirs, with paths prefixed by the submodule's
/// path. `links` are the gitlinks history held, as full paths. Returns
/// notices for those skipped.
fn walk_submodules(
    w: &mut Walker<'_>,
    repo: &Repository,
    prefix: &str,
    links: &[String],
) -> Vec<String> {
    let mut notices = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    for sm in repo.submodules().unwrap_or_default() {
        let rel = sm.path().to_string_lossy().replace('\\', "/");
        let full = if prefix.is_empty() {
            rel
        } else {
            format!("{prefix}/{rel}")
        };
        if !seen.insert(full.clone()) {
            continue;
        }
        let Ok(sub) = sm.open() else {
            skipped.push(full);
            continue;
        };
        if let Err(e) = w.walk_repo(&sub, &full) {
            w.stats.warn(format!("cannot scan submodule {full}: {e}"));
        }
        notices.extend(shallow_notice(&sub).map(|n| format!("submodule {full}: {n}")));
        let nested: Vec<String> = std::mem::take(&mut w.gitlinks).into_iter().collect();
        if !nested.is_empty() {
            notices.extend(walk_submodules(w, &sub, &full, &nested));
        }
    }
    // Gitlinks of history that .gitmodules no longer names cannot be opened.
    skipped.extend(links.iter().filter(|l| !seen.contains(*l)).cloned());
    if !skipped.is_empty() {
        notices.push(format!(
            "skipped {} submodule{} not checked out ({})",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            list_paths(&skipped)
        ));
    }
    notices
}

/// Adds every object of the object database that no walked tree reached;
/// `read` keeps the blobs among them.
fn add_unreachable(w: &mut Walker<'_>, repo: &Repository) -> Result<(), Error> {
    let odb = repo
        .odb()
        .map_err(|e| Error::Git(e.message().to_string()))?;
    let known: HashSet<Oid> = w.plan.commits.iter().map(|&(_, c)| c).collect();
    let mut extra = Vec::new();
    odb.foreach(|id| {
        if !w.blob_ids.contains_key(id) && !known.contains(id) {
            extra.push(*id);
        }
        true
    })
    .map_err(|e| Error::Git(format!("cannot list objects: {}", e.message())))?;
    extra.sort();
    extra.dedup();
    for id in extra {
        w.blob_ids.insert(id, w.plan.blobs.len());
        w.plan.blobs.push(PlannedBlob {
            repo: 0,
            id,
            sites: Vec::new(),
        });
    }
    Ok(())
}

impl Plan {
    /// Distinct blobs to read (objects of unknown type with `--all-objects`).
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether there is nothing to read.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Commits walked.
    pub fn commit_count(&self) -> usize {
        self.commits.len()
    }

    /// Reads the attribution of the commits at `indices`. Unreadable ones
    /// are left out (and were warned about while walking).
    pub fn commit_metas(&self, indices: &BTreeSet<usize>) -> HashMap<usize, CommitMeta> {
        let mut repos: HashMap<u16, Option<Repository>> = HashMap::new();
        let mut out = HashMap::new();
        for &i in indices {
            let Some(&(r, id)) = self.commits.get(i) else {
                continue;
            };
            let repo = repos
                .entry(r)
                .or_insert_with(|| Repository::open(&self.repos[usize::from(r)]).ok());
            if let Some(meta) = repo.as_ref().and_then(|repo| commit_meta(repo, id).ok()) {
                out.insert(i, meta);
            }
        }
        out
    }

    fn describe(&self, b: &PlannedBlob) -> String {
        match b.sites.first() {
            Some(s) => {
                let path = &self.paths[s.path as usize];
                match s.commit.and_then(|c| self.commits.get(c as usize)) {
                    Some((_, c)) => format!("{path} in commit {c}"),
                    None => path.clone(),
                }
            }
            None => "not reachable from any ref".into(),
        }
    }
}

/// Reads each planned blob once, on `opts.threads` threads, and calls
/// `visit` with it. Unreadable objects become warnings.
pub fn read<F>(plan: &Plan, opts: &GitOptions, stats: &Stats, visit: F) -> Result<(), Error>
where
    F: Fn(GitBlob<'_>) + Sync,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::Git(format!("cannot start threads: {e}")))?;
    // One set of open repositories per thread, taken while in use.
    let slots: Vec<Mutex<HashMap<u16, Repository>>> = (0..pool.current_num_threads())
        .map(|_| Mutex::new(HashMap::new()))
        .collect();
    let failed_open = Mutex::new(HashSet::new());
    pool.install(|| {
        plan.blobs.par_iter().for_each(|b| {
            let slot = &slots[rayon::current_thread_index().unwrap_or(0) % slots.len()];
            let cached = slot.lock().ok().and_then(|mut m| m.remove(&b.repo));
            let repo = match cached {
                Some(r) => r,
                None => match Repository::open(&plan.repos[usize::from(b.repo)]) {
                    Ok(r) => r,
                    Err(e) => {
                        if failed_open.lock().is_ok_and(|mut f| f.insert(b.repo)) {
                            stats.warn(format!(
                                "cannot open {}: {}",
                                plan.repos[usize::from(b.repo)].display(),
                                e.message()
                            ));
                        }
                        return;
                    }
                },
            };
            read_one(plan, opts, stats, &repo, b, &visit);
            if let Ok(mut m) = slot.lock() {
                m.insert(b.repo, repo);
            }
        });
    });
    Ok(())
}

fn read_one<F>(
    plan: &Plan,
    opts: &GitOptions,
    stats: &Stats,
    repo: &Repository,
    b: &PlannedBlob,
    visit: &F,
) where
    F: Fn(GitBlob<'_>),
{
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => {
            stats.warn(format!("cannot read objects: {}", e.message()));
            return;
        }
    };
    if b.sites.is_empty() {
        // Found by --all-objects: only blobs count, and only they are read.
        match odb.read_header(b.id) {
            Ok((_, ObjectType::Blob)) => {}
            Ok(_) => return,
            Err(e) => {
                stats.warn(format!("cannot read object {}: {}", b.id, e.message()));
                return;
            }
        }
    }
    let obj = match read_blob(&odb, b.id, opts.max_file_size, stats, &|| plan.describe(b)) {
        BlobRead::Data(obj) => obj,
        BlobRead::Skip => return,
    };
    stats.add_blob(obj.len());
    let sites = if b.sites.is_empty() {
        vec![BlobSite {
            path: Cow::Owned(format!("(unreachable)/{}", b.id)),
            commit: None,
        }]
    } else {
        b.sites
            .iter()
            .map(|s| BlobSite {
                path: Cow::Borrowed(plan.paths[s.path as usize].as_str()),
                commit: s.commit.map(|c| c as usize),
            })
            .collect()
    };
    visit(GitBlob {
        id: b.id,
        data: obj.data(),
        sites,
        in_head: plan.head_blobs.contains(&b.id),
    });
}

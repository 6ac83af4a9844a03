//! History source: every blob reachable from any ref, each (blob, path)
//! pair read once.
//!
//! One thread walks the commits of every ref (branches, tags,
//! remote-tracking refs, the stash, a detached HEAD) oldest first in
//! topological order and compares each commit's tree with its first
//! parent's, skipping subtrees whose ids are equal, so a commit costs what it
//! changed, not the size of its tree. The first commit that shows a (path,
//! blob) pair is the one that introduced it: any later commit holding the
//! pair has an ancestor that held it already. Each new pair goes at once to
//! the reading threads, which inflate and scan blobs while the walk goes
//! on: the walk alone is a third of a history scan, and doing it first left
//! all but one core idle for that long. Memory holds ids, paths and one blob
//! per reading thread. Each thread opens its own `Repository`, which is not
//! `Sync`.
//!
//! Stage: source. It hands out bytes; it never matches, filters or reports.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use git2::{ObjectType, Oid, Repository, Sort, Tree};

use super::{
    commit_meta, list_paths, read_blob, shallow_notice, BlobRead, CommitMeta, GitOptions, Warning,
};
use crate::error::{Error, GitOp};
use crate::source::blob::{Blob, Content, Origin};
use crate::source::Stats;

mod moves;
pub use moves::{MoveSources, Mover};

const MODE_TREE: i32 = 0o040000;
const MODE_BLOB: i32 = 0o100644;
const MODE_EXEC: i32 = 0o100755;
/// An old, non-canonical mode some early repositories still have.
const MODE_BLOB_GROUP: i32 = 0o100664;
const MODE_GITLINK: i32 = 0o160000;

/// A blob to read at one of its places, as the walk finds it.
struct Job {
    /// The git directory that holds it (the repository or a submodule's).
    repo: Arc<PathBuf>,
    id: Oid,
    /// `/`-separated path; None for an object only `--all-objects` found.
    path: Option<String>,
    /// The introducing commit: its index in [`Plan`]'s commits and its id.
    commit: Option<(u32, Oid)>,
    /// Whether HEAD's tree holds this blob at this path.
    at_head: bool,
}

/// Jobs go to the readers in batches (one channel message per job would
/// cost more than a small blob's scan).
const BATCH: usize = 64;

/// What the walk found besides the blobs: for attributing findings.
#[derive(Debug, Default)]
pub struct Plan {
    /// Git directories: the repository, then each scanned submodule.
    repos: Vec<PathBuf>,
    /// Where each of `repos` sits: "" for the top, else the submodule's
    /// path (paths of its blobs start with it and a `/`).
    prefixes: Vec<String>,
    /// Commits in the order they were walked (oldest first, per repository).
    commits: Vec<(u16, Oid)>,
    /// What the scan did not cover (partial history, skipped submodules).
    pub notices: Vec<String>,
}

struct Walker<'p> {
    plan: &'p mut Plan,
    stats: &'p Stats,
    /// Where new jobs go.
    out: &'p Sender<Vec<Job>>,
    batch: Vec<Job>,
    /// The repository being walked: its git directory and HEAD's (blob,
    /// path) pairs.
    repo_dir: Arc<PathBuf>,
    head_pairs: HashSet<(Oid, u32)>,
    path_ids: HashMap<Vec<u8>, u32>,
    blob_ids: HashSet<Oid>,
    pairs: HashSet<(Oid, u32)>,
    gitlinks: BTreeSet<String>,
}

impl Walker<'_> {
    /// The id of `path`, interned.
    fn path_id(&mut self, path: &[u8]) -> u32 {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let next = self.path_ids.len() as u32;
        self.path_ids.insert(path.to_vec(), next);
        next
    }

    fn record(&mut self, path: &[u8], id: Oid, commit: Option<u32>) {
        let path_id = self.path_id(path);
        if !self.pairs.insert((id, path_id)) {
            return;
        }
        self.blob_ids.insert(id);
        self.send(Job {
            repo: Arc::clone(&self.repo_dir),
            id,
            path: Some(String::from_utf8_lossy(path).into_owned()),
            commit: commit.map(|c| (c, self.plan.commits[c as usize].1)),
            at_head: self.head_pairs.contains(&(id, path_id)),
        });
    }

    fn send(&mut self, job: Job) {
        self.batch.push(job);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            // The readers only stop once this sender is gone.
            let _ = self.out.send(std::mem::take(&mut self.batch));
        }
    }

    /// Records every blob of `new` whose entry differs from `old`'s, below
    /// `path`. Equal subtree ids are skipped without being read.
    fn diff_trees(
        &mut self,
        repo: &Repository,
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
                        self.diff_trees(repo, old_sub.as_ref(), &sub, path, commit);
                    }
                    Err(e) => self.stats.warn(Warning::Tree {
                        id,
                        place: String::from_utf8_lossy(path).into_owned(),
                        error: e.into(),
                    }),
                },
                MODE_BLOB | MODE_EXEC | MODE_BLOB_GROUP => {
                    self.record(path, id, commit);
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

    /// Notes each blob of `tree` (HEAD's, below `path`) with its path.
    fn add_head(&mut self, repo: &Repository, tree: &Tree<'_>, path: &mut Vec<u8>) {
        for entry in tree.iter() {
            let len = path.len();
            if len > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(entry.name_bytes());
            match entry.filemode() {
                MODE_TREE => {
                    if let Ok(sub) = repo.find_tree(entry.id()) {
                        self.add_head(repo, &sub, path);
                    }
                }
                MODE_BLOB | MODE_EXEC | MODE_BLOB_GROUP => {
                    let path_id = self.path_id(path);
                    self.head_pairs.insert((entry.id(), path_id));
                }
                _ => {}
            }
            path.truncate(len);
        }
    }

    /// Walks all of `repo`'s history, sending jobs for paths under `prefix` (a
    /// directory, without a trailing `/`; empty for the top).
    fn walk_repo(&mut self, repo: &Repository, prefix: &str) -> Result<(), Error> {
        let repo_idx = self.plan.repos.len() as u16;
        self.plan.repos.push(repo.path().to_path_buf());
        self.plan.prefixes.push(prefix.to_string());
        self.repo_dir = Arc::new(repo.path().to_path_buf());
        // HEAD's blobs first: each job says whether HEAD holds its blob
        // at its path.
        self.head_pairs.clear();
        if let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) {
            let mut path = prefix.as_bytes().to_vec();
            self.add_head(repo, &tree, &mut path);
        }
        let mut walk = repo.revwalk().map_err(GitOp::Walk.err())?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
            .map_err(GitOp::Walk.err())?;
        // A detached or plain HEAD; an unborn one has nothing to push.
        let _ = walk.push_head();
        let mut ref_roots: Vec<(String, Oid, ObjectType)> = Vec::new();
        let refs = repo.references().map_err(GitOp::Walk.err())?;
        for r in refs {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    self.stats.warn(Warning::Reference { error: e.into() });
                    continue;
                }
            };
            let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
            match r.peel(ObjectType::Any) {
                Ok(obj) => match obj.kind() {
                    Some(ObjectType::Commit) => {
                        if let Err(e) = walk.push(obj.id()) {
                            self.stats.warn(Warning::WalkReference {
                                name,
                                error: e.into(),
                            });
                        }
                    }
                    Some(kind @ (ObjectType::Tree | ObjectType::Blob)) => {
                        ref_roots.push((name, obj.id(), kind));
                    }
                    _ => {}
                },
                // A symbolic ref to an unborn branch, or a broken one.
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => self.stats.warn(Warning::ResolveReference {
                    name,
                    error: e.into(),
                }),
            }
        }
        let base: Vec<u8> = prefix.as_bytes().to_vec();
        let mut path = base.clone();
        for oid in walk {
            let oid = match oid {
                Ok(o) => o,
                Err(e) => {
                    // The walk cannot go on past a commit it cannot parse.
                    self.stats
                        .warn(Warning::HistoryWalkStopped { error: e.into() });
                    break;
                }
            };
            let commit = match repo.find_commit(oid) {
                Ok(c) => c,
                Err(e) => {
                    self.stats.warn(Warning::Commit {
                        id: oid,
                        error: e.into(),
                    });
                    continue;
                }
            };
            let tree = match commit.tree() {
                Ok(t) => t,
                Err(e) => {
                    self.stats.warn(Warning::CommitTree {
                        commit: oid,
                        tree: Some(commit.tree_id()),
                        error: e.into(),
                    });
                    continue;
                }
            };
            // Missing parents (the boundary of a shallow clone) count as empty.
            let parent_tree = commit.parent(0).ok().and_then(|p| p.tree().ok());
            let idx = self.plan.commits.len() as u32;
            self.plan.commits.push((repo_idx, oid));
            path.truncate(base.len());
            self.diff_trees(repo, parent_tree.as_ref(), &tree, &mut path, Some(idx));
        }
        for (name, id, kind) in ref_roots {
            let mut p = base.clone();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(name.as_bytes());
            match kind {
                ObjectType::Blob => self.record(&p, id, None),
                _ => match repo.find_tree(id) {
                    Ok(t) => self.diff_trees(repo, None, &t, &mut p, None),
                    Err(e) => self.stats.warn(Warning::Tree {
                        id,
                        place: name,
                        error: e.into(),
                    }),
                },
            }
        }
        self.flush();
        Ok(())
    }
}

/// Walks the history of `repo` (and, if asked, of its checked-out
/// submodules) and reads every blob it finds once per path, on
/// `opts.threads` threads while the walk goes on, calling `visit` with
/// each. Unreadable objects become warnings. Returns what the walk found,
/// for attributing findings to commits.
///
/// Each blob lends its bytes and has its object id and an
/// [`Origin::Commit`]: the commit that introduced it at its path (an index
/// for [`Plan::commit_metas`]; the order of indices is the walk's: smaller
/// is older within a repository), None if no commit reaches it, and
/// whether HEAD's tree holds it there. Paths are `/`-separated; submodule
/// paths are prefixed with the submodule's path; objects no commit reaches
/// get `(unreachable)/<id>`.
pub fn scan<F>(repo: Repository, opts: &GitOptions, stats: &Stats, visit: F) -> Result<Plan, Error>
where
    F: Fn(Blob<'_>) + Sync,
{
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // libgit2 keeps every commit and tree it parses (up to 256 MiB): more
    // than half the memory of a history scan, which reads each tree once or
    // twice. Not keeping them costs no measurable time here (it does slow
    // the diffs of range scans, so it is turned back on).
    git2::opts::enable_caching(false);
    let (tx, rx) = channel();
    let rx = Mutex::new(rx);
    let walked = if threads == 1 {
        // One thread: walk, then read.
        let walked = plan(&repo, opts, stats, tx);
        read(&rx, opts, stats, &visit);
        walked
    } else {
        std::thread::scope(|s| {
            let walk = s.spawn(move || plan(&repo, opts, stats, tx));
            for _ in 0..threads {
                s.spawn(|| read(&rx, opts, stats, &visit));
            }
            walk.join().unwrap_or(Err(Error::WalkAborted))
        })
    };
    git2::opts::enable_caching(true);
    walked
}

/// Walks the history of `repo` and its submodules, sending a job for each
/// new (blob, path) pair to `out`.
fn plan(
    repo: &Repository,
    opts: &GitOptions,
    stats: &Stats,
    out: Sender<Vec<Job>>,
) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut w = Walker {
        plan: &mut plan,
        stats,
        out: &out,
        batch: Vec::new(),
        repo_dir: Arc::new(PathBuf::new()),
        head_pairs: HashSet::new(),
        path_ids: HashMap::new(),
        blob_ids: HashSet::new(),
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
            w.stats.warn(Warning::Submodule {
                path: full.clone(),
                error: e.to_string(),
            });
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

/// Sends every object of the object database that no walked tree reached;
/// the readers keep the blobs among them.
fn add_unreachable(w: &mut Walker<'_>, repo: &Repository) -> Result<(), Error> {
    let odb = repo.odb().map_err(GitOp::OpenObjects.err())?;
    let known: HashSet<Oid> = w.plan.commits.iter().map(|&(_, c)| c).collect();
    let mut extra = Vec::new();
    odb.foreach(|id| {
        if !w.blob_ids.contains(id) && !known.contains(id) {
            extra.push(*id);
        }
        true
    })
    .map_err(GitOp::ListObjects.err())?;
    extra.sort();
    extra.dedup();
    w.repo_dir = Arc::new(repo.path().to_path_buf());
    for id in extra {
        w.send(Job {
            repo: Arc::clone(&w.repo_dir),
            id,
            path: None,
            commit: None,
            at_head: false,
        });
    }
    w.flush();
    Ok(())
}

impl Plan {
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
}

/// Reads the jobs of `jobs` until the walk is over and none are left, and
/// calls `visit` with each blob.
fn read<F>(jobs: &Mutex<Receiver<Vec<Job>>>, opts: &GitOptions, stats: &Stats, visit: &F)
where
    F: Fn(Blob<'_>),
{
    // This thread's open repositories, by git directory.
    let mut open: HashMap<Arc<PathBuf>, Option<Repository>> = HashMap::new();
    loop {
        let batch = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(batch) = batch else {
            return;
        };
        for job in batch {
            let repo = open.entry(Arc::clone(&job.repo)).or_insert_with(|| {
                Repository::open(job.repo.as_path())
                    .map_err(|e| warn_open(stats, &job.repo, e))
                    .ok()
            });
            if let Some(repo) = repo {
                read_one(opts, stats, repo, &job, visit);
            }
        }
    }
}

fn warn_open(stats: &Stats, dir: &Path, e: git2::Error) {
    stats.warn(Warning::OpenRepository {
        dir: dir.to_path_buf(),
        error: e.into(),
    });
}

fn read_one<F>(opts: &GitOptions, stats: &Stats, repo: &Repository, job: &Job, visit: &F)
where
    F: Fn(Blob<'_>),
{
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => {
            stats.warn(Warning::ObjectDatabase { error: e.into() });
            return;
        }
    };
    if job.path.is_none() {
        // Found by --all-objects: only blobs count, and only they are read.
        match odb.read_header(job.id) {
            Ok((_, ObjectType::Blob)) => {}
            Ok(_) => return,
            Err(e) => {
                stats.warn(Warning::Object {
                    id: job.id,
                    place: None,
                    error: e.into(),
                });
                return;
            }
        }
    }
    let describe = || match (&job.path, job.commit) {
        (Some(path), Some((_, c))) => format!("{path} in commit {c}"),
        (Some(path), None) => path.clone(),
        (None, _) => "not reachable from any ref".into(),
    };
    let obj = match read_blob(&odb, job.id, opts.max_file_size, stats, &describe) {
        BlobRead::Data(obj) => obj,
        BlobRead::Skip => return,
    };
    stats.add_blob(obj.len());
    let path = match &job.path {
        Some(p) => Cow::Borrowed(p.as_str()),
        None => Cow::Owned(format!("(unreachable)/{}", job.id)),
    };
    visit(Blob {
        id: Some(job.id),
        path,
        origin: Origin::Commit {
            commit: job.commit.map(|(c, _)| c as usize),
            at_head: job.at_head,
        },
        content: Content::Held(Cow::Borrowed(obj.data())),
    });
}

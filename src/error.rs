//! Errors of the library. The binary decides exit codes from them.
//!
//! Shared by every stage: it describes failures and never prints them.

use std::path::PathBuf;

/// Everything that can stop a scan or a command. Per-file problems during a
/// scan are not errors: they are recorded as warnings and the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule file does not parse or a rule does not compile.
    #[error("rules {file}: {message}")]
    Rules {
        /// The rule file's name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A path given to scan does not exist or cannot be read.
    #[error("{}: {source}", path.display())]
    Path {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The report could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// Where it was going.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A git mode was pointed at something that is not a repository.
    #[error("{}: not a git repository (nor inside one)", path.display())]
    NotRepository {
        /// The path as given.
        path: PathBuf,
    },
    /// A git operation failed: which one, and libgit2's error (its
    /// message is shown, as before; the error itself is the source).
    #[error("git: {}{}", .op.context(), .source.message())]
    Git {
        /// What keyflare was doing.
        op: GitOp,
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },
    /// `git clone --mirror` (the program, for `audit` of a URL) could not
    /// be run, or failed.
    #[error("git: {}", clone_message(.remote, .source))]
    Clone {
        /// The remote as shown (credentials scrubbed).
        remote: String,
        /// Why.
        #[source]
        source: CloneFailure,
    },
    /// The thread walking the history stopped without an answer.
    #[error("git: the history walk failed")]
    WalkAborted,
    /// A configuration or baseline file is malformed.
    #[error("{}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line, where known).
        message: String,
    },
    /// Bad configuration or flag values.
    #[error("{0}")]
    Usage(String),
    /// `keyflare merge`: a refused shard or mixed inputs.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// Verification could not be set up (bad --api-base, --ca-cert).
    #[error("verify: {0}")]
    Verify(#[from] crate::verify::VerifyError),
}

/// The git operation an [`Error::Git`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitOp {
    /// Opening the repository at this path.
    Open(PathBuf),
    /// Walking commits and refs (history, a range, lifetimes).
    Walk,
    /// Reading a commit.
    ReadCommit,
    /// Reading a tree (HEAD's).
    ReadTree,
    /// Opening or reading the index.
    ReadIndex,
    /// Comparing trees, or a tree and the index.
    Diff,
    /// Opening the object database.
    OpenObjects,
    /// Listing every object (`--all-objects`).
    ListObjects,
}

impl GitOp {
    /// What the message says before libgit2's own words (the same text as
    /// before these errors were typed).
    fn context(&self) -> String {
        match self {
            GitOp::Open(path) => format!("cannot open {}: ", path.display()),
            GitOp::ListObjects => "cannot list objects: ".to_string(),
            _ => String::new(),
        }
    }

    /// `map_err(GitOp::Walk.err())`: the error of this operation.
    pub fn err(self) -> impl FnOnce(git2::Error) -> Error {
        move |source| Error::Git { op: self, source }
    }
}

/// Why `git clone --mirror` did not give a mirror.
#[derive(Debug, thiserror::Error)]
pub enum CloneFailure {
    /// The program could not be started.
    #[error("{0}")]
    Spawn(#[source] std::io::Error),
    /// It ran and failed; what it said on stderr (scrubbed).
    #[error("{0}")]
    Failed(String),
}

fn clone_message(remote: &str, failure: &CloneFailure) -> String {
    match failure {
        CloneFailure::Spawn(e) => format!("cannot run git to clone {remote}: {e}"),
        CloneFailure::Failed(said) => format!("git clone --mirror {remote} failed: {said}"),
    }
}

/// Why `keyflare merge` could not be done (defined here, not in the merge
/// stage, so that this bottom module imports nothing from above it). Names the shard file where one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A shard was refused (unreadable, malformed, hostile, too large).
    #[error("shard {file}: {message}")]
    Shard {
        /// The file, as given.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Anything else about the inputs.
    #[error("{0}")]
    Input(String),
}

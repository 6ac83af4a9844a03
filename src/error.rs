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
    /// A git repository could not be opened or walked.
    #[error("git: {0}")]
    Git(String),
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
    Verify(String),
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

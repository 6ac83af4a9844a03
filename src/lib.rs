//! keyflare: find leaked Cloudflare credentials, tell whether they are live,
//! and say how to fix them.
//!
//! The data runs one way, and the modules follow it:
//!
//! ```text
//! source    a working tree, git history, a range, the index -> Blob
//!           (bytes, path, origin: file, commit, range, staged, archive member)
//! scan      one Blob: archives, UTF-16, decoded values, large files in chunks
//!   matcher   the rules over bytes: prefilter, regexes, credibility -> Match
//!   rules     the rules as data (rules/*.toml), their shapes and checks
//! finding   Match -> Finding (Secret, fingerprint)
//! pipeline  the drivers, the only place stages meet: tree, git, audit,
//!           filter (config, baseline, examples, notes), verify, rules check;
//!           blob: one Blob -> findings tagged with its origin, for any source
//! verify    asks Cloudflare whether a credential is live
//! outcome   Report, Summary, the audit model: the result of a run
//! report    text, JSON, SARIF, Markdown, GitHub; audit Markdown and HTML
//! cli       flags -> pipeline -> exit code
//! ```
//!
//! [`kernel`] holds byte algorithms several stages share; [`escape`] makes
//! untrusted text safe to print. This file only re-exports.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

// zlib-rs under zlib's C names: libgit2 (C) then inflates git objects with it
// instead of the system's libz, a sixth less CPU on a history scan.
use libz_rs_sys as _;

pub mod cli;
pub mod error;
pub mod escape;
pub mod finding;
pub mod kernel;
pub mod matcher;
pub mod outcome;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod verify;

pub use error::Error;
pub use finding::Finding;
pub use outcome::audit::{HistoryFacts, SecretFacts};
pub use outcome::{Report, Summary};
pub use pipeline::audit::{audit, AuditOptions};
pub use pipeline::git::{audit_history, scan_history, scan_range, scan_staged};
pub use pipeline::tree::{scan_blob, scan_tree, scan_tree_with_stats};
pub use pipeline::verify::verify_findings;
pub use rules::RuleSet;
pub use scan::{ScanOptions, Scanner};

//! Pipeline: the only place where stages meet. Each driver takes a source,
//! runs the scan stage over its blobs, then the filters, the verifier and
//! the audit grouping, and hands back an outcome for the reporters. Stages
//! below never import this module.

pub mod audit;
pub(crate) mod blob;
pub mod demo;
pub mod filter;
pub mod git;
pub mod merge;
pub mod respond;
pub mod rules_check;
pub mod scan;
pub mod tree;
pub mod verify;

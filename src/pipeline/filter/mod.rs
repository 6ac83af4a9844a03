//! Pipeline, filter stage: what decides which findings a run keeps and how
//! they are marked, in one place: the team configuration (excluded paths,
//! allowed values, extra rules), the baseline, documented examples and
//! hygiene notes. It reads findings and rules; it never reads a source or
//! renders a report.

pub mod baseline;
pub mod config;
pub mod examples;
pub mod notes;

//! Kernels: byte-level algorithms that several stages share (the literal
//! prefilter, byte-class runs). No stage: they import nothing from the
//! crate and know nothing of rules, blobs or findings.

pub mod base64;
pub mod literals;
pub mod runs;

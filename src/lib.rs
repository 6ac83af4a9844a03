//! keyflare: find leaked Cloudflare credentials, tell whether they are live, say how to fix them.
pub mod verify;

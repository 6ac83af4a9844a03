//! Reporters for an audit ([`crate::outcome::audit::Audit`]): Markdown and
//! HTML. Pure: an audit in, bytes out; they never scan or verify.

pub(super) mod html;
mod labels;
pub(super) mod markdown;

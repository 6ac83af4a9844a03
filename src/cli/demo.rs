//! Command line, `demo`: the built-in sample project scanned and shown.
//!
//! It never scans or renders itself: the pipeline and the renderers do.

use std::io::IsTerminal;

use super::exit::EXIT_CLEAN;
use crate::error::Error;
use crate::report::{self, Format, RenderOptions};
use crate::rules::RuleSet;

/// `keyflare demo`: the demo project's scan in the text format, fixes in one
/// line each so that it fits one screen, then what to run next. Exit 0: the
/// findings are the point.
pub(super) fn demo() -> Result<u8, Error> {
    let rules = RuleSet::builtin()?;
    let report = crate::pipeline::demo::scan_demo(&rules);
    let opts = RenderOptions {
        format: Format::Text,
        no_redact: false,
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        root: None,
        brief: true,
    };
    let mut out = b"keyflare demo: a made-up Worker project (examples/demo, built in) with three\n\
planted problems, all synthetic. What keyflare reports:\n\n"
        .to_vec();
    out.extend(report::render(&report, &rules, &opts)?);
    out.extend_from_slice(
        b"\nThe full report, steps included: keyflare scan examples/demo\n\
Next, your own repository: keyflare scan PATH (its files), then\n\
keyflare audit PATH (files and every commit, one row per credential).\n",
    );
    report::write_output(&out, None)?;
    Ok(EXIT_CLEAN)
}

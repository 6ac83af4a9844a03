//! Pipeline, blob step: the one place a blob from any source (a file, held
//! or too large to hold, a history blob, a range's or the index's change)
//! becomes findings. The scan stage matches it (an open file in chunks);
//! this step keeps, for a change, only the matches on lines it added whose
//! secret no replaced version held, and tags each finding with the blob's
//! attribution (commit, blob id, whether HEAD holds it) for the drivers to
//! resolve. It never reads a source, filters, verifies or renders.

use crate::finding::Finding;
use crate::pipeline::filter::config::Exclude;
use crate::scan::Scanner;
use crate::source::blob::Blob;
use crate::source::Stats;

/// A finding before attribution: where its blob came from.
pub(crate) struct Hit {
    /// The finding, not yet attributed.
    pub finding: Finding,
    /// The commit that introduced the blob (an index the source defined).
    pub commit: Option<usize>,
    /// The git object it is in.
    pub blob: Option<git2::Oid>,
    /// Whether HEAD's tree holds that blob at this path (history scans).
    pub at_head: bool,
}

/// [`hits_in`], counted as [`scoped`] says for a path `excluded` matches:
/// what the drivers call for each blob.
pub(crate) fn hits_of(
    scanner: &Scanner<'_>,
    blob: &Blob<'_>,
    excluded: &Exclude,
    stats: &Stats,
) -> Vec<Hit> {
    scoped(excluded.matches(&blob.path), stats, |stats| {
        hits_in(scanner, blob, stats)
    })
}

/// Scans `blob` and turns its matches into hits: every match for a whole
/// blob, only those on added lines whose secret no replaced version held
/// for a change. Warnings go to `stats`.
pub(crate) fn hits_in(scanner: &Scanner<'_>, blob: &Blob<'_>, stats: &Stats) -> Vec<Hit> {
    let mut found = scanner.scan_blob(blob, stats);
    if let Some(diff) = blob.origin.diff() {
        found.retain(|f| {
            diff.added.contains(f.line) && !diff.before.iter().any(|b| holds(b, f.secret.expose()))
        });
    }
    let (commit, at_head) = (blob.origin.commit(), blob.origin.at_head());
    found
        .into_iter()
        .map(|finding| Hit {
            finding,
            commit,
            blob: blob.id,
            at_head,
        })
        .collect()
}

/// Runs `scan` counting into `stats`, or, for a path the configuration
/// excludes (`excluded`), into counts of its own whose warnings become
/// excluded warnings: excluded paths are scanned like any other (the filter
/// keeps their findings as suppressed), and what goes wrong reading them is
/// no error.
pub(crate) fn scoped<T>(excluded: bool, stats: &Stats, scan: impl FnOnce(&Stats) -> T) -> T {
    if excluded {
        let local = Stats::default();
        let out = scan(&local);
        stats.absorb_excluded(local);
        out
    } else {
        scan(stats)
    }
}

/// Whether `hay` holds `secret` (also when `hay` is UTF-16).
pub(crate) fn holds(hay: &[u8], secret: &str) -> bool {
    let finder = memchr::memmem::Finder::new(secret.as_bytes());
    finder.find(hay).is_some()
        || crate::source::blob::utf16_to_utf8(hay).is_some_and(|t| finder.find(&t).is_some())
}

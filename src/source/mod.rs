//! Sources: where blobs come from (a working tree, git history). Each source
//! reads bytes and hands blobs to a callback; it never matches or reports.
//!
//! Stage: source, the first one. Sources never match, filter or report.

pub mod blob;

pub mod fs;
pub mod git;
pub mod warning;

pub use warning::Warning;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What a source did, for the summary. Shared by the scanning threads.
#[derive(Default, Debug)]
pub struct Stats {
    /// Blobs handed to the matcher.
    pub blobs: AtomicU64,
    /// Their bytes.
    pub bytes: AtomicU64,
    /// Files skipped because they exceed the size limit.
    pub skipped_large: AtomicU64,
    /// Entries that are not regular files (FIFOs, sockets, devices, symlinks).
    pub skipped_special: AtomicU64,
    /// Archive members scanned (inside the blobs counted above).
    pub archive_members: AtomicU64,
    /// Encoded values decoded and scanned again.
    pub decoded_values: AtomicU64,
    /// Things that could not be read: each a warning.
    pub warnings: Mutex<Vec<Warning>>,
    /// The same, in paths the configuration excludes: not errors (the
    /// user scoped those paths out), but said in a notice.
    pub excluded_warnings: Mutex<Vec<Warning>>,
}

impl Stats {
    /// Records a problem that did not stop the scan.
    pub fn warn(&self, warning: Warning) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(warning);
        }
    }

    /// Adds what `local` counted (while scanning one blob of an excluded
    /// path) to these counts; its warnings become excluded warnings.
    pub fn absorb_excluded(&self, local: Stats) {
        let add = |to: &AtomicU64, from: &AtomicU64| {
            to.fetch_add(from.load(Ordering::Relaxed), Ordering::Relaxed);
        };
        add(&self.blobs, &local.blobs);
        add(&self.bytes, &local.bytes);
        add(&self.skipped_large, &local.skipped_large);
        add(&self.skipped_special, &local.skipped_special);
        add(&self.archive_members, &local.archive_members);
        add(&self.decoded_values, &local.decoded_values);
        let mut moved = local
            .warnings
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        moved.extend(
            local
                .excluded_warnings
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if moved.is_empty() {
            return;
        }
        if let Ok(mut w) = self.excluded_warnings.lock() {
            w.append(&mut moved);
        }
    }

    pub(crate) fn add_blob(&self, bytes: usize) {
        self.blobs.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

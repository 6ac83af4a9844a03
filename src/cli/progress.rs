//! Command line, progress: a spinner on stderr while a scan runs, only on a
//! terminal. It reads the source's counters; it never touches findings.

use std::io::IsTerminal;

/// Runs `work` with a progress line on stderr (files, bytes, rate), only on
/// a terminal, never with --quiet or in CI.
pub(super) fn with_progress<T>(
    stats: &crate::source::Stats,
    quiet: bool,
    work: impl FnOnce() -> T,
) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let show = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if !show {
        return work();
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            let started = std::time::Instant::now();
            while !done.load(Ordering::Relaxed) {
                let files = stats.blobs.load(Ordering::Relaxed);
                let bytes = stats.bytes.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{files} files, {:.1} MB, {:.0} MB/s",
                    bytes as f64 / 1e6,
                    bytes as f64 / 1e6 / secs
                ));
                bar.tick();
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let out = work();
        done.store(true, Ordering::Relaxed);
        out
    })
}

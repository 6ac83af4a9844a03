//! Baseline files on arbitrary bytes: `Baseline::load` returns a baseline or
//! an error that names the file, never panics.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use keyflare::pipeline::filter::baseline::Baseline;
use libfuzzer_sys::fuzz_target;

/// One scratch file per fuzzing process (workers run in parallel).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!(
            "keyflare-fuzz-baseline-{}.json",
            std::process::id()
        ))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("scratch file");
    if let Err(e) = Baseline::load(path) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(e.to_string().contains(name), "{e}");
    }
});

//! The keyflare binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    keyflare::source::git::windows::set_pack_windows();
    match keyflare::cli::run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote paths, URLs and git's messages: shown escaped.
            eprintln!(
                "keyflare: error: {}",
                keyflare::escape::text(&e.to_string())
            );
            ExitCode::from(keyflare::cli::EXIT_ERROR)
        }
    }
}

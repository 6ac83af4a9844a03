//! The keyflare binary: parse, run, map the outcome to an exit code.
//!
//! It holds nothing else: every stage is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
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

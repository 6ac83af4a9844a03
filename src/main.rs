//! The keyflare binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match keyflare::cli::run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("keyflare: error: {e}");
            ExitCode::from(keyflare::cli::EXIT_ERROR)
        }
    }
}

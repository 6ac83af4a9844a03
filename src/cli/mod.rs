//! Command line: the top of the house. Parses the flags (clap), runs one
//! command (one file each: scan, audit, rules, demo; flags in `args`,
//! exit codes in `exit`), and returns the exit code. Only commands and
//! reporters write to stdout; no stage below imports this module.
//!
//! `run` returns the exit code the binary should use; errors bubble up to
//! `main`, which prints them and exits 2.

mod args;
mod audit;
mod demo;
mod exit;
mod merge;
mod progress;
mod respond;
mod rules;
mod scan;

use clap::{Parser, Subcommand};

use crate::error::Error;
use crate::report;
use crate::source::git::windows::{set_pack_windows, PackReads};
use args::{AuditArgs, RulesArgs, ScanArgs};
pub use exit::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

/// Find leaked Cloudflare credentials, tell whether they are live, and say how to fix them.
#[derive(Parser, Debug)]
#[command(name = "keyflare", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan files and directories (default: .) for Cloudflare credentials.
    Scan(ScanArgs),
    /// Record today's findings (fingerprints, never secrets) so that
    /// `scan --baseline FILE` reports only new ones. Takes the scan flags;
    /// writes to -o (default .keyflare-baseline.json).
    Baseline(ScanArgs),
    /// Audit a repository (a PATH, read in place, or a GIT-URL, cloned to a
    /// temporary directory): working tree and all history in one run, one
    /// row per credential with its first and last commit, every path, its
    /// status, a timeline and a remediation checklist.
    Audit(AuditArgs),
    /// Roll or delete live leaked API tokens from a JSON report (plan
    /// first; act only with --yes or after confirming on a terminal).
    Respond(respond::RespondArgs),
    /// Combine many repositories' audits (`audit --format json` shards)
    /// into one organisation audit: each secret once, with every
    /// repository, path and first commit; `--verify` checks each distinct
    /// secret once, within one rate budget.
    Merge(merge::MergeArgs),
    /// List the rules, or check them against their examples (`rules check`).
    Rules(RulesArgs),
    /// Scan a built-in sample (a made-up Worker project with three planted
    /// problems, synthetic values) to see what keyflare reports. Exits 0.
    Demo,
    /// Print a rule's full description and remediation.
    Explain {
        /// The rule id, e.g. kf.cloudflare.user-api-token.
        rule: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `keyflare man > keyflare.1`.
    Man,
}

/// Parses the command line and runs it. Returns the exit code.
pub fn run() -> Result<u8, Error> {
    let cli = Cli::parse();
    // Still one thread, and no repository open: see the function.
    let reads = match &cli.command {
        Command::Scan(args) if args.staged => PackReads::Few,
        Command::Scan(args) if args.git || args.range.is_some() => match args.paths.as_slice() {
            [repo] => PackReads::Much(repo),
            _ => PackReads::Unknown,
        },
        // A local repository; a URL is cloned later, with the defaults.
        Command::Audit(args) if std::path::Path::new(&args.target).is_dir() => {
            PackReads::Much(std::path::Path::new(&args.target))
        }
        _ => PackReads::Unknown,
    };
    set_pack_windows(reads);
    match cli.command {
        Command::Scan(args) => scan::scan(args, false),
        Command::Baseline(args) => scan::scan(args, true),
        Command::Audit(args) => audit::audit(args),
        Command::Respond(args) => respond::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Rules(args) => rules::rules(args),
        Command::Demo => demo::demo(),
        Command::Explain { rule } => rules::explain(&rule),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "keyflare", &mut std::io::stdout());
            Ok(EXIT_CLEAN)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|source| Error::Output {
                    path: "<stdout>".into(),
                    source,
                })?;
            report::write_output(&out, None)?;
            Ok(EXIT_CLEAN)
        }
    }
}

//! `keyflare merge`: the command's flags and its driver (read every shard,
//! merge, verify, render, write), kept apart from `cli.rs` so that the
//! command is a few lines there.
//!
//! Stage: command line. It never parses a shard or renders itself: `pipeline::merge` and the renderers do.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::Error;
use crate::pipeline::merge::{merge, rules_digest, verify, MergeError, MergeOptions};
use crate::report::org::{render, OrgFormat};
use crate::rules::RuleSet;

/// Most shard files one merge reads.
pub const MAX_SHARDS: usize = 100_000;

/// `keyflare merge` flags.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shards (`keyflare audit --format json` outputs, one per repository)
    /// or directories of them (every *.json inside, not recursive).
    #[arg(required = true, value_name = "SHARD.json | DIR")]
    inputs: Vec<PathBuf>,
    /// Report format (default: from -o's extension, .md .html .json
    /// .sarif; markdown without -o). Only with at most one -o.
    #[arg(long, short = 'f', value_enum)]
    format: Option<OrgFormat>,
    /// Write the report to FILE (atomically) instead of stdout. Repeat it
    /// for several formats from one merge (and one verification), e.g.
    /// `-o org.md -o org.html -o org.json`.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Vec<PathBuf>,
    /// Show secrets in full (only those the shards kept). Off by default.
    #[arg(long)]
    no_redact: bool,
    /// Merge shards from another keyflare version or rule set, with a
    /// warning in the report, instead of refusing them.
    #[arg(long)]
    allow_mixed: bool,
    /// Don't print warnings on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    verify: super::args::VerifyArgs,
}

/// The shard files `inputs` name: files as given, directories' *.json
/// sorted, the output files left out (they may sit among the shards).
fn shard_files(inputs: &[PathBuf], outputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input).map_err(|source| Error::Path {
                path: input.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
        if files.len() > MAX_SHARDS {
            return Err(Error::Usage(format!(
                "more than {MAX_SHARDS} shards: merge them in groups"
            )));
        }
    }
    let outs: Vec<PathBuf> = outputs
        .iter()
        .filter_map(|o| std::fs::canonicalize(o).ok())
        .collect();
    if !outs.is_empty() {
        files.retain(|f| std::fs::canonicalize(f).map_or(true, |f| !outs.contains(&f)));
    }
    if files.is_empty() {
        return Err(Error::Usage("no shard files to merge".into()));
    }
    Ok(files)
}

/// Runs `keyflare merge`. Exit codes as `audit`: 1 when any repository
/// holds a credential, else 2 when a repository's audit was incomplete,
/// else 0; errors (a refused shard) are 2 through `main`.
pub fn run(args: MergeArgs) -> Result<u8, Error> {
    let rules = RuleSet::builtin()?;
    if args.format.is_some() && args.output.len() > 1 {
        return Err(Error::Usage(
            "--format goes with one -o at most: with several, each takes its extension's format"
                .into(),
        ));
    }
    // Each report: its file (None: stdout) and its format. Formats are
    // settled before any shard is read or any secret verified.
    let mut reports: Vec<(Option<&Path>, OrgFormat)> = Vec::new();
    for out in &args.output {
        let format = match args.format.or_else(|| OrgFormat::from_path(out)) {
            Some(f) => f,
            None if args.output.len() == 1 => OrgFormat::Markdown,
            None => {
                return Err(Error::Usage(format!(
                    "{}: no report format for this extension (.md .html .json .sarif)",
                    crate::finding::printable_path(&out.display().to_string())
                )))
            }
        };
        reports.push((Some(out.as_path()), format));
    }
    if reports.is_empty() {
        reports.push((None, args.format.unwrap_or(OrgFormat::Markdown)));
    }
    let verifier = super::args::verifier(&args.verify)?;
    let files = shard_files(&args.inputs, &args.output)?;
    // Every shard is read and checked before anything is merged: one bad
    // shard stops the whole merge, nothing is half done.
    let mut shards = Vec::with_capacity(files.len());
    for f in &files {
        let name = f.display().to_string();
        let shard = crate::pipeline::merge::shard::read(f).map_err(|e| MergeError::Shard {
            file: name.clone(),
            message: e.message,
        })?;
        if verifier.is_some() && !shard.audit.secrets_included {
            return Err(MergeError::Shard {
                file: name,
                message: "written without secrets: `merge --verify` needs shards from \
                          `keyflare audit --format json --keep-secrets`"
                    .into(),
            }
            .into());
        }
        shards.push((name, shard));
    }
    let opts = MergeOptions {
        allow_mixed: args.allow_mixed,
        version: env!("CARGO_PKG_VERSION").to_string(),
        rules_digest: rules_digest(&rules),
    };
    let mut org = merge(shards, &rules, &opts)?;
    if let Some(v) = &verifier {
        verify(&mut org, v)?;
    }
    if !args.quiet {
        for w in org.mixed.iter().chain(&org.warnings) {
            eprintln!("keyflare: warning: {}", crate::escape::text(w));
        }
    }
    for (out, format) in reports {
        let bytes = render(&org, &rules, format, args.no_redact);
        crate::report::write_output(&bytes, out)?;
    }
    Ok(if !org.credentials.is_empty() {
        super::EXIT_FINDINGS
    } else if !org.warnings.is_empty() {
        super::EXIT_ERROR
    } else {
        super::EXIT_CLEAN
    })
}

//! Command line, `scan` and `baseline`: flags and configuration into a
//! plan, one call into the pipeline's scan driver (`pipeline::scan::run`,
//! with a progress display), then the renderers (or the baseline file) and
//! the exit code.
//!
//! It never scans, filters or verifies itself: the pipeline does.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::args::{verifier, ColorChoice, ScanArgs, VerifyArgs};
use super::exit::{exit_code, EXIT_CLEAN, EXIT_ERROR};
use super::progress::with_progress;
use crate::error::Error;
use crate::outcome::Report;
use crate::pipeline;
use crate::pipeline::filter::baseline::Baseline;
use crate::pipeline::filter::config::{parse_fail_on, Config, FailOnCredentials, FailPolicy};
use crate::pipeline::filter::{note_options, Filters};
use crate::pipeline::scan::{ScanPlan, Source};
use crate::report::{self, RenderOptions};
use crate::rules::RuleSet;
use crate::source::fs::FsOptions;
use crate::source::git::GitOptions;

/// The directory whose keyflare.toml applies: the single directory scanned.
fn scan_root(paths: &[PathBuf]) -> Option<&std::path::Path> {
    match paths {
        [only] if only.is_dir() => Some(only.as_path()),
        _ => None,
    }
}

pub(super) fn scan(args: ScanArgs, make_baseline: bool) -> Result<u8, Error> {
    let config = Config::load(args.common.config.as_deref(), scan_root(&args.paths))?;
    let mut rules = RuleSet::builtin()?;
    config.apply_to_rules(&mut rules)?;
    let (plan, fail_on) = plan(&args, config, make_baseline)?;
    let report = pipeline::scan::run(&plan, &rules, |stats, work| {
        with_progress(stats, args.common.quiet, work)
    })?;
    if make_baseline {
        return write_baseline(&args, &report);
    }
    finish(&args, &rules, report, fail_on)
}

/// The flags and the configuration as a plan for the pipeline, and the
/// policy the exit code follows. Flags win over the configuration's
/// defaults. `keyflare baseline` runs the same plan with verification off:
/// a baseline records what a scan finds (fingerprints), not what Cloudflare
/// says of it, and it records everything, not what an old baseline lacks.
fn plan(
    args: &ScanArgs,
    config: Config,
    make_baseline: bool,
) -> Result<(ScanPlan, FailPolicy), Error> {
    let fail_on = match (args.fail_on, config.fail_on.as_deref()) {
        (Some(f), _) => f,
        // Validated when the configuration was loaded.
        (None, Some(f)) => parse_fail_on(f).unwrap_or_default(),
        (None, None) => FailPolicy::default(),
    };
    let git = args.git || args.staged || args.range.is_some();
    let notes = note_options(
        args.vendored_notes || config.vendored_notes == Some(true),
        &args.paths,
        git,
    );
    let mut verify = args.verify.verify;
    if config.verify == Some(true) && !args.verify.no_verify {
        verify = true;
    }
    if make_baseline {
        verify = false;
    }
    if fail_on.credentials == FailOnCredentials::Active && !verify {
        return Err(Error::Usage(
            "--fail-on active needs --verify: without it no credential is known to be active"
                .into(),
        ));
    }
    // The configuration's baseline is a default for --baseline; a new
    // baseline records everything, not what the old one lacks.
    let baseline_path = match (&args.baseline, make_baseline) {
        (Some(p), _) => Some(p.as_path()),
        (None, false) => config.baseline.as_deref(),
        (None, true) => None,
    };
    let baseline = match baseline_path {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    // Check the verifier's settings before scanning: a bad --api-base is a usage error.
    let verifier = verifier(&VerifyArgs {
        verify,
        ..args.verify.clone()
    })?;
    let source = match git_options(args, &config)? {
        Some(g) if args.git => Source::History(g),
        Some(g) => match &args.range {
            Some(range) => Source::Range(g, range.clone()),
            None => Source::Staged(g),
        },
        None => Source::Tree(FsOptions {
            roots: args.paths.clone(),
            max_file_size: args.common.max_file_size,
            threads: args.common.threads,
            respect_ignore: !args.common.no_ignore,
            exclude: config.exclude.clone(),
        }),
    };
    let scan = crate::scan::ScanOptions {
        decode: !args.no_decode,
        archives: !args.no_archives,
        archive_limits: crate::scan::archive::ArchiveLimits {
            max_member_bytes: args.common.max_file_size,
            ..crate::scan::archive::ArchiveLimits::default()
        },
    };
    let strict_examples = args.strict_examples || config.strict_examples == Some(true);
    let plan = ScanPlan {
        source,
        scan,
        filters: Filters {
            config,
            notes,
            baseline,
            strict_examples,
        },
        trust_range: args.trust_range_suppressions,
        verifier,
    };
    Ok((plan, fail_on))
}

/// `keyflare baseline`: the findings' fingerprints written to -o (default
/// .keyflare-baseline.json). Exit 0, or 2 if the scan was incomplete.
fn write_baseline(args: &ScanArgs, report: &Report) -> Result<u8, Error> {
    let path = args
        .common
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::pipeline::filter::baseline::DEFAULT_FILE));
    report::write_output(&Baseline::render(&report.findings)?, Some(&path))?;
    eprintln!(
        "keyflare: wrote {} with {} finding(s); scan with --baseline {} to report only new ones",
        path.display(),
        report.findings.len(),
        path.display()
    );
    Ok(if report.warnings.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_ERROR
    })
}

/// The git source's options, if a git mode was asked for.
fn git_options(args: &ScanArgs, config: &Config) -> Result<Option<GitOptions>, Error> {
    if !(args.git || args.staged || args.range.is_some()) {
        return Ok(None);
    }
    let [repo] = args.paths.as_slice() else {
        return Err(Error::Usage(
            "--git, --range and --staged take one PATH: the repository".into(),
        ));
    };
    Ok(Some(GitOptions {
        repo: repo.clone(),
        max_file_size: args.common.max_file_size,
        threads: args.common.threads,
        all_objects: args.all_objects,
        recurse_submodules: args.recurse_submodules,
        exclude: config.exclude.clone(),
    }))
}

fn finish(
    args: &ScanArgs,
    rules: &RuleSet,
    report: Report,
    fail_on: FailPolicy,
) -> Result<u8, Error> {
    if !args.common.quiet {
        for w in &report.warnings {
            // Warnings name files from the scanned tree: escape control
            // characters so a file name cannot drive the terminal.
            eprintln!(
                "keyflare: warning: {}",
                crate::finding::printable_path(&w.to_string())
            );
        }
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.common.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let root = match args.paths.as_slice() {
        [only] if only.is_dir() => Some(only.clone()),
        _ => None,
    };
    let mut opts = RenderOptions {
        format: args.format,
        no_redact: args.common.no_redact,
        color,
        root,
        brief: false,
    };
    let bytes = report::render(&report, rules, &opts)?;
    report::write_output(&bytes, args.common.output.as_deref())?;
    for (format, path) in &args.report {
        opts.format = *format;
        opts.color = false;
        let bytes = report::render(&report, rules, &opts)?;
        let to = (path.as_os_str() != "-").then_some(path.as_path());
        report::write_output(&bytes, to)?;
    }
    Ok(exit_code(&report, fail_on))
}

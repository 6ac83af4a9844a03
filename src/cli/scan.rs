//! Command line, `scan` and `baseline`: flags and configuration into the
//! tree or git driver, then the filters, the verifier, the renderers and
//! the exit code.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::args::{verifier, ColorChoice, ScanArgs};
use super::exit::{exit_code, EXIT_CLEAN, EXIT_ERROR};
use super::progress::with_progress;
use crate::error::Error;
use crate::outcome::Report;
use crate::pipeline::filter::baseline::Baseline;
use crate::pipeline::filter::config::{parse_fail_on, Config, FailOnCredentials, FailPolicy};
use crate::pipeline::filter::{self, note_options};
use crate::report::{self, RenderOptions};
use crate::rules::RuleSet;
use crate::source::fs::FsOptions;
use crate::source::git::GitOptions;

/// The directory whose keyflare.toml applies: the single directory scanned.
pub(super) fn scan_root(paths: &[PathBuf]) -> Option<&std::path::Path> {
    match paths {
        [only] if only.is_dir() => Some(only.as_path()),
        _ => None,
    }
}

pub(super) fn scan(mut args: ScanArgs, make_baseline: bool) -> Result<u8, Error> {
    let config = Config::load(args.common.config.as_deref(), scan_root(&args.paths))?;
    let mut rules = RuleSet::builtin()?;
    config.apply_to_rules(&mut rules)?;
    // Flags win over the configuration's defaults.
    let fail_on = match (args.fail_on, config.fail_on.as_deref()) {
        (Some(f), _) => f,
        // Validated when the configuration was loaded.
        (None, Some(f)) => parse_fail_on(f).unwrap_or_default(),
        (None, None) => FailPolicy::default(),
    };
    args.fail_on = Some(fail_on);
    let notes = note_options(
        args.vendored_notes || config.vendored_notes == Some(true),
        &args.paths,
        args.git || args.staged || args.range.is_some(),
    );
    if config.verify == Some(true) && !args.verify.no_verify {
        args.verify.verify = true;
    }
    if make_baseline {
        args.verify.verify = false;
    }
    if fail_on.credentials == FailOnCredentials::Active && !args.verify.verify {
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
    let verifier = verifier(&args.verify)?;
    let opts = FsOptions {
        roots: args.paths.clone(),
        max_file_size: args.common.max_file_size,
        threads: args.common.threads,
        respect_ignore: !args.common.no_ignore,
        exclude: config.exclude.clone(),
    };
    let scan_opts = crate::scan::ScanOptions {
        decode: !args.no_decode,
        archives: !args.no_archives,
        archive_limits: crate::scan::archive::ArchiveLimits {
            max_member_bytes: args.common.max_file_size,
            ..crate::scan::archive::ArchiveLimits::default()
        },
    };
    let stats = crate::source::Stats::default();
    let mut report = match git_options(&args, &config)? {
        Some(g) if args.git => crate::pipeline::git::scan_history(&g, &scan_opts, &rules)?,
        Some(g) => match &args.range {
            Some(range) => crate::pipeline::git::scan_range(&g, range, &scan_opts, &rules)?,
            None => crate::pipeline::git::scan_staged(&g, &scan_opts, &rules)?,
        },
        None => with_progress(&stats, args.common.quiet, || {
            crate::pipeline::tree::scan_tree_with_stats(&opts, &scan_opts, &rules, &stats)
        })?,
    };
    let strict = args.strict_examples || config.strict_examples == Some(true);
    if let Some(notice) =
        crate::pipeline::filter::examples::Examples::builtin()?.mark(&mut report.findings, strict)
    {
        report.notices.push(notice);
    }
    let trust = match (&args.range, git_options(&args, &config)?) {
        (Some(range), Some(g)) => {
            let (base, notices) =
                range_base(&g.repo, range, &config, baseline_path, baseline.as_ref())?;
            report.notices.extend(notices);
            filter::suppress::Trust {
                range: Some(base),
                trust_range: args.trust_range_suppressions,
            }
        }
        _ => filter::suppress::Trust::default(),
    };
    filter::apply(
        &mut report,
        &config,
        &rules,
        &notes,
        baseline.as_ref(),
        &trust,
    );
    if make_baseline {
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
        return Ok(if report.warnings.is_empty() {
            EXIT_CLEAN
        } else {
            EXIT_ERROR
        });
    }
    if let Some(v) = &verifier {
        // Suppressed findings are verified too: a live credential is never
        // silenced (filter::suppress::lift_live).
        let reported = report.findings.len();
        report.findings.append(&mut report.suppressed);
        crate::pipeline::verify::verify_findings(&mut report.findings, v);
        report.suppressed = report.findings.split_off(reported);
        filter::suppress::lift_live(&mut report);
        report.recount();
    }
    if args.git || args.range.is_some() {
        let notice = crate::pipeline::git::history_notice(&report.findings);
        report.notices.extend(notice);
    }
    finish(&args, &rules, report)
}

/// What the base of a scanned range held of the configuration and the
/// baseline, so that entries the range added are told apart, and notices
/// saying which of the two files the range changed.
fn range_base(
    repo: &std::path::Path,
    range: &str,
    config: &Config,
    baseline_path: Option<&std::path::Path>,
    baseline: Option<&Baseline>,
) -> Result<(filter::suppress::RangeBase, Vec<String>), Error> {
    use filter::suppress::{ConfigEntries, RangeBase};
    let mut files = Vec::new();
    files.extend(config.path.as_deref());
    let config_at = config.path.as_ref().map(|_| 0);
    let baseline_at = baseline_path.map(|p| {
        files.push(p);
        files.len() - 1
    });
    let versions = crate::pipeline::git::base_versions(repo, range, &files)?;
    let version = |i: Option<usize>| i.and_then(|i| versions.get(i).cloned().flatten());
    let mut notices = Vec::new();
    let changed = |name: &std::path::Path, now: &[u8], then: &Option<Vec<u8>>| {
        (then.as_deref() != Some(now)).then(|| {
            format!(
                "this range changes {}: suppressions it adds there are not applied unless --trust-range-suppressions",
                crate::finding::printable_path(&name.display().to_string())
            )
        })
    };
    // The configuration: outside the repository (or none), nothing to
    // compare; a base version that does not parse granted nothing.
    let config_base = match (version(config_at), &config.path) {
        (Some(then), Some(path)) => {
            let now = std::fs::read(path).unwrap_or_default();
            notices.extend(changed(path, &now, &then));
            let base = then
                .and_then(|t| Config::parse(&String::from_utf8_lossy(&t), path).ok())
                .map(|c| ConfigEntries::of(&c))
                .unwrap_or_default();
            Some(base)
        }
        _ => None,
    };
    let baseline_base = match (version(baseline_at), baseline_path, baseline) {
        (Some(then), Some(path), Some(_)) => {
            let now = std::fs::read(path).unwrap_or_default();
            notices.extend(changed(path, &now, &then));
            Some(
                then.and_then(|t| Baseline::parse(&t, path).ok())
                    .map(|b| b.keys())
                    .unwrap_or_default(),
            )
        }
        _ => None,
    };
    Ok((
        RangeBase {
            config: config_base,
            baseline: baseline_base,
        },
        notices,
    ))
}

/// The git source's options, if a git mode was asked for.
pub(super) fn git_options(args: &ScanArgs, config: &Config) -> Result<Option<GitOptions>, Error> {
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

pub(super) fn finish(args: &ScanArgs, rules: &RuleSet, report: Report) -> Result<u8, Error> {
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
    Ok(exit_code(&report, args.fail_on.unwrap_or_default()))
}

//! Command line, `audit`: flags and configuration into one call of the
//! audit driver (`pipeline::audit::audit`), then the audit renderers and
//! the exit code.
//!
//! It never scans, filters or verifies itself: the pipeline does.

use std::path::PathBuf;

use super::args::{verifier, AuditArgs};
use super::exit::exit_code;
use crate::error::Error;
use crate::pipeline::filter::baseline::Baseline;
use crate::pipeline::filter::config::{Config, FailPolicy};
use crate::pipeline::filter::{note_options, Filters};
use crate::report::{self, AuditFormat, Format, RenderOptions};
use crate::rules::RuleSet;

pub(super) fn audit(mut args: AuditArgs) -> Result<u8, Error> {
    if args.keep_secrets && args.format != AuditFormat::Json {
        return Err(Error::Usage(
            "--keep-secrets only applies to --format json (a shard for `keyflare merge`)".into(),
        ));
    }
    let local = (!crate::source::git::clone::is_url(&args.target))
        .then(|| PathBuf::from(&args.target))
        .filter(|p| p.is_dir());
    let config = Config::load(args.common.config.as_deref(), local.as_deref())?;
    let mut rules = RuleSet::builtin()?;
    config.apply_to_rules(&mut rules)?;
    if config.verify == Some(true) && !args.verify.no_verify {
        args.verify.verify = true;
    }
    let verifier = verifier(&args.verify)?;
    let opts = crate::pipeline::audit::AuditOptions {
        target: args.target.clone(),
        max_file_size: args.common.max_file_size,
        threads: args.common.threads,
        respect_ignore: !args.common.no_ignore,
        exclude: config.exclude.clone(),
        scan: crate::scan::ScanOptions {
            archive_limits: crate::scan::archive::ArchiveLimits {
                max_member_bytes: args.common.max_file_size,
                ..crate::scan::archive::ArchiveLimits::default()
            },
            ..crate::scan::ScanOptions::default()
        },
    };
    let notes = note_options(
        config.vendored_notes == Some(true),
        local.as_slice(),
        local.is_some(),
    );
    // The configuration's baseline applies as in `scan` (audit has no flag).
    let baseline = match &config.baseline {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    // Documented examples are marked as in `scan` (the config's
    // `strict_examples` applies; audit has no flag).
    let strict_examples = config.strict_examples == Some(true);
    let filters = Filters {
        config,
        notes,
        baseline,
        strict_examples,
    };
    let responses = args
        .responses
        .as_deref()
        .map(super::respond::read_record)
        .transpose()?;
    let (mut audit, merged) =
        crate::pipeline::audit::audit(&opts, &rules, verifier.as_ref(), &filters)?;
    if let Some(record) = &responses {
        for c in &mut audit.credentials {
            c.response = record.response_for(&c.finding.fingerprint);
        }
    }
    if !args.common.quiet {
        for w in &merged.warnings {
            // Warnings name files from the scanned tree: escape control
            // characters so a file name cannot drive the terminal.
            eprintln!(
                "keyflare: warning: {}",
                crate::finding::printable_path(&w.to_string())
            );
        }
    }
    let bytes = match report::render_audit(&audit, &rules, args.format, args.common.no_redact) {
        Some(b) => b,
        None => {
            let opts = RenderOptions {
                format: if args.format == AuditFormat::Sarif {
                    Format::Sarif
                } else {
                    Format::Json
                },
                no_redact: args.common.no_redact,
                color: false,
                root: local.filter(|_| audit.worktree),
                brief: false,
            };
            if args.format == AuditFormat::Json {
                shard_json(&args, &audit, &merged, &rules, &opts)?
            } else {
                report::render(&merged, &rules, &opts)?
            }
        }
    };
    report::write_output(&bytes, args.common.output.as_deref())?;
    Ok(exit_code(&merged, FailPolicy::default()))
}

/// `audit --format json` as a shard for `keyflare merge`: the usual JSON
/// report plus which repository, which rule set, one record per credential.
fn shard_json(
    args: &AuditArgs,
    audit: &crate::outcome::audit::Audit,
    merged: &crate::outcome::Report,
    rules: &crate::rules::RuleSet,
    opts: &RenderOptions,
) -> Result<Vec<u8>, Error> {
    use crate::pipeline::merge::{rules_digest, shard};
    let url = crate::source::git::clone::is_url(&args.target);
    let repository = shard::Repository {
        name: args
            .repository_name
            .clone()
            .unwrap_or_else(|| shard::repository_name(&args.target, url)),
        url: url.then(|| audit.target.clone()),
        head: audit.head.clone(),
    };
    let extra = shard::shard_fields(
        audit,
        repository,
        &rules_digest(rules),
        args.keep_secrets,
        args.common.no_redact,
    );
    report::render_json_with(merged, rules, opts, &extra)
}

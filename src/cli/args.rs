//! Command line, flags: the clap structures of each command and the
//! parsers of flag values, and the verifier they ask for. No command runs
//! here.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::error::Error;
use crate::pipeline::filter::config::{parse_fail_on, FailPolicy};
use crate::report::{AuditFormat, Format};

#[derive(Args, Debug)]
pub(super) struct RulesArgs {
    #[command(subcommand)]
    pub(super) action: Option<RulesAction>,
}

#[derive(Subcommand, Debug)]
pub(super) enum RulesAction {
    /// Check every rule against its examples and negative examples.
    Check,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub(super) struct ScanArgs {
    /// Files or directories to scan; with --git, --range or --staged, the
    /// repository (one path).
    #[arg(default_value = ".")]
    pub(super) paths: Vec<PathBuf>,
    /// Scan the repository's history: every blob reachable from any ref
    /// (branches, tags, remote-tracking refs, stash), each read once, each
    /// finding attributed to the commit that introduced it.
    #[arg(long, conflicts_with_all = ["range", "staged"])]
    pub(super) git: bool,
    /// With --git: also scan objects no ref reaches (dangling, reflog-only).
    #[arg(long, requires = "git")]
    pub(super) all_objects: bool,
    /// Scan only what the commits of BASE..HEAD add (BASE...HEAD: since the
    /// merge base), as a pull request's check needs.
    #[arg(long, value_name = "RANGE", conflicts_with = "staged")]
    pub(super) range: Option<String>,
    /// Scan only what is staged (the index against HEAD), as a pre-commit hook needs.
    #[arg(long)]
    pub(super) staged: bool,
    /// With --git: scan checked-out submodules' histories too.
    #[arg(long, requires = "git")]
    pub(super) recurse_submodules: bool,
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub(super) format: Format,
    #[command(flatten)]
    pub(super) common: CommonArgs,
    /// Also write a report in another format, in the same run: FORMAT:FILE
    /// (FILE `-` is stdout). Repeatable, e.g. `--report sarif:out.sarif --report github:-`.
    #[arg(long, value_name = "FORMAT:FILE", value_parser = parse_report)]
    pub(super) report: Vec<(Format, PathBuf)>,
    /// Don't decode base64, percent-encoded and escaped values to scan
    /// what they hide.
    #[arg(long)]
    pub(super) no_decode: bool,
    /// Don't open archives (zip, jar, tar; tar or single files compressed with gzip, bzip2, xz or zstd) to scan their members.
    #[arg(long)]
    pub(super) no_archives: bool,
    /// When to colour the text report (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value = "auto")]
    pub(super) color: ColorChoice,
    /// Which findings make the exit code 1, comma-separated. Credentials:
    /// any (default), active (verified live; needs --verify) or none. Add
    /// `examples` (documented example values) and/or `notes` (hygiene
    /// notes), or say `all`; by default neither fails the run.
    /// (Given twice, the last wins: a pre-commit hook's `args` can override
    /// the hook's own `--fail-on any`.)
    #[arg(long, value_name = "WHICH", value_parser = parse_fail_on, overrides_with = "fail_on")]
    pub(super) fail_on: Option<FailPolicy>,
    /// Also report hygiene notes from vendored and third-party code
    /// (vendor/, node_modules/, third_party/...) and git submodules' paths.
    /// Credentials there are always reported.
    #[arg(long)]
    pub(super) vendored_notes: bool,
    /// Report only findings that are not in this baseline (see `keyflare baseline`).
    #[arg(long, value_name = "FILE")]
    pub(super) baseline: Option<PathBuf>,
    /// Report documented example credentials (published by Cloudflare or
    /// well-known tools) as ordinary findings, at every place they occur.
    /// By default each is reported once, as a documented example.
    #[arg(long)]
    pub(super) strict_examples: bool,
    /// With --range: apply the suppressions the range itself adds (inline
    /// markers on its lines, new allow/exclude entries in keyflare.toml, new
    /// baseline entries). By default they are reported as "suppressed by
    /// this change" and count for --fail-on.
    #[arg(long, requires = "range")]
    pub(super) trust_range_suppressions: bool,
    #[command(flatten)]
    pub(super) verify: VerifyArgs,
}

#[derive(Args, Debug)]
#[command(mut_args(audit_wording))]
pub(super) struct AuditArgs {
    /// A local repository or directory (scanned in place, never written),
    /// or a git URL (https://, ssh://, git@host:path, file://) to mirror
    /// into a temporary directory that is removed afterwards.
    #[arg(default_value = ".", value_name = "PATH | GIT-URL")]
    pub(super) target: String,
    /// Report format: markdown (an issue or a wiki), html (one
    /// self-contained file), or json/sarif (the merged findings, as scan).
    #[arg(long, short = 'f', value_enum, default_value = "markdown")]
    pub(super) format: AuditFormat,
    #[command(flatten)]
    pub(super) common: CommonArgs,
    /// A `keyflare respond` record: credentials it rolled or deleted show
    /// "rolled at ..." or "deleted at ...".
    #[arg(long, value_name = "FILE")]
    pub(super) responses: Option<PathBuf>,
    /// With --format json: the repository's name in the shard for
    /// `keyflare merge` (default: owner/repo from the URL, or the
    /// directory's name).
    #[arg(long, value_name = "OWNER/REPO")]
    pub(super) repository_name: Option<String>,
    /// With --format json: keep each credential's secret in the shard's
    /// `audit` block, for `keyflare merge --verify`. The file is then as
    /// sensitive as the secrets: keep it briefly, never publish it.
    #[arg(long)]
    pub(super) keep_secrets: bool,
    #[command(flatten)]
    pub(super) verify: VerifyArgs,
}

// The flags scan (and baseline) and audit share, flattened into each. Their
// help is scan's; `AuditArgs` rewords those that read differently for an
// audit. Plain comments: a doc comment would become the command's about.
#[derive(Args, Debug)]
pub(super) struct CommonArgs {
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
    /// Show secrets in full in the report. Off by default: reports show at
    /// most a public prefix and the last 4 characters.
    #[arg(long)]
    pub(super) no_redact: bool,
    /// Skip files larger than this (bytes; K, M and G suffixes allowed).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub(super) max_file_size: u64,
    /// Scan files that .gitignore/.ignore would skip.
    #[arg(long)]
    pub(super) no_ignore: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub(super) threads: usize,
    /// Don't print warnings about unreadable files on stderr.
    #[arg(long, short = 'q')]
    pub(super) quiet: bool,
    /// Configuration file (default: keyflare.toml at the scan root, if present).
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
}

#[derive(Args, Clone, Debug)]
pub(super) struct VerifyArgs {
    /// Ask the Cloudflare API whether each credential is live (read-only
    /// calls, HTTPS only, each secret sent once, only to --api-base).
    #[arg(long)]
    pub(super) verify: bool,
    /// Don't verify, even if the configuration says `verify = true`.
    #[arg(long, conflicts_with = "verify")]
    pub(super) no_verify: bool,
    /// The Cloudflare API base URL; must be https://.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.cloudflare.com/client/v4"
    )]
    pub(super) api_base: String,
    /// An extra PEM root certificate for the API host (TLS-inspecting proxies, tests).
    #[arg(long, value_name = "FILE")]
    pub(super) ca_cert: Option<PathBuf>,
    /// The account email to verify Global API Keys with, when none is found next to the key.
    #[arg(long, value_name = "EMAIL")]
    pub(super) email: Option<String>,
    /// The account id to verify account tokens (cfat_) with, when none is found next to the token.
    #[arg(long, value_name = "ID")]
    pub(super) account_id: Option<String>,
    /// For live credentials, list the accounts and zones they reach (read-only calls). Needs --verify.
    #[arg(long, requires = "verify")]
    pub(super) blast_radius: bool,
    /// At most this many verification requests in flight.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub(super) verify_concurrency: u16,
    /// At most this many verification requests a second (Cloudflare allows 1,200 per 5 minutes).
    #[arg(long, value_name = "N", default_value_t = 4.0)]
    pub(super) verify_rate: f64,
    /// Total time allowed for one verification request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub(super) verify_timeout: u64,
}

/// Audit's help for the [`CommonArgs`] whose scan wording does not fit an
/// audit (clap drops a one-sentence help's final period: so do these).
/// Applied with `mut_args`, which keeps the flags' order (`mut_arg` would
/// move each to the end, reordering the shell completions).
fn audit_wording(arg: clap::Arg) -> clap::Arg {
    let help = match arg.get_id().as_str() {
        "no_redact" => "Show secrets in full in the report. Off by default",
        "max_file_size" => {
            "Skip files and blobs larger than this (bytes; K, M and G suffixes allowed)"
        }
        "no_ignore" => "Scan working-tree files that .gitignore/.ignore would skip",
        "quiet" => "Don't print warnings on stderr",
        "config" => "Configuration file (default: keyflare.toml at a local PATH, if present)",
        _ => return arg,
    };
    arg.help(help)
}

/// Parses `sarif:out.sarif`.
pub(super) fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = s
        .split_once(':')
        .ok_or_else(|| format!("expected FORMAT:FILE, got {s:?}"))?;
    let format = Format::from_str(format, true).map_err(|_| {
        format!("unknown format {format:?} (text, json, sarif, markdown or github)")
    })?;
    if path.is_empty() {
        return Err("empty FILE in --report (use - for stdout)".into());
    }
    Ok((format, PathBuf::from(path)))
}

/// Parses `123`, `64K`, `256M`, `2G` (powers of 1024).
pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("unknown size suffix in {s:?} (use K, M or G)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("invalid size {s:?}"))
}

pub(super) fn verifier(args: &VerifyArgs) -> Result<Option<crate::verify::Verifier>, Error> {
    if !args.verify {
        return Ok(None);
    }
    // Cloudflare allows 1,200 requests per 5 minutes per user: 4/s at most.
    if !(args.verify_rate > 0.0 && args.verify_rate <= 4.0) {
        return Err(Error::Usage(format!(
            "--verify-rate must be above 0 and at most 4 (Cloudflare's limit is 1,200 requests per 5 minutes), got {}",
            args.verify_rate
        )));
    }
    let cfg = crate::verify::VerifyConfig {
        api_base: args.api_base.clone(),
        ca_cert: args.ca_cert.clone(),
        concurrency: usize::from(args.verify_concurrency),
        requests_per_second: args.verify_rate,
        timeout: std::time::Duration::from_secs(args.verify_timeout.max(1)),
        blast_radius: args.blast_radius,
        email: args.email.clone(),
        account_id: args.account_id.clone(),
        ..crate::verify::VerifyConfig::default()
    };
    crate::verify::Verifier::new(cfg)
        .map(Some)
        .map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each flag `audit_wording` names exists: audit's help for it is its
    /// own, scan's stays scan's.
    #[test]
    fn audit_rewords_the_shared_flags_it_names() {
        use clap::CommandFactory;
        let cli = super::super::Cli::command();
        let help = |command: &str, flag: &str| -> String {
            cli.find_subcommand(command)
                .and_then(|c| c.get_arguments().find(|a| a.get_id() == flag))
                .and_then(|a| a.get_help())
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        for flag in ["no_redact", "max_file_size", "no_ignore", "quiet", "config"] {
            let audit = help("audit", flag);
            assert_eq!(
                audit,
                audit_wording(clap::Arg::new(flag))
                    .get_help()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            assert!(!audit.is_empty() && audit != help("scan", flag), "{flag}");
        }
        assert_eq!(help("audit", "threads"), help("scan", "threads"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("1X").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}

//! Command line: clap definitions, checked into the pipeline's options.
//!
//! `run` returns the exit code the binary should use; errors bubble up to
//! `main`, which prints them and exits 2.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::baseline::Baseline;
use crate::config::Config;
use crate::error::Error;
use crate::report::{self, AuditFormat, Format, RenderOptions, Report};
use crate::rules::RuleSet;
use crate::source::fs::FsOptions;
use crate::source::git::GitOptions;

/// Exit code: no findings.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: findings.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: error (usage, I/O, git), or an incomplete scan with no findings.
pub const EXIT_ERROR: u8 = 2;

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
    /// Combine many repositories' audits (`audit --format json` shards)
    /// into one organisation audit: each secret once, with every
    /// repository, path and first commit; `--verify` checks each distinct
    /// secret once, within one rate budget.
    Merge(crate::merge::cmd::MergeArgs),
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

#[derive(Args, Debug)]
struct RulesArgs {
    #[command(subcommand)]
    action: Option<RulesAction>,
}

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// Check every rule against its examples and negative examples.
    Check,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
struct ScanArgs {
    /// Files or directories to scan; with --git, --range or --staged, the
    /// repository (one path).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Scan the repository's history: every blob reachable from any ref
    /// (branches, tags, remote-tracking refs, stash), each read once, each
    /// finding attributed to the commit that introduced it.
    #[arg(long, conflicts_with_all = ["range", "staged"])]
    git: bool,
    /// With --git: also scan objects no ref reaches (dangling, reflog-only).
    #[arg(long, requires = "git")]
    all_objects: bool,
    /// Scan only what the commits of BASE..HEAD add (BASE...HEAD: since the
    /// merge base), as a pull request's check needs.
    #[arg(long, value_name = "RANGE", conflicts_with = "staged")]
    range: Option<String>,
    /// Scan only what is staged (the index against HEAD), as a pre-commit hook needs.
    #[arg(long)]
    staged: bool,
    /// With --git: scan checked-out submodules' histories too.
    #[arg(long, requires = "git")]
    recurse_submodules: bool,
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    format: Format,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write a report in another format, in the same run: FORMAT:FILE
    /// (FILE `-` is stdout). Repeatable, e.g. `--report sarif:out.sarif --report github:-`.
    #[arg(long, value_name = "FORMAT:FILE", value_parser = parse_report)]
    report: Vec<(Format, PathBuf)>,
    /// Show secrets in full in the report. Off by default: reports show at
    /// most a public prefix and the last 4 characters.
    #[arg(long)]
    no_redact: bool,
    /// Skip files larger than this (bytes; K, M and G suffixes allowed).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_file_size: u64,
    /// Scan files that .gitignore/.ignore would skip.
    #[arg(long)]
    no_ignore: bool,
    /// Don't decode base64, percent-encoded and escaped values to scan
    /// what they hide.
    #[arg(long)]
    no_decode: bool,
    /// Don't open archives (zip, jar, tar, tar.gz, gz) to scan their members.
    #[arg(long)]
    no_archives: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    threads: usize,
    /// When to colour the text report (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
    /// Don't print warnings about unreadable files on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Which findings make the exit code 1, comma-separated. Credentials:
    /// any (default), active (verified live; needs --verify) or none. Add
    /// `examples` (documented example values) and/or `notes` (hygiene
    /// notes), or say `all`; by default neither fails the run.
    /// (Given twice, the last wins: a pre-commit hook's `args` can override
    /// the hook's own `--fail-on any`.)
    #[arg(long, value_name = "WHICH", value_parser = parse_fail_on, overrides_with = "fail_on")]
    fail_on: Option<FailPolicy>,
    /// Also report hygiene notes from vendored and third-party code
    /// (vendor/, node_modules/, third_party/...) and git submodules' paths.
    /// Credentials there are always reported.
    #[arg(long)]
    vendored_notes: bool,
    /// Configuration file (default: keyflare.toml at the scan root, if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Report only findings that are not in this baseline (see `keyflare baseline`).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Report documented example credentials (published by Cloudflare or
    /// well-known tools) as ordinary findings, at every place they occur.
    /// By default each is reported once, as a documented example.
    #[arg(long)]
    strict_examples: bool,
    #[command(flatten)]
    verify: VerifyArgs,
}

#[derive(Args, Debug)]
struct AuditArgs {
    /// A local repository or directory (scanned in place, never written),
    /// or a git URL (https://, ssh://, git@host:path, file://) to mirror
    /// into a temporary directory that is removed afterwards.
    #[arg(default_value = ".", value_name = "PATH | GIT-URL")]
    target: String,
    /// Report format: markdown (an issue or a wiki), html (one
    /// self-contained file), or json/sarif (the merged findings, as scan).
    #[arg(long, short = 'f', value_enum, default_value = "markdown")]
    format: AuditFormat,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Show secrets in full in the report. Off by default.
    #[arg(long)]
    no_redact: bool,
    /// Skip files and blobs larger than this (bytes; K, M and G suffixes allowed).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_file_size: u64,
    /// Scan working-tree files that .gitignore/.ignore would skip.
    #[arg(long)]
    no_ignore: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Don't print warnings on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Configuration file (default: keyflare.toml at a local PATH, if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// With --format json: the repository's name in the shard for
    /// `keyflare merge` (default: owner/repo from the URL, or the
    /// directory's name).
    #[arg(long, value_name = "OWNER/REPO")]
    repository_name: Option<String>,
    /// With --format json: keep each credential's secret in the shard's
    /// `audit` block, for `keyflare merge --verify`. The file is then as
    /// sensitive as the secrets: keep it briefly, never publish it.
    #[arg(long)]
    keep_secrets: bool,
    #[command(flatten)]
    verify: VerifyArgs,
}

/// Which credentials fail the run (`--fail-on any|active|none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOnCredentials {
    /// Any credential.
    Any,
    /// Only credentials verification found live.
    Active,
    /// None.
    None,
}

/// What makes the exit code 1: a level for credentials, and whether
/// documented examples and hygiene notes count too (by default they don't:
/// they are not leaks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailPolicy {
    /// Which credentials.
    pub credentials: FailOnCredentials,
    /// Documented example values fail too.
    pub examples: bool,
    /// Hygiene notes fail too.
    pub notes: bool,
}

impl Default for FailPolicy {
    fn default() -> FailPolicy {
        FailPolicy {
            credentials: FailOnCredentials::Any,
            examples: false,
            notes: false,
        }
    }
}

impl FailPolicy {
    /// Whether `f` makes the run fail.
    pub fn fails(&self, f: &crate::Finding) -> bool {
        use crate::finding::FindingClass;
        match f.class() {
            FindingClass::Credential => match self.credentials {
                FailOnCredentials::Any => true,
                FailOnCredentials::Active => f
                    .verification
                    .as_ref()
                    .is_some_and(|v| v.status == crate::verify::VerifyStatus::Active),
                FailOnCredentials::None => false,
            },
            FindingClass::Example => self.examples,
            FindingClass::Note => self.notes,
        }
    }
}

/// Parses `--fail-on` and the `fail_on` key: `any`, `active` or `none` for
/// credentials (at most one; default any), plus `examples` and/or `notes`,
/// comma-separated; `all` is `any,examples,notes`.
pub fn parse_fail_on(s: &str) -> Result<FailPolicy, String> {
    let mut policy = FailPolicy::default();
    let mut level: Option<&str> = None;
    for word in s.split(',').map(str::trim) {
        match word {
            "any" | "active" | "none" | "all" => match level.replace(word) {
                Some(prev) if prev != word => {
                    return Err(format!(
                        "--fail-on takes one of any, active, none (or all), got both {prev} and {word}"
                    ))
                }
                _ => {}
            },
            "examples" | "example" => policy.examples = true,
            "notes" | "note" => policy.notes = true,
            other => {
                return Err(format!(
                    "unknown --fail-on value {other:?}: use any, active or none, plus examples and/or notes (comma-separated), or all"
                ))
            }
        }
    }
    policy.credentials = match level {
        Some("active") => FailOnCredentials::Active,
        Some("none") => FailOnCredentials::None,
        _ => FailOnCredentials::Any,
    };
    if level == Some("all") {
        policy.examples = true;
        policy.notes = true;
    }
    Ok(policy)
}

#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// Ask the Cloudflare API whether each credential is live (read-only
    /// calls, HTTPS only, each secret sent once, only to --api-base).
    #[arg(long)]
    verify: bool,
    /// Don't verify, even if the configuration says `verify = true`.
    #[arg(long, conflicts_with = "verify")]
    no_verify: bool,
    /// The Cloudflare API base URL; must be https://.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://api.cloudflare.com/client/v4"
    )]
    api_base: String,
    /// An extra PEM root certificate for the API host (TLS-inspecting proxies, tests).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// The account email to verify Global API Keys with, when none is found next to the key.
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// The account id to verify account tokens (cfat_) with, when none is found next to the token.
    #[arg(long, value_name = "ID")]
    account_id: Option<String>,
    /// For live credentials, list the accounts and zones they reach (read-only calls). Needs --verify.
    #[arg(long, requires = "verify")]
    blast_radius: bool,
    /// At most this many verification requests in flight.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    verify_concurrency: u16,
    /// At most this many verification requests a second (Cloudflare allows 1,200 per 5 minutes).
    #[arg(long, value_name = "N", default_value_t = 4.0)]
    verify_rate: f64,
    /// Total time allowed for one verification request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    verify_timeout: u64,
}

/// Parses `sarif:out.sarif`.
fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
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
fn parse_size(s: &str) -> Result<u64, String> {
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

/// Parses the command line and runs it. Returns the exit code.
pub fn run() -> Result<u8, Error> {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => scan(args, false),
        Command::Baseline(args) => scan(args, true),
        Command::Audit(args) => audit(args),
        Command::Merge(args) => crate::merge::cmd::run(args),
        Command::Rules(args) => rules(args),
        Command::Demo => demo(),
        Command::Explain { rule } => explain(&rule),
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

/// The directory whose keyflare.toml applies: the single directory scanned.
fn scan_root(paths: &[PathBuf]) -> Option<&std::path::Path> {
    match paths {
        [only] if only.is_dir() => Some(only.as_path()),
        _ => None,
    }
}

fn scan(mut args: ScanArgs, make_baseline: bool) -> Result<u8, Error> {
    let config = Config::load(args.config.as_deref(), scan_root(&args.paths))?;
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
        max_file_size: args.max_file_size,
        threads: args.threads,
        respect_ignore: !args.no_ignore,
        exclude: config.exclude.clone(),
    };
    let scan_opts = crate::ScanOptions {
        decode: !args.no_decode,
        archives: !args.no_archives,
        archive_limits: crate::archive::ArchiveLimits {
            max_member_bytes: args.max_file_size,
            ..crate::archive::ArchiveLimits::default()
        },
    };
    let stats = crate::source::Stats::default();
    let mut report = match git_options(&args, &config)? {
        Some(g) if args.git => crate::scan_history(&g, &scan_opts, &rules)?,
        Some(g) => match &args.range {
            Some(range) => crate::scan_range(&g, range, &scan_opts, &rules)?,
            None => crate::scan_staged(&g, &scan_opts, &rules)?,
        },
        None => with_progress(&stats, args.quiet, || {
            crate::scan_tree_with_stats(&opts, &scan_opts, &rules, &stats)
        })?,
    };
    let strict = args.strict_examples || config.strict_examples == Some(true);
    if let Some(notice) = crate::examples::Examples::builtin()?.mark(&mut report.findings, strict) {
        report.notices.push(notice);
    }
    filter(&mut report, &config, &rules, &notes, baseline.as_ref());
    if make_baseline {
        let path = args
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::baseline::DEFAULT_FILE));
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
        crate::verify_findings(&mut report.findings, v);
    }
    finish(&args, &rules, report)
}

fn audit(mut args: AuditArgs) -> Result<u8, Error> {
    if args.keep_secrets && args.format != AuditFormat::Json {
        return Err(Error::Usage(
            "--keep-secrets only applies to --format json (a shard for `keyflare merge`)".into(),
        ));
    }
    let local = (!crate::source::git::clone::is_url(&args.target))
        .then(|| PathBuf::from(&args.target))
        .filter(|p| p.is_dir());
    let config = Config::load(args.config.as_deref(), local.as_deref())?;
    let mut rules = RuleSet::builtin()?;
    config.apply_to_rules(&mut rules)?;
    if config.verify == Some(true) && !args.verify.no_verify {
        args.verify.verify = true;
    }
    let verifier = verifier(&args.verify)?;
    let opts = crate::AuditOptions {
        target: args.target.clone(),
        max_file_size: args.max_file_size,
        threads: args.threads,
        respect_ignore: !args.no_ignore,
        exclude: config.exclude.clone(),
        scan: crate::ScanOptions {
            archive_limits: crate::archive::ArchiveLimits {
                max_member_bytes: args.max_file_size,
                ..crate::archive::ArchiveLimits::default()
            },
            ..crate::ScanOptions::default()
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
    let examples = crate::examples::Examples::builtin()?;
    let strict = config.strict_examples == Some(true);
    let (audit, merged) = crate::audit(&opts, &rules, verifier.as_ref(), |r| {
        if let Some(notice) = examples.mark(&mut r.findings, strict) {
            r.notices.push(notice);
        }
        filter(r, &config, &rules, &notes, baseline.as_ref())
    })?;
    if !args.quiet {
        for w in &merged.warnings {
            // Warnings name files from the scanned tree: escape control
            // characters so a file name cannot drive the terminal.
            eprintln!("keyflare: warning: {}", crate::finding::printable_path(w));
        }
    }
    let bytes = match report::render_audit(&audit, &rules, args.format, args.no_redact) {
        Some(b) => b,
        None => {
            let opts = RenderOptions {
                format: if args.format == AuditFormat::Sarif {
                    Format::Sarif
                } else {
                    Format::Json
                },
                no_redact: args.no_redact,
                color: false,
                root: local.filter(|_| audit.worktree),
                brief: false,
            };
            if args.format == AuditFormat::Json {
                // A shard for `keyflare merge`: which repository, which
                // rule set, one record per credential.
                let url = crate::source::git::clone::is_url(&args.target);
                let repository = crate::merge::shard::Repository {
                    name: args
                        .repository_name
                        .clone()
                        .unwrap_or_else(|| crate::merge::shard::repository_name(&args.target, url)),
                    url: url.then(|| audit.target.clone()),
                    head: audit.head.clone(),
                };
                let extra = crate::merge::shard::shard_fields(
                    &audit,
                    repository,
                    &crate::merge::rules_digest(&rules),
                    args.keep_secrets,
                    args.no_redact,
                );
                report::render_json_with(&merged, &rules, &opts, &extra)?
            } else {
                report::render(&merged, &rules, &opts)?
            }
        }
    };
    report::write_output(&bytes, args.output.as_deref())?;
    Ok(exit_code(&merged, FailPolicy::default()))
}

/// Runs `work` with a progress line on stderr (files, bytes, rate), only on
/// a terminal, never with --quiet or in CI.
fn with_progress<T>(stats: &crate::source::Stats, quiet: bool, work: impl FnOnce() -> T) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let show = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if !show {
        return work();
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            let started = std::time::Instant::now();
            while !done.load(Ordering::Relaxed) {
                let files = stats.blobs.load(Ordering::Relaxed);
                let bytes = stats.bytes.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{files} files, {:.1} MB, {:.0} MB/s",
                    bytes as f64 / 1e6,
                    bytes as f64 / 1e6 / secs
                ));
                bar.tick();
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let out = work();
        done.store(true, Ordering::Relaxed);
        out
    })
}

/// Drops what the configuration allows or excludes, shapes the hygiene
/// notes ([`crate::notes`]: values are allowlisted before a file's notes are
/// folded into one), then drops what the baseline already knows, before
/// anything is verified.
fn filter(
    report: &mut Report,
    config: &Config,
    rules: &RuleSet,
    notes: &crate::notes::NoteOptions,
    baseline: Option<&Baseline>,
) {
    let before = report.findings.len();
    report
        .findings
        .retain(|f| !config.allows(f) && !config.excludes(&f.path));
    let allowed = before - report.findings.len();
    crate::notes::shape(&mut report.findings, rules, notes);
    if let Some(b) = baseline {
        let before = report.findings.len();
        report.findings.retain(|f| !b.contains(f));
        let known = before - report.findings.len();
        if known > 0 {
            report.notices.push(format!(
                "{known} finding(s) already in the baseline were not reported"
            ));
        }
    }
    if allowed > 0 {
        report.notices.push(format!(
            "{allowed} finding(s) allowed by the configuration were not reported"
        ));
    }
    report.summary.recount(&report.findings);
}

/// The notes stage's options: submodule paths from `.gitmodules` in the
/// single directory scanned and, for git modes (and audits), in HEAD's tree.
/// HEAD's list is enough for history: a commit that has a submodule holds
/// only a gitlink at its path, so notes under it come from the submodule's
/// own history (`--recurse-submodules`), which HEAD still lists.
fn note_options(vendored: bool, paths: &[PathBuf], git: bool) -> crate::notes::NoteOptions {
    let mut submodules = Vec::new();
    if let [root] = paths {
        if let Ok(text) = std::fs::read_to_string(root.join(".gitmodules")) {
            submodules.extend(crate::notes::submodule_paths(&text));
        }
        if git {
            if let Some(text) = crate::source::git::head_file(root, ".gitmodules") {
                submodules.extend(crate::notes::submodule_paths(&text));
            }
        }
    }
    submodules.sort();
    submodules.dedup();
    crate::notes::NoteOptions {
        vendored,
        submodules,
    }
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
        max_file_size: args.max_file_size,
        threads: args.threads,
        all_objects: args.all_objects,
        recurse_submodules: args.recurse_submodules,
        exclude: config.exclude.clone(),
    }))
}

pub(crate) fn verifier(args: &VerifyArgs) -> Result<Option<crate::verify::Verifier>, Error> {
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
        .map_err(|e| Error::Verify(e.to_string()))
}

fn finish(args: &ScanArgs, rules: &RuleSet, report: Report) -> Result<u8, Error> {
    if !args.quiet {
        for w in &report.warnings {
            // Warnings name files from the scanned tree: escape control
            // characters so a file name cannot drive the terminal.
            eprintln!("keyflare: warning: {}", crate::finding::printable_path(w));
        }
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
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
        no_redact: args.no_redact,
        color,
        root,
        brief: false,
    };
    let bytes = report::render(&report, rules, &opts)?;
    report::write_output(&bytes, args.output.as_deref())?;
    for (format, path) in &args.report {
        opts.format = *format;
        opts.color = false;
        let bytes = report::render(&report, rules, &opts)?;
        let to = (path.as_os_str() != "-").then_some(path.as_path());
        report::write_output(&bytes, to)?;
    }
    Ok(exit_code(&report, args.fail_on.unwrap_or_default()))
}

/// Findings that count under --fail-on make 1 (by default credentials only,
/// not documented examples or notes); otherwise an incomplete scan
/// (unreadable files) makes 2, because keyflare cannot vouch for what it did
/// not read.
fn exit_code(report: &Report, fail_on: FailPolicy) -> u8 {
    if report.findings.iter().any(|f| fail_on.fails(f)) {
        EXIT_FINDINGS
    } else if !report.warnings.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

fn rules(args: RulesArgs) -> Result<u8, Error> {
    let set = RuleSet::builtin()?;
    match args.action {
        Some(RulesAction::Check) => {
            let mut failures = crate::rules::check_examples(&set);
            failures.extend(crate::examples::Examples::builtin()?.check(&set));
            for f in &failures {
                println!("FAIL {f}");
            }
            let examples: usize = set
                .rules()
                .iter()
                .flat_map(|r| &r.patterns)
                .map(|p| p.examples.len() + p.negative_examples.len())
                .sum();
            println!(
                "{} rules, {examples} examples: {}",
                set.rules().len(),
                if failures.is_empty() {
                    "all pass"
                } else {
                    "FAILED"
                }
            );
            Ok(if failures.is_empty() {
                EXIT_CLEAN
            } else {
                EXIT_FINDINGS
            })
        }
        None => {
            for r in set.rules() {
                println!("{:<42} {:<8} {}", r.id, r.severity, r.description);
            }
            Ok(EXIT_CLEAN)
        }
    }
}

/// `keyflare demo`: the demo project's scan in the text format, fixes in one
/// line each so that it fits one screen, then what to run next. Exit 0: the
/// findings are the point.
fn demo() -> Result<u8, Error> {
    let rules = RuleSet::builtin()?;
    let report = crate::demo::scan_demo(&rules);
    let opts = RenderOptions {
        format: Format::Text,
        no_redact: false,
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        root: None,
        brief: true,
    };
    let mut out = b"keyflare demo: a made-up Worker project (examples/demo, built in) with three\n\
planted problems, all synthetic. What keyflare reports:\n\n"
        .to_vec();
    out.extend(report::render(&report, &rules, &opts)?);
    out.extend_from_slice(
        b"\nThe full report, steps included: keyflare scan examples/demo\n\
Next, your own repository: keyflare scan PATH (its files), then\n\
keyflare audit PATH (files and every commit, one row per credential).\n",
    );
    report::write_output(&out, None)?;
    Ok(EXIT_CLEAN)
}

fn explain(id: &str) -> Result<u8, Error> {
    let set = RuleSet::builtin()?;
    let Some(r) = set.get(id) else {
        return Err(Error::Usage(format!(
            "no rule {id:?}; `keyflare rules` lists them"
        )));
    };
    println!(
        "{} ({})\nseverity: {}\n\n{}\n\n{}\n",
        r.name, r.id, r.severity, r.description, r.remediation
    );
    for (i, s) in r.steps.iter().enumerate() {
        println!("{}. {}", i + 1, s);
    }
    if !r.references.is_empty() {
        println!();
        for u in &r.references {
            println!("{u}");
        }
    }
    Ok(EXIT_CLEAN)
}

#[cfg(test)]
mod tests {
    use super::*;

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

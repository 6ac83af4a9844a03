//! `keyflare respond`: the command around the response stage. Reads the report and the
//! owner token's variable, verifies, prints the plan, asks for approval, acts, writes the
//! record, and returns the exit code (0: nothing live left to handle; 1: something needs a
//! person; errors are the caller's 2).
//!
//! Approval: `--yes`, or "yes" typed at a prompt when stdin and stderr are terminals. With
//! `CI` set and no `--yes`, or without a terminal, the plan is printed and nothing is done.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use crate::error::Error;
use crate::escape;
use crate::finding::Secret;
use crate::pipeline::respond::sink::SinkSpec;
use crate::pipeline::respond::{
    Authorities, Authority, PlanItem, PlanOptions, Record, ResultKind, Step,
};
use crate::rules::RuleSet;
use crate::verify::TokenAction;

/// Roll or delete live leaked API tokens found by a scan or audit (plan first, act only
/// with --yes or after a confirmation on a terminal; never in CI without --yes).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Give the new value of a rolled token a place: --new-value-file FILE, or a \
command after `--` that reads it on stdin, e.g.\n  keyflare respond report.json --yes -- \
wrangler secret put CLOUDFLARE_API_TOKEN\nWith neither, live tokens are deleted instead."
)]
pub struct RespondArgs {
    /// A JSON report from `keyflare scan -f json --no-redact` or `keyflare audit -f json
    /// --no-redact` (respond needs the secrets to find and authorise each token; it verifies
    /// every one again before planning).
    #[arg(value_name = "REPORT.json")]
    report: PathBuf,
    /// Act without asking (needed in CI).
    #[arg(long)]
    yes: bool,
    /// Write the new value of a rolled token to this new file (mode 0600; an existing file
    /// or a symlink is refused). Holds one value: with several tokens, pick one with --only.
    #[arg(long, value_name = "FILE")]
    new_value_file: Option<PathBuf>,
    /// Delete live tokens even when a place for a new value is given.
    #[arg(long)]
    delete: bool,
    /// If the leaked token may not edit tokens (HTTP 403), use an owner's API token read
    /// from this environment variable (never from the command line).
    #[arg(long, value_name = "VAR")]
    owner_token_env: Option<String>,
    /// Only the credentials whose fingerprint starts with this (8+ hex digits). Repeatable.
    #[arg(long, value_name = "FINGERPRINT")]
    only: Vec<String>,
    /// Append what was done (time, fingerprint, action, API result; no secret) to this JSON
    /// file. `keyflare audit --responses FILE` shows it ("rolled at ...").
    #[arg(long, value_name = "FILE", default_value = "keyflare-respond.json")]
    record: PathBuf,
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
    /// The account email for Global API Keys with none next to them (verification only).
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// The account id for account tokens (cfat_) with none next to them.
    #[arg(long, value_name = "ID")]
    account_id: Option<String>,
    /// Total time allowed for one request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    timeout: u64,
    /// A command that reads the new value of a rolled token on its stdin, after `--`
    /// (run without a shell, once per rolled token).
    #[arg(last = true, value_name = "COMMAND")]
    new_value_cmd: Vec<String>,
}

/// Runs `keyflare respond`. Returns the exit code.
pub fn run(args: RespondArgs) -> Result<u8, Error> {
    let rules = RuleSet::builtin()?;
    if args.new_value_file.is_some() && !args.new_value_cmd.is_empty() {
        return Err(Error::Usage(
            "give the new value one place: --new-value-file or a command after --, not both".into(),
        ));
    }
    for o in &args.only {
        if o.len() < 8 || !o.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Usage(
                "--only takes a fingerprint (at least its first 8 hex digits)".into(),
            ));
        }
    }
    let owner = match &args.owner_token_env {
        Some(var) => Some((var.clone(), owner_token(var)?)),
        None => None,
    };
    let name = args.report.display().to_string();
    let bytes = read_capped(&args.report)?;
    let mut targets = crate::pipeline::respond::read_report(&name, &bytes, &rules)
        .map_err(|e| Error::Usage(e.to_string()))?;
    if !args.only.is_empty() {
        let only: Vec<String> = args.only.iter().map(|o| o.to_ascii_lowercase()).collect();
        targets.retain(|t| only.iter().any(|o| t.fingerprint.starts_with(o.as_str())));
    }
    // A record that cannot be appended to is found out before anything is done.
    let mut record = load_record(&args.record)?;
    let sink = match (&args.new_value_file, args.new_value_cmd.is_empty()) {
        (Some(p), _) => Some(SinkSpec::File(p.clone())),
        (None, false) => Some(SinkSpec::Command(args.new_value_cmd.clone())),
        (None, true) => None,
    };
    let verifier = crate::verify::Verifier::new(crate::verify::VerifyConfig {
        api_base: args.api_base.clone(),
        ca_cert: args.ca_cert.clone(),
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        email: args.email.clone(),
        account_id: args.account_id.clone(),
        ..crate::verify::VerifyConfig::default()
    })
    .map_err(Error::from)?;
    let opts = PlanOptions {
        can_roll: sink.is_some(),
        prefer_delete: args.delete,
        owner_env: owner.as_ref().map(|(v, _)| v.clone()),
    };
    let items = crate::pipeline::respond::plan(targets, &rules, &verifier, &opts);
    let rolls = items
        .iter()
        .filter(|i| {
            matches!(
                i.step,
                Step::Act {
                    action: TokenAction::Roll,
                    ..
                }
            )
        })
        .count();
    if rolls > 1 && matches!(sink, Some(SinkSpec::File(_))) {
        return Err(Error::Usage(format!(
            "--new-value-file holds one new value, but {rolls} live tokens would be rolled: pick one with --only FINGERPRINT, or use --delete"
        )));
    }

    let mut out = String::new();
    out.push_str(&format!(
        "keyflare respond: {} credential(s) in {}, verified again just now\n",
        items.len(),
        escape::text(&name)
    ));
    for item in &items {
        out.push_str(&plan_line(item, sink.as_ref()));
    }
    let actions = items
        .iter()
        .filter(|i| matches!(i.step, Step::Act { .. }))
        .count();
    let mut done = Vec::new();
    if actions == 0 {
        out.push_str("Nothing to roll or delete.\n");
        print(&out)?;
    } else {
        let mut asked = false;
        let approved = if args.yes {
            true
        } else if std::env::var_os("CI").is_some() {
            out.push_str("CI is set and --yes was not given: planned only, nothing was changed.\n");
            false
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            print(&out)?;
            out.clear();
            asked = true;
            confirm(actions)?
        } else {
            out.push_str(
                "Planned only, nothing was changed: run again with --yes to act (no terminal to ask on).\n",
            );
            false
        };
        if approved {
            let auth = Authorities { owner };
            done = crate::pipeline::respond::execute(&items, &verifier, sink.as_ref(), &auth, now);
            for d in &done {
                let item = &items[d.item];
                out.push_str(&format!(
                    "{:<9} {}: {} ({}, {})\n",
                    result_word(d.entry.result),
                    who(item),
                    escape::text(&d.entry.detail),
                    if d.entry.authority.is_empty() {
                        "nothing sent"
                    } else {
                        &d.entry.authority
                    },
                    d.entry.time
                ));
                for m in &d.manual {
                    out.push_str(&format!("          by hand: {}\n", escape::text(m)));
                }
            }
            record.entries.extend(done.iter().map(|d| d.entry.clone()));
            let mut bytes = serde_json::to_vec_pretty(&record)
                .map_err(|e| Error::Usage(format!("cannot write the record: {e}")))?;
            bytes.push(b'\n');
            crate::report::write_output(&bytes, Some(&args.record))?;
            out.push_str(&format!(
                "Record: {} ({} entr{})\n",
                escape::text(&args.record.display().to_string()),
                done.len(),
                if done.len() == 1 { "y" } else { "ies" }
            ));
        } else if asked {
            out.push_str("Not confirmed: nothing was changed.\n");
        }
        print(&out)?;
    }
    let handled = |i: usize| {
        done.iter().find(|d| d.item == i).is_some_and(|d| {
            matches!(
                d.entry.result,
                ResultKind::Rolled | ResultKind::Deleted | ResultKind::AlreadyInactive
            )
        })
    };
    let open = items.iter().enumerate().any(|(i, item)| match item.step {
        Step::AlreadyInactive(_) => false,
        Step::Act { .. } => !handled(i),
        _ => true,
    });
    Ok(if open {
        super::EXIT_FINDINGS
    } else {
        super::EXIT_CLEAN
    })
}

/// The owner token, from the environment only. Errors name the variable, never its value.
fn owner_token(var: &str) -> Result<Secret, Error> {
    let value = std::env::var_os(var).unwrap_or_default();
    let Some(text) = value.to_str().map(str::trim) else {
        return Err(Error::Usage(format!(
            "--owner-token-env: ${var} does not hold a token (not UTF-8)"
        )));
    };
    if text.is_empty() {
        return Err(Error::Usage(format!(
            "--owner-token-env: ${var} is not set or empty"
        )));
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) || text.len() > 512 {
        return Err(Error::Usage(format!(
            "--owner-token-env: ${var} does not hold a token (characters no token has)"
        )));
    }
    Ok(Secret::new(text.to_string()))
}

fn read_capped(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let err = |source| Error::Path {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let mut bytes = Vec::new();
    file.take(crate::pipeline::respond::input::MAX_REPORT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    Ok(bytes)
}

/// Reads a record file; a missing one is an empty record (a first run).
fn load_record(path: &std::path::Path) -> Result<Record, Error> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(Record {
            tool: "keyflare".into(),
            kind: "respond-record".into(),
            entries: Vec::new(),
        });
    }
    read_record(path)
}

/// Reads a record file (`audit --responses`); a malformed one is refused.
pub fn read_record(path: &std::path::Path) -> Result<Record, Error> {
    let bytes = read_capped(path)?;
    Record::parse(&path.display().to_string(), &bytes).map_err(|e| Error::Usage(e.to_string()))
}

/// `cfut_***Ab12 kf.cloudflare.user-api-token at deploy/.env:3 [fp 9f1c2d3e4a5b]`
fn who(item: &PlanItem) -> String {
    let t = &item.target;
    let more = if t.places > 1 {
        format!(" (+{} more)", t.places - 1)
    } else {
        String::new()
    };
    format!(
        "{} {} at {}:{}{more} [fp {}]",
        item.shown,
        t.rule_id,
        escape::text(&t.path),
        t.line,
        t.fingerprint.get(..12).unwrap_or(&t.fingerprint)
    )
}

fn plan_line(item: &PlanItem, sink: Option<&SinkSpec>) -> String {
    match &item.step {
        Step::Act {
            action,
            token,
            authorities,
        } => {
            let call = token
                .call(*action)
                .map(|(m, p)| format!("{m} {p}"))
                .unwrap_or_default();
            let by: Vec<String> = authorities.iter().map(Authority::describe).collect();
            let to = match (action, sink) {
                (TokenAction::Roll, Some(s)) => {
                    format!("; new value to {}", escape::text(&s.describe()))
                }
                _ => String::new(),
            };
            let word = match action {
                TokenAction::Roll => "ROLL",
                TokenAction::Delete => "DELETE",
            };
            format!(
                "{word:<9} {}: {call} as {}{to}\n",
                who(item),
                by.join(", then if refused ")
            )
        }
        Step::AlreadyInactive(d) => format!(
            "{:<9} {}: already inactive, nothing to do ({})\n",
            "INACTIVE",
            who(item),
            escape::text(d)
        ),
        Step::Unknown(d) => format!(
            "{:<9} {}: no verdict, nothing will be done ({})\n",
            "UNKNOWN",
            who(item),
            escape::text(d)
        ),
        Step::NoSecret => format!(
            "{:<9} {}: the report holds only the redacted value; write it with --no-redact to act\n",
            "NO-SECRET",
            who(item)
        ),
        Step::Manual(steps) => format!(
            "{:<9} {}: by hand: {}\n",
            "MANUAL",
            who(item),
            escape::text(&steps.join("; "))
        ),
    }
}

fn result_word(r: ResultKind) -> &'static str {
    match r {
        ResultKind::Rolled => "ROLLED",
        ResultKind::RolledValueLost => "ROLLED!",
        ResultKind::Deleted => "DELETED",
        ResultKind::AlreadyInactive => "INACTIVE",
        ResultKind::Forbidden => "FORBIDDEN",
        ResultKind::Failed => "FAILED",
        ResultKind::Unknown => "UNKNOWN",
        ResultKind::NotSent => "NOT-SENT",
    }
}

fn print(text: &str) -> Result<(), Error> {
    crate::report::write_output(text.as_bytes(), None)
}

fn confirm(actions: usize) -> Result<bool, Error> {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "Roll/delete {actions} token(s) as planned above? Type yes to go on: "
    );
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| Error::Path {
            path: "<stdin>".into(),
            source,
        })?;
    Ok(line.trim() == "yes")
}

/// Now, RFC 3339 in UTC to the second.
fn now() -> String {
    let secs = jiff::Timestamp::now().as_second();
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

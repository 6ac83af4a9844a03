//! Audit reporters, labels: the words both audit renderers (Markdown and
//! HTML) put in their cells (status, presence, last seen, blast radius,
//! time taken), so that the two say the same thing. Plain text, not yet
//! escaped for either format.

use crate::finding::CommitInfo;
use crate::outcome::audit::{Audit, Credential, Presence};
use crate::verify::VerifyStatus;

/// "ACTIVE", "invalid", ... or "not verified".
pub(super) fn status_label(c: &Credential) -> &'static str {
    match c.status() {
        Some(VerifyStatus::Active) => "ACTIVE",
        Some(VerifyStatus::Inactive) => "inactive",
        Some(VerifyStatus::Invalid) => "invalid",
        Some(VerifyStatus::Unknown) => "unknown",
        None => "not verified",
    }
}

/// The first 10 hex digits of a commit id.
pub(super) fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

/// The date part of an RFC 3339 date.
pub(super) fn day(c: &CommitInfo) -> &str {
    c.date.get(..10).unwrap_or(&c.date)
}

/// Where the credential stands now, in words.
pub(super) fn presence_label(c: &Credential) -> String {
    match c.presence() {
        Presence::InHead if c.in_worktree => "in HEAD and working tree".into(),
        Presence::InHead => "in HEAD".into(),
        Presence::WorktreeOnly if c.committed() => {
            "in working tree (removed from HEAD: history too)".into()
        }
        Presence::WorktreeOnly => "working tree only (never committed)".into(),
        Presence::Removed => "removed (still in history)".into(),
        Presence::OtherRefs => "only on other branches/tags".into(),
    }
}

/// "removed in <commit> (<date>)", "still in HEAD" or "last written in ...".
pub(super) fn last_label(c: &Credential) -> Option<(String, &CommitInfo)> {
    let seen = c.last_seen()?;
    let what = match c.presence() {
        Presence::Removed => "removed in",
        _ => "last written in",
    };
    Some((what.to_string(), seen))
}

/// What a live credential reaches, in words; empty if unknown.
pub(super) fn blast_label(c: &Credential) -> String {
    let Some(b) = c
        .finding
        .verification
        .as_ref()
        .and_then(|v| v.blast_radius.as_ref())
    else {
        return match c.status() {
            Some(VerifyStatus::Active) if c.is_global_key() => {
                "every permission of its user".into()
            }
            _ => String::new(),
        };
    };
    let mut s = format!("{} account(s), {} zone(s)", b.account_count, b.zone_count);
    let names: Vec<&str> = b
        .accounts
        .iter()
        .chain(&b.zones)
        .take(5)
        .map(String::as_str)
        .collect();
    if !names.is_empty() {
        s.push_str(": ");
        s.push_str(&names.join(", "));
        if b.accounts.len() + b.zones.len() > names.len() {
            s.push_str(", ...");
        }
    }
    s
}

/// Seconds with one decimal, or milliseconds under a second.
pub(super) fn took(a: &Audit) -> String {
    let ms = a.duration.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", a.duration.as_secs_f64())
    }
}

/// "Suppressed, not counted: 2 suppressed (by markers 1, config 1,
/// baseline 0).", or None when nothing was.
pub(super) fn suppressed_line(a: &Audit) -> Option<String> {
    a.suppressed
        .as_ref()
        .map(|s| format!("Suppressions: {s} (the JSON report lists them)."))
}

/// "Not counted as credentials: 1 documented example, 3 notes (...)", or
/// None when there are neither.
pub(super) fn others_line(a: &Audit) -> Option<String> {
    a.others
        .others()
        .map(|o| format!("Not counted as credentials: {o} (the JSON report lists them)."))
}

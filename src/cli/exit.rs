//! Command line, exit codes: 0 clean, 1 findings (as --fail-on counts
//! them), 2 error or an incomplete scan. Reads an outcome; changes nothing.

use crate::outcome::Report;
use crate::pipeline::filter::config::FailPolicy;

/// Exit code: no findings.
pub const EXIT_CLEAN: u8 = 0;

/// Exit code: findings.
pub const EXIT_FINDINGS: u8 = 1;

/// Exit code: error (usage, I/O, git), or an incomplete scan with no findings.
pub const EXIT_ERROR: u8 = 2;

/// Findings that count under --fail-on make 1 (by default credentials only,
/// not documented examples or notes); otherwise an incomplete scan
/// (unreadable files) makes 2, because keyflare cannot vouch for what it did
/// not read.
pub(super) fn exit_code(report: &Report, fail_on: FailPolicy) -> u8 {
    if report.findings.iter().any(|f| fail_on.fails(f)) {
        EXIT_FINDINGS
    } else if !report.warnings.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

//! Verification (stub until the verifier lands).

use serde::Serialize;

/// Result of a verification.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyStatus {
    /// Live.
    Active,
    /// Known but disabled.
    Inactive,
    /// Rejected.
    Invalid,
    /// Could not tell.
    Unknown,
}

/// A verification result.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// Status.
    pub status: VerifyStatus,
    /// Why.
    pub detail: String,
}

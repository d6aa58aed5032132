//! The audit trail of sensitive operations: who did what to which object, when, in which request.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub at: Timestamp,
    /// The user id of the caller.
    pub actor: String,
    /// e.g. `payment.refund`, `tokens.award`, `license.revoke`.
    pub action: String,
    /// The object acted on, e.g. `payment:pay_123`.
    pub target: String,
    pub request_id: String,
    /// Operation-specific facts (amounts, reasons); never secrets or card data.
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// The month partition an entry is listed under, e.g. `2026-11`.
    pub fn month(&self) -> String {
        month_of(self.at)
    }
}

pub fn month_of(at: Timestamp) -> String {
    at.strftime("%Y-%m").to_string()
}

/// Accepts `YYYY-MM` with a real month.
pub fn parse_month(raw: &str) -> Option<String> {
    let (y, m) = raw.split_once('-')?;
    let ok =
        y.len() == 4 && m.len() == 2 && y.bytes().all(|b| b.is_ascii_digit()) && matches!(m.parse::<u8>(), Ok(1..=12));
    ok.then(|| raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        assert_eq!(month_of("2026-11-29T10:00:00Z".parse().unwrap()), "2026-11");
        assert_eq!(parse_month("2026-01").as_deref(), Some("2026-01"));
        for bad in ["2026-13", "2026-1", "26-01", "2026-00", "abcd-01"] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }
}

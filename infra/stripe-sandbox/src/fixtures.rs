//! Stripe's own example objects (from stripe/openapi `fixtures3.json`, MIT, see
//! `fixtures/LICENSE`), keyed by object type. Every response starts from one of these and overrides
//! ids, amounts, statuses, timestamps and fields whose fixture value is a placeholder.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

pub const RAW: &str = include_str!("../fixtures/stripe-objects.json");

fn all() -> &'static Result<Map<String, Value>, String> {
    static FIXTURES: OnceLock<Result<Map<String, Value>, String>> = OnceLock::new();
    FIXTURES.get_or_init(|| match serde_json::from_str::<Value>(RAW) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("stripe-objects.json is not a JSON object".into()),
        Err(e) => Err(format!("stripe-objects.json does not parse: {e}")),
    })
}

/// A fresh copy of the fixture object of `kind` (e.g. `payment_intent`), as a JSON object.
pub fn fixture(kind: &str) -> ApiResult<Map<String, Value>> {
    match all() {
        Ok(map) => match map.get(kind) {
            Some(Value::Object(obj)) => Ok(obj.clone()),
            _ => Err(ApiError::internal(format!("the sandbox has no fixture for {kind}"))),
        },
        Err(e) => Err(ApiError::internal(e.clone())),
    }
}

/// The object types the fixture file holds.
#[cfg(test)]
pub fn kinds() -> Vec<String> {
    match all() {
        Ok(map) => map.keys().cloned().collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_parses_and_has_its_type() {
        let kinds = kinds();
        assert!(all().is_ok(), "{:?}", all().as_ref().err());
        for kind in [
            "customer",
            "deleted_customer",
            "payment_intent",
            "charge",
            "refund",
            "event",
            "payment_method",
            "setup_intent",
            "product",
            "price",
            "plan",
            "subscription",
            "subscription_item",
            "invoice",
            "line_item",
            "invoice_payment",
            "test_helpers.test_clock",
            "account",
            "account_link",
            "transfer",
            "transfer_reversal",
            "balance",
        ] {
            assert!(kinds.contains(&kind.to_string()), "missing fixture {kind}");
        }
        // Objects Stripe renders without an id.
        let without_id = ["account_link", "balance"];
        for kind in &kinds {
            let obj = fixture(kind).unwrap_or_default();
            let expected = kind.strip_prefix("deleted_").unwrap_or(kind);
            assert_eq!(obj.get("object").and_then(Value::as_str), Some(expected), "{kind}");
            if !without_id.contains(&kind.as_str()) {
                assert!(obj.get("id").and_then(Value::as_str).is_some(), "{kind} has an id");
            }
        }
    }

    /// The copies are verbatim: when the shared fixtures are present, compare with them.
    #[test]
    fn copies_match_stripe_fixtures_when_available() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/stripe/fixtures3.json");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is not here");
            return;
        };
        let upstream: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        for kind in kinds() {
            let ours = Value::Object(fixture(&kind).unwrap_or_default());
            assert_eq!(ours, upstream["resources"][kind.as_str()], "{kind} differs from fixtures3.json");
        }
    }
}

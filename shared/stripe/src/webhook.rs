//! Verifying Stripe webhook deliveries: the signature over the raw body, within Stripe's 300 s
//! tolerance, and the few envelope fields we route on.
//!
//! Invariant: a correctly signed, fresh delivery is never refused because of what its `data.object`
//! holds. The signature is checked over the raw bytes (HMAC-SHA256 of `"<t>.<body>"` with the
//! endpoint secret, any of several `v1` signatures may match, as during a secret roll), and only the
//! envelope (`id`, `type`, `account`, `livemode`, `created`) is read — never the typed object, which
//! the client library cannot parse for every type and API version Stripe may send. The raw body is
//! what the edge enqueues; the worker reads the object it needs.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use thiserror::Error;

/// Stripe's default tolerance between the signature timestamp and now.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The event types the stripe-events worker acts on: the edge enqueues these and acknowledges every
/// other type with 2xx without enqueueing it. The one list for both: a type the worker starts to
/// handle must be added here (a test in `azora-api` compares this list with the worker's `match`).
pub const HANDLED_EVENT_TYPES: &[&str] = &[
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.processing",
    "payment_intent.canceled",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "account.updated",
];

/// Whether the stripe-events worker acts on `event_type`.
pub fn is_handled(event_type: &str) -> bool {
    HANDLED_EVENT_TYPES.contains(&event_type)
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WebhookRejection {
    #[error("the Stripe-Signature header is missing")]
    MissingSignature,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the signature timestamp is outside the 300 s tolerance")]
    StaleTimestamp,
    #[error("the event could not be read: {0}")]
    Unreadable(String),
}

/// The facts we route on; the raw body is what we enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    pub id: String,
    pub event_type: String,
    pub created: i64,
    /// The connected account the event is about (Connect events), if any.
    pub account: Option<String>,
    pub livemode: bool,
}

/// The envelope only: `data.object` is deliberately not read here.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    created: i64,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    livemode: bool,
}

/// `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (other schemes such as `v0` are ignored).
fn parse_header(header: &str) -> Option<(i64, Vec<Vec<u8>>)> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "t" => timestamp = Some(value.parse::<i64>().ok()?),
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    Some((timestamp?, signatures))
}

fn mac_for(secret: &str, timestamp: i64, payload: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    Some(mac)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Verifies `signature` over `payload` with `secret` at `now` (unix seconds), then reads the
/// envelope. Any one matching `v1` signature is enough (constant-time comparison).
pub fn verify(
    payload: &str,
    signature: Option<&str>,
    secret: &str,
    now: i64,
) -> Result<VerifiedEvent, WebhookRejection> {
    let header = signature.ok_or(WebhookRejection::MissingSignature)?;
    let (timestamp, signatures) = parse_header(header).ok_or(WebhookRejection::BadSignature)?;
    let mac = mac_for(secret, timestamp, payload).ok_or(WebhookRejection::BadSignature)?;
    if !signatures.iter().any(|sig| mac.clone().verify_slice(sig).is_ok()) {
        return Err(WebhookRejection::BadSignature);
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECONDS.unsigned_abs() {
        return Err(WebhookRejection::StaleTimestamp);
    }
    let envelope: Envelope = serde_json::from_str(payload).map_err(|e| WebhookRejection::Unreadable(e.to_string()))?;
    if !valid_id(&envelope.id) {
        return Err(WebhookRejection::Unreadable("the event id is missing or malformed".into()));
    }
    if envelope.event_type.is_empty() || envelope.event_type.len() > 255 {
        return Err(WebhookRejection::Unreadable("the event type is missing".into()));
    }
    Ok(VerifiedEvent {
        id: envelope.id,
        event_type: envelope.event_type,
        created: envelope.created,
        account: envelope.account.filter(|a| !a.is_empty()),
        livemode: envelope.livemode,
    })
}

/// Builds a valid `Stripe-Signature` header with async-stripe's signer, so that `verify` is checked
/// against an independent implementation (the e2e harness signs with the same signer).
#[cfg(test)]
pub(crate) fn sign(payload: &str, secret: &str, timestamp: i64) -> String {
    stripe_webhook::Webhook::generate_test_header(payload, secret, Some(timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_800_000_000;

    fn minimal(event_type: &str) -> String {
        format!(
            r#"{{"id":"evt_1","object":"event","type":"{event_type}","created":{NOW},"livemode":false,"data":{{"object":{{"id":"cus_1","object":"customer"}}}}}}"#
        )
    }

    #[test]
    fn a_signed_event_with_an_object_the_typed_client_cannot_parse_is_accepted() {
        let body = minimal("customer.updated");
        let event = verify(&body, Some(&sign(&body, SECRET, NOW)), SECRET, NOW).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.event_type, "customer.updated");
        assert_eq!(event.created, NOW);
        assert_eq!(event.account, None);
        assert!(!event.livemode);
        // Types no library knows yet, and Connect events.
        let body = r#"{"id":"evt_2","type":"v2.future.thing","account":"acct_9","livemode":true,"data":{}}"#;
        let event = verify(body, Some(&sign(body, SECRET, NOW)), SECRET, NOW).unwrap();
        assert_eq!(
            (event.event_type.as_str(), event.account.as_deref(), event.livemode),
            ("v2.future.thing", Some("acct_9"), true)
        );
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let body = minimal("invoice.paid");
        let good = sign(&body, SECRET, NOW);
        let good_v1 = good.split(',').find_map(|p| p.strip_prefix("v1=")).unwrap();
        let header = format!("t={NOW},v1={},v1={good_v1},v0=abc", "00".repeat(32));
        assert!(verify(&body, Some(&header), SECRET, NOW).is_ok());
        let old_secret_only = format!("t={NOW},v1={}", "00".repeat(32));
        assert_eq!(verify(&body, Some(&old_secret_only), SECRET, NOW), Err(WebhookRejection::BadSignature));
    }

    #[test]
    fn tampered_wrong_secret_missing_or_garbled_signatures_are_refused() {
        let body = minimal("customer.updated");
        let header = sign(&body, SECRET, NOW);
        let tampered = body.replace("cus_1", "cus_2");
        assert_eq!(verify(&tampered, Some(&header), SECRET, NOW), Err(WebhookRejection::BadSignature));
        assert_eq!(verify(&body, Some(&header), "whsec_other", NOW), Err(WebhookRejection::BadSignature));
        assert_eq!(verify(&body, None, SECRET, NOW), Err(WebhookRejection::MissingSignature));
        for garbled in ["", "t=x,v1=00", "v1=00", "garbage", &format!("t={NOW}")] {
            assert_eq!(verify(&body, Some(garbled), SECRET, NOW), Err(WebhookRejection::BadSignature), "{garbled}");
        }
    }

    #[test]
    fn the_timestamp_must_be_within_the_tolerance_either_way() {
        let body = minimal("customer.updated");
        for (signed_at, ok) in [(NOW - 300, true), (NOW + 300, true), (NOW - 301, false), (NOW + 301, false)] {
            let result = verify(&body, Some(&sign(&body, SECRET, signed_at)), SECRET, NOW);
            assert_eq!(result.is_ok(), ok, "{signed_at}");
            if !ok {
                assert_eq!(result, Err(WebhookRejection::StaleTimestamp));
            }
        }
    }

    #[test]
    fn a_signed_body_without_an_id_or_type_is_unreadable() {
        for body in [r#"{"type":"x.y"}"#, r#"{"id":"evt_1"}"#, r#"{"id":"","type":"x.y"}"#, "not json"] {
            let result = verify(body, Some(&sign(body, SECRET, NOW)), SECRET, NOW);
            assert!(matches!(result, Err(WebhookRejection::Unreadable(_))), "{body}: {result:?}");
        }
    }

    #[test]
    fn the_handled_list_has_no_duplicates() {
        let mut sorted = HANDLED_EVENT_TYPES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), HANDLED_EVENT_TYPES.len());
        assert!(is_handled("payment_intent.succeeded"));
        assert!(!is_handled("customer.updated"));
    }
}

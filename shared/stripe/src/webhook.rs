//! Verifying Stripe webhook deliveries: the signature over the raw body, within Stripe's 300 s
//! tolerance, by async-stripe's own verifier (which also proves the event parses).

use thiserror::Error;

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
}

/// Verifies `signature` over `payload` with `secret` at `now` (unix seconds).
pub fn verify(
    payload: &str,
    signature: Option<&str>,
    secret: &str,
    now: i64,
) -> Result<VerifiedEvent, WebhookRejection> {
    let signature = signature.ok_or(WebhookRejection::MissingSignature)?;
    match stripe_webhook::Webhook::construct_event_with_timestamp(payload, signature, secret, now) {
        Ok(event) => Ok(VerifiedEvent {
            id: event.id.as_str().to_string(),
            event_type: event.type_.as_str().to_string(),
            created: event.created,
        }),
        Err(stripe_webhook::WebhookError::BadSignature | stripe_webhook::WebhookError::BadKey) => {
            Err(WebhookRejection::BadSignature)
        }
        Err(stripe_webhook::WebhookError::BadTimestamp(_)) => Err(WebhookRejection::StaleTimestamp),
        Err(stripe_webhook::WebhookError::BadHeader(_)) => Err(WebhookRejection::BadSignature),
        Err(other) => Err(WebhookRejection::Unreadable(other.to_string())),
    }
}

/// Builds a valid `Stripe-Signature` header (tests and the sandbox's own checks).
pub fn sign(payload: &str, secret: &str, timestamp: i64) -> String {
    stripe_webhook::Webhook::generate_test_header(payload, secret, Some(timestamp))
}

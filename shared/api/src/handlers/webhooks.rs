//! `POST /api/webhooks/stripe` (no JWT): verify the signature over the raw body, dedupe by event
//! id, enqueue for the stripe-events worker, answer 200 at once.

use crate::error::ApiError;
use crate::http::{HttpResult, body_bytes, header, ok};
use crate::state::AppState;
use azora_stripe::webhook::{WebhookRejection, verify};
use lambda_http::Request;
use serde_json::json;
use std::sync::Arc;

/// Stripe's events are well under this; anything larger is not from Stripe.
const MAX_EVENT_BYTES: usize = 512 * 1024;

pub async fn stripe(req: Request, state: Arc<AppState>) -> HttpResult {
    // lambda_http has already decoded a base64 body (isBase64Encoded): these are the raw bytes
    // Stripe signed.
    let raw = body_bytes(&req);
    if raw.len() > MAX_EVENT_BYTES {
        return Err(ApiError::new(
            ::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The event is too large.",
        ));
    }
    let payload =
        std::str::from_utf8(raw).map_err(|_| ApiError::bad_request("invalid_event", "The body is not UTF-8."))?;
    let now = jiff::Timestamp::now().as_second();
    let event =
        verify(payload, header(&req, "stripe-signature"), &state.config.stripe.webhook_secret, now).map_err(|r| {
            tracing::warn!(reason = %r, "webhook rejected");
            match r {
                WebhookRejection::MissingSignature | WebhookRejection::BadSignature => {
                    ApiError::bad_request("invalid_signature", "The Stripe-Signature does not match this body.")
                }
                WebhookRejection::StaleTimestamp => ApiError::bad_request(
                    "stale_signature",
                    "The signature timestamp is outside the 300 second tolerance.",
                ),
                WebhookRejection::Unreadable(why) => {
                    ApiError::bad_request("invalid_event", format!("Unreadable event: {why}"))
                }
            }
        })?;
    tracing::info!(event_id = %event.id, event_type = %event.event_type, "webhook verified");
    if !state.store.record_stripe_event(&event.id, &event.event_type, now).await? {
        tracing::info!(event_id = %event.id, "duplicate delivery");
        return ok(&json!({ "received": true, "duplicate": true }));
    }
    if let Err(e) =
        state.stripe_events.send(payload.to_string(), &[("type", &event.event_type), ("eventId", &event.id)]).await
    {
        // Forget the event so that Stripe's retry of this delivery is accepted.
        if let Err(forget) = state.store.forget_stripe_event(&event.id).await {
            tracing::error!(error = %forget, event_id = %event.id, "could not forget event after enqueue failure");
        }
        return Err(e);
    }
    ok(&json!({ "received": true }))
}

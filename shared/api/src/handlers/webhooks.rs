//! `POST /api/webhooks/stripe` (no JWT): verify the signature over the raw body, read only the
//! envelope, acknowledge types the worker does not handle, dedupe by event id, enqueue the raw
//! payload for the stripe-events worker, answer 200 at once.
//!
//! Invariant: every correctly signed, fresh delivery gets a 2xx (Stripe retries anything else for
//! three days and may disable the endpoint), whatever its object holds; only a bad or stale
//! signature, or a body without an event id and type, is refused. Types outside
//! `azora_stripe::webhook::HANDLED_EVENT_TYPES` are acknowledged without being recorded or enqueued.

use crate::error::ApiError;
use crate::http::{HttpResult, body_bytes, header, ok};
use crate::state::AppState;
use azora_stripe::webhook::{WebhookRejection, is_handled, verify};
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
    // Stripe stamps signatures with real time (test clocks do not move them), so the tolerance is
    // measured against the wall clock, not the app's.
    let now = crate::state::Clock::wall_time().as_second();
    let event =
        verify(payload, header(&req, "stripe-signature"), &state.config.webhook.get()?.secret, now).map_err(|r| {
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
    tracing::info!(
        event_id = %event.id,
        event_type = %event.event_type,
        account = event.account.as_deref().unwrap_or(""),
        livemode = event.livemode,
        "webhook verified"
    );
    if !is_handled(&event.event_type) {
        tracing::info!(event_id = %event.id, event_type = %event.event_type, "event type not handled; acknowledged");
        return ok(&json!({ "received": true, "ignored": true }));
    }
    if !state.store.record_stripe_event(&event.id, &event.event_type, now).await? {
        tracing::info!(event_id = %event.id, "duplicate delivery");
        return ok(&json!({ "received": true, "duplicate": true }));
    }
    let livemode = if event.livemode { "true" } else { "false" };
    let mut attributes =
        vec![("type", event.event_type.as_str()), ("eventId", event.id.as_str()), ("livemode", livemode)];
    if let Some(account) = &event.account {
        attributes.push(("account", account.as_str()));
    }
    if let Err(e) = state.stripe_events()?.send(payload.to_string(), &attributes).await {
        // Forget the event so that Stripe's retry of this delivery is accepted.
        if let Err(forget) = state.store.forget_stripe_event(&event.id).await {
            tracing::error!(error = %forget, event_id = %event.id, "could not forget event after enqueue failure");
        }
        return Err(e.into());
    }
    ok(&json!({ "received": true }))
}

#[cfg(test)]
mod tests {
    use azora_stripe::webhook::HANDLED_EVENT_TYPES;
    use std::collections::BTreeSet;

    /// Event-type literals (`a.b`, `a.b.c`) in Rust source: what a `match` on the type names.
    fn event_types_in(source: &str) -> BTreeSet<&str> {
        source
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|lit| {
                lit.contains('.')
                    && !lit.starts_with('.')
                    && !lit.ends_with('.')
                    && !lit.contains("..")
                    && lit.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
            })
            .collect()
    }

    /// The edge acknowledges without enqueueing every type outside the list, so a type the worker
    /// handles but the list lacks would be dropped silently: the two must agree.
    #[test]
    fn the_handled_list_is_exactly_what_the_worker_handles() {
        let worker = event_types_in(include_str!("../workers/stripe_events.rs"));
        let listed: BTreeSet<&str> = HANDLED_EVENT_TYPES.iter().copied().collect();
        let missing: Vec<_> = worker.difference(&listed).collect();
        assert!(missing.is_empty(), "the worker handles {missing:?}; add them to HANDLED_EVENT_TYPES");
        let unused: Vec<_> = listed.difference(&worker).collect();
        assert!(unused.is_empty(), "HANDLED_EVENT_TYPES lists {unused:?} which the worker does not handle");
    }
}

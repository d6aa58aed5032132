//! `Idempotency-Key` for POSTs that create money, token or license effects.
//!
//! The first response for a key is stored and replayed for a retry with the same key and the same
//! body; the same key with a different body is refused with 422. Keys are scoped to the caller and
//! the route. A crashed attempt's claim has a lease (60 s) after which a retry runs again; records
//! expire after 24 hours.
//!
//! What is stored: responses below 400 and business outcomes 409/422. Other client errors (400,
//! 401, 403, 404, 413), server errors and answers with `Retry-After` (a transient conflict) release
//! the key, so the client can fix the request or retry with the same key, as Stripe does.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{HttpResult, body_bytes, header};
use crate::state::AppState;
use azora_domain::ids::new_id;
use azora_store::claims::{ClaimOutcome, ClaimRequest};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const LEASE_SECONDS: i64 = 60;
const TTL_SECONDS: i64 = 24 * 3600;
const MAX_KEY_LEN: usize = 255;

#[derive(Serialize, Deserialize)]
struct StoredResponse {
    status: u16,
    content_type: String,
    body: String,
}

fn should_store(status: StatusCode) -> bool {
    status.as_u16() < 400 || status == StatusCode::CONFLICT || status == StatusCode::UNPROCESSABLE_ENTITY
}

/// The validated `Idempotency-Key` header.
pub fn key(req: &Request) -> Result<String, ApiError> {
    let key = header(req, HEADER).ok_or_else(|| {
        ApiError::bad_request("idempotency_key_required", "This request needs an Idempotency-Key header.")
    })?;
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("The Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters."),
        ));
    }
    Ok(key.to_string())
}

pub fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An id derived from the caller and their idempotency key, so a retry after a crash finds the
/// same object (a payment, and Stripe, keyed by it, the same PaymentIntent; a license; a voucher).
pub fn derived_id(prefix: &str, principal: &Principal, key: &str) -> String {
    let digest = Sha256::digest(format!("{prefix}:{}:{key}", principal.user_id).as_bytes());
    format!("{prefix}_{}", &hex::encode(digest)[..26])
}

/// Runs `work` at most once per (caller, route, key) and replays its response afterwards.
pub async fn once<F, Fut>(state: &AppState, req: &Request, principal: &Principal, work: F) -> HttpResult
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = HttpResult>,
{
    let key = key(req)?;
    let scope = format!("{} {}:{}", req.method(), req.uri().path(), principal.user_id);
    let fingerprint = fingerprint(body_bytes(req));
    let attempt = new_id("att");
    let claim = ClaimRequest {
        scope: &scope,
        key: &key,
        fingerprint: &fingerprint,
        attempt: &attempt,
        now: state.clock.now().as_second(),
        lease_seconds: LEASE_SECONDS,
        ttl_seconds: TTL_SECONDS,
    };
    match state.store.claim(&claim).await? {
        ClaimOutcome::Acquired => {
            let response = work().await.unwrap_or_else(ApiError::into_response);
            // An answer that asks to try again later (`Retry-After`, e.g. 409
            // `subscription_in_progress`) is transient: a retry with this key runs again.
            if should_store(response.status()) && !response.headers().contains_key("retry-after") {
                let stored = StoredResponse {
                    status: response.status().as_u16(),
                    content_type: response
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/json")
                        .to_string(),
                    body: match response.body() {
                        Body::Text(t) => t.clone(),
                        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => String::new(),
                    },
                };
                let outcome = serde_json::to_string(&stored).map_err(ApiError::internal)?;
                if let Err(e) = state.store.complete_claim(&scope, &key, &attempt, &outcome).await {
                    // The work is done; the key stays claimed until its lease ends. Log and answer.
                    tracing::error!(error = %e, "could not record idempotent response");
                }
            } else if let Err(e) = state.store.release_claim(&scope, &key, &attempt).await {
                tracing::warn!(error = %e, "could not release idempotency key");
            }
            Ok(response)
        }
        ClaimOutcome::Completed { outcome } => {
            let stored: StoredResponse = serde_json::from_str(&outcome).map_err(ApiError::internal)?;
            tracing::info!("idempotent replay");
            Response::builder()
                .status(stored.status)
                .header("content-type", stored.content_type)
                .header(REPLAYED_HEADER, "true")
                .body(Body::Text(stored.body))
                .map_err(ApiError::internal)
        }
        ClaimOutcome::Mismatch => Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request body.",
        )),
        ClaimOutcome::InProgress => {
            let mut e = ApiError::conflict(
                "idempotency_in_progress",
                "A request with this Idempotency-Key is still in progress.",
            );
            e.retry_after_seconds = Some(1);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_successes_and_business_outcomes_only() {
        for s in [200, 201, 202, 409, 422] {
            assert!(should_store(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 429, 500, 503] {
            assert!(!should_store(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn fingerprint_depends_on_every_byte() {
        assert_ne!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":2}"));
        assert_eq!(fingerprint(b"x"), fingerprint(b"x"));
    }
}

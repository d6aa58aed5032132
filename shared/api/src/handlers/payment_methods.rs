//! Payment method endpoints: the caller's saved cards (`crate::payment_methods`).

use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, ok};
use crate::idempotency;
use crate::payment_methods::{self as service, Wallet};
use crate::state::AppState;
use ::http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

fn wallet_view(wallet: &Wallet) -> Value {
    json!({
        "paymentMethods": wallet.cards.iter().map(|c| json!({
            "id": c.card.id,
            "brand": c.card.brand,
            "last4": c.card.last4,
            "expMonth": c.card.exp_month,
            "expYear": c.card.exp_year,
            "default": c.is_default,
        })).collect::<Vec<_>>(),
        "defaultPaymentMethodId": wallet.default,
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SetupRequest {
    payment_method_id: Option<String>,
}

/// The `{paymentMethodId}` path parameter; a malformed id is as unknown as another user's (404).
fn pm_param(req: &Request) -> Result<String, ApiError> {
    let id = http::path_param(req, "paymentMethodId")?;
    if !service::valid_payment_method_id(&id) {
        return Err(ApiError::not_found("payment method"));
    }
    Ok(id)
}

/// `POST /api/payment-methods/setup`: a SetupIntent on the caller's Stripe customer (created if
/// needed) for saving a card; its `clientSecret` is for the client to confirm (Stripe.js), or
/// with `paymentMethodId` it is confirmed now (a decline is 402 `card_declined`; 3-D Secure is
/// `requires_action`, completed by the client). Idempotency-Key required.
pub async fn setup(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: SetupRequest = if http::body_bytes(&req).is_empty() { SetupRequest::default() } else { json_body(&req)? };
    if let Some(pm) = &body.payment_method_id
        && !service::valid_payment_method_id(pm)
    {
        return Err(ApiError::bad_request("validation_failed", "paymentMethodId must look like pm_...")
            .with_details(json!({ "field": "paymentMethodId" })));
    }
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        // The card is part of Stripe's key: after a decline (which releases our key) a retry with
        // another card under the same Idempotency-Key is a new SetupIntent, not Stripe's replay.
        let card = body.payment_method_id.as_deref().unwrap_or("-");
        let derived = idempotency::derived_id("seti", &principal, &format!("{key}:{card}"));
        let done = service::setup(&state, &principal, body.payment_method_id.as_deref(), &derived).await?;
        let si = &done.intent;
        http::json(
            StatusCode::CREATED,
            &json!({
                "setupIntentId": si.id,
                "status": si.status,
                "clientSecret": si.client_secret,
                "paymentMethodId": si.payment_method,
                "nextAction": si.next_action,
                "madeDefault": done.made_default,
            }),
        )
    })
    .await
}

/// `GET /api/payment-methods`: the caller's cards (brand, last 4, expiry), newest first, and
/// which is the default.
pub async fn list(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let wallet = service::wallet(&state, &principal.user_id).await?;
    ok(&wallet_view(&wallet))
}

/// `POST /api/payment-methods/{paymentMethodId}/default`: makes one of the caller's cards the default, for the
/// customer and the live subscription. Idempotency-Key required.
pub async fn make_default(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let pm = pm_param(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        let wallet = service::make_default(&state, &principal.user_id, &pm).await?;
        ok(&wallet_view(&wallet))
    })
    .await
}

/// `DELETE /api/payment-methods/{paymentMethodId}`: detaches one of the caller's cards; the only card of a
/// live subscription is refused (409 `default_card_required`), and a removed default is replaced
/// by the newest other card.
pub async fn remove(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let pm = pm_param(&req)?;
    let wallet = service::remove(&state, &principal.user_id, &pm).await?;
    ok(&wallet_view(&wallet))
}

//! Charges: created by PaymentIntent confirmations (succeeded or failed), read with
//! `GET /v1/charges/{id}` and `GET /v1/charges`; refunds update `amount_refunded`/`refunded`.

use serde_json::{Value, json};

use super::{s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::router::{Ctx, Method, Route};
use crate::store::Store;

const LIST: &[&str] =
    &["created", "customer", "ending_before", "limit", "payment_intent", "starting_after", "transfer_group"];

pub fn routes() -> Vec<Route> {
    vec![Route::new(Method::Get, "/v1/charges", LIST, list), Route::new(Method::Get, "/v1/charges/{id}", &[], retrieve)]
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load("charge", "charge", &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let filters: Vec<(&str, String)> = ["customer", "payment_intent", "transfer_group"]
        .into_iter()
        .filter_map(|k| ctx.params.str(k).ok().flatten().map(|v| (k, v)))
        .collect();
    let items: Vec<Value> = ctx
        .store
        .list("charge", ctx.account())
        .into_iter()
        .filter(|c| filters.iter().all(|(k, v)| s(c, k) == v))
        .cloned()
        .collect();
    list_response(items, "/v1/charges", ctx.params)
}

/// When a succeeded charge's funds become available in the balance (sandbox clock; hidden state,
/// Stripe keeps it on the charge's balance transaction).
pub fn set_available_on(store: &mut Store, id: &str, at: i64) {
    if let Some(o) = store.stored_mut(id) {
        o.internal.insert("available_on".into(), json!(at));
    }
}

/// Whether a charge's funds are available at `now` (charges without a recorded time are).
pub fn available_at(store: &Store, id: &str, now: i64) -> bool {
    store.stored(id).and_then(|o| o.internal.get("available_on")).and_then(Value::as_i64).is_none_or(|at| at <= now)
}

/// How the payment attempt ended.
pub enum Outcome<'a> {
    Succeeded { three_d_secure: bool },
    Declined { error: &'a ApiError },
}

/// A Charge for a confirmation of `intent` with the PaymentMethod `pm`.
pub fn build(intent: &Value, pm: &Value, outcome: &Outcome<'_>, now: i64) -> ApiResult<Value> {
    let mut charge = Value::Object(fixture("charge")?);
    let amount = intent.get("amount").and_then(Value::as_i64).unwrap_or(0);
    let id = ids::new_id("ch");
    let succeeded = matches!(outcome, Outcome::Succeeded { .. });
    let card = pm.get("card").cloned().unwrap_or(Value::Null);
    let three_d_secure = match outcome {
        Outcome::Succeeded { three_d_secure: true } => json!({
            "authentication_flow": "challenge",
            "electronic_commerce_indicator": "05",
            "exemption_indicator": null,
            "result": "authenticated",
            "result_reason": null,
            "transaction_id": format!("{}-sbx", ids::random_chars(24)),
            "version": "2.2.0",
        }),
        _ => Value::Null,
    };
    let (failure_code, failure_message, outcome_json) = match outcome {
        Outcome::Succeeded { .. } => (
            Value::Null,
            Value::Null,
            json!({
                "advice_code": null,
                "network_advice_code": null,
                "network_decline_code": null,
                "network_status": "approved_by_network",
                "reason": null,
                "risk_level": "normal",
                "risk_score": 32,
                "seller_message": "Payment complete.",
                "type": "authorized",
            }),
        ),
        Outcome::Declined { error } => {
            let decline = error.decline_code.unwrap_or_default();
            let seller = if decline == "generic_decline" {
                "The bank did not return any further details with this decline.".to_string()
            } else {
                format!("The bank returned the decline code `{decline}`.")
            };
            (
                json!(error.code),
                json!(error.message),
                json!({
                    "advice_code": null,
                    "network_advice_code": null,
                    "network_decline_code": null,
                    "network_status": "declined_by_network",
                    "reason": decline,
                    "risk_level": "normal",
                    "risk_score": 32,
                    "seller_message": seller,
                    "type": "issuer_declined",
                }),
            )
        }
    };
    let mut details =
        charge.get("payment_method_details").cloned().unwrap_or_else(|| json!({"card": {}, "type": "card"}));
    if let Some(c) = details.get_mut("card").and_then(Value::as_object_mut) {
        for key in ["brand", "country", "exp_month", "exp_year", "fingerprint", "funding", "last4", "regulated_status"]
        {
            c.insert(key.into(), card.get(key).cloned().unwrap_or(Value::Null));
        }
        c.insert("network".into(), card.get("brand").cloned().unwrap_or(Value::Null));
        c.insert("amount_authorized".into(), if succeeded { json!(amount) } else { Value::Null });
        c.insert(
            "checks".into(),
            json!({"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"}),
        );
        c.insert("installments".into(), Value::Null);
        c.insert("mandate".into(), Value::Null);
        c.insert("wallet".into(), Value::Null);
        c.insert("three_d_secure".into(), three_d_secure);
        c.insert("overcapture".into(), json!({"maximum_amount_capturable": amount, "status": "unavailable"}));
        c.insert("network_transaction_id".into(), if succeeded { json!(ids::random_chars(15)) } else { Value::Null });
    }
    let transfer_data = match intent.get("transfer_data") {
        Some(Value::Object(t)) => json!({
            "amount": t.get("amount").cloned().unwrap_or(Value::Null),
            "destination": t.get("destination").cloned().unwrap_or(Value::Null),
        }),
        _ => Value::Null,
    };
    let overrides = json!({
        "id": id,
        "amount": amount,
        "amount_captured": if succeeded { amount } else { 0 },
        "amount_refunded": 0,
        "application": null,
        "application_fee": null,
        "application_fee_amount": intent.get("application_fee_amount").cloned().unwrap_or(Value::Null),
        "balance_transaction": if succeeded { json!(ids::new_id("txn")) } else { Value::Null },
        "billing_details": pm.get("billing_details").cloned().unwrap_or(Value::Null),
        "calculated_statement_descriptor": "AZORA SANDBOX",
        "captured": succeeded,
        "created": now,
        "currency": intent.get("currency").cloned().unwrap_or(Value::Null),
        "customer": intent.get("customer").cloned().unwrap_or(Value::Null),
        "description": intent.get("description").cloned().unwrap_or(Value::Null),
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "livemode": false,
        "metadata": intent.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "on_behalf_of": intent.get("on_behalf_of").cloned().unwrap_or(Value::Null),
        "outcome": outcome_json,
        "paid": succeeded,
        "payment_intent": intent.get("id").cloned().unwrap_or(Value::Null),
        "payment_method": pm.get("id").cloned().unwrap_or(Value::Null),
        "payment_method_details": details,
        "receipt_email": intent.get("receipt_email").cloned().unwrap_or(Value::Null),
        "receipt_number": null,
        "receipt_url": format!("https://pay.stripe.com/receipts/payment/sandbox_{}", ids::random_chars(32)),
        "refunded": false,
        "review": null,
        "shipping": null,
        "source": null,
        "source_transfer": null,
        "statement_descriptor": intent.get("statement_descriptor").cloned().unwrap_or(Value::Null),
        "statement_descriptor_suffix": intent.get("statement_descriptor_suffix").cloned().unwrap_or(Value::Null),
        "status": if succeeded { "succeeded" } else { "failed" },
        "transfer_data": transfer_data,
        "transfer_group": intent.get("transfer_group").cloned().unwrap_or(Value::Null),
    });
    if let (Some(obj), Value::Object(o)) = (charge.as_object_mut(), overrides) {
        obj.extend(o);
        // Since API version 2022-11-15 `refunds` is only present when expanded.
        obj.remove("refunds");
    }
    set(&mut charge, "object", json!("charge"));
    Ok(charge)
}

//! Disputes of succeeded charges: opened and closed through the control API (Stripe's test mode
//! does the same with special cards and evidence strings), read with `GET /v1/disputes` and
//! `GET /v1/disputes/{id}`. Events: `charge.dispute.created` when opened, `charge.dispute.closed`
//! when won or lost. The charge is marked `disputed`.

use serde_json::{Value, json};

use super::{int, overlay, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::router::{Ctx, Method, Route};
use crate::store::{EventSource, Store, previous_attributes};

const KIND: &str = "dispute";
const LIST: &[&str] = &["charge", "created", "ending_before", "limit", "payment_intent", "starting_after"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Get, "/v1/disputes", LIST, list),
        Route::new(Method::Get, "/v1/disputes/{id}", &[], retrieve),
    ]
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, KIND, &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let filters: Vec<(&str, String)> = ["charge", "payment_intent"]
        .into_iter()
        .filter_map(|k| ctx.params.str(k).ok().flatten().map(|v| (k, v)))
        .collect();
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|d| filters.iter().all(|(k, v)| s(d, k) == v))
        .cloned()
        .collect();
    list_response(items, "/v1/disputes", ctx.params)
}

/// Opens a dispute of a succeeded charge for `amount` (default: what is not refunded of it).
pub fn open(store: &mut Store, charge_id: &str, amount: Option<i64>, reason: Option<&str>) -> ApiResult<Value> {
    let mut charge =
        store.find("charge", charge_id, None).cloned().ok_or_else(|| ApiError::not_found("charge", charge_id))?;
    if s(&charge, "status") != "succeeded" {
        return Err(ApiError::invalid("charge_not_disputable", format!("Charge {charge_id} did not succeed.")));
    }
    if charge.get("disputed") == Some(&Value::Bool(true)) {
        return Err(ApiError::invalid("charge_disputed", format!("Charge {charge_id} has already been disputed.")));
    }
    let remaining = int(&charge, "amount") - int(&charge, "amount_refunded");
    let amount = amount.unwrap_or(remaining);
    if amount <= 0 || amount > remaining {
        return Err(
            ApiError::invalid_nocode(format!("A dispute takes 1 to {remaining} of this charge.")).param("amount")
        );
    }
    let mut dispute = Value::Object(fixture(KIND)?);
    overlay(
        &mut dispute,
        json!({
            "id": ids::new_id("dp"),
            "amount": amount,
            "currency": s(&charge, "currency"),
            "charge": charge_id,
            "payment_intent": charge.get("payment_intent").cloned().unwrap_or(Value::Null),
            "created": store.now(),
            "status": "needs_response",
            "reason": reason.unwrap_or("fraudulent"),
            "is_charge_refundable": false,
            "metadata": {},
        }),
    );
    store.put(dispute.clone(), None)?;
    set(&mut charge, "disputed", Value::Bool(true));
    store.put(charge, None)?;
    store.emit(&EventSource::default(), "charge.dispute.created", &dispute, None);
    Ok(dispute)
}

/// Closes an open dispute as won or lost.
pub fn close(store: &mut Store, id: &str, won: bool) -> ApiResult<Value> {
    let old = store.find(KIND, id, None).cloned().ok_or_else(|| ApiError::not_found(KIND, id))?;
    if matches!(s(&old, "status"), "won" | "lost") {
        return Err(ApiError::invalid("dispute_closed", format!("Dispute {id} is already closed.")));
    }
    let mut dispute = old.clone();
    set(&mut dispute, "status", json!(if won { "won" } else { "lost" }));
    store.put(dispute.clone(), None)?;
    store.emit(&EventSource::default(), "charge.dispute.closed", &dispute, previous_attributes(&old, &dispute));
    Ok(dispute)
}

//! Refunds of succeeded charges (by `payment_intent` or `charge`), full or partial.
//! Events: `refund.created` and `charge.refunded` on create, `refund.updated` on update.

use serde_json::{Value, json};

use super::{metadata, one_of, reject_unsupported, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::money;
use crate::router::{Ctx, Method, Route};

const CREATE: &[&str] = &[
    "amount",
    "charge",
    "currency",
    "customer",
    "instructions_email",
    "metadata",
    "origin",
    "payment_intent",
    "reason",
    "refund_application_fee",
    "reverse_transfer",
];
const UPDATE: &[&str] = &["metadata"];
const LIST: &[&str] = &["charge", "created", "ending_before", "limit", "payment_intent", "starting_after"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/refunds", CREATE, create),
        Route::new(Method::Get, "/v1/refunds", LIST, list),
        Route::new(Method::Get, "/v1/refunds/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/refunds/{id}", UPDATE, update),
    ]
}

const LABEL: &str = "refund";

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, &["customer", "origin", "instructions_email", "reverse_transfer", "refund_application_fee"])?;
    let reason = one_of(p, "reason", &["duplicate", "fraudulent", "requested_by_customer"])?;
    let charge_id = match (p.str("payment_intent")?, p.str("charge")?) {
        (None, None) => {
            return Err(ApiError::invalid(
                "parameter_missing",
                "One of the following params should be provided for this request: payment_intent or charge.",
            ));
        }
        (Some(pi_id), charge) => {
            let pi = ctx.load_ref("payment_intent", "payment_intent", &pi_id, "payment_intent")?;
            let latest = s(&pi, "latest_charge").to_string();
            if s(&pi, "status") != "succeeded" || latest.is_empty() {
                return Err(ApiError::invalid(
                    "charge_not_refundable",
                    format!("This PaymentIntent ({pi_id}) does not have a successful charge to refund."),
                )
                .param("payment_intent"));
            }
            if let Some(c) = charge
                && c != latest
            {
                return Err(ApiError::invalid_nocode(format!(
                    "The charge {c} does not belong to the PaymentIntent {pi_id}."
                ))
                .param("charge"));
            }
            latest
        }
        (None, Some(charge)) => charge,
    };
    let mut charge = ctx.load_ref("charge", "charge", &charge_id, "charge")?;
    if s(&charge, "status") != "succeeded" {
        return Err(ApiError::invalid(
            "charge_not_refundable",
            format!("Charge {charge_id} has a status of {} and cannot be refunded.", s(&charge, "status")),
        )
        .param("charge"));
    }
    let currency = s(&charge, "currency").to_string();
    if let Some(c) = p.str("currency")?
        && c.to_ascii_lowercase() != currency
    {
        return Err(ApiError::invalid_nocode(format!(
            "The refund currency ({c}) must match the charge currency ({currency})."
        ))
        .param("currency"));
    }
    let captured = charge.get("amount_captured").and_then(Value::as_i64).unwrap_or(0);
    let refunded = charge.get("amount_refunded").and_then(Value::as_i64).unwrap_or(0);
    let remaining = captured - refunded;
    if remaining <= 0 {
        return Err(ApiError::invalid(
            "charge_already_refunded",
            format!("Charge {charge_id} has already been refunded."),
        )
        .with("charge", json!(charge_id)));
    }
    let amount = match p.i64("amount")? {
        None => remaining,
        Some(a) if a <= 0 => {
            return Err(ApiError::invalid("parameter_invalid_integer", "Invalid positive integer").param("amount"));
        }
        Some(a) if a > remaining => {
            return Err(ApiError::invalid(
                "amount_too_large",
                format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                    money::format(a, &currency),
                    money::format(remaining, &currency)
                ),
            )
            .param("amount"));
        }
        Some(a) => a,
    };
    let mut refund = Value::Object(fixture("refund")?);
    let overrides = json!({
        "id": ids::new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": ids::new_id("txn"),
        "charge": charge_id,
        "created": ctx.now(),
        "currency": currency,
        "customer": charge.get("customer").cloned().unwrap_or(Value::Null),
        "destination_details": {
            "card": {
                "reference": null,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": metadata(p, None)?,
        "payment_intent": charge.get("payment_intent").cloned().unwrap_or(Value::Null),
        "payment_method": charge.get("payment_method").cloned().unwrap_or(Value::Null),
        "reason": reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    });
    if let (Some(obj), Value::Object(o)) = (refund.as_object_mut(), overrides) {
        obj.extend(o);
    }
    let total = refunded + amount;
    set(&mut charge, "amount_refunded", json!(total));
    set(&mut charge, "refunded", json!(total >= captured));
    ctx.save(&refund)?;
    ctx.save(&charge)?;
    ctx.emit("refund.created", &refund);
    ctx.emit("charge.refunded", &charge);
    Ok(refund)
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load("refund", LABEL, &id)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let old = ctx.load("refund", LABEL, &id)?;
    let mut refund = old.clone();
    let current = refund.get("metadata").cloned();
    set(&mut refund, "metadata", metadata(ctx.params, current.as_ref())?);
    ctx.save(&refund)?;
    ctx.emit_updated("refund.updated", &old, &refund);
    Ok(refund)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let filters: Vec<(&str, String)> = ["charge", "payment_intent"]
        .into_iter()
        .filter_map(|k| ctx.params.str(k).ok().flatten().map(|v| (k, v)))
        .collect();
    let items: Vec<Value> = ctx
        .store
        .list("refund", ctx.account())
        .into_iter()
        .filter(|r| filters.iter().all(|(k, v)| s(r, k) == v))
        .cloned()
        .collect();
    list_response(items, "/v1/refunds", ctx.params)
}

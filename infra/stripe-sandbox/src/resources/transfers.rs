//! Transfers to connected accounts and their reversals (`/v1/transfers`,
//! `/v1/transfers/{id}/reversals`), plus `GET /v1/balance` (the platform's, or a connected
//! account's with `Stripe-Account`).
//!
//! A transfer needs a destination whose `transfers` capability is active (onboarding complete)
//! and adds to the destination's available balance; a reversal takes from it. A reversal larger
//! than what is left of the transfer is `amount_too_large`; one larger than the destination's
//! available balance is `insufficient_funds` (both 400 `invalid_request_error`), so the platform
//! can record a debt instead. A transfer needs that much in the platform's *available* balance
//! (charges are pending for `available_after` first): otherwise 400 `balance_insufficient`, and
//! nothing moves.
//! Events `transfer.created`, `transfer.updated`, `transfer.reversed`.

use serde_json::{Value, json};

use super::{accounts, charges};
use super::{int, metadata, overlay, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::money;
use crate::router::{Ctx, Method, Route};
use crate::store::Store;

const CREATE: &[&str] = &[
    "amount",
    "currency",
    "description",
    "destination",
    "metadata",
    "source_transaction",
    "source_type",
    "transfer_group",
];
const LIST: &[&str] = &["created", "destination", "ending_before", "limit", "starting_after", "transfer_group"];
const REVERSE: &[&str] = &["amount", "description", "metadata", "refund_application_fee"];
const PAGE: &[&str] = &["ending_before", "limit", "starting_after"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/transfers", CREATE, create),
        Route::new(Method::Get, "/v1/transfers", LIST, list),
        Route::new(Method::Get, "/v1/transfers/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/transfers/{id}", &["description", "metadata"], update),
        Route::new(Method::Post, "/v1/transfers/{id}/reversals", REVERSE, reverse),
        Route::new(Method::Get, "/v1/transfers/{id}/reversals", PAGE, list_reversals),
        Route::new(Method::Get, "/v1/transfers/{id}/reversals/{reversal}", &[], retrieve_reversal),
        Route::new(Method::Post, "/v1/transfers/{id}/reversals/{reversal}", &["metadata"], update_reversal),
        Route::new(Method::Get, "/v1/balance", &[], balance),
    ]
}

const KIND: &str = "transfer";
const LABEL: &str = "transfer";
/// A transfer embeds its first reversals (Stripe shows up to 10).
const EMBEDDED_REVERSALS: usize = 10;

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let amount = p.required_i64("amount")?;
    let currency = money::currency(&p.required_str("currency")?, "currency")?;
    if amount <= 0 {
        return Err(ApiError::invalid("parameter_invalid_integer", "Invalid positive integer").param("amount"));
    }
    if amount > money::MAX_AMOUNT {
        return Err(ApiError::invalid(
            "amount_too_large",
            format!("Amount must be no more than {}", money::format(money::MAX_AMOUNT, &currency)),
        )
        .param("amount"));
    }
    let destination = p.required_str("destination")?;
    let account = accounts::connected(ctx.store, &destination)
        .ok_or_else(|| ApiError::missing_reference("destination", &destination, "destination"))?;
    let transfers_active = account.pointer("/capabilities/transfers").and_then(Value::as_str) == Some("active")
        || account.pointer("/capabilities/crypto_transfers").and_then(Value::as_str) == Some("active")
        || account.pointer("/capabilities/legacy_payments").and_then(Value::as_str) == Some("active");
    if !transfers_active {
        return Err(ApiError::invalid(
            "insufficient_capabilities_for_transfer",
            "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments",
        )
        .param("destination"));
    }
    let source_transaction = p.str("source_transaction")?;
    if let Some(charge_id) = &source_transaction {
        let charge = ctx.load_ref("charge", "charge", charge_id, "source_transaction")?;
        if s(&charge, "status") != "succeeded" {
            return Err(ApiError::invalid_nocode(format!(
                "The source_transaction {charge_id} has not succeeded and cannot fund a transfer."
            ))
            .param("source_transaction"));
        }
        if s(&charge, "currency") != currency {
            return Err(ApiError::invalid_nocode(format!(
                "The currency of source_transaction ({}) must match the transfer's currency ({currency}).",
                s(&charge, "currency")
            ))
            .param("currency"));
        }
    }
    let source_type =
        super::one_of(p, "source_type", &["bank_account", "card", "fpx"])?.unwrap_or_else(|| "card".into());
    // As on Stripe, a transfer is funded from the platform's available balance (a transfer tied
    // to a charge with `source_transaction` from that charge, up to what is left of it).
    match &source_transaction {
        Some(charge_id) => {
            let charge = ctx.load_ref("charge", "charge", charge_id, "source_transaction")?;
            let already: i64 = ctx
                .store
                .list(KIND, None)
                .into_iter()
                .filter(|t| s(t, "source_transaction") == charge_id)
                .map(|t| int(t, "amount") - int(t, "amount_reversed"))
                .sum();
            let left = int(&charge, "amount_captured") - int(&charge, "amount_refunded") - already;
            if amount > left {
                return Err(ApiError::invalid(
                    "insufficient_funds",
                    format!(
                        "Insufficient funds in source_transaction {charge_id}: {} is left of it for transfers.",
                        money::format(left.max(0), &currency)
                    ),
                )
                .param("amount"));
            }
        }
        None => {
            let available = platform_balances(ctx.store).get(&currency).map(|b| b.0).unwrap_or(0);
            if amount > available {
                return Err(balance_insufficient());
            }
        }
    }
    let id = ids::new_id("tr");
    let mut transfer = Value::Object(fixture("transfer")?);
    overlay(
        &mut transfer,
        json!({
            "id": id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": ids::new_id("txn"),
            "created": ctx.now(),
            "currency": currency,
            "description": p.str("description")?,
            "destination": destination,
            "destination_payment": ids::new_id("py"),
            "livemode": false,
            "metadata": metadata(p, None)?,
            "reversals": {"object": "list", "data": [], "has_more": false, "total_count": 0, "url": format!("/v1/transfers/{id}/reversals")},
            "reversed": false,
            "source_transaction": source_transaction,
            "source_type": source_type,
            "transfer_group": p.str("transfer_group")?,
        }),
    );
    ctx.save(&transfer)?;
    accounts::adjust_available(ctx.store, &destination, &currency, amount);
    ctx.emit("transfer.created", &transfer);
    Ok(transfer)
}

/// Stripe's answer (test mode) to a transfer beyond the platform's available balance.
fn balance_insufficient() -> ApiError {
    ApiError::invalid(
        "balance_insufficient",
        "You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
    )
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let destination = ctx.params.str("destination")?;
    let group = ctx.params.str("transfer_group")?;
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|t| destination.as_deref().is_none_or(|d| s(t, "destination") == d))
        .filter(|t| group.as_deref().is_none_or(|g| s(t, "transfer_group") == g))
        .cloned()
        .collect();
    list_response(items, "/v1/transfers", ctx.params)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let old = ctx.load(KIND, LABEL, &id)?;
    let mut transfer = old.clone();
    if let Some(d) = ctx.params.nullable_str("description")? {
        set(&mut transfer, "description", json!(d));
    }
    let current = transfer.get("metadata").cloned();
    set(&mut transfer, "metadata", metadata(ctx.params, current.as_ref())?);
    ctx.save(&transfer)?;
    ctx.emit_updated("transfer.updated", &old, &transfer);
    Ok(transfer)
}

fn reverse(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let id = ctx.path(0).to_string();
    let mut transfer = ctx.load(KIND, LABEL, &id)?;
    if p.bool("refund_application_fee")? == Some(true) {
        return Err(ApiError::invalid_nocode("The Stripe sandbox does not model application fees on transfers.")
            .param("refund_application_fee"));
    }
    let currency = s(&transfer, "currency").to_string();
    let remaining = int(&transfer, "amount") - int(&transfer, "amount_reversed");
    if remaining <= 0 {
        return Err(ApiError::invalid("amount_too_large", format!("Transfer {id} has already been fully reversed."))
            .param("amount"));
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
                    "Transfer reversal amount ({}) is greater than the amount left on the transfer ({}).",
                    money::format(a, &currency),
                    money::format(remaining, &currency)
                ),
            )
            .param("amount"));
        }
        Some(a) => a,
    };
    let destination = s(&transfer, "destination").to_string();
    let (available, _) = accounts::balance_of(ctx.store, &destination, &currency);
    if amount > available {
        return Err(ApiError::invalid(
            "insufficient_funds",
            format!(
                "Insufficient funds in the destination account {destination}: reversing {} needs that much available, but its available balance is {}.",
                money::format(amount, &currency),
                money::format(available, &currency)
            ),
        )
        .param("amount"));
    }
    let reversal_id = ids::new_id("trr");
    let mut reversal = Value::Object(fixture("transfer_reversal")?);
    overlay(
        &mut reversal,
        json!({
            "id": reversal_id,
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": ids::new_id("txn"),
            "created": ctx.now(),
            "currency": currency,
            "destination_payment_refund": ids::new_id("pyr"),
            "metadata": metadata(p, None)?,
            "source_refund": null,
            "transfer": id,
        }),
    );
    ctx.save(&reversal)?;
    accounts::adjust_available(ctx.store, &destination, &currency, -amount);
    let reversed = int(&transfer, "amount_reversed") + amount;
    set(&mut transfer, "amount_reversed", json!(reversed));
    let fully = reversed >= int(&transfer, "amount");
    set(&mut transfer, "reversed", json!(fully));
    let embedded = reversals_list(ctx.store, ctx.account(), &id);
    set(&mut transfer, "reversals", embedded);
    ctx.save(&transfer)?;
    ctx.emit("transfer.reversed", &transfer);
    Ok(reversal)
}

/// The `reversals` list embedded in a transfer (newest first).
fn reversals_list(store: &Store, account: Option<&str>, transfer: &str) -> Value {
    let all: Vec<Value> = store
        .list("transfer_reversal", account)
        .into_iter()
        .filter(|r| s(r, "transfer") == transfer)
        .cloned()
        .collect();
    let total = all.len();
    json!({
        "object": "list",
        "data": all.into_iter().take(EMBEDDED_REVERSALS).collect::<Vec<_>>(),
        "has_more": total > EMBEDDED_REVERSALS,
        "total_count": total,
        "url": format!("/v1/transfers/{transfer}/reversals"),
    })
}

fn list_reversals(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)?;
    let items: Vec<Value> = ctx
        .store
        .list("transfer_reversal", ctx.account())
        .into_iter()
        .filter(|r| s(r, "transfer") == id)
        .cloned()
        .collect();
    list_response(items, &format!("/v1/transfers/{id}/reversals"), ctx.params)
}

fn reversal_of(ctx: &Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let reversal_id = ctx.path(1).to_string();
    ctx.load(KIND, LABEL, &id)?;
    let reversal = ctx.load("transfer_reversal", "transfer reversal", &reversal_id)?;
    if s(&reversal, "transfer") != id {
        return Err(ApiError::not_found("transfer reversal", &reversal_id));
    }
    Ok(reversal)
}

fn retrieve_reversal(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    reversal_of(ctx)
}

fn update_reversal(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let mut reversal = reversal_of(ctx)?;
    let current = reversal.get("metadata").cloned();
    set(&mut reversal, "metadata", metadata(ctx.params, current.as_ref())?);
    ctx.save(&reversal)?;
    let transfer_id = s(&reversal, "transfer").to_string();
    if let Ok(mut transfer) = ctx.load(KIND, LABEL, &transfer_id) {
        let embedded = reversals_list(ctx.store, ctx.account(), &transfer_id);
        set(&mut transfer, "reversals", embedded);
        ctx.save(&transfer)?;
    }
    Ok(reversal)
}

/// `GET /v1/balance`: with `Stripe-Account`, that connected account's ledger; without, the
/// platform's (see [`platform_balances`]).
fn balance(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    if let Some(account) = ctx.meta.account.clone() {
        return accounts::balance_json(ctx.store, &account);
    }
    platform_balance_json(ctx.store)
}

/// The platform's balance per currency, `(available, pending)`: each succeeded charge's net
/// (captured less refunded) is pending until its funds become available (`available_after` after
/// it succeeded, on the sandbox clock), then available; transfers net of reversals take from
/// available (a transfer with a `source_transaction` from that charge's bucket). Fees are not
/// modelled.
pub fn platform_balances(store: &Store) -> std::collections::BTreeMap<String, (i64, i64)> {
    let now = store.now();
    let mut totals: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
    for charge in store.list("charge", None) {
        if s(charge, "status") == "succeeded" {
            let net = int(charge, "amount_captured") - int(charge, "amount_refunded");
            let entry = totals.entry(s(charge, "currency").to_string()).or_default();
            if charges::available_at(store, s(charge, "id"), now) {
                entry.0 = entry.0.saturating_add(net);
            } else {
                entry.1 = entry.1.saturating_add(net);
            }
        }
    }
    for transfer in store.list(KIND, None) {
        let net = int(transfer, "amount") - int(transfer, "amount_reversed");
        let from_pending = transfer
            .get("source_transaction")
            .and_then(Value::as_str)
            .is_some_and(|charge| !charges::available_at(store, charge, now));
        let entry = totals.entry(s(transfer, "currency").to_string()).or_default();
        if from_pending {
            entry.1 = entry.1.saturating_sub(net);
        } else {
            entry.0 = entry.0.saturating_sub(net);
        }
    }
    totals
}

/// The platform's Balance object: `available` and `pending` per currency (`usd` zeros when empty).
pub fn platform_balance_json(store: &Store) -> ApiResult<Value> {
    let mut totals = platform_balances(store);
    if totals.is_empty() {
        totals.insert("usd".into(), (0, 0));
    }
    let part = |pick: fn(&(i64, i64)) -> i64| -> Vec<Value> {
        totals
            .iter()
            .map(|(c, t)| json!({"amount": pick(t), "currency": c, "source_types": {"card": pick(t)}}))
            .collect()
    };
    let reserved: Vec<Value> = totals.keys().map(|c| json!({"amount": 0, "currency": c})).collect();
    let mut balance = Value::Object(fixture("balance")?);
    overlay(
        &mut balance,
        json!({
            "object": "balance",
            "available": part(|t| t.0),
            "pending": part(|t| t.1),
            "connect_reserved": reserved,
            "livemode": false,
        }),
    );
    Ok(balance)
}

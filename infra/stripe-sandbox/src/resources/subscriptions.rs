//! Subscriptions: create, retrieve, update (items and prorations, cancel at period end, metadata,
//! default payment method), cancel (`DELETE`), list. The first invoice is created and charged
//! right away; renewals, trial ends and scheduled cancellations happen as time passes (see
//! `billing`). Events `customer.subscription.created`, `.updated` (with `previous_attributes`),
//! `.deleted`, plus those of invoices and payments.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::{check_members, member_bool, member_i64, member_str, metadata, one_of, overlay, payment_methods, s, set};
use crate::billing::{self, Attempt, Cycle, LineSpec};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::params::{Params, value_i64, value_str};
use crate::router::{Ctx, Method, Route};
use crate::store::previous_attributes;

const CREATE: &[&str] = &[
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "backdate_start_date",
    "billing_cycle_anchor",
    "billing_cycle_anchor_config",
    "billing_mode",
    "billing_schedules",
    "billing_thresholds",
    "cancel_at",
    "cancel_at_period_end",
    "collection_method",
    "currency",
    "customer",
    "customer_account",
    "days_until_due",
    "default_payment_method",
    "default_source",
    "default_tax_rates",
    "description",
    "discounts",
    "invoice_settings",
    "items",
    "metadata",
    "off_session",
    "on_behalf_of",
    "payment_behavior",
    "payment_settings",
    "pending_invoice_item_interval",
    "proration_behavior",
    "transfer_data",
    "trial_end",
    "trial_from_plan",
    "trial_period_days",
    "trial_settings",
];
const UPDATE: &[&str] = &[
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "billing_cycle_anchor",
    "billing_schedules",
    "billing_thresholds",
    "cancel_at",
    "cancel_at_period_end",
    "cancellation_details",
    "collection_method",
    "days_until_due",
    "default_payment_method",
    "default_source",
    "default_tax_rates",
    "description",
    "discounts",
    "invoice_settings",
    "items",
    "metadata",
    "off_session",
    "on_behalf_of",
    "pause_collection",
    "payment_behavior",
    "payment_settings",
    "pending_invoice_item_interval",
    "proration_behavior",
    "proration_date",
    "transfer_data",
    "trial_end",
    "trial_from_plan",
    "trial_settings",
];
const CANCEL: &[&str] = &["cancellation_details", "invoice_now", "prorate"];
const LIST: &[&str] = &[
    "automatic_tax",
    "collection_method",
    "created",
    "current_period_end",
    "current_period_start",
    "customer",
    "customer_account",
    "ending_before",
    "limit",
    "plan",
    "price",
    "starting_after",
    "status",
    "test_clock",
];

/// Accepted but not modelled: a clear 400 rather than a silently wrong subscription.
const UNSUPPORTED_CREATE: &[&str] = &[
    "add_invoice_items",
    "application_fee_percent",
    "backdate_start_date",
    "billing_cycle_anchor",
    "billing_cycle_anchor_config",
    "billing_schedules",
    "billing_thresholds",
    "customer_account",
    "days_until_due",
    "default_source",
    "default_tax_rates",
    "discounts",
    "on_behalf_of",
    "pending_invoice_item_interval",
    "transfer_data",
    "trial_settings",
];
const UNSUPPORTED_UPDATE: &[&str] = &[
    "add_invoice_items",
    "application_fee_percent",
    "billing_cycle_anchor",
    "billing_schedules",
    "billing_thresholds",
    "days_until_due",
    "default_source",
    "default_tax_rates",
    "discounts",
    "on_behalf_of",
    "pause_collection",
    "pending_invoice_item_interval",
    "transfer_data",
    "trial_end",
    "trial_from_plan",
    "trial_settings",
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/subscriptions", CREATE, create),
        Route::new(Method::Get, "/v1/subscriptions", LIST, list),
        Route::new(Method::Get, "/v1/subscriptions/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/subscriptions/{id}", UPDATE, update),
        Route::new(Method::Delete, "/v1/subscriptions/{id}", CANCEL, cancel),
    ]
}

const KIND: &str = "subscription";
const LABEL: &str = "subscription";
const MAX_ITEMS: usize = 20;

fn payment_behavior(p: &Params, allowed: &[&str]) -> ApiResult<String> {
    Ok(one_of(p, "payment_behavior", allowed)?.unwrap_or_else(|| "allow_incomplete".into()))
}

/// Options shared by create and update that need checking only.
fn check_common(p: &Params) -> ApiResult<()> {
    if let Some(method) = one_of(p, "collection_method", &["charge_automatically", "send_invoice"])?
        && method != "charge_automatically"
    {
        return Err(ApiError::invalid_nocode(
            "The Stripe sandbox only supports collection_method=charge_automatically.",
        )
        .param("collection_method"));
    }
    if let Some(tax) = p.object("automatic_tax")?.flatten() {
        check_members(tax, "automatic_tax", &["enabled", "liability"])?;
        if member_bool(tax, "automatic_tax", "enabled")? == Some(true) {
            return Err(ApiError::invalid_nocode("The Stripe sandbox does not support automatic tax.")
                .param("automatic_tax[enabled]"));
        }
    }
    if let Some(settings) = p.object("payment_settings")?.flatten() {
        check_members(
            settings,
            "payment_settings",
            &["payment_method_options", "payment_method_types", "save_default_payment_method"],
        )?;
        if let Some(save) = member_str(settings, "payment_settings", "save_default_payment_method")?
            && save != "off"
            && save != "on_subscription"
        {
            return Err(ApiError::invalid_nocode(format!(
                "Invalid payment_settings[save_default_payment_method]: must be one of off, on_subscription (got {save})"
            ))
            .param("payment_settings[save_default_payment_method]"));
        }
    }
    if let Some(settings) = p.object("invoice_settings")?.flatten() {
        check_members(
            settings,
            "invoice_settings",
            &["account_tax_ids", "issuer", "custom_fields", "description", "footer"],
        )?;
    }
    Ok(())
}

/// A recurring, active price named by a parameter.
fn recurring_price(ctx: &Ctx<'_>, id: &str, param: &str) -> ApiResult<Value> {
    let price = ctx.load_ref("price", "price", id, param)?;
    if billing::price_interval(&price).is_none() {
        return Err(ApiError::invalid_nocode(format!(
            "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`: {id}"
        ))
        .param(param));
    }
    if price.get("active") == Some(&Value::Bool(false)) {
        return Err(ApiError::invalid_nocode(format!(
            "The price specified is inactive. This field only accepts active prices: {id}"
        ))
        .param(param));
    }
    Ok(price)
}

/// `items[i][...]` as a list of hashes.
fn item_params(p: &Params) -> ApiResult<Option<Vec<Map<String, Value>>>> {
    match p.get("items") {
        None => Ok(None),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_object().cloned().ok_or_else(|| {
                    ApiError::invalid_nocode(format!("Invalid object: items[{i}] must be a hash.")).param("items")
                })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(Vec::new())),
        Some(_) => Err(ApiError::invalid_nocode("Invalid array: items must be an array.").param("items")),
    }
}

/// The largest quantity of an item (Stripe's limit on an amount, for a $0.01 price).
const MAX_QUANTITY: i64 = crate::money::MAX_AMOUNT;

fn item_quantity(map: &Map<String, Value>, param: &str) -> ApiResult<Option<i64>> {
    match member_i64(map, param, "quantity")? {
        Some(q) if !(0..=MAX_QUANTITY).contains(&q) => {
            Err(ApiError::invalid_nocode(format!("Invalid {param}[quantity]: must be between 0 and {MAX_QUANTITY}."))
                .param(&format!("{param}[quantity]")))
        }
        other => Ok(other),
    }
}

fn item_metadata(map: &Map<String, Value>, existing: Option<&Value>) -> ApiResult<Value> {
    match map.get("metadata") {
        None => Ok(existing.cloned().unwrap_or_else(|| json!({}))),
        Some(m) => {
            let params = Params { flat: Vec::new(), nested: Map::from_iter([("metadata".to_string(), m.clone())]) };
            metadata(&params, existing)
        }
    }
}

/// `trial_end` (`now` or a timestamp), `trial_period_days`, or `trial_from_plan`: the trial's end.
fn trial_end(p: &Params, now: i64, prices: &[Value]) -> ApiResult<Option<i64>> {
    let end = match (p.get("trial_end"), p.i64("trial_period_days")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "parameters_exclusive",
                "You may only specify one of these parameters: trial_end, trial_period_days.",
            ));
        }
        (Some(v), None) => match value_str(v, "trial_end")?.as_str() {
            "now" => None,
            _ => {
                let t = crate::time::check_timestamp(value_i64(v, "trial_end")?, "trial_end")?;
                if t <= now {
                    return Err(ApiError::invalid_nocode(
                        "Invalid timestamp: must be an integer Unix timestamp in the future.",
                    )
                    .param("trial_end"));
                }
                Some(t)
            }
        },
        (None, Some(days)) if days > 0 => Some(now + days.min(730) * 86_400),
        (None, Some(_)) => None,
        (None, None) if p.bool("trial_from_plan")?.unwrap_or(false) => prices
            .iter()
            .filter_map(|price| price.pointer("/recurring/trial_period_days").and_then(Value::as_i64))
            .max()
            .filter(|d| *d > 0)
            .map(|d| now + d * 86_400),
        (None, None) => None,
    };
    Ok(end)
}

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, UNSUPPORTED_CREATE)?;
    check_common(p)?;
    let behavior = payment_behavior(
        p,
        &["allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"],
    )?;
    if behavior == "pending_if_incomplete" {
        return Err(ApiError::invalid_nocode(
            "You can only pass payment_behavior=pending_if_incomplete when updating a subscription.",
        )
        .param("payment_behavior"));
    }
    let customer_id = p.required_str("customer")?;
    let customer = ctx.load_ref("customer", "customer", &customer_id, "customer")?;
    if customer.get("deleted") == Some(&Value::Bool(true)) {
        return Err(ApiError::missing_reference("customer", &customer_id, "customer"));
    }
    let account = ctx.meta.account.clone();
    let account = account.as_deref();
    let clock = billing::object_clock(ctx.store, &customer_id)
        .or_else(|| customer.get("test_clock").and_then(Value::as_str).map(str::to_string));
    let now = billing::clock_time(ctx.store, clock.as_deref());
    let source = ctx.meta.source().at(clock.as_ref().map(|_| now));

    let specs = item_params(p)?.ok_or_else(|| ApiError::missing_param("items"))?;
    if specs.is_empty() {
        return Err(ApiError::missing_param("items"));
    }
    if specs.len() > MAX_ITEMS {
        return Err(ApiError::invalid_nocode(format!("You can have at most {MAX_ITEMS} items on a subscription."))
            .param("items"));
    }
    let mut chosen: Vec<(Value, i64, Value)> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let param = format!("items[{i}]");
        check_members(
            spec,
            &param,
            &[
                "billing_thresholds",
                "current_trial",
                "discounts",
                "metadata",
                "plan",
                "price",
                "price_data",
                "quantity",
                "tax_rates",
            ],
        )?;
        for unsupported in ["price_data", "billing_thresholds", "current_trial", "discounts", "tax_rates"] {
            if spec.contains_key(unsupported) {
                return Err(ApiError::invalid_nocode(format!(
                    "The Stripe sandbox does not support the `{param}[{unsupported}]` parameter yet."
                ))
                .param(&format!("{param}[{unsupported}]")));
            }
        }
        let price_id = member_str(spec, &param, "price")?
            .or(member_str(spec, &param, "plan")?)
            .ok_or_else(|| ApiError::missing_param(&format!("{param}[price]")))?;
        let price = recurring_price(ctx, &price_id, &format!("{param}[price]"))?;
        let quantity = item_quantity(spec, &param)?.unwrap_or(1);
        chosen.push((price, quantity, item_metadata(spec, None)?));
    }
    let mut seen = HashSet::new();
    if chosen.iter().any(|(price, _, _)| !seen.insert(s(price, "id").to_string())) {
        return Err(ApiError::invalid_nocode(
            "Cannot add multiple subscription items with the same price. Each item must have a unique price.",
        )
        .param("items"));
    }
    let (currency, interval, count) = uniform(&chosen.iter().map(|(price, _, _)| price.clone()).collect::<Vec<_>>())?;
    if let Some(c) = p.str("currency")?
        && c.to_ascii_lowercase() != currency
    {
        return Err(ApiError::invalid_nocode(format!(
            "The currency {c} does not match the currency of the prices ({currency})."
        ))
        .param("currency"));
    }
    let default_pm = p.str("default_payment_method")?;
    if let Some(pm) = &default_pm {
        payment_methods::check_default(ctx.store, account, &customer_id, pm, "default_payment_method")?;
    }
    let prices: Vec<Value> = chosen.iter().map(|(price, _, _)| price.clone()).collect();
    let trial = trial_end(p, now, &prices)?;
    let total: i64 = chosen
        .iter()
        .fold(0i64, |acc, (price, q, _)| acc.saturating_add(super::int(price, "unit_amount").saturating_mul(*q)));
    if behavior == "error_if_incomplete" && trial.is_none() && total > 0 {
        let sub_stub = json!({"customer": customer_id, "default_payment_method": default_pm});
        let pm = billing::default_payment_method(ctx.store, account, &sub_stub);
        billing::predict_payment(ctx.store, account, &customer_id, pm.as_deref())?;
    }
    let cancel_at_period_end = p.bool("cancel_at_period_end")?.unwrap_or(false);
    let save_default = p
        .object("payment_settings")?
        .flatten()
        .map(|m| member_str(m, "payment_settings", "save_default_payment_method"))
        .transpose()?
        .flatten()
        .unwrap_or_else(|| "off".into());
    let billing_mode = match p.object("billing_mode")?.flatten() {
        Some(m) => {
            check_members(m, "billing_mode", &["type", "flexible"])?;
            match member_str(m, "billing_mode", "type")?.as_deref() {
                Some("classic") => "classic",
                Some("flexible") | None => "flexible",
                Some(other) => {
                    return Err(ApiError::invalid_nocode(format!(
                        "Invalid billing_mode[type]: must be one of classic, flexible (got {other})"
                    ))
                    .param("billing_mode[type]"));
                }
            }
        }
        None => "flexible",
    };

    // The first period: the trial, or one interval from now.
    let id = ids::new_id("sub");
    let anchor = trial.unwrap_or(now);
    let cycle = Cycle { anchor, index: 0, interval: interval.clone(), count };
    let period = match trial {
        Some(end) => (now, end),
        None => cycle.period(),
    };
    let mut items = Vec::new();
    for (price, quantity, item_meta) in &chosen {
        items.push(billing::item_json(&ids::new_id("si"), price, *quantity, &id, now, period, item_meta.clone())?);
    }
    let mut sub = Value::Object(fixture("subscription")?);
    let cancel_at = match (cancel_at_period_end, p.i64("cancel_at")?) {
        (true, Some(_)) => {
            return Err(ApiError::invalid(
                "parameters_exclusive",
                "You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
            ));
        }
        (true, None) => Some(period.1),
        (false, Some(t)) => Some(future(t, now, "cancel_at")?),
        (false, None) => None,
    };
    overlay(
        &mut sub,
        json!({
            "id": id,
            "object": "subscription",
            "application": null,
            "application_fee_percent": null,
            "automatic_tax": {"disabled_reason": null, "enabled": false, "liability": null},
            "billing_cycle_anchor": anchor,
            "billing_cycle_anchor_config": null,
            "billing_mode": {"flexible": if billing_mode == "flexible" { json!({"proration_discounts": "included"}) } else { Value::Null }, "type": billing_mode, "updated_at": null},
            "billing_schedules": [],
            "billing_thresholds": null,
            "cancel_at": cancel_at,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": if cancel_at.is_some() { json!(now) } else { Value::Null },
            "cancellation_details": {"comment": null, "feedback": null, "reason": if cancel_at.is_some() { json!("cancellation_requested") } else { Value::Null }},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": currency,
            "customer": customer_id,
            "customer_account": null,
            "days_until_due": null,
            "default_payment_method": default_pm,
            "default_source": null,
            "default_tax_rates": [],
            "description": p.str("description")?,
            "discounts": [],
            "ended_at": null,
            "invoice_settings": {"account_tax_ids": null, "custom_fields": null, "description": null, "footer": null, "issuer": {"type": "self"}},
            "latest_invoice": null,
            "livemode": false,
            "managed_payments": null,
            "metadata": metadata(p, None)?,
            "next_pending_invoice_item_invoice": null,
            "on_behalf_of": null,
            "pause_collection": null,
            "payment_settings": {"payment_method_options": null, "payment_method_types": null, "save_default_payment_method": save_default},
            "pending_invoice_item_interval": null,
            "pending_setup_intent": null,
            "pending_update": null,
            "schedule": null,
            "start_date": now,
            "status": if trial.is_some() { "trialing" } else { "incomplete" },
            "test_clock": clock,
            "transfer_data": null,
            "trial_end": trial,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": trial.map(|_| now),
        }),
    );
    billing::set_items(&mut sub, items.clone());
    ctx.save(&sub)?;
    cycle.save(ctx.store, &id);
    if let Some(c) = &clock {
        billing::set_internal(ctx.store, &id, "test_clock", json!(c));
    }
    billing::set_quiet(ctx.store, &id, true);

    // The first invoice: the trial (nothing due) or the first period, charged now.
    let lines: Vec<LineSpec> = items
        .iter()
        .map(|item| match trial {
            Some(_) => billing::trial_line(ctx.store, account, item, period),
            None => billing::full_line(ctx.store, account, item, period),
        })
        .collect();
    let base_url = ctx.meta.base_url.clone();
    let invoice = billing::issue_invoice(ctx.store, &source, &base_url, &id, lines, "subscription_create", (now, now))?;
    let attempt = match behavior.as_str() {
        "default_incomplete" => Attempt::Defer,
        _ => Attempt::OnSession,
    };
    billing::collect(ctx.store, &source, &base_url, &invoice, attempt, None)?;

    billing::set_quiet(ctx.store, &id, false);
    let sub = ctx.load(KIND, LABEL, &id)?;
    ctx.store.emit(&source, "customer.subscription.created", &sub, None);
    Ok(sub)
}

/// The currency and billing interval every price of a subscription shares.
fn uniform(prices: &[Value]) -> ApiResult<(String, String, i64)> {
    let first = prices.first().ok_or_else(|| ApiError::missing_param("items"))?;
    let currency = s(first, "currency").to_string();
    let (interval, count) = billing::price_interval(first).unwrap_or_else(|| ("month".into(), 1));
    for price in prices {
        if s(price, "currency") != currency {
            return Err(
                ApiError::invalid_nocode("All prices on a subscription must have the same currency.").param("items")
            );
        }
        if billing::price_interval(price) != Some((interval.clone(), count)) {
            return Err(ApiError::invalid_nocode(
                "All prices on a subscription must have the same `recurring.interval` and `recurring.interval_count`.",
            )
            .param("items"));
        }
    }
    Ok((currency, interval, count))
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, &["automatic_tax", "customer_account", "current_period_end", "current_period_start"])?;
    let customer = p.str("customer")?;
    let price = p.str("price")?.or(p.str("plan")?);
    let clock = p.str("test_clock")?;
    let status = one_of(
        p,
        "status",
        &[
            "active",
            "all",
            "canceled",
            "ended",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "paused",
            "trialing",
            "unpaid",
        ],
    )?;
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|x| customer.as_deref().is_none_or(|c| s(x, "customer") == c))
        .filter(|x| clock.as_deref().is_none_or(|c| s(x, "test_clock") == c))
        .filter(|x| {
            price.as_deref().is_none_or(|pr| {
                billing::items(x).iter().any(|i| i.pointer("/price/id").and_then(Value::as_str) == Some(pr))
            })
        })
        .filter(|x| {
            let st = s(x, "status");
            match status.as_deref() {
                None => st != "canceled" && st != "incomplete_expired",
                Some("all") => true,
                Some("ended") => st == "canceled" || st == "incomplete_expired",
                Some(want) => st == want,
            }
        })
        .cloned()
        .collect();
    list_response(items, "/v1/subscriptions", ctx.params)
}

/// One requested change of `items[...]` on update.
struct ItemChange {
    /// The existing item changed or deleted (`items[i][id]`).
    existing: Option<Value>,
    price: Option<Value>,
    quantity: Option<i64>,
    deleted: bool,
    metadata: Option<Value>,
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, UNSUPPORTED_UPDATE)?;
    check_common(p)?;
    let id = ctx.path(0).to_string();
    let old = ctx.load(KIND, LABEL, &id)?;
    let account = ctx.meta.account.clone();
    let account = account.as_deref();
    let status = s(&old, "status").to_string();
    if status == "canceled" || status == "incomplete_expired" {
        let only_allowed =
            p.nested.keys().all(|k| ["metadata", "cancellation_details", "expand"].contains(&k.as_str()));
        if !only_allowed {
            return Err(ApiError::invalid_nocode(format!(
                "A subscription with status `{status}` can only update its metadata and cancellation_details."
            )));
        }
    }
    let clock = billing::object_clock(ctx.store, &id);
    let now = billing::clock_time(ctx.store, clock.as_deref());
    let source = ctx.meta.source().at(clock.as_ref().map(|_| now));
    let customer_id = s(&old, "customer").to_string();
    let behavior = payment_behavior(
        p,
        &["allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"],
    )?;
    if behavior == "pending_if_incomplete" {
        return Err(ApiError::invalid_nocode(
            "The Stripe sandbox does not support payment_behavior=pending_if_incomplete (pending updates) yet.",
        )
        .param("payment_behavior"));
    }
    let proration = one_of(p, "proration_behavior", &["always_invoice", "create_prorations", "none"])?
        .unwrap_or_else(|| "create_prorations".into());
    let period = billing::current_period(&old);
    let at = proration_time(p, period, now, "proration_date")?;

    let mut sub = old.clone();
    // Simple fields.
    if let Some(d) = p.nullable_str("description")? {
        set(&mut sub, "description", json!(d));
    }
    let current = sub.get("metadata").cloned();
    set(&mut sub, "metadata", metadata(p, current.as_ref())?);
    if let Some(pm) = p.nullable_str("default_payment_method")? {
        if let Some(pm) = &pm {
            payment_methods::check_default(ctx.store, account, &customer_id, pm, "default_payment_method")?;
        }
        set(&mut sub, "default_payment_method", json!(pm));
    }
    if let Some(settings) = p.object("payment_settings")?.flatten()
        && let Some(save) = member_str(settings, "payment_settings", "save_default_payment_method")?
        && let Some(ps) = sub.get_mut("payment_settings").and_then(Value::as_object_mut)
    {
        ps.insert("save_default_payment_method".into(), json!(save));
    }
    if let Some(details) = p.object("cancellation_details")?.flatten() {
        check_members(details, "cancellation_details", &["comment", "feedback", "feedback_option"])?;
        if let Some(cd) = sub.get_mut("cancellation_details").and_then(Value::as_object_mut) {
            if let Some(comment) = details.get("comment") {
                let c = value_str(comment, "cancellation_details[comment]")?;
                cd.insert("comment".into(), if c.is_empty() { Value::Null } else { json!(c) });
            }
            if let Some(feedback) = details.get("feedback") {
                let f = value_str(feedback, "cancellation_details[feedback]")?;
                cd.insert("feedback".into(), if f.is_empty() { Value::Null } else { json!(f) });
            }
        }
    }
    // Cancellation at the end of the period (or at a time).
    let cancel_at_period_end = p.bool("cancel_at_period_end")?;
    let cancel_at: Option<Option<i64>> = match p.get("cancel_at") {
        None => None,
        Some(Value::String(s)) if s.is_empty() => Some(None),
        Some(v) => match value_str(v, "cancel_at")?.as_str() {
            "min_period_end" | "max_period_end" => Some(Some(period.1)),
            _ => Some(Some(future(value_i64(v, "cancel_at")?, now, "cancel_at")?)),
        },
    };
    if cancel_at_period_end == Some(true) && cancel_at.flatten().is_some() {
        return Err(ApiError::invalid(
            "parameters_exclusive",
            "You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
        ));
    }

    let ItemsChange { new_items, touched, lines, reset, new_interval, new_period, interval, count, cycle } =
        change_items(ctx, p, &id, &old, &proration, at, now)?;
    let invoice_now = !lines.is_empty() && (reset || proration == "always_invoice");

    if invoice_now && behavior == "error_if_incomplete" {
        let total: i64 = lines.iter().fold(0i64, |acc, l| acc.saturating_add(l.amount));
        if total > 0 {
            let pm = billing::default_payment_method(ctx.store, account, &sub);
            billing::predict_payment(ctx.store, account, &customer_id, pm.as_deref())?;
        }
    }

    // Save the new state.
    if !touched.is_empty() {
        billing::set_items(&mut sub, new_items);
    }
    if reset {
        set(&mut sub, "billing_cycle_anchor", json!(at));
    }
    let end = if reset { new_period.1 } else { period.1 };
    match (cancel_at_period_end, cancel_at) {
        (Some(true), _) => {
            overlay(&mut sub, json!({"cancel_at_period_end": true, "cancel_at": end, "canceled_at": now}));
            set_reason(&mut sub, json!("cancellation_requested"));
        }
        (_, Some(Some(t))) => {
            overlay(&mut sub, json!({"cancel_at_period_end": t == end, "cancel_at": t, "canceled_at": now}));
            set_reason(&mut sub, json!("cancellation_requested"));
        }
        (Some(false), _) | (_, Some(None)) => {
            overlay(&mut sub, json!({"cancel_at_period_end": false, "cancel_at": null, "canceled_at": null}));
            set_reason(&mut sub, Value::Null);
        }
        (None, None) => {
            // Keep a scheduled cancellation at the (possibly new) end of the period.
            if sub.get("cancel_at_period_end") == Some(&Value::Bool(true)) {
                set(&mut sub, "cancel_at", json!(end));
            }
        }
    }
    ctx.save(&sub)?;
    if reset {
        Cycle { anchor: at, index: 0, interval, count }.save(ctx.store, &id);
    } else if new_interval {
        Cycle { interval, count, ..cycle }.save(ctx.store, &id);
    }
    if proration == "none" {
        // Nothing billed for the change: later credits still refer to what was paid.
        for (_, after) in &touched {
            if let Some(item) = after
                && billing::internal(ctx.store, &id, "billed").and_then(|b| b.get(s(item, "id")).cloned()).is_none()
            {
                billing::set_billed(ctx.store, &id, s(item, "id"), 0, period);
            }
        }
    }

    billing::set_quiet(ctx.store, &id, true);
    let base_url = ctx.meta.base_url.clone();
    if invoice_now {
        let invoice =
            billing::issue_invoice(ctx.store, &source, &base_url, &id, lines, "subscription_update", (at, at))?;
        let mut current = ctx.load(KIND, LABEL, &id)?;
        let attempt = if behavior == "default_incomplete" { Attempt::Defer } else { Attempt::OnSession };
        if attempt == Attempt::Defer && ["active", "trialing"].contains(&s(&current, "status")) {
            let amount_due = ctx.store.stored(&invoice).map(|o| super::int(&o.value, "amount_due")).unwrap_or(0);
            if amount_due > 0 {
                set(&mut current, "status", json!("past_due"));
                ctx.save(&current)?;
            }
        }
        billing::collect(ctx.store, &source, &base_url, &invoice, attempt, None)?;
        let after = ctx.load(KIND, LABEL, &id)?;
        let paid = ctx.store.stored(&invoice).map(|o| s(&o.value, "status") == "paid").unwrap_or(false);
        if !paid && s(&after, "status") == "active" && attempt == Attempt::OnSession {
            let mut past_due = after.clone();
            set(&mut past_due, "status", json!("past_due"));
            ctx.save(&past_due)?;
        }
    } else if !lines.is_empty() {
        billing::add_pending_lines(ctx.store, &id, &lines);
    }
    billing::set_quiet(ctx.store, &id, false);
    let sub = ctx.load(KIND, LABEL, &id)?;
    if let Some(previous) = previous_attributes(&old, &sub) {
        ctx.store.emit(&source, "customer.subscription.updated", &sub, Some(previous));
    }
    Ok(sub)
}

/// What changing `items` at `at` does to a subscription and bills: computed alike by an update and
/// by an invoice preview (`POST /v1/invoices/create_preview`), so a preview shows exactly what the
/// update then charges.
pub(crate) struct ItemsChange {
    pub new_items: Vec<Value>,
    /// `(before, after)` of each item whose price or quantity changed (added: no before; deleted:
    /// no after).
    pub touched: Vec<(Option<Value>, Option<Value>)>,
    /// Proration lines (and, when the cycle restarts, the new period's full lines).
    pub lines: Vec<LineSpec>,
    /// A new interval restarts the billing cycle at `at`.
    pub reset: bool,
    pub new_interval: bool,
    pub new_period: (i64, i64),
    pub interval: String,
    pub count: i64,
    pub cycle: Cycle,
}

/// The time prorations are computed at: `proration_date` (within the current period), else now
/// (clamped to the period).
fn proration_time(p: &Params, period: (i64, i64), now: i64, param: &str) -> ApiResult<i64> {
    match p.i64("proration_date")? {
        Some(t) if t < period.0 || t > period.1 => {
            Err(ApiError::invalid_nocode("The proration_date must be within the subscription's current period.")
                .param(param))
        }
        Some(t) => Ok(t),
        None => Ok(now.clamp(period.0, period.1.max(period.0))),
    }
}

/// The `items` of `p` applied to the subscription `old` (`id`) at `at`, with the lines they bill.
/// Reads the store only.
pub(crate) fn change_items(
    ctx: &Ctx<'_>,
    p: &Params,
    id: &str,
    old: &Value,
    proration: &str,
    at: i64,
    now: i64,
) -> ApiResult<ItemsChange> {
    let account = ctx.account();
    let status = s(old, "status").to_string();
    let period = billing::current_period(old);
    let mut item_changes = Vec::new();
    if let Some(specs) = item_params(p)? {
        let current_items = billing::items(old);
        for (i, spec) in specs.iter().enumerate() {
            let param = format!("items[{i}]");
            check_members(
                spec,
                &param,
                &[
                    "billing_thresholds",
                    "clear_usage",
                    "current_trial",
                    "deleted",
                    "discounts",
                    "id",
                    "metadata",
                    "plan",
                    "price",
                    "price_data",
                    "quantity",
                    "tax_rates",
                ],
            )?;
            for unsupported in ["price_data", "billing_thresholds", "current_trial", "discounts", "tax_rates"] {
                if spec.contains_key(unsupported) {
                    return Err(ApiError::invalid_nocode(format!(
                        "The Stripe sandbox does not support the `{param}[{unsupported}]` parameter yet."
                    ))
                    .param(&format!("{param}[{unsupported}]")));
                }
            }
            let existing = match member_str(spec, &param, "id")? {
                Some(item_id) => {
                    Some(current_items.iter().find(|it| s(it, "id") == item_id).cloned().ok_or_else(|| {
                        ApiError::invalid("resource_missing", format!("No such subscription item: '{item_id}'"))
                            .param(&format!("{param}[id]"))
                    })?)
                }
                None => None,
            };
            let price = match member_str(spec, &param, "price")?.or(member_str(spec, &param, "plan")?) {
                Some(pid) => Some(recurring_price(ctx, &pid, &format!("{param}[price]"))?),
                None => None,
            };
            let deleted = member_bool(spec, &param, "deleted")?.unwrap_or(false);
            if existing.is_none() && price.is_none() {
                return Err(ApiError::missing_param(&format!("{param}[price]")));
            }
            if deleted && existing.is_none() {
                return Err(ApiError::missing_param(&format!("{param}[id]")));
            }
            let metadata = match spec.get("metadata") {
                Some(_) => Some(item_metadata(spec, existing.as_ref().and_then(|e| e.get("metadata")))?),
                None => None,
            };
            item_changes.push(ItemChange {
                existing,
                price,
                quantity: item_quantity(spec, &param)?,
                deleted,
                metadata,
            });
        }
    }

    // Apply the item changes and compute the proration lines.
    let mut new_items = billing::items(old);
    let mut touched: Vec<(Option<Value>, Option<Value>)> = Vec::new();
    for change in item_changes {
        match change.existing {
            Some(existing) => {
                let pos = new_items.iter().position(|it| s(it, "id") == s(&existing, "id"));
                let Some(pos) = pos else { continue };
                if change.deleted {
                    let removed = new_items.remove(pos);
                    touched.push((Some(removed), None));
                    continue;
                }
                let mut item = new_items[pos].clone();
                let before = item.clone();
                if let Some(price) = &change.price {
                    set(&mut item, "price", price.clone());
                    set(&mut item, "plan", billing::plan_of(price));
                }
                if let Some(q) = change.quantity {
                    set(&mut item, "quantity", json!(q));
                }
                if let Some(m) = change.metadata {
                    set(&mut item, "metadata", m);
                }
                let billing_changed = before.get("price").map(|x| &x["id"]) != item.get("price").map(|x| &x["id"])
                    || before.get("quantity") != item.get("quantity");
                new_items[pos] = item.clone();
                if billing_changed {
                    touched.push((Some(before), Some(item)));
                }
            }
            None => {
                let Some(price) = change.price else { continue };
                let item = billing::item_json(
                    &ids::new_id("si"),
                    &price,
                    change.quantity.unwrap_or(1),
                    id,
                    now,
                    period,
                    change.metadata.unwrap_or_else(|| json!({})),
                )?;
                new_items.push(item.clone());
                touched.push((None, Some(item)));
            }
        }
    }
    if new_items.is_empty() && !touched.is_empty() {
        return Err(ApiError::invalid_nocode(
            "A subscription must have at least one active item; cancel the subscription instead.",
        )
        .param("items"));
    }
    let mut seen = HashSet::new();
    if new_items
        .iter()
        .any(|it| !seen.insert(it.pointer("/price/id").and_then(Value::as_str).unwrap_or("").to_string()))
    {
        return Err(ApiError::invalid_nocode(
            "Cannot add multiple subscription items with the same price. Each item must have a unique price.",
        )
        .param("items"));
    }
    let prices: Vec<Value> = new_items.iter().filter_map(|it| it.get("price").cloned()).collect();
    let (currency, interval, count) =
        if touched.is_empty() { (s(old, "currency").to_string(), String::new(), 0) } else { uniform(&prices)? };
    if !touched.is_empty() && currency != s(old, "currency") {
        return Err(ApiError::invalid_nocode(format!(
            "The price's currency ({currency}) must match the subscription's currency ({}).",
            s(old, "currency")
        ))
        .param("items"));
    }
    let cycle = Cycle::load(ctx.store, id);
    let trialing = status == "trialing";
    let new_interval = !touched.is_empty() && (interval != cycle.interval || count != cycle.count);
    // A new interval restarts the billing cycle now, except during a trial: the paid cycle then
    // starts at the trial's end with the new interval.
    let reset = new_interval && !trialing;

    let active_billing = ["active", "past_due", "unpaid", "incomplete"].contains(&status.as_str());

    let mut lines: Vec<LineSpec> = Vec::new();
    let mut new_period = period;
    if !touched.is_empty() && !trialing && active_billing {
        let prorate = proration != "none";
        if prorate {
            // Credits for the unused time of what changed (all items when the cycle resets).
            let credited: Vec<Value> = if reset {
                billing::items(old)
            } else {
                touched.iter().filter_map(|(before, _)| before.clone()).collect()
            };
            for item in &credited {
                if let Some(line) = billing::credit_line(ctx.store, account, id, item, at) {
                    lines.push(line);
                }
            }
        }
        if reset {
            // A new interval restarts the billing cycle now: the new period is invoiced in full.
            new_period = Cycle { anchor: at, index: 0, interval: interval.clone(), count }.period();
            for item in &mut new_items {
                set(item, "current_period_start", json!(new_period.0));
                set(item, "current_period_end", json!(new_period.1));
            }
            for item in &new_items {
                lines.push(billing::full_line(ctx.store, account, item, new_period));
            }
        } else if prorate {
            for (_, after) in &touched {
                if let Some(item) = after
                    && let Some(line) = billing::debit_line(ctx.store, account, item, at, period)
                {
                    lines.push(line);
                }
            }
        }
    }
    lines.retain(|l| l.amount != 0 || !l.proration);
    Ok(ItemsChange { new_items, touched, lines, reset, new_interval, new_period, interval, count, cycle })
}

/// `POST /v1/invoices/create_preview` for an existing subscription, `details` being its
/// `subscription_details` (`items`, `proration_behavior`, `proration_date`): the invoice the same
/// update would create now (`always_invoice`, or a change of interval), else the next renewal's
/// invoice with the pending prorations and this change's. Nothing is stored or emitted.
pub(crate) fn preview(ctx: &Ctx<'_>, details: &Params, old: &Value) -> ApiResult<Value> {
    let id = s(old, "id").to_string();
    let status = s(old, "status");
    if status == "canceled" || status == "incomplete_expired" {
        return Err(ApiError::invalid("invoice_upcoming_none", format!("No upcoming invoices for subscription: {id}"))
            .param("subscription"));
    }
    let account = ctx.account();
    let clock = billing::object_clock(ctx.store, &id);
    let now = billing::clock_time(ctx.store, clock.as_deref());
    let param = "subscription_details[proration_behavior]";
    let proration = one_of(details, "proration_behavior", &["always_invoice", "create_prorations", "none"])
        .map_err(|e| e.param(param))?
        .unwrap_or_else(|| "create_prorations".into());
    let period = billing::current_period(old);
    let at = proration_time(details, period, now, "subscription_details[proration_date]")?;
    let change = change_items(ctx, details, &id, old, &proration, at, now)?;
    let invoice_now = !change.lines.is_empty() && (change.reset || proration == "always_invoice");
    let mut lines = billing::pending_lines(ctx.store, &id);
    lines.extend(change.lines);
    let (reason, invoice_period, created) = if invoice_now {
        ("subscription_update", (at, at), at)
    } else {
        let cycle = if change.new_interval {
            Cycle { interval: change.interval.clone(), count: change.count, ..change.cycle.clone() }
        } else {
            change.cycle.clone()
        };
        let cancel_at = old.get("cancel_at").and_then(Value::as_i64);
        if cancel_at.is_some_and(|c| c <= period.1) {
            return Err(ApiError::invalid(
                "invoice_upcoming_none",
                format!("No upcoming invoices for subscription: {id}; it is canceled at the end of its period."),
            )
            .param("subscription"));
        }
        let next = (cycle.boundary(cycle.index + 1), cycle.boundary(cycle.index + 2));
        for item in &change.new_items {
            lines.push(billing::full_line(ctx.store, account, item, next));
        }
        ("upcoming", period, period.1)
    };
    let customer = ctx.store.find("customer", s(old, "customer"), account).cloned().unwrap_or(Value::Null);
    let line_ids: Vec<String> = lines.iter().map(|_| ids::new_id("il_tmp")).collect();
    let invoice_id = format!("upcoming_{}", ids::new_id("in"));
    let draft = billing::Draft {
        id: &invoice_id,
        sub: old,
        customer: &customer,
        lines: &lines,
        line_ids: &line_ids,
        billing_reason: reason,
        period: invoice_period,
        now: created,
        clock: clock.as_deref(),
    };
    let mut invoice = billing::draft_invoice(&draft)?;
    let total = super::int(&invoice, "total");
    let balance = super::int(&customer, "balance");
    let due = total.saturating_add(balance);
    overlay(
        &mut invoice,
        json!({
            "starting_balance": balance,
            "ending_balance": due.min(0),
            "amount_due": due.max(0),
            "amount_remaining": due.max(0),
            "next_payment_attempt": if invoice_now { json!(at) } else { json!(period.1) },
            "webhooks_delivered_at": null,
        }),
    );
    Ok(invoice)
}

/// A timestamp parameter that must lie in the future.
fn future(ts: i64, now: i64, param: &str) -> ApiResult<i64> {
    let ts = crate::time::check_timestamp(ts, param)?;
    if ts <= now {
        return Err(
            ApiError::invalid_nocode(format!("Invalid {param}: must be a timestamp in the future.")).param(param)
        );
    }
    Ok(ts)
}

fn set_reason(sub: &mut Value, reason: Value) {
    if let Some(cd) = sub.get_mut("cancellation_details").and_then(Value::as_object_mut) {
        cd.insert("reason".into(), reason);
    }
}

fn cancel(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let id = ctx.path(0).to_string();
    let old = ctx.load(KIND, LABEL, &id)?;
    let status = s(&old, "status").to_string();
    if status == "canceled" || status == "incomplete_expired" {
        return Err(ApiError::invalid(
            "resource_missing",
            format!("No such subscription: '{id}'; it has already been canceled."),
        )
        .param("id"));
    }
    if p.bool("invoice_now")? == Some(true) || p.bool("prorate")? == Some(true) {
        return Err(ApiError::invalid_nocode(
            "The Stripe sandbox does not support invoice_now/prorate when canceling a subscription yet.",
        ));
    }
    let clock = billing::object_clock(ctx.store, &id);
    let now = billing::clock_time(ctx.store, clock.as_deref());
    let source = ctx.meta.source().at(clock.as_ref().map(|_| now));
    let latest = s(&old, "latest_invoice").to_string();
    if status == "incomplete"
        && !latest.is_empty()
        && ctx.store.stored(&latest).is_some_and(|o| s(&o.value, "status") == "open")
    {
        billing::void_invoice(ctx.store, &source, &latest)?;
    }
    let mut sub = ctx.load(KIND, LABEL, &id)?;
    overlay(
        &mut sub,
        json!({"status": "canceled", "canceled_at": now, "ended_at": now, "cancel_at": null, "cancel_at_period_end": false}),
    );
    if let Some(cd) = sub.get_mut("cancellation_details").and_then(Value::as_object_mut) {
        cd.insert("reason".into(), json!("cancellation_requested"));
        if let Some(details) = p.object("cancellation_details")?.flatten() {
            check_members(details, "cancellation_details", &["comment", "feedback", "feedback_option"])?;
            for key in ["comment", "feedback"] {
                if let Some(v) = details.get(key) {
                    let text = value_str(v, &format!("cancellation_details[{key}]"))?;
                    cd.insert(key.into(), if text.is_empty() { Value::Null } else { json!(text) });
                }
            }
        }
    }
    ctx.save(&sub)?;
    ctx.store.emit(&source, "customer.subscription.deleted", &sub, None);
    Ok(sub)
}

//! The billing engine behind subscriptions, invoices and test clocks: billing periods, invoices
//! (created, finalized, paid or failed), their PaymentIntents, prorations, and the passage of time
//! (renewals, trial ends, scheduled cancellations, expiry of incomplete subscriptions).
//!
//! Time: an object on a test clock (its customer was created with `test_clock`) lives at the
//! clock's `frozen_time`; every other object at `Store::now()` (real time plus the offset the
//! control API advanced the sandbox clock by). [`advance`] runs whatever falls due up to a time,
//! in time order, one boundary after another.
//!
//! Hidden state of a subscription (`StoredObject::internal`): `test_clock`, `anchor` and `cycle`
//! (the current period is the `cycle`th after the `anchor`), `interval`/`interval_count`,
//! `billed` (per subscription item: what its last debit charged, for which period, on which invoice
//! line — credits for unused time are computed from it), `pending_lines` (prorations waiting for
//! the next invoice) and `quiet` (while an API call is still building the subscription, payment
//! outcomes do not emit `customer.subscription.updated`; the call emits one event at the end).

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::money;
use crate::resources::payment_intents::{self, ConfirmArgs};
use crate::resources::payment_methods;
use crate::resources::{int, overlay, s, set};
use crate::store::{EventSource, Store, previous_attributes};
use crate::time;

/// An incomplete subscription whose first invoice stays unpaid this long expires.
pub const INCOMPLETE_EXPIRY_SECONDS: i64 = 23 * 3600;
/// At most this many renewals, trial ends, cancellations and expiries happen in one advance
/// (each creates an invoice, a payment and several events); a longer jump is refused up front.
pub const MAX_STEPS: usize = 1_000;

// ---------------------------------------------------------------- clocks and hidden state

/// The current time of a test clock (`None`: the sandbox clock).
pub fn clock_time(store: &Store, clock: Option<&str>) -> i64 {
    clock
        .and_then(|c| store.stored(c))
        .and_then(|o| o.value.get("frozen_time"))
        .and_then(Value::as_i64)
        .unwrap_or_else(|| store.now())
}

/// The test clock an object lives on (recorded when it was created).
pub fn object_clock(store: &Store, id: &str) -> Option<String> {
    internal(store, id, "test_clock").and_then(|v| v.as_str().map(str::to_string))
}

/// `source` dated at the clock's time for objects on a test clock.
pub fn dated(store: &Store, source: &EventSource, clock: Option<&str>) -> EventSource {
    source.at(clock.map(|c| clock_time(store, Some(c))))
}

/// The time events of `source` happen at.
fn time_of(store: &Store, source: &EventSource) -> i64 {
    source.at.unwrap_or_else(|| store.now())
}

pub fn internal(store: &Store, id: &str, key: &str) -> Option<Value> {
    store.stored(id).and_then(|o| o.internal.get(key)).cloned()
}

pub fn set_internal(store: &mut Store, id: &str, key: &str, value: Value) {
    if let Some(o) = store.stored_mut(id) {
        if value.is_null() {
            o.internal.remove(key);
        } else {
            o.internal.insert(key.to_string(), value);
        }
    }
}

fn owner(store: &Store, id: &str) -> Option<String> {
    store.stored(id).and_then(|o| o.account.clone())
}

fn object(store: &Store, id: &str) -> Option<Value> {
    store.stored(id).map(|o| o.value.clone())
}

fn save(store: &mut Store, value: &Value, account: Option<&str>) -> ApiResult<()> {
    store.put(value.clone(), account)
}

// ---------------------------------------------------------------- periods and items

/// The billing cycle of a subscription: periods are `[boundary(cycle), boundary(cycle + 1))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub anchor: i64,
    pub index: i64,
    pub interval: String,
    pub count: i64,
}

impl Cycle {
    pub fn boundary(&self, n: i64) -> i64 {
        time::period_boundary(self.anchor, &self.interval, self.count, n)
    }

    pub fn period(&self) -> (i64, i64) {
        (self.boundary(self.index), self.boundary(self.index + 1))
    }

    pub fn save(&self, store: &mut Store, sub_id: &str) {
        set_internal(store, sub_id, "anchor", json!(self.anchor));
        set_internal(store, sub_id, "cycle", json!(self.index));
        set_internal(store, sub_id, "interval", json!(self.interval));
        set_internal(store, sub_id, "interval_count", json!(self.count));
    }

    pub fn load(store: &Store, sub_id: &str) -> Cycle {
        let get = |k: &str| internal(store, sub_id, k);
        Cycle {
            anchor: get("anchor").and_then(|v| v.as_i64()).unwrap_or(0),
            index: get("cycle").and_then(|v| v.as_i64()).unwrap_or(0),
            interval: get("interval").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "month".into()),
            count: get("interval_count").and_then(|v| v.as_i64()).unwrap_or(1),
        }
    }
}

/// `(interval, interval_count)` of a recurring price.
pub fn price_interval(price: &Value) -> Option<(String, i64)> {
    let recurring = price.get("recurring")?.as_object()?;
    let interval = recurring.get("interval")?.as_str()?.to_string();
    let count = recurring.get("interval_count").and_then(Value::as_i64).unwrap_or(1);
    Some((interval, count))
}

/// The legacy Plan mirror of a recurring price (subscription items still carry one).
pub fn plan_of(price: &Value) -> Value {
    let mut plan = match fixture("plan") {
        Ok(p) => Value::Object(p),
        Err(_) => json!({}),
    };
    let recurring = price.get("recurring").cloned().unwrap_or(Value::Null);
    let get = |k: &str| price.get(k).cloned().unwrap_or(Value::Null);
    overlay(
        &mut plan,
        json!({
            "id": get("id"),
            "object": "plan",
            "active": get("active"),
            "amount": get("unit_amount"),
            "amount_decimal": get("unit_amount_decimal"),
            "billing_scheme": "per_unit",
            "created": get("created"),
            "currency": get("currency"),
            "interval": recurring.get("interval").cloned().unwrap_or(json!("month")),
            "interval_count": recurring.get("interval_count").cloned().unwrap_or(json!(1)),
            "livemode": false,
            "metadata": get("metadata"),
            "meter": null,
            "nickname": get("nickname"),
            "product": get("product"),
            "tiers_mode": null,
            "transform_usage": null,
            "trial_period_days": recurring.get("trial_period_days").cloned().unwrap_or(Value::Null),
            "usage_type": "licensed",
        }),
    );
    plan
}

/// A subscription item.
pub fn item_json(
    id: &str,
    price: &Value,
    quantity: i64,
    sub_id: &str,
    created: i64,
    period: (i64, i64),
    metadata: Value,
) -> ApiResult<Value> {
    let mut item = Value::Object(fixture("subscription_item")?);
    overlay(
        &mut item,
        json!({
            "id": id,
            "object": "subscription_item",
            "billing_thresholds": null,
            "created": created,
            "current_period_end": period.1,
            "current_period_start": period.0,
            "discounts": [],
            "metadata": metadata,
            "plan": plan_of(price),
            "price": price,
            "quantity": quantity,
            "subscription": sub_id,
            "tax_rates": [],
        }),
    );
    Ok(item)
}

pub fn items(sub: &Value) -> Vec<Value> {
    sub.pointer("/items/data").and_then(Value::as_array).cloned().unwrap_or_default()
}

pub fn set_items(sub: &mut Value, items: Vec<Value>) {
    let id = s(sub, "id").to_string();
    set(
        sub,
        "items",
        json!({
            "object": "list",
            "data": items,
            "has_more": false,
            "total_count": items.len(),
            "url": format!("/v1/subscription_items?subscription={id}"),
        }),
    );
}

fn set_item_periods(sub: &mut Value, period: (i64, i64)) {
    let mut list = items(sub);
    for item in &mut list {
        set(item, "current_period_start", json!(period.0));
        set(item, "current_period_end", json!(period.1));
    }
    set_items(sub, list);
}

/// The current period of a subscription, from its items.
pub fn current_period(sub: &Value) -> (i64, i64) {
    let first = items(sub).into_iter().next().unwrap_or(Value::Null);
    (int(&first, "current_period_start"), int(&first, "current_period_end"))
}

fn product_name(store: &Store, account: Option<&str>, price: &Value) -> String {
    let product = s(price, "product");
    store
        .find("product", product, account)
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| product.to_string())
}

fn quantity_prefix(quantity: i64) -> String {
    if quantity == 1 { String::new() } else { format!("{quantity} × ") }
}

// ---------------------------------------------------------------- invoice lines

/// One line of an invoice to be.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSpec {
    pub amount: i64,
    pub description: String,
    pub price: Value,
    pub quantity: i64,
    pub period: (i64, i64),
    pub proration: bool,
    pub item: String,
    /// The invoice and line whose charge this line credits (credit prorations).
    pub credited: Option<(String, String)>,
    /// This line is what the item is billed for `period` (later credits are computed from it).
    pub bills: bool,
}

impl LineSpec {
    fn to_json(&self) -> Value {
        json!({
            "amount": self.amount,
            "description": self.description,
            "price": self.price,
            "quantity": self.quantity,
            "period": [self.period.0, self.period.1],
            "proration": self.proration,
            "item": self.item,
            "credited": self.credited.as_ref().map(|(i, l)| json!([i, l])),
            "bills": self.bills,
        })
    }

    fn from_json(v: &Value) -> LineSpec {
        let pair = |k: &str| -> Option<(Value, Value)> {
            let a = v.get(k)?.as_array()?;
            Some((a.first()?.clone(), a.get(1)?.clone()))
        };
        let period = pair("period").map(|(a, b)| (a.as_i64().unwrap_or(0), b.as_i64().unwrap_or(0))).unwrap_or((0, 0));
        let credited = pair("credited").and_then(|(a, b)| Some((a.as_str()?.to_string(), b.as_str()?.to_string())));
        LineSpec {
            amount: int(v, "amount"),
            description: s(v, "description").to_string(),
            price: v.get("price").cloned().unwrap_or(Value::Null),
            quantity: int(v, "quantity").max(1),
            period,
            proration: v.get("proration").and_then(Value::as_bool).unwrap_or(false),
            item: s(v, "item").to_string(),
            credited,
            bills: v.get("bills").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

/// The full-price line of an item for a period.
pub fn full_line(store: &Store, account: Option<&str>, item: &Value, period: (i64, i64)) -> LineSpec {
    let price = item.get("price").cloned().unwrap_or(Value::Null);
    let quantity = int(item, "quantity").max(1);
    let unit = int(&price, "unit_amount");
    let currency = s(&price, "currency").to_string();
    let (interval, count) = price_interval(&price).unwrap_or_else(|| ("month".into(), 1));
    let every = if count == 1 { interval } else { format!("{count} {interval}s") };
    LineSpec {
        amount: unit.saturating_mul(quantity),
        description: format!(
            "{}{} (at {} / {every})",
            if quantity == 1 { "1 × ".to_string() } else { quantity_prefix(quantity) },
            product_name(store, account, &price),
            money::format(unit, &currency)
        ),
        price,
        quantity,
        period,
        proration: false,
        item: s(item, "id").to_string(),
        credited: None,
        bills: true,
    }
}

/// A trial line (amount 0) of an item.
pub fn trial_line(store: &Store, account: Option<&str>, item: &Value, period: (i64, i64)) -> LineSpec {
    let mut line = full_line(store, account, item, period);
    line.description = format!("Trial period for {}", product_name(store, account, &line.price));
    line.amount = 0;
    line
}

/// What an item was last billed for: `(amount, (start, end), invoice, line)`.
fn billed(
    store: &Store,
    sub_id: &str,
    item: &Value,
    period: (i64, i64),
) -> (i64, (i64, i64), Option<(String, String)>) {
    let record = internal(store, sub_id, "billed").and_then(|b| b.get(s(item, "id")).cloned());
    match record {
        Some(r) => {
            let invoice = s(&r, "invoice").to_string();
            let line = s(&r, "line").to_string();
            let credited = (!invoice.is_empty()).then_some((invoice, line));
            (int(&r, "amount"), (int(&r, "start"), int(&r, "end")), credited)
        }
        None => {
            let price = item.get("price").cloned().unwrap_or(Value::Null);
            (int(&price, "unit_amount").saturating_mul(int(item, "quantity").max(1)), period, None)
        }
    }
}

/// Marks an item as billed `amount` for `period` (without an invoice line, e.g. a trial).
pub fn set_billed(store: &mut Store, sub_id: &str, item_id: &str, amount: i64, period: (i64, i64)) {
    let mut all = internal(store, sub_id, "billed").and_then(|b| b.as_object().cloned()).unwrap_or_default();
    all.insert(item_id.into(), json!({"amount": amount, "start": period.0, "end": period.1}));
    set_internal(store, sub_id, "billed", Value::Object(all));
}

/// The credit for the unused time of `item` from `at` to the end of what it was billed for:
/// `-round(billed × (billed_end − at) / (billed_end − billed_start))` (see [`time::prorate`]).
pub fn credit_line(store: &Store, account: Option<&str>, sub_id: &str, item: &Value, at: i64) -> Option<LineSpec> {
    let (amount, (start, end), credited) = billed(store, sub_id, item, current_period_of_item(item));
    if amount == 0 || at >= end {
        return None;
    }
    let credit = -time::prorate(amount, end - at.max(start), end - start);
    if credit == 0 {
        return None;
    }
    let price = item.get("price").cloned().unwrap_or(Value::Null);
    let quantity = int(item, "quantity").max(1);
    Some(LineSpec {
        amount: credit,
        description: format!(
            "Unused time on {}{} after {}",
            quantity_prefix(quantity),
            product_name(store, account, &price),
            time::format_date(at)
        ),
        price,
        quantity,
        period: (at.max(start), end),
        proration: true,
        item: s(item, "id").to_string(),
        credited,
        bills: false,
    })
}

/// The charge for the remaining time of `item` (its new price and quantity) from `at` to the end
/// of the current period `[start, end)`: `round(unit_amount × quantity × (end − at) / (end − start))`.
pub fn debit_line(store: &Store, account: Option<&str>, item: &Value, at: i64, period: (i64, i64)) -> Option<LineSpec> {
    let (start, end) = period;
    if at >= end {
        return None;
    }
    let price = item.get("price").cloned().unwrap_or(Value::Null);
    let quantity = int(item, "quantity").max(1);
    let full = int(&price, "unit_amount").saturating_mul(quantity);
    let amount = time::prorate(full, end - at.max(start), end - start);
    Some(LineSpec {
        amount,
        description: format!(
            "Remaining time on {}{} after {}",
            quantity_prefix(quantity),
            product_name(store, account, &price),
            time::format_date(at)
        ),
        price,
        quantity,
        period: (at.max(start), end),
        proration: true,
        item: s(item, "id").to_string(),
        credited: None,
        bills: true,
    })
}

fn current_period_of_item(item: &Value) -> (i64, i64) {
    (int(item, "current_period_start"), int(item, "current_period_end"))
}

pub fn pending_lines(store: &Store, sub_id: &str) -> Vec<LineSpec> {
    internal(store, sub_id, "pending_lines")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(LineSpec::from_json)
        .collect()
}

pub fn add_pending_lines(store: &mut Store, sub_id: &str, lines: &[LineSpec]) {
    let mut all: Vec<Value> =
        internal(store, sub_id, "pending_lines").and_then(|v| v.as_array().cloned()).unwrap_or_default();
    all.extend(lines.iter().map(LineSpec::to_json));
    set_internal(store, sub_id, "pending_lines", Value::Array(all));
    // What a pending debit charges is already what the item is billed: a later change credits it.
    for line in lines.iter().filter(|l| l.bills) {
        set_billed(store, sub_id, &line.item, line.amount, line.period);
    }
}

fn take_pending_lines(store: &mut Store, sub_id: &str) -> Vec<LineSpec> {
    let lines = pending_lines(store, sub_id);
    set_internal(store, sub_id, "pending_lines", Value::Null);
    lines
}

// ---------------------------------------------------------------- invoices

/// Creates a subscription invoice with `lines` (plus any pending prorations), finalizes it and
/// makes it the subscription's `latest_invoice`. Events `invoice.created`, `invoice.finalized`.
/// Does not collect payment (see [`collect`]).
pub fn issue_invoice(
    store: &mut Store,
    source: &EventSource,
    base_url: &str,
    sub_id: &str,
    mut lines: Vec<LineSpec>,
    billing_reason: &str,
    period: (i64, i64),
) -> ApiResult<String> {
    let account = owner(store, sub_id);
    let account = account.as_deref();
    let sub = object(store, sub_id).ok_or_else(|| ApiError::internal("subscription vanished"))?;
    let customer_id = s(&sub, "customer").to_string();
    let customer = store.find("customer", &customer_id, account).cloned().unwrap_or(Value::Null);
    let clock = object_clock(store, sub_id);
    let now = time_of(store, source);
    let mut pending = take_pending_lines(store, sub_id);
    pending.append(&mut lines);
    let lines = pending;
    let id = ids::new_id("in");
    let mut billed = internal(store, sub_id, "billed").and_then(|b| b.as_object().cloned()).unwrap_or_default();
    let mut line_ids = Vec::new();
    for spec in &lines {
        let line_id = ids::new_id("il");
        if spec.bills {
            billed.insert(
                spec.item.clone(),
                json!({"amount": spec.amount, "start": spec.period.0, "end": spec.period.1, "invoice": id, "line": line_id}),
            );
        }
        line_ids.push(line_id);
    }
    set_internal(store, sub_id, "billed", Value::Object(billed));
    let draft = Draft {
        id: &id,
        sub: &sub,
        customer: &customer,
        lines: &lines,
        line_ids: &line_ids,
        billing_reason,
        period,
        now,
        clock: clock.as_deref(),
    };
    let invoice = draft_invoice(&draft)?;
    save(store, &invoice, account)?;
    set_internal(store, &id, "subscription", json!(sub_id));
    if let Some(c) = &clock {
        set_internal(store, &id, "test_clock", json!(c));
    }
    store.emit(source, "invoice.created", &invoice, None);
    finalize_invoice(store, source, base_url, &id)?;
    if let Some(mut sub) = object(store, sub_id) {
        set(&mut sub, "latest_invoice", json!(id));
        save(store, &sub, account)?;
    }
    Ok(id)
}

/// Finalizes a draft invoice: its number, the customer's credit balance applied, the hosted page,
/// and for an invoice sent for payment (`send_invoice`) its due date. Event `invoice.finalized`.
pub fn finalize_invoice(store: &mut Store, source: &EventSource, base_url: &str, id: &str) -> ApiResult<Value> {
    let account = owner(store, id);
    let account = account.as_deref();
    let mut invoice = object(store, id).ok_or_else(|| ApiError::internal("invoice vanished"))?;
    let customer_id = s(&invoice, "customer").to_string();
    let customer = store.find("customer", &customer_id, account).cloned().unwrap_or(Value::Null);
    let now = time_of(store, source);
    let starting_balance = int(&customer, "balance");
    let net = int(&invoice, "subtotal").saturating_add(starting_balance);
    let sequence = int(&customer, "next_invoice_sequence").max(1);
    let prefix = match s(&customer, "invoice_prefix") {
        "" => "SANDBOX".to_string(),
        p => p.to_string(),
    };
    let hosted = format!("{base_url}_sandbox/invoices/{id}");
    let due_date = internal(store, id, "days_until_due").and_then(|d| d.as_i64()).map(|days| now + days * 86_400);
    overlay(
        &mut invoice,
        json!({
            "status": "open",
            "number": format!("{prefix}-{sequence:04}"),
            "effective_at": now,
            "starting_balance": starting_balance,
            "ending_balance": net.min(0),
            "amount_due": net.max(0),
            "amount_remaining": net.max(0),
            "hosted_invoice_url": hosted,
            "invoice_pdf": format!("{hosted}?format=pdf"),
            "status_transitions": {"finalized_at": now, "marked_uncollectible_at": null, "paid_at": null, "voided_at": null},
        }),
    );
    if let Some(due) = due_date {
        set(&mut invoice, "due_date", json!(due));
    }
    save(store, &invoice, account)?;
    if let Some(mut c) = store.find("customer", &customer_id, account).cloned() {
        set(&mut c, "next_invoice_sequence", json!(sequence.saturating_add(1)));
        set(&mut c, "balance", json!(net.min(0)));
        save(store, &c, account)?;
    }
    store.emit(source, "invoice.finalized", &invoice, None);
    Ok(invoice)
}

/// An invoice being built: what [`draft_invoice`] renders.
pub struct Draft<'a> {
    pub id: &'a str,
    pub sub: &'a Value,
    pub customer: &'a Value,
    pub lines: &'a [LineSpec],
    pub line_ids: &'a [String],
    pub billing_reason: &'a str,
    pub period: (i64, i64),
    pub now: i64,
    pub clock: Option<&'a str>,
}

/// A draft subscription invoice as Stripe renders it (nothing stored): the one rendering of
/// issued invoices and of previews (`POST /v1/invoices/create_preview`).
pub fn draft_invoice(d: &Draft<'_>) -> ApiResult<Value> {
    let (id, sub, lines, period) = (d.id, d.sub, d.lines, d.period);
    let sub_id = s(sub, "id");
    let currency = s(sub, "currency").to_string();
    let mut line_values = Vec::new();
    for (spec, line_id) in lines.iter().zip(d.line_ids) {
        line_values.push(line_json(line_id, id, spec, sub_id, &currency)?);
    }
    let subtotal: i64 = lines.iter().fold(0i64, |acc, l| acc.saturating_add(l.amount));
    let blank = BlankInvoice {
        id,
        customer: d.customer,
        customer_id: s(sub, "customer"),
        currency: &currency,
        billing_reason: d.billing_reason,
        now: d.now,
        clock: d.clock,
    };
    let mut invoice = blank_invoice(&blank)?;
    overlay(
        &mut invoice,
        json!({
            "lines": {
                "object": "list",
                "data": line_values,
                "has_more": false,
                "total_count": lines.len(),
                "url": format!("/v1/invoices/{id}/lines"),
            },
            "parent": {
                "quote_details": null,
                "subscription_details": {
                    "metadata": sub.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    "subscription": sub_id,
                },
                "type": "subscription_details",
            },
            "period_end": period.1,
            "period_start": period.0,
        }),
    );
    set_totals(&mut invoice, subtotal);
    Ok(invoice)
}

/// What every invoice starts from.
pub struct BlankInvoice<'a> {
    pub id: &'a str,
    pub customer: &'a Value,
    pub customer_id: &'a str,
    pub currency: &'a str,
    pub billing_reason: &'a str,
    pub now: i64,
    pub clock: Option<&'a str>,
}

/// A draft invoice without lines or parent, as Stripe renders it (nothing stored).
pub fn blank_invoice(b: &BlankInvoice<'_>) -> ApiResult<Value> {
    let (id, customer, customer_id, currency, billing_reason, now, clock) =
        (b.id, b.customer, b.customer_id, b.currency, b.billing_reason, b.now, b.clock);
    let mut invoice = Value::Object(fixture("invoice")?);
    overlay(
        &mut invoice,
        json!({
            "id": id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Azora (Stripe sandbox)",
            "account_tax_ids": null,
            "amount_due": 0,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "application": null,
            "attempt_count": 0,
            "attempted": false,
            "auto_advance": true,
            "automatic_tax": {"disabled_reason": null, "enabled": false, "liability": null, "provider": null, "status": null},
            "automatically_finalizes_at": null,
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": currency,
            "custom_fields": null,
            "customer": customer_id,
            "customer_account": null,
            "customer_address": customer.get("address").cloned().unwrap_or(Value::Null),
            "customer_email": customer.get("email").cloned().unwrap_or(Value::Null),
            "customer_name": customer.get("name").cloned().unwrap_or(Value::Null),
            "customer_phone": customer.get("phone").cloned().unwrap_or(Value::Null),
            "customer_shipping": customer.get("shipping").cloned().unwrap_or(Value::Null),
            "customer_tax_exempt": customer.get("tax_exempt").cloned().unwrap_or(json!("none")),
            "customer_tax_ids": [],
            "default_payment_method": null,
            "default_source": null,
            "default_tax_rates": [],
            "description": null,
            "discounts": [],
            "due_date": null,
            "effective_at": null,
            "ending_balance": null,
            "footer": null,
            "from_invoice": null,
            "hosted_invoice_url": null,
            "invoice_pdf": null,
            "issuer": {"type": "self"},
            "last_finalization_error": null,
            "latest_revision": null,
            "lines": {"object": "list", "data": [], "has_more": false, "total_count": 0, "url": format!("/v1/invoices/{id}/lines")},
            "livemode": false,
            "metadata": {},
            "next_payment_attempt": null,
            "number": null,
            "on_behalf_of": null,
            "parent": null,
            "payment_settings": {"default_mandate": null, "payment_method_options": null, "payment_method_types": null},
            "period_end": now,
            "period_start": now,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": null,
            "rendering": null,
            "shipping_cost": null,
            "shipping_details": null,
            "starting_balance": 0,
            "statement_descriptor": null,
            "status": "draft",
            "status_transitions": {"finalized_at": null, "marked_uncollectible_at": null, "paid_at": null, "voided_at": null},
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "test_clock": clock,
            "total": 0,
            "total_discount_amounts": [],
            "total_excluding_tax": 0,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": now,
        }),
    );
    Ok(invoice)
}

/// Sets a draft's amounts from its lines' sum (no tax, no discounts).
pub fn set_totals(invoice: &mut Value, subtotal: i64) {
    overlay(
        invoice,
        json!({
            "amount_due": subtotal.max(0),
            "amount_remaining": subtotal.max(0),
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal,
            "total": subtotal,
            "total_excluding_tax": subtotal,
        }),
    );
}

fn line_json(line_id: &str, invoice_id: &str, spec: &LineSpec, sub_id: &str, currency: &str) -> ApiResult<Value> {
    let mut line = Value::Object(fixture("line_item")?);
    let credited =
        spec.credited.as_ref().map(|(invoice, line)| json!({"invoice": invoice, "invoice_line_items": [line]}));
    overlay(
        &mut line,
        json!({
            "id": line_id,
            "object": "line_item",
            "amount": spec.amount,
            "currency": currency,
            "description": spec.description,
            "discount_amounts": [],
            "discountable": !spec.proration,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": false,
            "metadata": {},
            "parent": {
                "invoice_item_details": null,
                "subscription_item_details": {
                    "invoice_item": if spec.proration { json!(ids::new_id("ii")) } else { Value::Null },
                    "proration": spec.proration,
                    "proration_details": {"credited_items": credited},
                    "subscription": sub_id,
                    "subscription_item": spec.item,
                },
                "type": "subscription_item_details",
            },
            "period": {"end": spec.period.1, "start": spec.period.0},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {
                    "price": spec.price.get("id").cloned().unwrap_or(Value::Null),
                    "product": spec.price.get("product").cloned().unwrap_or(Value::Null),
                },
                "type": "price_details",
                "unit_amount_decimal": spec.price.get("unit_amount_decimal").cloned().unwrap_or(Value::Null),
            },
            "quantity": spec.quantity,
            "quantity_decimal": spec.quantity.to_string(),
            "subscription": sub_id,
            "subtotal": spec.amount,
            "taxes": [],
        }),
    );
    Ok(line)
}

/// How an invoice's payment is collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Charge the default payment method now, the customer present (a card needing 3-D Secure
    /// leaves the PaymentIntent in `requires_action`).
    OnSession,
    /// Charge the default payment method now, off-session (renewals).
    OffSession,
    /// Create the PaymentIntent and wait for the client to confirm it (`default_incomplete`).
    Defer,
}

/// The payment method an invoice of `sub` is charged with: the subscription's default, else the
/// customer's `invoice_settings.default_payment_method`.
pub fn default_payment_method(store: &Store, account: Option<&str>, sub: &Value) -> Option<String> {
    let own = s(sub, "default_payment_method");
    if !own.is_empty() {
        return Some(own.to_string());
    }
    store
        .find("customer", s(sub, "customer"), account)
        .and_then(|c| c.pointer("/invoice_settings/default_payment_method"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Collects an open invoice: paid at once when nothing is due; otherwise a PaymentIntent for
/// `amount_due` (its client secret is the invoice's `confirmation_secret`), confirmed with
/// `payment_method` (or the default one) unless deferred. Payment outcomes come back through
/// [`on_intent_succeeded`] / [`on_intent_failed`].
pub fn collect(
    store: &mut Store,
    source: &EventSource,
    base_url: &str,
    invoice_id: &str,
    attempt: Attempt,
    payment_method: Option<String>,
) -> ApiResult<()> {
    let account = owner(store, invoice_id);
    let account = account.as_deref();
    let invoice = object(store, invoice_id).ok_or_else(|| ApiError::internal("invoice vanished"))?;
    if s(&invoice, "status") != "open" {
        return Ok(());
    }
    let source = &EventSource { account: account.map(str::to_string), ..source.clone() };
    if int(&invoice, "amount_due") == 0 {
        return mark_paid(store, source, invoice_id, None);
    }
    let sub = internal(store, invoice_id, "subscription")
        .and_then(|v| v.as_str().map(str::to_string))
        .and_then(|id| object(store, &id))
        .unwrap_or(Value::Null);
    let pm = payment_method.or_else(|| default_payment_method(store, account, &sub));
    let pi_id = invoice_intent(store, source, invoice_id)?;
    if attempt == Attempt::Defer {
        return Ok(());
    }
    let Some(mut pm) = pm else {
        if attempt == Attempt::OffSession {
            attempt_failed(store, source, invoice_id)?;
        }
        return Ok(());
    };
    // A test id (`pm_card_visa`) set as a default payment method is used as the customer's own
    // card: each charge gets a fresh PaymentMethod already belonging to the customer.
    if payment_methods::test_card(&pm).is_some() {
        let customer = s(&invoice, "customer").to_string();
        pm = payment_methods::resolve(store, account, &pm, "payment_method")?;
        if let Some(o) = store.stored_mut(&pm) {
            set(&mut o.value, "customer", json!(customer));
        }
    }
    let args = ConfirmArgs {
        payment_method: Some(pm),
        off_session: attempt == Attempt::OffSession,
        from_client: attempt == Attempt::OnSession,
        ..ConfirmArgs::default()
    };
    match payment_intents::confirm_intent(store, source, base_url, &pi_id, args) {
        Ok(_) => Ok(()),
        // A decline already went through `on_intent_failed`.
        Err(e) if e.status == 402 => Ok(()),
        Err(e) if e.status >= 500 => Err(e),
        Err(_) => attempt_failed(store, source, invoice_id),
    }
}

/// The invoice's open PaymentIntent, created when there is none.
fn invoice_intent(store: &mut Store, source: &EventSource, invoice_id: &str) -> ApiResult<String> {
    let account = owner(store, invoice_id);
    let account = account.as_deref();
    if let Some(existing) = internal(store, invoice_id, "payment_intent").and_then(|v| v.as_str().map(str::to_string))
        && let Some(pi) = store.find("payment_intent", &existing, account)
        && ["requires_payment_method", "requires_confirmation", "requires_action"].contains(&s(pi, "status"))
    {
        return Ok(existing);
    }
    let invoice = object(store, invoice_id).ok_or_else(|| ApiError::internal("invoice vanished"))?;
    let description = match s(&invoice, "billing_reason") {
        "subscription_create" => "Subscription creation",
        "subscription_cycle" => "Subscription cycle",
        "subscription_update" => "Subscription update",
        _ => "Invoice payment",
    };
    let clock = object_clock(store, invoice_id);
    let pi = payment_intents::create_for_invoice(
        store,
        source,
        &payment_intents::InvoiceIntent {
            customer: s(&invoice, "customer").to_string(),
            amount: int(&invoice, "amount_due"),
            currency: s(&invoice, "currency").to_string(),
            description: description.to_string(),
            invoice: invoice_id.to_string(),
            test_clock: clock,
        },
    )?;
    let pi_id = s(&pi, "id").to_string();
    set_internal(store, invoice_id, "payment_intent", json!(pi_id));
    set_internal(
        store,
        invoice_id,
        "confirmation_secret",
        json!({"client_secret": pi.get("client_secret").cloned().unwrap_or(Value::Null), "type": "payment_intent"}),
    );
    // The invoice's payment record (`GET /v1/invoice_payments`, `expand[]=payments`).
    let mut payment = Value::Object(fixture("invoice_payment")?);
    overlay(
        &mut payment,
        json!({
            "id": ids::new_id("inpay"),
            "object": "invoice_payment",
            "amount_paid": null,
            "amount_requested": int(&invoice, "amount_due"),
            "created": time_of(store, source),
            "currency": s(&invoice, "currency"),
            "invoice": invoice_id,
            "is_default": true,
            "livemode": false,
            "payment": {"charge": null, "payment_intent": pi_id, "payment_record": null, "type": "payment_intent"},
            "status": "open",
            "status_transitions": {"canceled_at": null, "paid_at": null},
        }),
    );
    let payment_id = s(&payment, "id").to_string();
    save(store, &payment, account)?;
    if let Some(old) = internal(store, invoice_id, "invoice_payment").and_then(|v| v.as_str().map(str::to_string))
        && let Some(mut previous) = object(store, &old)
        && s(&previous, "status") == "open"
    {
        set(&mut previous, "is_default", json!(false));
        set(&mut previous, "status", json!("canceled"));
        set(&mut previous, "status_transitions", json!({"canceled_at": time_of(store, source), "paid_at": null}));
        save(store, &previous, account)?;
    }
    set_internal(store, invoice_id, "invoice_payment", json!(payment_id));
    Ok(pi_id)
}

/// Marks an open invoice paid (by `intent`, or without a payment when nothing is due) and lets
/// its subscription know. Events `invoice.paid`, `invoice.payment_succeeded`.
pub fn mark_paid(store: &mut Store, source: &EventSource, invoice_id: &str, intent: Option<&Value>) -> ApiResult<()> {
    let account = owner(store, invoice_id);
    let account = account.as_deref();
    let Some(mut invoice) = object(store, invoice_id) else {
        return Ok(());
    };
    if s(&invoice, "status") != "open" {
        return Ok(());
    }
    let now = time_of(store, source);
    let due = int(&invoice, "amount_due");
    let attempts = int(&invoice, "attempt_count") + i64::from(intent.is_some());
    let mut transitions = invoice.get("status_transitions").cloned().unwrap_or_else(|| json!({}));
    set(&mut transitions, "paid_at", json!(now));
    overlay(
        &mut invoice,
        json!({
            "status": "paid",
            "amount_paid": due,
            "amount_remaining": 0,
            "attempted": true,
            "attempt_count": attempts,
            "auto_advance": false,
            "next_payment_attempt": null,
            "status_transitions": transitions,
        }),
    );
    save(store, &invoice, account)?;
    if let Some(payment_id) =
        internal(store, invoice_id, "invoice_payment").and_then(|v| v.as_str().map(str::to_string))
        && let Some(mut payment) = object(store, &payment_id)
    {
        let charge = intent.and_then(|pi| pi.get("latest_charge")).cloned().unwrap_or(Value::Null);
        overlay(
            &mut payment,
            json!({
                "amount_paid": due,
                "status": "paid",
                "status_transitions": {"canceled_at": null, "paid_at": now},
            }),
        );
        if let Some(p) = payment.get_mut("payment").and_then(Value::as_object_mut) {
            p.insert("charge".into(), charge);
        }
        save(store, &payment, account)?;
    }
    store.emit(source, "invoice.paid", &invoice, None);
    store.emit(source, "invoice.payment_succeeded", &invoice, None);
    if let Some(sub_id) = internal(store, invoice_id, "subscription").and_then(|v| v.as_str().map(str::to_string)) {
        let pm = intent.map(|pi| s(pi, "payment_method").to_string()).filter(|p| !p.is_empty());
        subscription_paid(store, source, &sub_id, invoice_id, pm)?;
    }
    Ok(())
}

/// A payment attempt of an open invoice failed (or could not be made: no payment method).
/// Event `invoice.payment_failed`; an active subscription becomes `past_due`.
///
/// Retries, as Stripe's custom retry schedule: an invoice that is its subscription's latest, of a
/// subscription already under way (not the first invoice of an `incomplete` one, which the
/// customer pays on session), is retried `config.invoice_retry_days[n]` days after its `n`th
/// failed attempt (`next_payment_attempt`, run by [`advance`]). When the last retry failed, the
/// event has no `next_payment_attempt` and the subscription ends up as `config.invoice_retry_end`
/// says: left `past_due`, marked `unpaid`, or canceled (`customer.subscription.deleted`).
pub fn attempt_failed(store: &mut Store, source: &EventSource, invoice_id: &str) -> ApiResult<()> {
    let account = owner(store, invoice_id);
    let account = account.as_deref();
    let Some(mut invoice) = object(store, invoice_id) else {
        return Ok(());
    };
    if s(&invoice, "status") != "open" {
        return Ok(());
    }
    let sub_id = internal(store, invoice_id, "subscription").and_then(|v| v.as_str().map(str::to_string));
    let sub = sub_id.as_deref().and_then(|id| object(store, id));
    let retried = sub.as_ref().is_some_and(|sub| {
        s(sub, "latest_invoice") == invoice_id
            && ["active", "trialing", "past_due", "unpaid"].contains(&s(sub, "status"))
    });
    let attempts = int(&invoice, "attempt_count") + 1;
    let now = time_of(store, source);
    let next = if retried {
        usize::try_from(attempts - 1)
            .ok()
            .and_then(|i| store.config.invoice_retry_days.get(i))
            .map(|days| now + days * 86_400)
    } else {
        None
    };
    overlay(&mut invoice, json!({"attempted": true, "attempt_count": attempts, "next_payment_attempt": next}));
    save(store, &invoice, account)?;
    store.emit(source, "invoice.payment_failed", &invoice, None);
    let Some(old) = sub else { return Ok(()) };
    if s(&old, "latest_invoice") != invoice_id {
        return Ok(());
    }
    let mut sub = old.clone();
    if ["active", "trialing"].contains(&s(&old, "status")) {
        set(&mut sub, "status", json!("past_due"));
    }
    if retried && next.is_none() {
        match store.config.invoice_retry_end.as_str() {
            "unpaid" => set(&mut sub, "status", json!("unpaid")),
            "canceled" => {
                if sub.get("canceled_at").is_none_or(Value::is_null) {
                    set(&mut sub, "canceled_at", json!(now));
                }
                overlay(&mut sub, json!({"status": "canceled", "ended_at": now}));
                save(store, &sub, account)?;
                store.emit(source, "customer.subscription.deleted", &sub, None);
                return Ok(());
            }
            _ => {}
        }
    }
    if sub != old {
        save(store, &sub, account)?;
        emit_sub_updated(store, source, &old, &sub);
    }
    Ok(())
}

/// The retry of a subscription's latest invoice that falls due next, if one is scheduled.
fn next_retry(store: &Store, sub: &Value) -> Option<i64> {
    if !["active", "past_due", "unpaid"].contains(&s(sub, "status")) {
        return None;
    }
    let invoice = object(store, s(sub, "latest_invoice"))?;
    if s(&invoice, "status") != "open" {
        return None;
    }
    invoice.get("next_payment_attempt").and_then(Value::as_i64)
}

/// A scheduled retry falls due: the latest invoice is charged again off-session with the
/// subscription's (or the customer's) default payment method as it is now.
fn retry(store: &mut Store, source: &EventSource, base_url: &str, sub_id: &str) -> ApiResult<()> {
    let Some(sub) = object(store, sub_id) else { return Ok(()) };
    let invoice_id = s(&sub, "latest_invoice").to_string();
    let account = owner(store, &invoice_id);
    let Some(mut invoice) = object(store, &invoice_id) else { return Ok(()) };
    // Unscheduled first, so that an attempt that neither fails nor succeeds (3-D Secure) is not
    // due again; a failure schedules the next one.
    set(&mut invoice, "next_payment_attempt", Value::Null);
    save(store, &invoice, account.as_deref())?;
    collect(store, source, base_url, &invoice_id, Attempt::OffSession, None)
}

fn subscription_paid(
    store: &mut Store,
    source: &EventSource,
    sub_id: &str,
    invoice_id: &str,
    payment_method: Option<String>,
) -> ApiResult<()> {
    let account = owner(store, sub_id);
    let account = account.as_deref();
    let Some(old) = object(store, sub_id) else {
        return Ok(());
    };
    let mut sub = old.clone();
    if let Some(pm) = payment_method
        && sub.pointer("/payment_settings/save_default_payment_method").and_then(Value::as_str)
            == Some("on_subscription")
    {
        set(&mut sub, "default_payment_method", json!(pm));
    }
    let open_status = ["incomplete", "past_due", "unpaid"].contains(&s(&sub, "status"));
    if open_status && s(&sub, "latest_invoice") == invoice_id {
        set(&mut sub, "status", json!("active"));
    }
    save(store, &sub, account)?;
    emit_sub_updated(store, source, &old, &sub);
    Ok(())
}

/// `customer.subscription.updated` with `previous_attributes`, unless the subscription is being
/// built by an API call (which emits its own event at the end).
fn emit_sub_updated(store: &mut Store, source: &EventSource, old: &Value, new: &Value) {
    let quiet = internal(store, s(new, "id"), "quiet").and_then(|v| v.as_bool()).unwrap_or(false);
    if quiet {
        return;
    }
    if let Some(previous) = previous_attributes(old, new) {
        store.emit(source, "customer.subscription.updated", new, Some(previous));
    }
}

/// A PaymentIntent succeeded: when it pays an invoice, the invoice is paid.
pub fn on_intent_succeeded(store: &mut Store, source: &EventSource, pi: &Value) -> ApiResult<()> {
    match internal(store, s(pi, "id"), "invoice").and_then(|v| v.as_str().map(str::to_string)) {
        Some(invoice_id) => mark_paid(store, source, &invoice_id, Some(pi)),
        None => Ok(()),
    }
}

/// A PaymentIntent's payment attempt failed: when it pays an invoice, the attempt failed.
pub fn on_intent_failed(store: &mut Store, source: &EventSource, pi: &Value) -> ApiResult<()> {
    match internal(store, s(pi, "id"), "invoice").and_then(|v| v.as_str().map(str::to_string)) {
        Some(invoice_id) => attempt_failed(store, source, &invoice_id),
        None => Ok(()),
    }
}

/// Voids an open invoice and cancels its PaymentIntent. Events `invoice.voided`,
/// `payment_intent.canceled`.
pub fn void_invoice(store: &mut Store, source: &EventSource, invoice_id: &str) -> ApiResult<Value> {
    let account = owner(store, invoice_id);
    let account = account.as_deref();
    let mut invoice = object(store, invoice_id).ok_or_else(|| ApiError::not_found("invoice", invoice_id))?;
    let now = time_of(store, source);
    if let Some(pi_id) = internal(store, invoice_id, "payment_intent").and_then(|v| v.as_str().map(str::to_string))
        && let Some(mut pi) = store.find("payment_intent", &pi_id, account).cloned()
        && ["requires_payment_method", "requires_confirmation", "requires_action"].contains(&s(&pi, "status"))
    {
        overlay(
            &mut pi,
            json!({"status": "canceled", "canceled_at": now, "cancellation_reason": "void_invoice", "next_action": null}),
        );
        save(store, &pi, account)?;
        store.emit(source, "payment_intent.canceled", &pi, None);
    }
    if let Some(payment_id) =
        internal(store, invoice_id, "invoice_payment").and_then(|v| v.as_str().map(str::to_string))
        && let Some(mut payment) = object(store, &payment_id)
        && s(&payment, "status") == "open"
    {
        set(&mut payment, "status", json!("canceled"));
        set(&mut payment, "status_transitions", json!({"canceled_at": now, "paid_at": null}));
        save(store, &payment, account)?;
    }
    let mut transitions = invoice.get("status_transitions").cloned().unwrap_or_else(|| json!({}));
    set(&mut transitions, "voided_at", json!(now));
    overlay(
        &mut invoice,
        json!({"status": "void", "amount_remaining": 0, "auto_advance": false, "next_payment_attempt": null, "status_transitions": transitions}),
    );
    save(store, &invoice, account)?;
    store.emit(source, "invoice.voided", &invoice, None);
    Ok(invoice)
}

// ---------------------------------------------------------------- the passage of time

/// What falls due for a subscription, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Renew,
    Retry,
    EndTrial,
    Cancel,
    Expire,
}

fn next_due(sub: &Value) -> Option<(i64, Due)> {
    let (_, end) = current_period(sub);
    let cancel_at = sub.get("cancel_at").and_then(Value::as_i64);
    match s(sub, "status") {
        "incomplete" => Some((int(sub, "created") + INCOMPLETE_EXPIRY_SECONDS, Due::Expire)),
        "trialing" => {
            let trial_end = sub.get("trial_end").and_then(Value::as_i64).unwrap_or(end);
            match cancel_at {
                Some(c) if c <= trial_end => Some((c, Due::Cancel)),
                _ => Some((trial_end, Due::EndTrial)),
            }
        }
        "active" | "past_due" | "unpaid" => match cancel_at {
            Some(c) if c <= end => Some((c, Due::Cancel)),
            _ => Some((end, Due::Renew)),
        },
        _ => None,
    }
}

/// The subscriptions living on `clock` (`None`: the sandbox clock).
fn subscriptions_on(store: &Store, clock: Option<&str>) -> Vec<String> {
    store.ids_of_kind("subscription").into_iter().filter(|id| object_clock(store, id).as_deref() == clock).collect()
}

/// Refuses (400) a jump of `clock` to `target` that passes more than [`MAX_STEPS`] boundaries,
/// before anything happens.
pub fn check_jump(store: &Store, clock: Option<&str>, target: i64, param: &str) -> ApiResult<()> {
    if boundaries_until(store, &subscriptions_on(store, clock), target) > MAX_STEPS {
        return Err(ApiError::invalid_nocode(format!(
            "More than {MAX_STEPS} renewals fall due before {target}; advance the clock in smaller steps."
        ))
        .param(param));
    }
    Ok(())
}

/// Runs everything that falls due for the subscriptions on `clock` (`None`: the sandbox clock)
/// up to `target`, boundary by boundary in time order, each at its own time. Then the clock
/// stands at `target` — unless more than [`MAX_STEPS`] boundaries fall due (see [`check_jump`]):
/// then the clock stops at the last one processed.
pub fn advance(store: &mut Store, base_url: &str, clock: Option<&str>, target: i64) -> ApiResult<()> {
    let subscriptions = subscriptions_on(store, clock);
    for _ in 0..MAX_STEPS {
        let mut next: Option<(i64, Due, String)> = None;
        for id in &subscriptions {
            let Some(sub) = object(store, id) else { continue };
            let retrying = next_retry(store, &sub).map(|t| (t, Due::Retry));
            for (due, what) in retrying.into_iter().chain(next_due(&sub)) {
                if due <= target && next.as_ref().is_none_or(|(t, _, _)| due < *t) {
                    next = Some((due, what, id.clone()));
                }
            }
        }
        let Some((due, what, sub_id)) = next else {
            set_clock(store, clock, target);
            return Ok(());
        };
        set_clock(store, clock, due);
        // What happens as time passes belongs to the subscription's account (`Stripe-Account`).
        let source = EventSource { at: clock.map(|_| due), account: owner(store, &sub_id), ..EventSource::default() };
        match what {
            Due::Renew => renew(store, &source, base_url, &sub_id)?,
            Due::Retry => retry(store, &source, base_url, &sub_id)?,
            Due::EndTrial => end_trial(store, &source, base_url, &sub_id)?,
            Due::Cancel => cancel_scheduled(store, &source, &sub_id)?,
            Due::Expire => expire(store, &source, &sub_id)?,
        }
    }
    Ok(())
}

/// How many boundaries (at most `MAX_STEPS + 1`) the subscriptions pass until `target`.
fn boundaries_until(store: &Store, subscriptions: &[String], target: i64) -> usize {
    let mut count = 0;
    for id in subscriptions {
        let Some(sub) = object(store, id) else { continue };
        // Retries: at most the schedule's length of them.
        if next_retry(store, &sub).is_some_and(|t| t <= target) {
            count += store.config.invoice_retry_days.len();
        }
        let Some((first, what)) = next_due(&sub) else { continue };
        if first > target {
            continue;
        }
        count += 1;
        if what == Due::Renew || what == Due::EndTrial {
            let cycle = Cycle::load(store, id);
            let (anchor, mut n) = if what == Due::EndTrial { (first, 0) } else { (cycle.anchor, cycle.index + 1) };
            let cancel_at = sub.get("cancel_at").and_then(Value::as_i64).unwrap_or(i64::MAX);
            loop {
                n += 1;
                let next = time::period_boundary(anchor, &cycle.interval, cycle.count, n);
                if next > target || next >= cancel_at || next <= first || count > MAX_STEPS {
                    break;
                }
                count += 1;
            }
        }
        if count > MAX_STEPS {
            break;
        }
    }
    count
}

fn set_clock(store: &mut Store, clock: Option<&str>, to: i64) {
    match clock {
        Some(c) => {
            if let Some(o) = store.stored_mut(c)
                && o.value.get("frozen_time").and_then(Value::as_i64).is_some_and(|t| t < to)
            {
                set(&mut o.value, "frozen_time", json!(to));
            }
        }
        None => store.advance_clock_to(to),
    }
}

/// The period ends: the next one starts and is invoiced (with pending prorations) and charged
/// off-session.
fn renew(store: &mut Store, source: &EventSource, base_url: &str, sub_id: &str) -> ApiResult<()> {
    let account = owner(store, sub_id);
    let Some(old) = object(store, sub_id) else { return Ok(()) };
    let mut cycle = Cycle::load(store, sub_id);
    let previous = current_period(&old);
    cycle.index += 1;
    let period = cycle.period();
    cycle.save(store, sub_id);
    let mut sub = old.clone();
    set_item_periods(&mut sub, period);
    save(store, &sub, account.as_deref())?;
    emit_sub_updated(store, source, &old, &sub);
    let lines: Vec<LineSpec> =
        items(&sub).iter().map(|item| full_line(store, account.as_deref(), item, period)).collect();
    let invoice = issue_invoice(store, source, base_url, sub_id, lines, "subscription_cycle", previous)?;
    collect(store, source, base_url, &invoice, Attempt::OffSession, None)
}

/// The trial ends: the first paid period starts (the billing cycle is anchored at the trial end).
fn end_trial(store: &mut Store, source: &EventSource, base_url: &str, sub_id: &str) -> ApiResult<()> {
    let account = owner(store, sub_id);
    let Some(old) = object(store, sub_id) else { return Ok(()) };
    let trial_end = old.get("trial_end").and_then(Value::as_i64).unwrap_or_else(|| current_period(&old).1);
    let mut cycle = Cycle::load(store, sub_id);
    cycle.anchor = trial_end;
    cycle.index = 0;
    let period = cycle.period();
    cycle.save(store, sub_id);
    let previous = current_period(&old);
    let mut sub = old.clone();
    set_item_periods(&mut sub, period);
    set(&mut sub, "status", json!("active"));
    set(&mut sub, "billing_cycle_anchor", json!(trial_end));
    save(store, &sub, account.as_deref())?;
    emit_sub_updated(store, source, &old, &sub);
    let lines: Vec<LineSpec> =
        items(&sub).iter().map(|item| full_line(store, account.as_deref(), item, period)).collect();
    let invoice = issue_invoice(store, source, base_url, sub_id, lines, "subscription_cycle", previous)?;
    collect(store, source, base_url, &invoice, Attempt::OffSession, None)
}

/// `cancel_at` (or the end of the period with `cancel_at_period_end`) is reached.
fn cancel_scheduled(store: &mut Store, source: &EventSource, sub_id: &str) -> ApiResult<()> {
    let Some(old) = object(store, sub_id) else { return Ok(()) };
    let now = time_of(store, source);
    let mut sub = old.clone();
    if sub.get("canceled_at").is_none_or(Value::is_null) {
        set(&mut sub, "canceled_at", json!(now));
    }
    set(&mut sub, "status", json!("canceled"));
    set(&mut sub, "ended_at", json!(now));
    let account = owner(store, sub_id);
    save(store, &sub, account.as_deref())?;
    store.emit(source, "customer.subscription.deleted", &sub, None);
    Ok(())
}

/// The first invoice of an incomplete subscription stayed unpaid for 23 hours.
fn expire(store: &mut Store, source: &EventSource, sub_id: &str) -> ApiResult<()> {
    let Some(old) = object(store, sub_id) else { return Ok(()) };
    let latest = s(&old, "latest_invoice").to_string();
    if !latest.is_empty() && object(store, &latest).is_some_and(|i| s(&i, "status") == "open") {
        void_invoice(store, source, &latest)?;
    }
    let now = time_of(store, source);
    let mut sub = old.clone();
    overlay(&mut sub, json!({"status": "incomplete_expired", "ended_at": now}));
    let account = owner(store, sub_id);
    save(store, &sub, account.as_deref())?;
    store.emit(source, "customer.subscription.deleted", &sub, None);
    Ok(())
}

/// The subscriptions of every customer on `clock` (for deleting a clock).
pub fn subscriptions_on_clock(store: &Store, clock: &str) -> Vec<String> {
    subscriptions_on(store, Some(clock))
}

/// Whether a payment with `payment_method` for `customer` would go through now (for
/// `payment_behavior=error_if_incomplete`): `Err` is the card error Stripe would answer.
pub fn predict_payment(
    store: &Store,
    account: Option<&str>,
    customer: &str,
    payment_method: Option<&str>,
) -> ApiResult<()> {
    let Some(pm) = payment_method else {
        return Err(ApiError::invalid_nocode(
            "This customer has no attached payment source or default payment method. Please consider adding a default payment method.",
        ));
    };
    if let Some(e) = payment_intents::forced_decline(store, account, customer) {
        return Err(e);
    }
    match payment_methods::card_of(store, pm).map(|c| c.behavior) {
        Some(payment_methods::Behavior::Decline { code, decline_code, message }) => {
            Err(ApiError::new(402, crate::error::ErrorType::Card, Some(code), message).decline_code(decline_code))
        }
        _ => Ok(()),
    }
}

/// An includable field of an object (`expand[]=latest_invoice.confirmation_secret`,
/// `expand[]=payments`): not part of the object until asked for, as on Stripe.
pub fn includable(store: &Store, object: &Value, field: &str) -> Option<Value> {
    let id = s(object, "id");
    match (s(object, "object"), field) {
        ("invoice", "confirmation_secret") => Some(internal(store, id, "confirmation_secret").unwrap_or(Value::Null)),
        ("invoice", "payments") => {
            let account = owner(store, id);
            let data: Vec<Value> = store
                .list("invoice_payment", account.as_deref())
                .into_iter()
                .filter(|p| s(p, "invoice") == id)
                .cloned()
                .collect();
            Some(json!({
                "object": "list",
                "data": data,
                "has_more": false,
                "url": format!("/v1/invoice_payments?invoice={id}"),
            }))
        }
        _ => None,
    }
}

/// A customer's hidden flag (`POST /_sandbox/customers/{id}/fail_charges`).
pub fn set_customer_fails(store: &mut Store, customer: &str, fail: bool) -> ApiResult<Value> {
    let value = store
        .stored(customer)
        .filter(|o| s(&o.value, "object") == "customer")
        .map(|o| o.value.clone())
        .ok_or_else(|| ApiError::not_found("customer", customer))?;
    set_internal(store, customer, "fail_charges", if fail { json!(true) } else { Value::Null });
    Ok(json!({"customer": s(&value, "id"), "failCharges": fail}))
}

/// The sandbox clock as the control API shows it.
pub fn clock_json(store: &Store) -> Value {
    json!({"now": store.now(), "offsetSeconds": store.clock_offset(), "realNow": crate::store::unix_now()})
}

/// Silences or restores `customer.subscription.updated` for a subscription being built.
pub fn set_quiet(store: &mut Store, sub_id: &str, quiet: bool) {
    set_internal(store, sub_id, "quiet", if quiet { json!(true) } else { Value::Null });
}

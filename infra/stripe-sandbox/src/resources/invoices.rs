//! Invoices (created by subscriptions, see `billing`): retrieve, list (`customer`, `subscription`,
//! `status`), lines, pay (retry with the default or a given payment method, or
//! `paid_out_of_band`), void, update metadata; invoice payments (`GET /v1/invoice_payments`).
//! One-off invoices: create a draft for a customer (`send_invoice` due in `days_until_due`, or
//! `charge_automatically`), add lines with invoice items (`invoiceitems`), finalize, send.
//! `confirmation_secret` and `payments` are includable (`expand[]=confirmation_secret`).

use serde_json::{Value, json};

use super::{int, metadata, one_of, payment_methods, s, set};
use crate::billing::{self, Attempt};
use crate::error::{ApiError, ApiResult, ErrorType};
use crate::listing::list_response;
use crate::params::Params;
use crate::router::{Ctx, Method, Route};

const LIST: &[&str] = &[
    "collection_method",
    "created",
    "customer",
    "customer_account",
    "due_date",
    "ending_before",
    "limit",
    "starting_after",
    "status",
    "subscription",
];
const PAY: &[&str] = &["forgive", "mandate", "off_session", "paid_out_of_band", "payment_method", "source"];
const UPDATE: &[&str] = &["metadata", "description", "footer", "auto_advance"];
const PAGE: &[&str] = &["ending_before", "limit", "starting_after"];
const PAYMENTS: &[&str] = &["created", "ending_before", "invoice", "limit", "payment", "starting_after", "status"];

/// What `POST /v1/invoices/create_preview` accepts (Stripe's list); those not modelled are
/// refused clearly.
const PREVIEW: &[&str] = &[
    "automatic_tax",
    "currency",
    "customer",
    "customer_account",
    "customer_details",
    "discounts",
    "invoice_items",
    "issuer",
    "on_behalf_of",
    "preview_mode",
    "schedule",
    "schedule_details",
    "subscription",
    "subscription_details",
];
/// The parameters of a preview that the sandbox models.
const PREVIEW_MODELLED: &[&str] = &["customer", "subscription", "subscription_details"];
/// `subscription_details[...]` members the sandbox previews; Stripe's others are refused clearly.
const PREVIEW_DETAILS: &[&str] = &["items", "proration_behavior", "proration_date"];
const PREVIEW_DETAILS_UNSUPPORTED: &[&str] = &[
    "billing_cycle_anchor",
    "billing_mode",
    "billing_schedules",
    "cancel_at",
    "cancel_at_period_end",
    "cancel_now",
    "default_tax_rates",
    "metadata",
    "pause",
    "resume_at",
    "start_date",
    "trial_end",
];

/// What `POST /v1/invoices` accepts (Stripe's list); [`CREATE_UNSUPPORTED`] are refused clearly.
const CREATE: &[&str] = &[
    "account_tax_ids",
    "application_fee_amount",
    "auto_advance",
    "automatic_tax",
    "automatically_finalizes_at",
    "collection_method",
    "currency",
    "custom_fields",
    "customer",
    "customer_account",
    "days_until_due",
    "default_payment_method",
    "default_source",
    "default_tax_rates",
    "description",
    "discounts",
    "due_date",
    "effective_at",
    "footer",
    "from_invoice",
    "issuer",
    "metadata",
    "number",
    "on_behalf_of",
    "payment_settings",
    "pending_invoice_items_behavior",
    "rendering",
    "shipping_cost",
    "shipping_details",
    "statement_descriptor",
    "subscription",
    "transfer_data",
];
const CREATE_UNSUPPORTED: &[&str] = &[
    "account_tax_ids",
    "application_fee_amount",
    "automatic_tax",
    "automatically_finalizes_at",
    "custom_fields",
    "customer_account",
    "default_payment_method",
    "default_source",
    "default_tax_rates",
    "discounts",
    "due_date",
    "effective_at",
    "from_invoice",
    "issuer",
    "number",
    "on_behalf_of",
    "payment_settings",
    "rendering",
    "shipping_cost",
    "shipping_details",
    "statement_descriptor",
    "subscription",
    "transfer_data",
];
const FINALIZE: &[&str] = &["auto_advance"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/invoices", CREATE, create),
        Route::new(Method::Post, "/v1/invoices/{id}/finalize", FINALIZE, finalize),
        Route::new(Method::Post, "/v1/invoices/{id}/send", &[], send),
        Route::new(Method::Get, "/v1/invoices", LIST, list),
        Route::new(Method::Post, "/v1/invoices/create_preview", PREVIEW, create_preview),
        Route::new(Method::Get, "/v1/invoices/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/invoices/{id}", UPDATE, update),
        Route::new(Method::Get, "/v1/invoices/{id}/lines", PAGE, lines),
        Route::new(Method::Post, "/v1/invoices/{id}/pay", PAY, pay),
        Route::new(Method::Post, "/v1/invoices/{id}/void", &[], void),
        Route::new(Method::Get, "/v1/invoice_payments", PAYMENTS, list_payments),
        Route::new(Method::Get, "/v1/invoice_payments/{id}", &[], retrieve_payment),
    ]
}

const KIND: &str = "invoice";
const LABEL: &str = "invoice";

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

/// A one-off draft invoice for a customer. Pending invoice items are never pulled in
/// (`pending_invoice_items_behavior=exclude`, the default of current API versions); lines are
/// added by creating invoice items with `invoice`. Event `invoice.created`.
fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, CREATE_UNSUPPORTED)?;
    if one_of(p, "pending_invoice_items_behavior", &["exclude", "include"])?.as_deref() == Some("include") {
        return Err(ApiError::invalid_nocode(
            "The Stripe sandbox does not pull pending invoice items into invoices: create them with `invoice`.",
        )
        .param("pending_invoice_items_behavior"));
    }
    let customer_id = p.required_str("customer")?;
    let customer = ctx.load_ref("customer", "customer", &customer_id, "customer")?;
    let method = one_of(p, "collection_method", &["charge_automatically", "send_invoice"])?
        .unwrap_or_else(|| "charge_automatically".into());
    let days_until_due = p.i64("days_until_due")?;
    match (method.as_str(), days_until_due) {
        ("send_invoice", None) => {
            return Err(ApiError::invalid_nocode(
                "Invoices with `collection_method=send_invoice` need `days_until_due` (the sandbox does not model `due_date`).",
            )
            .param("days_until_due"));
        }
        ("send_invoice", Some(days)) if !(0..=1825).contains(&days) => {
            return Err(ApiError::invalid_nocode("`days_until_due` must be from 0 to 1825.").param("days_until_due"));
        }
        ("charge_automatically", Some(_)) => {
            return Err(ApiError::invalid_nocode(
                "You can only set `days_until_due` on invoices with `collection_method=send_invoice`.",
            )
            .param("days_until_due"));
        }
        _ => {}
    }
    let currency = match p.str("currency")? {
        Some(c) => c.to_ascii_lowercase(),
        None => match s(&customer, "currency") {
            "" => "usd".to_string(),
            c => c.to_string(),
        },
    };
    let id = crate::ids::new_id("in");
    let now = ctx.now();
    let blank = billing::BlankInvoice {
        id: &id,
        customer: &customer,
        customer_id: &customer_id,
        currency: &currency,
        billing_reason: "manual",
        now,
        clock: None,
    };
    let mut invoice = billing::blank_invoice(&blank)?;
    set(&mut invoice, "collection_method", json!(method));
    set(&mut invoice, "auto_advance", json!(p.bool("auto_advance")?.unwrap_or(false)));
    set(&mut invoice, "metadata", metadata(p, None)?);
    for key in ["description", "footer"] {
        if let Some(v) = p.str(key)? {
            set(&mut invoice, key, json!(v));
        }
    }
    ctx.save(&invoice)?;
    if let Some(days) = days_until_due.filter(|_| method == "send_invoice") {
        billing::set_internal(ctx.store, &id, "days_until_due", json!(days));
    }
    ctx.emit("invoice.created", &invoice);
    Ok(invoice)
}

/// Finalizes a draft (one-off) invoice; one with nothing due is paid at once, as on Stripe.
fn finalize(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let invoice = ctx.load(KIND, LABEL, &id)?;
    if s(&invoice, "status") != "draft" {
        return Err(ApiError::invalid(
            "invoice_not_editable",
            format!(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice ({}).",
                s(&invoice, "status")
            ),
        ));
    }
    let source = ctx.meta.source();
    let base_url = ctx.meta.base_url.clone();
    let mut finalized = billing::finalize_invoice(ctx.store, &source, &base_url, &id)?;
    if let Some(auto) = ctx.params.bool("auto_advance")? {
        set(&mut finalized, "auto_advance", json!(auto));
        ctx.save(&finalized)?;
    }
    if int(&finalized, "amount_due") == 0 {
        billing::mark_paid(ctx.store, &source, &id, None)?;
    }
    ctx.load(KIND, LABEL, &id)
}

/// "Emails" an open invoice sent for payment to its customer. Event `invoice.sent`.
fn send(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let invoice = ctx.load(KIND, LABEL, &id)?;
    if s(&invoice, "collection_method") != "send_invoice" {
        return Err(ApiError::invalid_nocode(
            "You can only manually send an invoice if its collection method is 'send_invoice'.",
        ));
    }
    if s(&invoice, "status") != "open" {
        return Err(ApiError::invalid(
            "invoice_not_open",
            format!("You can only send an open invoice; this one is {}.", s(&invoice, "status")),
        ));
    }
    ctx.emit("invoice.sent", &invoice);
    Ok(invoice)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, &["customer_account", "due_date"])?;
    let customer = p.str("customer")?;
    let subscription = p.str("subscription")?;
    let status = one_of(p, "status", &["draft", "open", "paid", "uncollectible", "void"])?;
    let method = one_of(p, "collection_method", &["charge_automatically", "send_invoice"])?;
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|x| customer.as_deref().is_none_or(|c| s(x, "customer") == c))
        .filter(|x| {
            subscription.as_deref().is_none_or(|sub| {
                x.pointer("/parent/subscription_details/subscription").and_then(Value::as_str) == Some(sub)
            })
        })
        .filter(|x| status.as_deref().is_none_or(|st| s(x, "status") == st))
        .filter(|x| method.as_deref().is_none_or(|m| s(x, "collection_method") == m))
        .cloned()
        .collect();
    list_response(items, "/v1/invoices", ctx.params)
}

/// `POST /v1/invoices/create_preview`: the invoice a change of an existing subscription would
/// create, computed by the same code as the update itself (see `subscriptions::preview`); nothing is
/// created, stored or emitted. Previews of new subscriptions, schedules and one-off invoice items
/// are not modelled (400).
fn create_preview(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let unsupported: Vec<&str> = PREVIEW.iter().copied().filter(|k| !PREVIEW_MODELLED.contains(k)).collect();
    super::reject_unsupported(p, &unsupported)?;
    let Some(sub_id) = p.str("subscription")? else {
        return Err(ApiError::invalid_nocode(
            "The Stripe sandbox previews changes to an existing subscription only: pass `subscription`.",
        )
        .param("subscription"));
    };
    let sub = ctx.load_ref("subscription", "subscription", &sub_id, "subscription")?;
    if let Some(customer) = p.str("customer")?
        && customer != s(&sub, "customer")
    {
        return Err(ApiError::invalid_nocode(format!(
            "The subscription {sub_id} does not belong to the customer {customer}."
        ))
        .param("customer"));
    }
    let details = match p.object("subscription_details")?.flatten() {
        Some(map) => {
            super::check_members(
                map,
                "subscription_details",
                &[PREVIEW_DETAILS, PREVIEW_DETAILS_UNSUPPORTED].concat(),
            )?;
            if let Some(key) = PREVIEW_DETAILS_UNSUPPORTED.iter().find(|k| map.contains_key(**k)) {
                return Err(ApiError::invalid_nocode(format!(
                    "The Stripe sandbox does not preview `subscription_details[{key}]` yet."
                ))
                .param(&format!("subscription_details[{key}]")));
            }
            Params { flat: Vec::new(), nested: map.clone() }
        }
        None => Params::default(),
    };
    super::subscriptions::preview(ctx, &details, &sub)
}

fn lines(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let invoice = ctx.load(KIND, LABEL, &id)?;
    // Lines are listed in invoice order (oldest first), as Stripe does.
    let mut items: Vec<Value> = invoice.pointer("/lines/data").and_then(Value::as_array).cloned().unwrap_or_default();
    items.reverse();
    let mut page = list_response(items, &format!("/v1/invoices/{id}/lines"), ctx.params)?;
    if let Some(data) = page.get_mut("data").and_then(Value::as_array_mut) {
        data.reverse();
    }
    Ok(page)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let old = ctx.load(KIND, LABEL, &id)?;
    let mut invoice = old.clone();
    let current = invoice.get("metadata").cloned();
    set(&mut invoice, "metadata", metadata(ctx.params, current.as_ref())?);
    for key in ["description", "footer"] {
        if let Some(v) = ctx.params.nullable_str(key)? {
            set(&mut invoice, key, json!(v));
        }
    }
    if let Some(auto) = ctx.params.bool("auto_advance")? {
        set(&mut invoice, "auto_advance", json!(auto));
    }
    ctx.save(&invoice)?;
    let clock = billing::object_clock(ctx.store, &id);
    let source = billing::dated(ctx.store, &ctx.meta.source(), clock.as_deref());
    if let Some(previous) = crate::store::previous_attributes(&old, &invoice) {
        ctx.store.emit(&source, "invoice.updated", &invoice, Some(previous));
    }
    Ok(invoice)
}

/// Attempts payment of an open invoice now (Stripe's manual retry). A decline answers 402 with the
/// card error, as on Stripe; `invoice.payment_failed` is emitted either way.
fn pay(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, &["forgive", "mandate", "source"])?;
    let id = ctx.path(0).to_string();
    let invoice = ctx.load(KIND, LABEL, &id)?;
    match s(&invoice, "status") {
        "paid" => return Err(ApiError::invalid("invoice_already_paid", "Invoice is already paid.")),
        "open" => {}
        other => {
            return Err(ApiError::invalid(
                "invoice_not_open",
                format!("This invoice can't be paid because its status is {other}."),
            ));
        }
    }
    let clock = billing::object_clock(ctx.store, &id);
    let source = billing::dated(ctx.store, &ctx.meta.source(), clock.as_deref());
    if p.bool("paid_out_of_band")?.unwrap_or(false) {
        // Paid outside Stripe: no payment attempt.
        billing::mark_paid(ctx.store, &source, &id, None)?;
        return ctx.load(KIND, LABEL, &id);
    }
    let account = ctx.meta.account.clone();
    let customer = s(&invoice, "customer").to_string();
    let pm = p.str("payment_method")?;
    if let Some(pm) = &pm {
        payment_methods::check_default(ctx.store, account.as_deref(), &customer, pm, "payment_method")?;
    }
    let sub = billing::internal(ctx.store, &id, "subscription")
        .and_then(|v| v.as_str().map(str::to_string))
        .and_then(|sid| ctx.store.stored(&sid).map(|o| o.value.clone()))
        .unwrap_or(Value::Null);
    let chosen = pm.clone().or_else(|| billing::default_payment_method(ctx.store, account.as_deref(), &sub));
    if chosen.is_none() && int(&invoice, "amount_due") > 0 {
        return Err(ApiError::invalid_nocode(
            "This customer has no attached payment source or default payment method. Please consider adding a default payment method.",
        ));
    }
    let off_session = p.bool("off_session")?.unwrap_or(true);
    let attempt = if off_session { Attempt::OffSession } else { Attempt::OnSession };
    let base_url = ctx.meta.base_url.clone();
    billing::collect(ctx.store, &source, &base_url, &id, attempt, chosen)?;
    let after = ctx.load(KIND, LABEL, &id)?;
    if s(&after, "status") == "paid" {
        return Ok(after);
    }
    // The attempt failed: answer the card error of the PaymentIntent's last attempt.
    let pi = billing::internal(ctx.store, &id, "payment_intent")
        .and_then(|v| v.as_str().map(str::to_string))
        .and_then(|pid| ctx.store.find("payment_intent", &pid, account.as_deref()).cloned())
        .unwrap_or(Value::Null);
    let last = pi.get("last_payment_error").cloned().unwrap_or(Value::Null);
    let message = last.get("message").and_then(Value::as_str).unwrap_or("Your card was declined.").to_string();
    let mut error = ApiError::new(402, ErrorType::Card, Some("card_declined"), message);
    if let Some(code) = last.get("decline_code").and_then(Value::as_str) {
        error = error.decline_code(static_decline(code));
    }
    if s(&pi, "status") == "requires_action" {
        error = ApiError::new(
            402,
            ErrorType::Card,
            Some("invoice_payment_intent_requires_action"),
            "This payment requires additional user action before it can be completed successfully.",
        );
    }
    Err(error.with("payment_intent", pi))
}

/// Decline codes as `'static` strings for errors (unknown ones become `generic_decline`).
fn static_decline(code: &str) -> &'static str {
    const CODES: &[&str] = &[
        "generic_decline",
        "insufficient_funds",
        "lost_card",
        "stolen_card",
        "expired_card",
        "incorrect_cvc",
        "processing_error",
        "authentication_required",
    ];
    CODES.iter().find(|c| **c == code).copied().unwrap_or("generic_decline")
}

fn void(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let invoice = ctx.load(KIND, LABEL, &id)?;
    if s(&invoice, "status") != "open" {
        return Err(ApiError::invalid(
            "invoice_not_open",
            format!("You can only void an open invoice; this one is {}.", s(&invoice, "status")),
        ));
    }
    let clock = billing::object_clock(ctx.store, &id);
    let source = billing::dated(ctx.store, &ctx.meta.source(), clock.as_deref());
    billing::void_invoice(ctx.store, &source, &id)
}

fn list_payments(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let invoice = p.str("invoice")?;
    let status = one_of(p, "status", &["canceled", "open", "paid"])?;
    let intent = match p.object("payment")?.flatten() {
        Some(m) => {
            super::check_members(m, "payment", &["payment_intent", "payment_record", "type"])?;
            super::member_str(m, "payment", "payment_intent")?
        }
        None => None,
    };
    let items: Vec<Value> = ctx
        .store
        .list("invoice_payment", ctx.account())
        .into_iter()
        .filter(|x| invoice.as_deref().is_none_or(|i| s(x, "invoice") == i))
        .filter(|x| status.as_deref().is_none_or(|st| s(x, "status") == st))
        .filter(|x| {
            intent.as_deref().is_none_or(|pi| x.pointer("/payment/payment_intent").and_then(Value::as_str) == Some(pi))
        })
        .cloned()
        .collect();
    list_response(items, "/v1/invoice_payments", ctx.params)
}

fn retrieve_payment(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load("invoice_payment", "invoice_payment", &id)
}

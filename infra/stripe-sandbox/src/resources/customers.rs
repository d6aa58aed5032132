//! Customers: create, retrieve, update, delete, list. Events `customer.created`,
//! `customer.updated` (with `previous_attributes`), `customer.deleted`.

use serde_json::{Map, Value, json};

use super::{metadata, one_of, payment_methods, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::params::Params;
use crate::router::{Ctx, Method, Route};

const CREATE: &[&str] = &[
    "address",
    "balance",
    "business_name",
    "cash_balance",
    "description",
    "email",
    "individual_name",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "payment_method",
    "phone",
    "preferred_locales",
    "shipping",
    "source",
    "tax",
    "tax_exempt",
    "tax_id_data",
    "test_clock",
    "validate",
];
const UPDATE: &[&str] = &[
    "address",
    "balance",
    "business_name",
    "cash_balance",
    "default_source",
    "description",
    "email",
    "individual_name",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "phone",
    "preferred_locales",
    "shipping",
    "source",
    "tax",
    "tax_exempt",
    "validate",
];
const LIST: &[&str] = &["created", "email", "ending_before", "limit", "starting_after", "test_clock"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/customers", CREATE, create),
        Route::new(Method::Get, "/v1/customers", LIST, list),
        Route::new(Method::Get, "/v1/customers/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/customers/{id}", UPDATE, update),
        Route::new(Method::Delete, "/v1/customers/{id}", &[], delete),
    ]
}

const LABEL: &str = "customer";

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    super::reject_unsupported(ctx.params, &["source", "cash_balance", "tax_id_data"])?;
    // A customer on a test clock lives at the clock's time.
    let clock = match ctx.params.str("test_clock")? {
        Some(clock) => {
            let found = ctx.load_ref("test_helpers.test_clock", "test_helpers.test_clock", &clock, "test_clock")?;
            if found.get("deleted") == Some(&Value::Bool(true)) {
                return Err(ApiError::missing_reference("test_helpers.test_clock", &clock, "test_clock"));
            }
            Some(clock)
        }
        None => None,
    };
    let now = crate::billing::clock_time(ctx.store, clock.as_deref());
    let source = ctx.meta.source().at(clock.as_ref().map(|_| now));
    let id = ids::new_id("cus");
    let mut customer = Value::Object(fixture("customer")?);
    let overrides = json!({
        "id": id,
        "created": now,
        "address": null,
        "balance": 0,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": null,
        "invoice_prefix": ids::random_chars(8).to_ascii_uppercase(),
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null,
        },
        "livemode": false,
        "metadata": {},
        "name": null,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    });
    merge(&mut customer, overrides);
    apply(ctx.params, &mut customer)?;
    set(&mut customer, "test_clock", json!(clock));
    let account = ctx.meta.account.clone();
    let attach = ctx.params.str("payment_method")?;
    if let Some(pm) = &attach
        && payment_methods::test_card(pm).is_none()
    {
        let found = ctx.load_ref("payment_method", "PaymentMethod", pm, "payment_method")?;
        if !s(&found, "customer").is_empty() {
            return Err(ApiError::invalid_nocode(
                "The payment method you provided has already been attached to a customer.",
            )
            .param("payment_method"));
        }
    }
    if let Some(pm) = customer.pointer("/invoice_settings/default_payment_method").and_then(Value::as_str)
        && Some(pm) != attach.as_deref()
    {
        payment_methods::check_default(
            ctx.store,
            account.as_deref(),
            &id,
            pm,
            "invoice_settings[default_payment_method]",
        )?;
    }
    ctx.save(&customer)?;
    if let Some(clock) = &clock
        && let Some(stored) = ctx.store.stored_mut(&id)
    {
        stored.internal.insert("test_clock".into(), json!(clock));
    }
    ctx.store.emit(&source, "customer.created", &customer, None);
    if let Some(pm) = attach {
        let resolved = payment_methods::resolve(ctx.store, account.as_deref(), &pm, "payment_method")?;
        payment_methods::attach_quietly(ctx.store, &source, &resolved, &id)?;
    }
    Ok(customer)
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load("customer", LABEL, &id)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    super::reject_unsupported(ctx.params, &["source", "default_source", "cash_balance"])?;
    let id = ctx.path(0).to_string();
    let old = live(ctx, &id)?;
    let mut customer = old.clone();
    apply(ctx.params, &mut customer)?;
    let default_pm = customer.pointer("/invoice_settings/default_payment_method").and_then(Value::as_str);
    if let Some(pm) = default_pm
        && old.pointer("/invoice_settings/default_payment_method").and_then(Value::as_str) != Some(pm)
    {
        payment_methods::check_default(ctx.store, ctx.account(), &id, pm, "invoice_settings[default_payment_method]")?;
    }
    let clock = crate::billing::object_clock(ctx.store, &id);
    let source = crate::billing::dated(ctx.store, &ctx.meta.source(), clock.as_deref());
    ctx.save(&customer)?;
    if let Some(previous) = crate::store::previous_attributes(&old, &customer) {
        ctx.store.emit(&source, "customer.updated", &customer, Some(previous));
    }
    Ok(customer)
}

fn delete(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let customer = live(ctx, &id)?;
    // As on Stripe, deleting a customer cancels their subscriptions right away.
    let clock = crate::billing::object_clock(ctx.store, &id);
    let source = crate::billing::dated(ctx.store, &ctx.meta.source(), clock.as_deref());
    let now = crate::billing::clock_time(ctx.store, clock.as_deref());
    let subscriptions: Vec<Value> = ctx
        .store
        .list("subscription", ctx.account())
        .into_iter()
        .filter(|sub| s(sub, "customer") == id && !["canceled", "incomplete_expired"].contains(&s(sub, "status")))
        .cloned()
        .collect();
    for mut sub in subscriptions {
        merge(
            &mut sub,
            json!({"status": "canceled", "canceled_at": now, "ended_at": now, "cancel_at": null, "cancel_at_period_end": false}),
        );
        if let Some(details) = sub.get_mut("cancellation_details").and_then(Value::as_object_mut) {
            details.insert("reason".into(), json!("cancellation_requested"));
        }
        ctx.save(&sub)?;
        ctx.store.emit(&source, "customer.subscription.deleted", &sub, None);
    }
    let mut deleted = Value::Object(fixture("deleted_customer")?);
    set(&mut deleted, "id", json!(id));
    ctx.save(&deleted)?;
    ctx.store.emit(&source, "customer.deleted", &customer, None);
    Ok(deleted)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let email = ctx.params.str("email")?;
    let clock = ctx.params.str("test_clock")?;
    let items: Vec<Value> = ctx
        .store
        .list("customer", ctx.account())
        .into_iter()
        .filter(|c| email.as_deref().is_none_or(|e| c.get("email").and_then(Value::as_str) == Some(e)))
        .filter(|c| clock.as_deref().is_none_or(|t| c.get("test_clock").and_then(Value::as_str) == Some(t)))
        .cloned()
        .collect();
    list_response(items, "/v1/customers", ctx.params)
}

/// A customer that exists and is not deleted (updating a deleted customer is a 404 on Stripe).
fn live(ctx: &Ctx<'_>, id: &str) -> ApiResult<Value> {
    let customer = ctx.load("customer", LABEL, id)?;
    if customer.get("deleted") == Some(&Value::Bool(true)) {
        return Err(ApiError::not_found(LABEL, id));
    }
    Ok(customer)
}

fn merge(target: &mut Value, overrides: Value) {
    if let (Some(t), Value::Object(o)) = (target.as_object_mut(), overrides) {
        for (k, v) in o {
            t.insert(k, v);
        }
    }
}

/// The writable fields shared by create and update.
fn apply(params: &Params, customer: &mut Value) -> ApiResult<()> {
    for key in ["description", "name", "phone", "invoice_prefix", "business_name", "individual_name"] {
        if let Some(v) = params.nullable_str(key)? {
            set(customer, key, json!(v));
        }
    }
    if let Some(email) = params.nullable_str("email")? {
        if let Some(e) = &email
            && (!e.contains('@') || e.starts_with('@') || e.ends_with('@'))
        {
            return Err(ApiError::invalid("email_invalid", format!("Invalid email address: {e}")).param("email"));
        }
        set(customer, "email", json!(email));
    }
    if let Some(balance) = params.i64("balance")? {
        set(customer, "balance", json!(balance));
    }
    if let Some(seq) = params.i64("next_invoice_sequence")? {
        set(customer, "next_invoice_sequence", json!(seq));
    }
    if let Some(tax_exempt) = one_of(params, "tax_exempt", &["none", "exempt", "reverse"])? {
        set(customer, "tax_exempt", json!(tax_exempt));
    }
    if let Some(locales) = params.str_list("preferred_locales")? {
        set(customer, "preferred_locales", json!(locales));
    }
    if let Some(address) = params.object("address")? {
        let rendered = match address {
            None => Value::Null,
            Some(a) => address_value(a, "address")?,
        };
        set(customer, "address", rendered);
    }
    if let Some(shipping) = params.object("shipping")? {
        let rendered = match shipping {
            None => Value::Null,
            Some(s) => shipping_value(s)?,
        };
        set(customer, "shipping", rendered);
    }
    if let Some(settings) = params.object("invoice_settings")?.flatten()
        && let Some(pm) = settings.get("default_payment_method")
    {
        let pm = crate::params::value_str(pm, "invoice_settings[default_payment_method]")?;
        let pm = if pm.is_empty() { Value::Null } else { json!(pm) };
        if let Some(obj) = customer.get_mut("invoice_settings").and_then(Value::as_object_mut) {
            obj.insert("default_payment_method".into(), pm);
        }
    }
    let current = customer.get("metadata").cloned();
    set(customer, "metadata", metadata(params, current.as_ref())?);
    Ok(())
}

const ADDRESS_FIELDS: [&str; 6] = ["city", "country", "line1", "line2", "postal_code", "state"];

fn address_value(given: &Map<String, Value>, param: &str) -> ApiResult<Value> {
    let mut out = Map::new();
    for (k, v) in given {
        if !ADDRESS_FIELDS.contains(&k.as_str()) {
            return Err(ApiError::unknown_param(&format!("{param}[{k}]")));
        }
        let s = crate::params::value_str(v, &format!("{param}[{k}]"))?;
        out.insert(k.clone(), if s.is_empty() { Value::Null } else { json!(s) });
    }
    for field in ADDRESS_FIELDS {
        out.entry(field).or_insert(Value::Null);
    }
    Ok(Value::Object(out))
}

fn shipping_value(given: &Map<String, Value>) -> ApiResult<Value> {
    let mut out = Map::new();
    for (k, v) in given {
        match k.as_str() {
            "address" => {
                let a = v.as_object().ok_or_else(|| ApiError::missing_param("shipping[address]"))?;
                out.insert("address".into(), address_value(a, "shipping[address]")?);
            }
            "name" | "phone" => {
                out.insert(k.clone(), json!(crate::params::value_str(v, &format!("shipping[{k}]"))?));
            }
            _ => return Err(ApiError::unknown_param(&format!("shipping[{k}]"))),
        }
    }
    if !out.contains_key("address") {
        return Err(ApiError::missing_param("shipping[address]"));
    }
    if !out.contains_key("name") {
        return Err(ApiError::missing_param("shipping[name]"));
    }
    out.entry("phone").or_insert(Value::Null);
    Ok(Value::Object(out))
}

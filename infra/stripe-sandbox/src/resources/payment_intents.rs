//! PaymentIntents: create (optionally `confirm=true`), retrieve, update, confirm, cancel, list;
//! plus the client-side steps tests drive through the control API (confirm as Stripe.js would,
//! complete or fail a 3-D Secure challenge).
//!
//! Events: `payment_intent.created`, `.succeeded`, `.payment_failed`, `.requires_action`,
//! `.canceled`, and `charge.succeeded` / `charge.failed` for the Charge of each attempt.

use serde_json::{Value, json};

use super::charges::{self, Outcome};
use super::payment_methods::{self, AUTHENTICATION_REQUIRED, Behavior};
use super::{metadata, one_of, reject_unsupported, s, set};
use crate::error::{ApiError, ApiResult, ErrorType};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::money;
use crate::params::Params;
use crate::router::{Ctx, Method, Route};
use crate::store::{EventSource, Store};

const CREATE: &[&str] = &[
    "allowed_payment_method_types",
    "amount",
    "amount_details",
    "application_fee_amount",
    "automatic_payment_methods",
    "capture_method",
    "confirm",
    "confirmation_method",
    "confirmation_token",
    "currency",
    "customer",
    "customer_account",
    "description",
    "error_on_requires_action",
    "excluded_payment_method_types",
    "hooks",
    "mandate",
    "mandate_data",
    "metadata",
    "off_session",
    "on_behalf_of",
    "payment_details",
    "payment_method",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "radar_options",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
    "use_stripe_sdk",
];
const UPDATE: &[&str] = &[
    "allowed_payment_method_types",
    "amount",
    "amount_details",
    "application_fee_amount",
    "capture_method",
    "currency",
    "customer",
    "customer_account",
    "description",
    "excluded_payment_method_types",
    "hooks",
    "metadata",
    "payment_details",
    "payment_method",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
];
const CONFIRM: &[&str] = &[
    "allowed_payment_method_types",
    "amount_details",
    "amount_to_confirm",
    "capture_method",
    "confirmation_token",
    "error_on_requires_action",
    "excluded_payment_method_types",
    "hooks",
    "mandate",
    "mandate_data",
    "off_session",
    "payment_details",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "radar_options",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "use_stripe_sdk",
];
const CANCEL: &[&str] = &["cancellation_reason"];
const LIST: &[&str] = &["created", "customer", "customer_account", "ending_before", "limit", "starting_after"];
const RETRIEVE: &[&str] = &["client_secret"];

/// Parameters the sandbox cannot model yet: a clear 400 instead of a silently wrong answer.
const UNSUPPORTED: &[&str] = &["confirmation_token", "payment_method_data", "customer_account", "amount_to_confirm"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/payment_intents", CREATE, create),
        Route::new(Method::Get, "/v1/payment_intents", LIST, list),
        Route::new(Method::Get, "/v1/payment_intents/{id}", RETRIEVE, retrieve),
        Route::new(Method::Post, "/v1/payment_intents/{id}", UPDATE, update),
        Route::new(Method::Post, "/v1/payment_intents/{id}/confirm", CONFIRM, confirm),
        Route::new(Method::Post, "/v1/payment_intents/{id}/cancel", CANCEL, cancel),
    ]
}

const KIND: &str = "payment_intent";
const LABEL: &str = "payment_intent";
const CANCELABLE: &[&str] =
    &["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing"];
const CONFIRMABLE: &[&str] = &["requires_payment_method", "requires_confirmation", "requires_action"];

/// Arguments of a confirmation, from `confirm=true` on create, `/confirm`, or the client helper.
#[derive(Debug, Default, Clone)]
pub struct ConfirmArgs {
    pub payment_method: Option<String>,
    pub return_url: Option<String>,
    pub off_session: bool,
    pub error_on_requires_action: bool,
    pub use_stripe_sdk: bool,
    /// Confirmed by the client (Stripe.js handles 3-D Secure in place: no `return_url` needed).
    pub from_client: bool,
}

impl ConfirmArgs {
    pub fn from_params(params: &Params) -> ApiResult<ConfirmArgs> {
        Ok(ConfirmArgs {
            payment_method: params.str("payment_method")?,
            return_url: params.str("return_url")?,
            off_session: off_session(params)?,
            error_on_requires_action: params.bool("error_on_requires_action")?.unwrap_or(false),
            use_stripe_sdk: params.bool("use_stripe_sdk")?.unwrap_or(false),
            from_client: false,
        })
    }
}

/// `off_session` is a boolean or `one_off`/`recurring`.
fn off_session(params: &Params) -> ApiResult<bool> {
    match params.str("off_session")?.as_deref() {
        None | Some("false") => Ok(false),
        Some("true" | "one_off" | "recurring") => Ok(true),
        Some(other) => Err(ApiError::invalid_nocode(format!(
            "Invalid off_session: must be a boolean, one_off or recurring (got {other})"
        ))
        .param("off_session")),
    }
}

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, UNSUPPORTED)?;
    let amount = p.required_i64("amount")?;
    let currency = money::currency(&p.required_str("currency")?, "currency")?;
    money::charge_amount(amount, &currency)?;
    let capture_method = one_of(p, "capture_method", &["automatic", "automatic_async", "manual"])?
        .unwrap_or_else(|| "automatic_async".into());
    if capture_method == "manual" {
        return Err(ApiError::invalid_nocode("The Stripe sandbox does not support capture_method=manual yet.")
            .param("capture_method"));
    }
    let confirmation_method =
        one_of(p, "confirmation_method", &["automatic", "manual"])?.unwrap_or_else(|| "automatic".into());
    let confirm = p.bool("confirm")?.unwrap_or(false);
    let args = ConfirmArgs::from_params(p)?;
    if !confirm {
        for key in ["off_session", "error_on_requires_action", "return_url", "use_stripe_sdk"] {
            if p.has(key) {
                return Err(ApiError::invalid_nocode(format!("You may only specify `{key}` when `confirm` is true."))
                    .param(key));
            }
        }
    }
    let customer = match p.str("customer")? {
        Some(c) => {
            let found = ctx.load_ref("customer", "customer", &c, "customer")?;
            if found.get("deleted") == Some(&Value::Bool(true)) {
                return Err(ApiError::missing_reference("customer", &c, "customer"));
            }
            Some(c)
        }
        None => None,
    };
    let methods = payment_method_types(p)?;
    let automatic = automatic_payment_methods(p, methods.is_some())?;
    if confirm && args.payment_method.is_none() {
        return Err(missing_payment_method(None));
    }
    if confirm && redirects_allowed(&automatic) && args.return_url.is_none() && !args.off_session {
        return Err(return_url_required());
    }
    let account = ctx.meta.account.clone();
    let payment_method = match &args.payment_method {
        Some(pm) => Some(payment_methods::resolve(ctx.store, account.as_deref(), pm, "payment_method")?),
        None => None,
    };

    let id = ids::new_id("pi");
    let mut pi = Value::Object(fixture("payment_intent")?);
    let status = if payment_method.is_some() { "requires_confirmation" } else { "requires_payment_method" };
    let overrides = json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": null,
        "application_fee_amount": p.i64("application_fee_amount")?,
        "automatic_payment_methods": automatic,
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": capture_method,
        "client_secret": ids::client_secret(&id),
        "confirmation_method": confirmation_method,
        "created": ctx.now(),
        "currency": currency,
        "customer": customer,
        "customer_account": null,
        "description": p.str("description")?,
        "excluded_payment_method_types": null,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "managed_payments": null,
        "metadata": metadata(p, None)?,
        "next_action": null,
        "on_behalf_of": p.str("on_behalf_of")?,
        "payment_method": payment_method,
        "payment_method_configuration_details": if automatic.is_null() { Value::Null } else {
            json!({"id": "pmc_sandbox_default", "parent": null})
        },
        "payment_method_options": {
            "card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": methods.clone().unwrap_or_else(|| vec!["card".into()]),
        "processing": null,
        "receipt_email": p.str("receipt_email")?,
        "review": null,
        "setup_future_usage": one_of(p, "setup_future_usage", &["off_session", "on_session"])?,
        "shipping": null,
        "source": null,
        "statement_descriptor": p.str("statement_descriptor")?,
        "statement_descriptor_suffix": p.str("statement_descriptor_suffix")?,
        "status": status,
        "transfer_data": transfer_data(p)?,
        "transfer_group": p.str("transfer_group")?,
    });
    if let (Some(obj), Value::Object(o)) = (pi.as_object_mut(), overrides) {
        obj.extend(o);
    }
    if let Some(allowed) = p.str_list("allowed_payment_method_types")? {
        set(&mut pi, "allowed_payment_method_types", json!(allowed));
    }
    ctx.save(&pi)?;
    if let Some(stored) = ctx.store.stored_mut(&id) {
        stored.internal.insert("confirmation_count".into(), json!(0));
    }
    ctx.emit("payment_intent.created", &pi);
    if confirm {
        let source = ctx.meta.source();
        let base = ctx.meta.base_url.clone();
        let confirm_args = ConfirmArgs { payment_method: None, ..args };
        return confirm_intent(ctx.store, &source, &base, &id, confirm_args);
    }
    Ok(pi)
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let customer = ctx.params.str("customer")?;
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|pi| customer.as_deref().is_none_or(|c| s(pi, "customer") == c))
        .cloned()
        .collect();
    list_response(items, "/v1/payment_intents", ctx.params)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, UNSUPPORTED)?;
    let id = ctx.path(0).to_string();
    let old = ctx.load(KIND, LABEL, &id)?;
    let mut pi = old.clone();
    let status = s(&old, "status").to_string();
    let open = CONFIRMABLE.contains(&status.as_str());
    let guarded = [
        "amount",
        "currency",
        "payment_method",
        "capture_method",
        "setup_future_usage",
        "payment_method_types",
        "customer",
        "application_fee_amount",
    ];
    if !open && let Some(key) = guarded.iter().find(|k| p.has(k)) {
        return Err(unexpected_state(
            format!(
                "This PaymentIntent's {key} could not be updated because it has a status of {status}. You may only update the {key} of a PaymentIntent with one of the following statuses: requires_payment_method, requires_confirmation, requires_action."
            ),
            &old,
        ));
    }
    let currency = match p.str("currency")? {
        Some(c) => money::currency(&c, "currency")?,
        None => s(&old, "currency").to_string(),
    };
    set(&mut pi, "currency", json!(currency));
    if let Some(amount) = p.i64("amount")? {
        money::charge_amount(amount, &currency)?;
        set(&mut pi, "amount", json!(amount));
    }
    if let Some(customer) = p.nullable_str("customer")? {
        if let Some(c) = &customer {
            ctx.load_ref("customer", "customer", c, "customer")?;
        }
        set(&mut pi, "customer", json!(customer));
    }
    for key in ["description", "receipt_email", "statement_descriptor", "statement_descriptor_suffix", "transfer_group"]
    {
        if let Some(v) = p.nullable_str(key)? {
            set(&mut pi, key, json!(v));
        }
    }
    if let Some(fee) = p.i64("application_fee_amount")? {
        set(&mut pi, "application_fee_amount", json!(fee));
    }
    if let Some(sfu) = one_of(p, "setup_future_usage", &["off_session", "on_session"])? {
        set(&mut pi, "setup_future_usage", json!(sfu));
    }
    if let Some(methods) = payment_method_types(p)? {
        set(&mut pi, "payment_method_types", json!(methods));
    }
    if p.has("transfer_data") {
        set(&mut pi, "transfer_data", transfer_data(p)?);
    }
    let current = pi.get("metadata").cloned();
    set(&mut pi, "metadata", metadata(p, current.as_ref())?);
    if let Some(pm) = p.str("payment_method")? {
        let account = ctx.meta.account.clone();
        let resolved = payment_methods::resolve(ctx.store, account.as_deref(), &pm, "payment_method")?;
        set(&mut pi, "payment_method", json!(resolved));
        set(&mut pi, "status", json!("requires_confirmation"));
        set(&mut pi, "next_action", Value::Null);
    }
    ctx.save(&pi)?;
    Ok(pi)
}

fn confirm(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    reject_unsupported(ctx.params, UNSUPPORTED)?;
    let id = ctx.path(0).to_string();
    let args = ConfirmArgs::from_params(ctx.params)?;
    let source = ctx.meta.source();
    let base = ctx.meta.base_url.clone();
    confirm_intent(ctx.store, &source, &base, &id, args)
}

fn cancel(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let reason =
        one_of(ctx.params, "cancellation_reason", &["duplicate", "fraudulent", "requested_by_customer", "abandoned"])?;
    let mut pi = ctx.load(KIND, LABEL, &id)?;
    let status = s(&pi, "status").to_string();
    if !CANCELABLE.contains(&status.as_str()) {
        return Err(unexpected_state(
            format!(
                "You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be canceled: {}.",
                CANCELABLE.join(", ")
            ),
            &pi,
        ));
    }
    set(&mut pi, "status", json!("canceled"));
    set(&mut pi, "canceled_at", json!(ctx.now()));
    set(&mut pi, "cancellation_reason", json!(reason));
    set(&mut pi, "next_action", Value::Null);
    ctx.save(&pi)?;
    ctx.emit("payment_intent.canceled", &pi);
    Ok(pi)
}

/// Confirms the PaymentIntent `id` (server-side or as the client would). A decline is saved and
/// answered as Stripe's 402 `card_error` carrying the PaymentIntent.
pub fn confirm_intent(
    store: &mut Store,
    source: &EventSource,
    base_url: &str,
    id: &str,
    args: ConfirmArgs,
) -> ApiResult<Value> {
    let account = source.account.clone();
    let account = account.as_deref();
    let mut pi = store.find(KIND, id, account).cloned().ok_or_else(|| ApiError::not_found(LABEL, id))?;
    // A PaymentIntent of a customer on a test clock happens at the clock's time.
    let clock = crate::billing::object_clock(store, id);
    let source = &source.at(source.at.or_else(|| clock.as_deref().map(|c| crate::billing::clock_time(store, Some(c)))));
    let status = s(&pi, "status").to_string();
    if status == "succeeded" {
        return Err(unexpected_state(
            "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
            &pi,
        ));
    }
    if !CONFIRMABLE.contains(&status.as_str()) {
        return Err(unexpected_state(
            format!("You cannot confirm this PaymentIntent because it has a status of {status}."),
            &pi,
        ));
    }
    let pm_id = match &args.payment_method {
        Some(pm) => payment_methods::resolve(store, account, pm, "payment_method")?,
        None => match pi.get("payment_method").and_then(Value::as_str) {
            Some(pm) => pm.to_string(),
            None => return Err(missing_payment_method(Some(&pi))),
        },
    };
    let internal = store.stored(id).map(|o| o.internal.clone()).unwrap_or_default();
    let return_url =
        args.return_url.clone().or_else(|| internal.get("return_url").and_then(Value::as_str).map(str::to_string));
    let apm = pi.get("automatic_payment_methods").cloned().unwrap_or(Value::Null);
    if redirects_allowed(&apm) && return_url.is_none() && !args.off_session && !args.from_client {
        return Err(return_url_required());
    }

    let card = payment_methods::card_of(store, &pm_id);
    let pm = payment_methods::object(store, account, &pm_id);
    set(&mut pi, "payment_method", json!(pm_id));
    set(&mut pi, "last_payment_error", Value::Null);
    set(&mut pi, "next_action", Value::Null);
    if let Some(stored) = store.stored_mut(id) {
        if let Some(url) = &return_url {
            stored.internal.insert("return_url".into(), json!(url));
        }
        let count = stored.internal.get("confirmation_count").and_then(Value::as_i64).unwrap_or(0);
        stored.internal.insert("confirmation_count".into(), json!(count + 1));
    }
    let authenticated = internal.get("authenticated_payment_method").and_then(Value::as_str) == Some(&pm_id);
    let mut behavior = card.map(|c| c.behavior).unwrap_or(Behavior::Succeed);
    if forced_decline(store, account, s(&pi, "customer")).is_some() {
        behavior = CUSTOMER_FAIL;
    }
    match behavior {
        Behavior::RequireAuthentication if !authenticated => {
            if args.off_session || args.error_on_requires_action {
                decline(store, source, pi, &pm, AUTHENTICATION_REQUIRED)
            } else {
                let action_url = format!("{base_url}_sandbox/3ds/{id}");
                let next_action = match (&return_url, args.use_stripe_sdk) {
                    (Some(url), false) => json!({
                        "type": "redirect_to_url",
                        "redirect_to_url": {"return_url": url, "url": action_url},
                    }),
                    _ => json!({
                        "type": "use_stripe_sdk",
                        "use_stripe_sdk": {
                            "type": "three_d_secure_redirect",
                            "stripe_js": action_url,
                            "source": ids::new_id("src"),
                        },
                    }),
                };
                set(&mut pi, "status", json!("requires_action"));
                set(&mut pi, "next_action", next_action);
                store.put(pi.clone(), account)?;
                store.emit(source, "payment_intent.requires_action", &pi, None);
                Ok(pi)
            }
        }
        Behavior::Decline { .. } => decline(store, source, pi, &pm, behavior),
        _ => succeed(store, source, pi, &pm, authenticated),
    }
}

/// Completes (or fails) the 3-D Secure challenge of a `requires_action` PaymentIntent, as the
/// customer would in the browser. Events carry no request.
pub fn authenticate(store: &mut Store, account: Option<&str>, id: &str, succeed_auth: bool) -> ApiResult<Value> {
    let clock = crate::billing::object_clock(store, id);
    let at = clock.as_deref().map(|c| crate::billing::clock_time(store, Some(c)));
    let source = EventSource { account: account.map(str::to_string), at, ..EventSource::default() };
    let mut pi = store.find(KIND, id, account).cloned().ok_or_else(|| ApiError::not_found(LABEL, id))?;
    let status = s(&pi, "status").to_string();
    if status != "requires_action" {
        return Err(unexpected_state(
            format!(
                "This PaymentIntent has a status of {status}; only a PaymentIntent in requires_action can be authenticated."
            ),
            &pi,
        ));
    }
    let pm_id = s(&pi, "payment_method").to_string();
    let pm = payment_methods::object(store, account, &pm_id);
    set(&mut pi, "next_action", Value::Null);
    if succeed_auth {
        if let Some(stored) = store.stored_mut(id) {
            stored.internal.insert("authenticated_payment_method".into(), json!(pm_id));
        }
        if s(&pi, "confirmation_method") == "manual" {
            set(&mut pi, "status", json!("requires_confirmation"));
            store.put(pi.clone(), account)?;
            return Ok(pi);
        }
        return succeed(store, &source, pi, &pm, true);
    }
    let error = ApiError::new(
        400,
        ErrorType::InvalidRequest,
        Some("payment_intent_authentication_failure"),
        "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
    )
    .with("payment_method", pm);
    set(&mut pi, "last_payment_error", error.error_object());
    set(&mut pi, "status", json!("requires_payment_method"));
    set(&mut pi, "payment_method", Value::Null);
    store.put(pi.clone(), account)?;
    store.emit(&source, "payment_intent.payment_failed", &pi, None);
    crate::billing::on_intent_failed(store, &source, &pi)?;
    Ok(pi)
}

fn succeed(
    store: &mut Store,
    source: &EventSource,
    mut pi: Value,
    pm: &Value,
    three_d_secure: bool,
) -> ApiResult<Value> {
    let account = source.account.as_deref();
    let now = source.at.unwrap_or_else(|| store.now());
    let charge = charges::build(&pi, pm, &Outcome::Succeeded { three_d_secure }, now)?;
    let amount = pi.get("amount").cloned().unwrap_or(Value::Null);
    set(&mut pi, "status", json!("succeeded"));
    set(&mut pi, "amount_received", amount);
    set(&mut pi, "latest_charge", charge.get("id").cloned().unwrap_or(Value::Null));
    set(&mut pi, "next_action", Value::Null);
    set(&mut pi, "last_payment_error", Value::Null);
    store.put(charge.clone(), account)?;
    // The funds are pending first and available after the configured hold (sandbox clock).
    let hold =
        if payment_methods::bypasses_pending(store, s(pm, "id")) { 0 } else { store.config.available_after_seconds };
    let available_on = store.now().saturating_add(hold);
    charges::set_available_on(store, s(&charge, "id"), available_on);
    store.put(pi.clone(), account)?;
    store.emit(source, "charge.succeeded", &charge, None);
    store.emit(source, "payment_intent.succeeded", &pi, None);
    // As on Stripe, a payment for a customer with `setup_future_usage` saves the card to them.
    let customer = s(&pi, "customer").to_string();
    if !customer.is_empty() && !s(&pi, "setup_future_usage").is_empty() {
        payment_methods::attach_quietly(store, source, s(&pi, "payment_method"), &customer)?;
    }
    crate::billing::on_intent_succeeded(store, source, &pi)?;
    Ok(pi)
}

fn decline(store: &mut Store, source: &EventSource, mut pi: Value, pm: &Value, behavior: Behavior) -> ApiResult<Value> {
    let Behavior::Decline { code, decline_code, message } = behavior else {
        return Err(ApiError::internal("decline called without a decline"));
    };
    let account = source.account.as_deref();
    let mut error = ApiError::new(402, ErrorType::Card, Some(code), message).decline_code(decline_code);
    let now = source.at.unwrap_or_else(|| store.now());
    let charge = charges::build(&pi, pm, &Outcome::Declined { error: &error }, now)?;
    let charge_id = charge.get("id").cloned().unwrap_or(Value::Null);
    error = error.with("charge", charge_id.clone()).with("payment_method", pm.clone());
    set(&mut pi, "last_payment_error", error.error_object());
    set(&mut pi, "status", json!("requires_payment_method"));
    set(&mut pi, "payment_method", Value::Null);
    set(&mut pi, "latest_charge", charge_id);
    store.put(charge.clone(), account)?;
    store.put(pi.clone(), account)?;
    store.emit(source, "charge.failed", &charge, None);
    store.emit(source, "payment_intent.payment_failed", &pi, None);
    crate::billing::on_intent_failed(store, source, &pi)?;
    Err(error.with("payment_intent", pi))
}

/// How a customer marked with `POST /_sandbox/customers/{id}/fail_charges` is declined, like the
/// test card `pm_card_chargeCustomerFail`.
const CUSTOMER_FAIL: Behavior =
    Behavior::Decline { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." };

/// The decline every charge of `customer` gets while its charges are made to fail.
pub fn forced_decline(store: &Store, account: Option<&str>, customer: &str) -> Option<ApiError> {
    let fails = store
        .stored(customer)
        .filter(|o| o.account.as_deref() == account)
        .and_then(|o| o.internal.get("fail_charges"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    fails.then(|| {
        ApiError::new(402, ErrorType::Card, Some("card_declined"), "Your card was declined.")
            .decline_code("generic_decline")
    })
}

/// What an invoice's PaymentIntent is for.
#[derive(Debug, Clone)]
pub struct InvoiceIntent {
    pub customer: String,
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub invoice: String,
    pub test_clock: Option<String>,
}

/// The PaymentIntent Stripe creates when it finalizes an invoice with an amount due (cards only,
/// saved for future off-session use). Event `payment_intent.created`.
pub fn create_for_invoice(store: &mut Store, source: &EventSource, spec: &InvoiceIntent) -> ApiResult<Value> {
    let account = store.stored(&spec.invoice).and_then(|o| o.account.clone());
    let id = ids::new_id("pi");
    let now = source.at.unwrap_or_else(|| store.now());
    let mut pi = Value::Object(fixture("payment_intent")?);
    let overrides = json!({
        "id": id,
        "object": "payment_intent",
        "amount": spec.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": null,
        "application_fee_amount": null,
        "automatic_payment_methods": null,
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": "automatic",
        "client_secret": ids::client_secret(&id),
        "confirmation_method": "automatic",
        "created": now,
        "currency": spec.currency,
        "customer": spec.customer,
        "customer_account": null,
        "description": spec.description,
        "excluded_payment_method_types": null,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "managed_payments": null,
        "metadata": {},
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": null,
        "payment_method_configuration_details": null,
        "payment_method_options": {
            "card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": ["card"],
        "processing": null,
        "receipt_email": null,
        "review": null,
        "setup_future_usage": "off_session",
        "shipping": null,
        "source": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": "requires_payment_method",
        "transfer_data": null,
        "transfer_group": null,
    });
    if let (Some(obj), Value::Object(o)) = (pi.as_object_mut(), overrides) {
        obj.extend(o);
    }
    store.put(pi.clone(), account.as_deref())?;
    if let Some(stored) = store.stored_mut(&id) {
        stored.internal.insert("confirmation_count".into(), json!(0));
        stored.internal.insert("invoice".into(), json!(spec.invoice));
        if let Some(clock) = &spec.test_clock {
            stored.internal.insert("test_clock".into(), json!(clock));
        }
    }
    store.emit(source, "payment_intent.created", &pi, None);
    Ok(pi)
}

/// Automatic payment methods that may redirect (the default since API version 2023-08-16).
pub(crate) fn redirects_allowed(automatic_payment_methods: &Value) -> bool {
    automatic_payment_methods
        .as_object()
        .filter(|a| a.get("enabled") == Some(&Value::Bool(true)))
        .is_some_and(|a| a.get("allow_redirects").and_then(Value::as_str) != Some("never"))
}

/// Stripe refuses a server-side confirmation without `return_url` when the PaymentIntent accepts
/// redirect-based payment methods.
pub(crate) fn return_url_required() -> ApiError {
    ApiError::invalid_nocode(
        "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.",
    )
    .param("return_url")
}

fn unexpected_state(message: impl Into<String>, pi: &Value) -> ApiError {
    ApiError::invalid("payment_intent_unexpected_state", message).with("payment_intent", pi.clone())
}

fn missing_payment_method(pi: Option<&Value>) -> ApiError {
    let error = ApiError::invalid(
        "payment_intent_unexpected_state",
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method or ConfirmationToken.",
    );
    match pi {
        Some(pi) => error.with("payment_intent", pi.clone()),
        None => error,
    }
}

/// `payment_method_types` (or `allowed_payment_method_types`, its newer name).
pub(crate) fn payment_method_types(p: &Params) -> ApiResult<Option<Vec<String>>> {
    match p.str_list("payment_method_types")? {
        Some(types) => Ok(Some(types)),
        None => p.str_list("allowed_payment_method_types"),
    }
}

/// Enabled by default when no payment method types are given (API versions since 2023-08-16).
pub(crate) fn automatic_payment_methods(p: &Params, explicit_types: bool) -> ApiResult<Value> {
    match p.object("automatic_payment_methods")?.flatten() {
        Some(apm) => {
            let enabled = match apm.get("enabled") {
                Some(v) => crate::params::value_bool(v, "automatic_payment_methods[enabled]")?,
                None => return Err(ApiError::missing_param("automatic_payment_methods[enabled]")),
            };
            if !enabled {
                return Ok(Value::Null);
            }
            if explicit_types {
                return Err(ApiError::invalid(
                    "parameters_exclusive",
                    "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
                ));
            }
            let redirects = match apm.get("allow_redirects") {
                Some(v) => {
                    let r = crate::params::value_str(v, "automatic_payment_methods[allow_redirects]")?;
                    if r != "always" && r != "never" {
                        return Err(ApiError::invalid_nocode(
                            "Invalid automatic_payment_methods[allow_redirects]: must be one of always, never",
                        )
                        .param("automatic_payment_methods[allow_redirects]"));
                    }
                    r
                }
                None => "always".to_string(),
            };
            Ok(json!({"allow_redirects": redirects, "enabled": true}))
        }
        None if explicit_types => Ok(Value::Null),
        None => Ok(json!({"allow_redirects": "always", "enabled": true})),
    }
}

fn transfer_data(p: &Params) -> ApiResult<Value> {
    match p.object("transfer_data")?.flatten() {
        None => Ok(Value::Null),
        Some(t) => {
            let destination = match t.get("destination") {
                Some(v) => crate::params::value_str(v, "transfer_data[destination]")?,
                None => return Err(ApiError::missing_param("transfer_data[destination]")),
            };
            let amount = match t.get("amount") {
                Some(v) => json!(crate::params::value_i64(v, "transfer_data[amount]")?),
                None => Value::Null,
            };
            Ok(json!({"amount": amount, "destination": destination}))
        }
    }
}

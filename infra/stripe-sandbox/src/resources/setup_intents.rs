//! SetupIntents: create (optionally `confirm=true`), retrieve, confirm, cancel, list; plus the
//! client-side steps tests and the console drive through the control API (confirm as Stripe.js
//! would, complete or fail the 3-D Secure challenge on the same `/_sandbox/3ds/{id}` page as
//! PaymentIntents).
//!
//! A confirmation honours the test cards as a payment does: a succeeding card sets the intent
//! up at once; a declining card is Stripe's 402 `card_error` carrying the SetupIntent (back in
//! `requires_payment_method`, except `pm_card_chargeCustomerFail`, which sets up and declines
//! only its charges); a 3-D Secure card asks for authentication (`requires_action`). On success
//! the PaymentMethod is attached to the intent's customer.
//!
//! Events: `setup_intent.created`, `.succeeded`, `.setup_failed`, `.requires_action`,
//! `.canceled`, and `payment_method.attached`.

use serde_json::{Value, json};

use super::payment_methods::{self, Behavior};
use super::{metadata, one_of, reject_unsupported, s, set};
use crate::error::{ApiError, ApiResult, ErrorType};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::params::Params;
use crate::router::{Ctx, Method, Route};
use crate::store::{EventSource, Store};

const KIND: &str = "setup_intent";
const LABEL: &str = "SetupIntent";

const CREATE: &[&str] = &[
    "attach_to_self",
    "automatic_payment_methods",
    "confirm",
    "confirmation_token",
    "customer",
    "customer_account",
    "description",
    "excluded_payment_method_types",
    "flow_directions",
    "mandate_data",
    "metadata",
    "on_behalf_of",
    "payment_method",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "return_url",
    "single_use",
    "usage",
    "use_stripe_sdk",
];
const CONFIRM: &[&str] = &[
    "confirmation_token",
    "mandate_data",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "return_url",
    "use_stripe_sdk",
];
const CANCEL: &[&str] = &["cancellation_reason"];
const LIST: &[&str] = &[
    "attach_to_self",
    "created",
    "customer",
    "customer_account",
    "ending_before",
    "limit",
    "payment_method",
    "starting_after",
];
const RETRIEVE: &[&str] = &["client_secret"];

/// Parameters the sandbox cannot model yet: a clear 400 instead of a silently wrong answer.
const UNSUPPORTED: &[&str] =
    &["confirmation_token", "payment_method_data", "customer_account", "single_use", "attach_to_self", "mandate_data"];

const CONFIRMABLE: &[&str] = &["requires_payment_method", "requires_confirmation", "requires_action"];
const CANCELABLE: &[&str] = &["requires_payment_method", "requires_confirmation", "requires_action"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/setup_intents", CREATE, create),
        Route::new(Method::Get, "/v1/setup_intents", LIST, list),
        Route::new(Method::Get, "/v1/setup_intents/{id}", RETRIEVE, retrieve),
        Route::new(Method::Post, "/v1/setup_intents/{id}/confirm", CONFIRM, confirm),
        Route::new(Method::Post, "/v1/setup_intents/{id}/cancel", CANCEL, cancel),
    ]
}

/// How a confirmation was asked for.
#[derive(Debug, Default, Clone)]
pub struct SetupConfirmArgs {
    pub payment_method: Option<String>,
    pub return_url: Option<String>,
    pub use_stripe_sdk: bool,
    /// Confirmed by the client (Stripe.js handles 3-D Secure in place: no `return_url` needed).
    pub from_client: bool,
}

impl SetupConfirmArgs {
    fn from_params(p: &Params) -> ApiResult<SetupConfirmArgs> {
        Ok(SetupConfirmArgs {
            payment_method: p.str("payment_method")?,
            return_url: p.str("return_url")?,
            use_stripe_sdk: p.bool("use_stripe_sdk")?.unwrap_or(false),
            from_client: false,
        })
    }
}

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, UNSUPPORTED)?;
    let confirm = p.bool("confirm")?.unwrap_or(false);
    let args = SetupConfirmArgs::from_params(p)?;
    if !confirm {
        for key in ["return_url", "use_stripe_sdk"] {
            if p.has(key) {
                return Err(ApiError::invalid_nocode(format!("You may only specify `{key}` when `confirm` is true."))
                    .param(key));
            }
        }
    }
    let usage = one_of(p, "usage", &["off_session", "on_session"])?.unwrap_or_else(|| "off_session".into());
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
    let methods = super::payment_intents::payment_method_types(p)?;
    let automatic = super::payment_intents::automatic_payment_methods(p, methods.is_some())?;
    if confirm && args.payment_method.is_none() {
        return Err(missing_payment_method(None));
    }
    let account = ctx.meta.account.clone();
    let payment_method = match &args.payment_method {
        Some(pm) => Some(payment_methods::resolve(ctx.store, account.as_deref(), pm, "payment_method")?),
        None => None,
    };
    let id = ids::new_id("seti");
    let mut si = Value::Object(fixture(KIND)?);
    let status = if payment_method.is_some() { "requires_confirmation" } else { "requires_payment_method" };
    let overrides = json!({
        "id": id,
        "object": KIND,
        "application": null,
        "automatic_payment_methods": automatic,
        "cancellation_reason": null,
        "client_secret": ids::client_secret(&id),
        "created": ctx.now(),
        "customer": customer,
        "customer_account": null,
        "description": p.str("description")?,
        "excluded_payment_method_types": null,
        "flow_directions": null,
        "last_setup_error": null,
        "latest_attempt": null,
        "livemode": false,
        "mandate": null,
        "metadata": metadata(p, None)?,
        "next_action": null,
        "on_behalf_of": p.str("on_behalf_of")?,
        "payment_method": payment_method,
        "payment_method_configuration_details": if automatic.is_null() { Value::Null } else {
            json!({"id": "pmc_sandbox_default", "parent": null})
        },
        "payment_method_options": {
            "card": {"mandate_options": null, "network": null, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": methods.unwrap_or_else(|| vec!["card".into()]),
        "single_use_mandate": null,
        "status": status,
        "usage": usage,
    });
    if let (Some(obj), Value::Object(o)) = (si.as_object_mut(), overrides) {
        obj.extend(o);
    }
    ctx.save(&si)?;
    ctx.emit("setup_intent.created", &si);
    if confirm {
        let source = ctx.meta.source();
        let base = ctx.meta.base_url.clone();
        return confirm_intent(ctx.store, &source, &base, &id, SetupConfirmArgs { payment_method: None, ..args });
    }
    Ok(si)
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    reject_unsupported(ctx.params, &["customer_account", "attach_to_self"])?;
    let customer = ctx.params.str("customer")?;
    let payment_method = ctx.params.str("payment_method")?;
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|si| customer.as_deref().is_none_or(|c| s(si, "customer") == c))
        .filter(|si| payment_method.as_deref().is_none_or(|pm| s(si, "payment_method") == pm))
        .cloned()
        .collect();
    list_response(items, "/v1/setup_intents", ctx.params)
}

fn confirm(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    reject_unsupported(ctx.params, UNSUPPORTED)?;
    let id = ctx.path(0).to_string();
    let args = SetupConfirmArgs::from_params(ctx.params)?;
    let source = ctx.meta.source();
    let base = ctx.meta.base_url.clone();
    confirm_intent(ctx.store, &source, &base, &id, args)
}

fn cancel(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let reason = one_of(ctx.params, "cancellation_reason", &["abandoned", "duplicate", "requested_by_customer"])?;
    let mut si = ctx.load(KIND, LABEL, &id)?;
    let status = s(&si, "status").to_string();
    if !CANCELABLE.contains(&status.as_str()) {
        return Err(unexpected_state(
            format!(
                "You cannot cancel this SetupIntent because it has a status of {status}. Only a SetupIntent with one of the following statuses may be canceled: {}.",
                CANCELABLE.join(", ")
            ),
            &si,
        ));
    }
    set(&mut si, "status", json!("canceled"));
    set(&mut si, "cancellation_reason", json!(reason));
    set(&mut si, "next_action", Value::Null);
    ctx.save(&si)?;
    ctx.emit("setup_intent.canceled", &si);
    Ok(si)
}

/// Confirms the SetupIntent `id` (server-side, or as the client would with `from_client`).
pub fn confirm_intent(
    store: &mut Store,
    source: &EventSource,
    base_url: &str,
    id: &str,
    args: SetupConfirmArgs,
) -> ApiResult<Value> {
    let account = source.account.clone();
    let account = account.as_deref();
    let mut si = store.find(KIND, id, account).cloned().ok_or_else(|| ApiError::not_found(LABEL, id))?;
    let status = s(&si, "status").to_string();
    if status == "succeeded" {
        return Err(unexpected_state(
            "You cannot confirm this SetupIntent because it has already succeeded after being previously confirmed.",
            &si,
        ));
    }
    if !CONFIRMABLE.contains(&status.as_str()) {
        return Err(unexpected_state(
            format!("You cannot confirm this SetupIntent because it has a status of {status}."),
            &si,
        ));
    }
    let pm_id = match &args.payment_method {
        Some(pm) => payment_methods::resolve(store, account, pm, "payment_method")?,
        None => match si.get("payment_method").and_then(Value::as_str) {
            Some(pm) => pm.to_string(),
            None => return Err(missing_payment_method(Some(&si))),
        },
    };
    let return_url = args.return_url.clone().or_else(|| {
        store.stored(id).and_then(|o| o.internal.get("return_url")).and_then(Value::as_str).map(str::to_string)
    });
    let apm = si.get("automatic_payment_methods").cloned().unwrap_or(Value::Null);
    if super::payment_intents::redirects_allowed(&apm) && return_url.is_none() && !args.from_client {
        return Err(super::payment_intents::return_url_required());
    }
    if let (Some(url), Some(stored)) = (&return_url, store.stored_mut(id)) {
        stored.internal.insert("return_url".into(), json!(url));
    }
    let card = payment_methods::card_of(store, &pm_id);
    set(&mut si, "payment_method", json!(pm_id));
    set(&mut si, "last_setup_error", Value::Null);
    set(&mut si, "next_action", Value::Null);
    match card.map(|c| (c.id, c.behavior)).unwrap_or(("", Behavior::Succeed)) {
        (_, Behavior::RequireAuthentication) => {
            let action_url = format!("{base_url}_sandbox/3ds/{id}");
            let next_action = match (&return_url, args.use_stripe_sdk) {
                (Some(url), false) => json!({
                    "type": "redirect_to_url",
                    "redirect_to_url": {"return_url": url, "url": action_url},
                }),
                _ => json!({
                    "type": "use_stripe_sdk",
                    "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": action_url, "source": ids::new_id("src")},
                }),
            };
            set(&mut si, "status", json!("requires_action"));
            set(&mut si, "next_action", next_action);
            store.put(si.clone(), account)?;
            store.emit(source, "setup_intent.requires_action", &si, None);
            Ok(si)
        }
        (card_id, Behavior::Decline { code, decline_code, message })
            if !payment_methods::ATTACHES_THEN_FAILS.contains(&card_id) =>
        {
            let pm = payment_methods::object(store, account, &pm_id);
            let error = ApiError::new(402, ErrorType::Card, Some(code), message)
                .decline_code(decline_code)
                .with("payment_method", pm);
            set(&mut si, "last_setup_error", error.error_object());
            set(&mut si, "status", json!("requires_payment_method"));
            set(&mut si, "payment_method", Value::Null);
            store.put(si.clone(), account)?;
            store.emit(source, "setup_intent.setup_failed", &si, None);
            Err(error.with("setup_intent", si))
        }
        _ => succeed(store, source, si),
    }
}

fn succeed(store: &mut Store, source: &EventSource, mut si: Value) -> ApiResult<Value> {
    let account = source.account.as_deref();
    set(&mut si, "status", json!("succeeded"));
    set(&mut si, "next_action", Value::Null);
    store.put(si.clone(), account)?;
    let customer = s(&si, "customer").to_string();
    if !customer.is_empty() {
        payment_methods::attach_quietly(store, source, s(&si, "payment_method"), &customer)?;
    }
    store.emit(source, "setup_intent.succeeded", &si, None);
    Ok(si)
}

/// Completes (or fails) the 3-D Secure challenge of a `requires_action` SetupIntent, as the
/// customer would in the browser. Events carry no request.
pub fn authenticate(store: &mut Store, account: Option<&str>, id: &str, succeed_auth: bool) -> ApiResult<Value> {
    let source = EventSource { account: account.map(str::to_string), ..EventSource::default() };
    let mut si = store.find(KIND, id, account).cloned().ok_or_else(|| ApiError::not_found(LABEL, id))?;
    let status = s(&si, "status").to_string();
    if status != "requires_action" {
        return Err(unexpected_state(
            format!(
                "This SetupIntent has a status of {status}; only a SetupIntent in requires_action can be authenticated."
            ),
            &si,
        ));
    }
    if succeed_auth {
        return succeed(store, &source, si);
    }
    let pm = payment_methods::object(store, account, s(&si, "payment_method"));
    let error = ApiError::new(
        400,
        ErrorType::InvalidRequest,
        Some("setup_intent_authentication_failure"),
        "The latest attempt to set up the payment method has failed because authentication failed.",
    )
    .with("payment_method", pm);
    set(&mut si, "last_setup_error", error.error_object());
    set(&mut si, "status", json!("requires_payment_method"));
    set(&mut si, "payment_method", Value::Null);
    set(&mut si, "next_action", Value::Null);
    store.put(si.clone(), account)?;
    store.emit(&source, "setup_intent.setup_failed", &si, None);
    Ok(si)
}

/// Whether `id` names a SetupIntent (the 3-D Secure page serves both kinds of intent).
pub fn is_setup_intent(id: &str) -> bool {
    id.starts_with("seti_")
}

fn unexpected_state(message: impl Into<String>, si: &Value) -> ApiError {
    ApiError::invalid("setup_intent_unexpected_state", message).with("setup_intent", si.clone())
}

fn missing_payment_method(si: Option<&Value>) -> ApiError {
    let error = ApiError::invalid(
        "setup_intent_unexpected_state",
        "You cannot confirm this SetupIntent because it's missing a payment method. You can either update the SetupIntent with a payment method and then confirm it again, or confirm it again directly with a payment method or ConfirmationToken.",
    );
    match si {
        Some(si) => error.with("setup_intent", si.clone()),
        None => error,
    }
}

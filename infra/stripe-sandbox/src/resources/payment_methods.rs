//! PaymentMethods for Stripe's test cards (`pm_card_visa`, `pm_card_chargeDeclined`,
//! `pm_card_authenticationRequired`, ...).
//!
//! As on Stripe, using a test id in a PaymentIntent creates a new PaymentMethod (`pm_…`) that
//! keeps the test card's behaviour; `GET /v1/payment_methods/pm_card_visa` answers the card with
//! the test id itself.

use serde_json::{Value, json};

use super::{s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::router::{Ctx, Method, Route};
use crate::store::{EventSource, Store};

/// What happens when a payment is confirmed with the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    Succeed,
    /// A decline: error `code`, `decline_code`, message.
    Decline {
        code: &'static str,
        decline_code: &'static str,
        message: &'static str,
    },
    /// 3-D Secure on every payment (`requires_action`, or an `authentication_required` decline
    /// off-session).
    RequireAuthentication,
}

#[derive(Debug, Clone, Copy)]
pub struct TestCard {
    pub id: &'static str,
    pub brand: &'static str,
    pub last4: &'static str,
    pub funding: &'static str,
    pub country: &'static str,
    pub behavior: Behavior,
}

const GENERIC: Behavior =
    Behavior::Decline { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." };

pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        id: "pm_card_visa",
        brand: "visa",
        last4: "4242",
        funding: "credit",
        country: "US",
        behavior: Behavior::Succeed,
    },
    TestCard {
        id: "pm_card_visa_debit",
        brand: "visa",
        last4: "5556",
        funding: "debit",
        country: "US",
        behavior: Behavior::Succeed,
    },
    TestCard {
        id: "pm_card_mastercard",
        brand: "mastercard",
        last4: "4444",
        funding: "credit",
        country: "US",
        behavior: Behavior::Succeed,
    },
    TestCard {
        id: "pm_card_amex",
        brand: "amex",
        last4: "8431",
        funding: "credit",
        country: "US",
        behavior: Behavior::Succeed,
    },
    // Stripe's 4000000000000077: the funds skip the pending balance and are available at once.
    TestCard {
        id: "pm_card_bypassPending",
        brand: "visa",
        last4: "0077",
        funding: "credit",
        country: "US",
        behavior: Behavior::Succeed,
    },
    TestCard {
        id: "pm_card_chargeDeclined",
        brand: "visa",
        last4: "0002",
        funding: "credit",
        country: "US",
        behavior: GENERIC,
    },
    TestCard {
        id: "pm_card_chargeDeclinedInsufficientFunds",
        brand: "visa",
        last4: "9995",
        funding: "credit",
        country: "US",
        behavior: Behavior::Decline {
            code: "card_declined",
            decline_code: "insufficient_funds",
            message: "Your card has insufficient funds.",
        },
    },
    TestCard {
        id: "pm_card_chargeDeclinedLostCard",
        brand: "visa",
        last4: "9987",
        funding: "credit",
        country: "US",
        behavior: Behavior::Decline {
            code: "card_declined",
            decline_code: "lost_card",
            message: "Your card was declined.",
        },
    },
    TestCard {
        id: "pm_card_chargeDeclinedStolenCard",
        brand: "visa",
        last4: "9979",
        funding: "credit",
        country: "US",
        behavior: Behavior::Decline {
            code: "card_declined",
            decline_code: "stolen_card",
            message: "Your card was declined.",
        },
    },
    TestCard {
        id: "pm_card_chargeDeclinedExpiredCard",
        brand: "visa",
        last4: "0069",
        funding: "credit",
        country: "US",
        behavior: Behavior::Decline {
            code: "expired_card",
            decline_code: "expired_card",
            message: "Your card has expired.",
        },
    },
    TestCard {
        id: "pm_card_chargeDeclinedIncorrectCvc",
        brand: "visa",
        last4: "0127",
        funding: "credit",
        country: "US",
        behavior: Behavior::Decline {
            code: "incorrect_cvc",
            decline_code: "incorrect_cvc",
            message: "Your card's security code is incorrect.",
        },
    },
    TestCard {
        id: "pm_card_chargeDeclinedProcessingError",
        brand: "visa",
        last4: "0119",
        funding: "credit",
        country: "US",
        behavior: Behavior::Decline {
            code: "processing_error",
            decline_code: "processing_error",
            message: "An error occurred while processing your card. Try again in a little bit.",
        },
    },
    TestCard {
        id: "pm_card_chargeCustomerFail",
        brand: "visa",
        last4: "0341",
        funding: "credit",
        country: "US",
        behavior: GENERIC,
    },
    TestCard {
        id: "pm_card_authenticationRequired",
        brand: "visa",
        last4: "3184",
        funding: "credit",
        country: "US",
        behavior: Behavior::RequireAuthentication,
    },
    TestCard {
        id: "pm_card_threeDSecure2Required",
        brand: "visa",
        last4: "3220",
        funding: "credit",
        country: "US",
        behavior: Behavior::RequireAuthentication,
    },
];

/// The decline of a card that needs authentication, when it cannot be asked for (off-session).
pub const AUTHENTICATION_REQUIRED: Behavior = Behavior::Decline {
    code: "authentication_required",
    decline_code: "authentication_required",
    message: "Your card was declined. This transaction requires authentication.",
};

pub fn test_card(id: &str) -> Option<&'static TestCard> {
    TEST_CARDS.iter().find(|c| c.id == id)
}

/// The test card behind a stored PaymentMethod id or a test id.
pub fn card_of(store: &Store, pm_id: &str) -> Option<&'static TestCard> {
    test_card(pm_id).or_else(|| {
        store.stored(pm_id).and_then(|o| o.internal.get("test_card")).and_then(Value::as_str).and_then(test_card)
    })
}

/// Whether charges with this PaymentMethod skip the pending balance (`pm_card_bypassPending`).
pub fn bypasses_pending(store: &Store, pm_id: &str) -> bool {
    card_of(store, pm_id).is_some_and(|c| c.id == "pm_card_bypassPending")
}

/// Test cards that attach to a customer although their charges are declined (Stripe's
/// `4000000000000341`); every other declining test card fails when attached.
pub const ATTACHES_THEN_FAILS: &[&str] = &["pm_card_chargeCustomerFail"];

const LIST: &[&str] =
    &["allow_redisplay", "customer", "customer_account", "ending_before", "limit", "starting_after", "type"];
const CUSTOMER_LIST: &[&str] = &["allow_redisplay", "ending_before", "limit", "starting_after", "type"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Get, "/v1/payment_methods", LIST, list),
        Route::new(Method::Get, "/v1/payment_methods/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/payment_methods/{id}/attach", &["customer", "customer_account"], attach),
        Route::new(Method::Post, "/v1/payment_methods/{id}/detach", &[], detach),
        Route::new(Method::Get, "/v1/customers/{id}/payment_methods", CUSTOMER_LIST, list_for_customer),
    ]
}

fn attach(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    super::reject_unsupported(ctx.params, &["customer_account"])?;
    let id = ctx.path(0).to_string();
    let customer = ctx.params.required_str("customer")?;
    let found = ctx.load_ref("customer", "customer", &customer, "customer")?;
    if found.get("deleted") == Some(&Value::Bool(true)) {
        return Err(ApiError::missing_reference("customer", &customer, "customer"));
    }
    let account = ctx.meta.account.clone();
    if let Some(card) = test_card(&id) {
        if let Behavior::Decline { code, decline_code, message } = card.behavior
            && !ATTACHES_THEN_FAILS.contains(&card.id)
        {
            return Err(ApiError::new(402, crate::error::ErrorType::Card, Some(code), message)
                .decline_code(decline_code)
                .param("card"));
        }
    } else {
        let pm = ctx.load("payment_method", LABEL, &id)?;
        let owner = s(&pm, "customer");
        if !owner.is_empty() && owner != customer {
            return Err(ApiError::invalid_nocode(
                "The payment method you provided has already been attached to a customer.",
            ));
        }
        if owner == customer {
            return Ok(pm);
        }
    }
    let source = ctx.meta.source();
    let resolved = resolve(ctx.store, account.as_deref(), &id, "payment_method")?;
    attach_quietly(ctx.store, &source, &resolved, &customer)?;
    ctx.load("payment_method", LABEL, &resolved)
}

/// Attaches a stored PaymentMethod to `customer` unless it already belongs to someone. Event
/// `payment_method.attached`.
pub fn attach_quietly(store: &mut Store, source: &EventSource, pm_id: &str, customer: &str) -> ApiResult<()> {
    let account = source.account.as_deref();
    let Some(mut pm) = store.find("payment_method", pm_id, account).cloned() else {
        return Ok(());
    };
    if !s(&pm, "customer").is_empty() {
        return Ok(());
    }
    set(&mut pm, "customer", json!(customer));
    store.put(pm.clone(), account)?;
    store.emit(source, "payment_method.attached", &pm, None);
    Ok(())
}

fn detach(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let mut pm = ctx.load("payment_method", LABEL, &id)?;
    if s(&pm, "customer").is_empty() {
        return Err(ApiError::invalid_nocode(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
        ));
    }
    let customer = s(&pm, "customer").to_string();
    set(&mut pm, "customer", Value::Null);
    ctx.save(&pm)?;
    ctx.emit("payment_method.detached", &pm);
    forget_default(ctx, &customer, &id)?;
    Ok(pm)
}

/// A detached PaymentMethod stops being the default of its customer
/// (`invoice_settings.default_payment_method`, as on Stripe) and of the customer's subscriptions
/// (`default_payment_method`: a detached card can never be charged); each change is a
/// `*.updated` event.
fn forget_default(ctx: &mut Ctx<'_>, customer: &str, pm: &str) -> ApiResult<()> {
    if let Ok(old) = ctx.load("customer", "customer", customer)
        && old.pointer("/invoice_settings/default_payment_method").and_then(Value::as_str) == Some(pm)
    {
        let mut new = old.clone();
        if let Some(settings) = new.get_mut("invoice_settings").and_then(Value::as_object_mut) {
            settings.insert("default_payment_method".into(), Value::Null);
        }
        ctx.save(&new)?;
        ctx.emit_updated("customer.updated", &old, &new);
    }
    let subscriptions: Vec<Value> = ctx
        .store
        .list("subscription", ctx.account())
        .into_iter()
        .filter(|sub| s(sub, "customer") == customer && s(sub, "default_payment_method") == pm)
        .cloned()
        .collect();
    for old in subscriptions {
        let mut new = old.clone();
        set(&mut new, "default_payment_method", Value::Null);
        ctx.save(&new)?;
        ctx.emit_updated("customer.subscription.updated", &old, &new);
    }
    Ok(())
}

/// Sets the card's expiry of a stored PaymentMethod (the control API's stand-in for the card
/// account updater; Stripe's event `payment_method.automatically_updated`), so tests can make a
/// card expire before a renewal.
pub fn set_expiry(store: &mut Store, account: Option<&str>, id: &str, month: i64, year: i64) -> ApiResult<Value> {
    if !(1..=12).contains(&month) {
        return Err(ApiError::invalid_nocode("exp_month must be 1 to 12.").param("exp_month"));
    }
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::invalid_nocode("exp_year must be a four-digit year.").param("exp_year"));
    }
    let mut pm = store.find("payment_method", id, account).cloned().ok_or_else(|| ApiError::not_found(LABEL, id))?;
    if let Some(card) = pm.get_mut("card").and_then(Value::as_object_mut) {
        card.insert("exp_month".into(), json!(month));
        card.insert("exp_year".into(), json!(year));
    }
    store.put(pm.clone(), account)?;
    let source = EventSource { account: account.map(str::to_string), ..EventSource::default() };
    store.emit(&source, "payment_method.automatically_updated", &pm, None);
    Ok(pm)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    super::reject_unsupported(ctx.params, &["customer_account"])?;
    let customer = ctx.params.str("customer")?;
    let items = attached(ctx, customer.as_deref())?;
    list_response(items, "/v1/payment_methods", ctx.params)
}

fn list_for_customer(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let customer = ctx.path(0).to_string();
    ctx.load("customer", "customer", &customer)?;
    let items = attached(ctx, Some(&customer))?;
    list_response(items, &format!("/v1/customers/{customer}/payment_methods"), ctx.params)
}

fn attached(ctx: &Ctx<'_>, customer: Option<&str>) -> ApiResult<Vec<Value>> {
    let kind = ctx.params.str("type")?;
    Ok(ctx
        .store
        .list("payment_method", ctx.account())
        .into_iter()
        .filter(|pm| !s(pm, "customer").is_empty())
        .filter(|pm| customer.is_none_or(|c| s(pm, "customer") == c))
        .filter(|pm| kind.as_deref().is_none_or(|k| s(pm, "type") == k))
        .cloned()
        .collect())
}

/// A customer's default payment method (`invoice_settings[default_payment_method]`, a
/// subscription's `default_payment_method`) must be attached to the customer. Stripe's test ids
/// (`pm_card_visa`, `pm_card_chargeCustomerFail`, …) are accepted as they are — a sandbox
/// convenience — and keep their behaviour for every charge.
pub fn check_default(store: &Store, account: Option<&str>, customer: &str, pm: &str, param: &str) -> ApiResult<()> {
    if test_card(pm).is_some() {
        return Ok(());
    }
    match store.find("payment_method", pm, account) {
        None => Err(ApiError::missing_reference(LABEL, pm, param)),
        Some(found) if s(found, "customer") != customer => Err(ApiError::invalid(
            "resource_missing",
            format!(
                "The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."
            ),
        )
        .param(param)),
        Some(_) => Ok(()),
    }
}

const LABEL: &str = "PaymentMethod";

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    if let Some(card) = test_card(&id) {
        return render(card, &id, ctx.now(), None);
    }
    ctx.load("payment_method", LABEL, &id)
}

/// A PaymentMethod object for `card`.
pub fn render(card: &TestCard, id: &str, created: i64, customer: Option<&str>) -> ApiResult<Value> {
    let mut pm = Value::Object(fixture("payment_method")?);
    let exp_year = 2034;
    let fingerprint: String = format!("sbx{}{}", card.brand, card.last4).chars().take(16).collect();
    let overrides = json!({
        "id": id,
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": null,
            "name": null,
            "phone": null,
            "tax_id": null,
        },
        "card": {
            "brand": card.brand,
            "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "unchecked"},
            "country": card.country,
            "display_brand": card.brand,
            "exp_month": 12,
            "exp_year": exp_year,
            "fingerprint": fingerprint,
            "funding": card.funding,
            "generated_from": null,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": null},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": true},
            "wallet": null,
        },
        "created": created,
        "customer": customer,
        "customer_account": null,
        "livemode": false,
        "metadata": {},
        "type": "card",
    });
    if let (Some(obj), Value::Object(o)) = (pm.as_object_mut(), overrides) {
        obj.extend(o);
    }
    set(&mut pm, "object", json!("payment_method"));
    Ok(pm)
}

/// Resolves the `payment_method` parameter of a payment to a stored PaymentMethod id; a test id
/// creates a new PaymentMethod as Stripe does.
pub fn resolve(store: &mut Store, account: Option<&str>, id: &str, param: &str) -> ApiResult<String> {
    if let Some(card) = test_card(id) {
        let new_id = ids::new_id("pm");
        let pm = render(card, &new_id, store.now(), None)?;
        store.put(pm, account)?;
        if let Some(stored) = store.stored_mut(&new_id) {
            stored.internal.insert("test_card".into(), json!(card.id));
        }
        return Ok(new_id);
    }
    if store.find("payment_method", id, account).is_some() {
        return Ok(id.to_string());
    }
    Err(ApiError::missing_reference(LABEL, id, param))
}

/// The stored PaymentMethod object (or a rendered test card), for error payloads.
pub fn object(store: &Store, account: Option<&str>, id: &str) -> Value {
    if let Some(pm) = store.find("payment_method", id, account) {
        return pm.clone();
    }
    test_card(id).and_then(|card| render(card, id, store.now(), None).ok()).unwrap_or(Value::Null)
}

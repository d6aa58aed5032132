//! PaymentMethods for Stripe's test cards (`pm_card_visa`, `pm_card_chargeDeclined`,
//! `pm_card_authenticationRequired`, ...).
//!
//! As on Stripe, using a test id in a PaymentIntent creates a new PaymentMethod (`pm_…`) that
//! keeps the test card's behaviour; `GET /v1/payment_methods/pm_card_visa` answers the card with
//! the test id itself.

use serde_json::{Value, json};

use super::set;
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::router::{Ctx, Method, Route};
use crate::store::Store;

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

pub fn routes() -> Vec<Route> {
    vec![Route::new(Method::Get, "/v1/payment_methods/{id}", &[], retrieve)]
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

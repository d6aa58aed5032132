//! SetupIntents with the test cards, driven with the real async-stripe client: every answer must
//! deserialize into async-stripe's types.

mod common;

use common::{parse_as, start};
use serde_json::{Value, json};
use stripe::StripeError;
use stripe_core::customer::CreateCustomer;
use stripe_core::setup_intent::{
    CancelSetupIntent, ConfirmSetupIntent, CreateSetupIntent, CreateSetupIntentAutomaticPaymentMethods,
    CreateSetupIntentAutomaticPaymentMethodsAllowRedirects, CreateSetupIntentUsage, ListSetupIntent,
    RetrieveSetupIntent,
};
use stripe_payment::payment_method::{DetachPaymentMethod, ListPaymentMethod, RetrievePaymentMethod};
use stripe_shared::{SetupIntent, SetupIntentStatus};

fn cards_only() -> CreateSetupIntentAutomaticPaymentMethods {
    CreateSetupIntentAutomaticPaymentMethods {
        allow_redirects: Some(CreateSetupIntentAutomaticPaymentMethodsAllowRedirects::Never),
        enabled: true,
    }
}

async fn customer(client: &stripe::Client) -> String {
    CreateCustomer::new().email("setup@example.com").send(client).await.expect("customer").id.as_str().to_string()
}

fn pm_of(si: &SetupIntent) -> Option<String> {
    si.payment_method.as_ref().map(|p| p.id().as_str().to_string())
}

#[tokio::test]
async fn a_good_card_is_set_up_and_attached_to_the_customer() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let created = CreateSetupIntent::new()
        .customer(cus.as_str())
        .usage(CreateSetupIntentUsage::OffSession)
        .automatic_payment_methods(cards_only())
        .send(&t.client)
        .await
        .expect("create");
    assert_eq!(created.status, SetupIntentStatus::RequiresPaymentMethod);
    assert!(
        created.client_secret.as_deref().is_some_and(|s| s.starts_with(&format!("{}_secret_", created.id.as_str())))
    );
    assert_eq!(created.usage, "off_session");
    let confirmed = ConfirmSetupIntent::new(created.id.clone())
        .payment_method("pm_card_visa")
        .send(&t.client)
        .await
        .expect("confirm");
    assert_eq!(confirmed.status, SetupIntentStatus::Succeeded);
    let pm = pm_of(&confirmed).expect("a new payment method");
    assert!(pm.starts_with("pm_") && pm != "pm_card_visa", "{pm}");
    let listed = ListPaymentMethod::new().customer(cus.as_str()).send(&t.client).await.expect("list");
    assert_eq!(listed.data.iter().map(|p| p.id.as_str().to_string()).collect::<Vec<_>>(), vec![pm.clone()]);
    let card = listed.data[0].card.as_ref().expect("card");
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "4242"));
    let again = RetrieveSetupIntent::new(created.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(again.status, SetupIntentStatus::Succeeded);
    let mine = ListSetupIntent::new().customer(cus.as_str()).send(&t.client).await.expect("list intents");
    assert_eq!(mine.data.len(), 1);
    let types: Vec<String> = t.sandbox.events().iter().map(|e| e["type"].as_str().unwrap_or("").to_string()).collect();
    for kind in ["setup_intent.created", "setup_intent.succeeded", "payment_method.attached"] {
        assert!(types.contains(&kind.to_string()), "{kind} in {types:?}");
    }
    let err = ConfirmSetupIntent::new(created.id.clone()).payment_method("pm_card_visa").send(&t.client).await;
    assert!(matches!(err, Err(StripeError::Stripe(_, 400))), "a succeeded intent is not confirmed again: {err:?}");
}

#[tokio::test]
async fn a_declining_card_is_a_card_error_and_nothing_is_attached() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let err = CreateSetupIntent::new()
        .customer(cus.as_str())
        .automatic_payment_methods(cards_only())
        .payment_method("pm_card_chargeDeclined")
        .confirm(true)
        .send(&t.client)
        .await
        .expect_err("declined");
    let StripeError::Stripe(api, 402) = err else { panic!("{err:?}") };
    assert_eq!(api.decline_code.as_deref(), Some("generic_decline"));
    let si = api.setup_intent.expect("the error carries the intent");
    assert_eq!(si.status, SetupIntentStatus::RequiresPaymentMethod);
    assert!(si.last_setup_error.is_some());
    let listed = ListPaymentMethod::new().customer(cus.as_str()).send(&t.client).await.expect("list");
    assert!(listed.data.is_empty());
    // The same intent then takes a good card.
    let ok = ConfirmSetupIntent::new(si.id.clone()).payment_method("pm_card_mastercard").send(&t.client).await;
    assert_eq!(ok.expect("good card").status, SetupIntentStatus::Succeeded);
}

#[tokio::test]
async fn three_d_secure_asks_then_the_challenge_completes_or_fails() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let si = CreateSetupIntent::new()
        .customer(cus.as_str())
        .automatic_payment_methods(cards_only())
        .payment_method("pm_card_authenticationRequired")
        .confirm(true)
        .send(&t.client)
        .await
        .expect("requires action");
    assert_eq!(si.status, SetupIntentStatus::RequiresAction);
    let action = si.next_action.as_ref().expect("next action");
    assert_eq!(action.type_, "use_stripe_sdk");
    // The sandbox's 3-D Secure page serves SetupIntents too.
    let page = t.http.get(t.url(&format!("_sandbox/3ds/{}", si.id))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let (status, body) = t.get_json(&format!("_sandbox/3ds/{}?succeed=true", si.id)).await;
    assert_eq!(status, 200, "{body}");
    let done: SetupIntent = parse_as(&body);
    assert_eq!(done.status, SetupIntentStatus::Succeeded);
    let pm = pm_of(&done).expect("pm");
    let attached = RetrievePaymentMethod::new(pm.as_str()).send(&t.client).await.expect("pm");
    assert_eq!(attached.customer.map(|c| c.id().as_str().to_string()), Some(cus.clone()));

    // A failed challenge leaves the intent waiting for another card.
    let si = CreateSetupIntent::new()
        .customer(cus.as_str())
        .automatic_payment_methods(cards_only())
        .payment_method("pm_card_threeDSecure2Required")
        .confirm(true)
        .send(&t.client)
        .await
        .expect("requires action");
    let (status, body) =
        t.control("POST", &format!("_sandbox/setup_intents/{}/authenticate", si.id), json!({"succeed": false})).await;
    assert_eq!(status, 200, "{body}");
    let failed: SetupIntent = parse_as(&body);
    assert_eq!(failed.status, SetupIntentStatus::RequiresPaymentMethod);
    assert!(failed.payment_method.is_none());
    let canceled = CancelSetupIntent::new(si.id.clone()).send(&t.client).await.expect("cancel");
    assert_eq!(canceled.status, SetupIntentStatus::Canceled);
}

#[tokio::test]
async fn client_confirmation_expiry_control_and_detach_clears_the_default() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let si = CreateSetupIntent::new()
        .customer(cus.as_str())
        .automatic_payment_methods(cards_only())
        .send(&t.client)
        .await
        .expect("create");
    // As Stripe.js would, with the client's test card.
    let (status, body) = t
        .control(
            "POST",
            &format!("_sandbox/setup_intents/{}/confirm", si.id),
            json!({"payment_method": "pm_card_amex"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let pm = body["payment_method"].as_str().expect("pm").to_string();
    let (status, body) = t
        .control("POST", &format!("_sandbox/payment_methods/{pm}/expiry"), json!({"exp_month": 1, "exp_year": 2027}))
        .await;
    assert_eq!(status, 200, "{body}");
    let card = RetrievePaymentMethod::new(pm.as_str()).send(&t.client).await.expect("pm").card.expect("card");
    assert_eq!((card.exp_month, card.exp_year, card.last4.as_str()), (1, 2027, "8431"));
    let (status, _) = t
        .control("POST", &format!("_sandbox/payment_methods/{pm}/expiry"), json!({"exp_month": 13, "exp_year": 2027}))
        .await;
    assert_eq!(status, 400);

    let (status, body) = t
        .post_form(&format!("v1/customers/{cus}"), &[("invoice_settings[default_payment_method]", pm.as_str())], None)
        .await
        .into_status_body();
    assert_eq!(status, 200, "{body}");
    DetachPaymentMethod::new(pm.as_str()).send(&t.client).await.expect("detach");
    let (_, customer) = t.get_json(&format!("v1/customers/{cus}")).await;
    assert_eq!(customer["invoice_settings"]["default_payment_method"], Value::Null);
}

trait StatusBody {
    fn into_status_body(self) -> (u16, Value);
}

impl StatusBody for (u16, reqwest::header::HeaderMap, Value) {
    fn into_status_body(self) -> (u16, Value) {
        (self.0, self.2)
    }
}

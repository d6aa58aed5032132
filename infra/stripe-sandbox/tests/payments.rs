//! Customers, PaymentIntents with each test card, charges and payment methods, driven with the
//! real async-stripe client: every answer must deserialize into async-stripe's types.

mod common;

use std::collections::HashMap;

use common::{KEY, parse_as, start};
use serde_json::{Value, json};
use stripe::StripeError;
use stripe_core::charge::RetrieveCharge;
use stripe_core::customer::{
    CreateCustomer, DeleteCustomer, RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer,
};
use stripe_core::payment_intent::{
    CancelPaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects, CreatePaymentIntentOffSession, ListPaymentIntent,
    RetrievePaymentIntent,
};
use stripe_payment::payment_method::RetrievePaymentMethod;
use stripe_shared::{ChargeStatus, PaymentIntent, PaymentIntentStatus};
use stripe_types::{Currency, Expandable};

fn no_redirects() -> CreatePaymentIntentAutomaticPaymentMethods {
    CreatePaymentIntentAutomaticPaymentMethods {
        allow_redirects: Some(CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never),
        enabled: true,
    }
}

fn expandable_id<T: stripe_types::Object>(e: &Option<Expandable<T>>) -> Option<String>
where
    T::Id: AsRef<str>,
{
    e.as_ref().map(|x| x.id().as_ref().to_string())
}

/// Charges `amount` cents with `pm`, confirmed server-side (cards only, no redirects).
async fn pay(client: &stripe::Client, customer: &str, pm: &str, amount: i64) -> Result<PaymentIntent, StripeError> {
    CreatePaymentIntent::new(amount, Currency::USD)
        .customer(customer)
        .payment_method(pm)
        .confirm(true)
        .automatic_payment_methods(no_redirects())
        .metadata(HashMap::from([("paymentId".to_string(), "pay_1".to_string())]))
        .description("Azora test payment")
        .transfer_group("grp_1")
        .send(client)
        .await
}

async fn customer(client: &stripe::Client) -> String {
    CreateCustomer::new().email("a@example.com").send(client).await.expect("customer").id.as_str().to_string()
}

#[tokio::test]
async fn customers_create_retrieve_update_delete() {
    let t = start().await;
    let created = CreateCustomer::new()
        .email("jenny@example.com")
        .name("Jenny Rosen")
        .metadata(HashMap::from([("userId".to_string(), "u_1".to_string())]))
        .send(&t.client)
        .await
        .expect("create customer");
    assert!(created.id.as_str().starts_with("cus_"));
    assert_eq!(created.email.as_deref(), Some("jenny@example.com"));
    assert_eq!(created.metadata.as_ref().and_then(|m| m.get("userId")).map(String::as_str), Some("u_1"));
    assert!(!created.livemode);

    let fetched = RetrieveCustomer::new(created.id.clone()).send(&t.client).await.expect("retrieve");
    match fetched {
        RetrieveCustomerReturned::Customer(c) => assert_eq!(c.name.as_deref(), Some("Jenny Rosen")),
        RetrieveCustomerReturned::DeletedCustomer(_) => panic!("not deleted"),
    }

    let updated = UpdateCustomer::new(created.id.clone())
        .name("Jenny R.")
        .metadata(HashMap::from([("plan".to_string(), "pro".to_string())]))
        .send(&t.client)
        .await
        .expect("update");
    assert_eq!(updated.name.as_deref(), Some("Jenny R."));
    let metadata = updated.metadata.unwrap_or_default();
    assert_eq!(metadata.get("userId").map(String::as_str), Some("u_1"), "metadata merges");
    assert_eq!(metadata.get("plan").map(String::as_str), Some("pro"));

    let events = t.sandbox.events_of_type("customer.updated");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["previous_attributes"]["name"], "Jenny Rosen");

    let deleted = DeleteCustomer::new(created.id.clone()).send(&t.client).await.expect("delete");
    assert_eq!(deleted.id.as_str(), created.id.as_str());
    let err = UpdateCustomer::new(created.id.clone()).name("x").send(&t.client).await.expect_err("deleted");
    assert!(matches!(err, StripeError::Stripe(_, 404)), "{err:?}");
    assert_eq!(t.sandbox.events_of_type("customer.deleted").len(), 1);
}

#[tokio::test]
async fn visa_payment_succeeds_with_a_charge() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let pi = pay(&t.client, &cus, "pm_card_visa", 2500).await.expect("payment succeeds");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!(pi.amount, 2500);
    assert_eq!(pi.amount_received, 2500);
    assert_eq!(pi.currency, Currency::USD);
    assert_eq!(expandable_id(&pi.customer).as_deref(), Some(cus.as_str()));
    assert_eq!(pi.metadata.get("paymentId").map(String::as_str), Some("pay_1"));
    assert_eq!(pi.transfer_group.as_deref(), Some("grp_1"));
    let secret = pi.client_secret.clone().unwrap_or_default();
    assert!(secret.starts_with(&format!("{}_secret_", pi.id.as_str())), "{secret}");
    let pm = expandable_id(&pi.payment_method).expect("payment method");
    assert!(pm.starts_with("pm_") && pm != "pm_card_visa", "a new PaymentMethod: {pm}");

    let charge_id = expandable_id(&pi.latest_charge).expect("latest_charge");
    let charge = RetrieveCharge::new(charge_id.as_str()).send(&t.client).await.expect("charge");
    assert_eq!(charge.status, ChargeStatus::Succeeded);
    assert_eq!(charge.amount, 2500);
    assert_eq!(charge.amount_refunded, 0);
    assert!(!charge.refunded && charge.paid && charge.captured);
    assert_eq!(expandable_id(&charge.payment_intent).as_deref(), Some(pi.id.as_str()));
    assert_eq!(charge.metadata.get("paymentId").map(String::as_str), Some("pay_1"));

    let method = RetrievePaymentMethod::new(pm.as_str()).send(&t.client).await.expect("payment method");
    assert_eq!(method.card.as_ref().map(|c| c.last4.as_str()), Some("4242"));

    let fetched = RetrievePaymentIntent::new(pi.id.clone())
        .expand(vec!["latest_charge".to_string()])
        .send(&t.client)
        .await
        .expect("retrieve");
    match fetched.latest_charge {
        Some(Expandable::Object(c)) => assert_eq!(c.id.as_str(), charge_id),
        other => panic!("latest_charge expanded: {other:?}"),
    }

    let types: Vec<String> = t.sandbox.events().iter().filter_map(|e| e["type"].as_str().map(str::to_string)).collect();
    assert_eq!(types, ["customer.created", "payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]);
}

#[tokio::test]
async fn declined_card_answers_402_with_the_payment_intent() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let err = pay(&t.client, &cus, "pm_card_chargeDeclined", 1000).await.expect_err("declined");
    let StripeError::Stripe(api, status) = err else { panic!("a Stripe error: {err:?}") };
    assert_eq!(status, 402);
    assert_eq!(api.type_.as_str(), "card_error");
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("card_declined"));
    assert_eq!(api.decline_code.as_deref(), Some("generic_decline"));
    assert!(api.message.as_deref().unwrap_or("").contains("declined"));
    let pi = api.payment_intent.clone().expect("error carries the PaymentIntent");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert!(pi.payment_method.is_none());
    let last = pi.last_payment_error.as_ref().expect("last_payment_error");
    assert_eq!(last.code.as_ref().map(|c| c.as_str()), Some("card_declined"));
    assert_eq!(last.payment_method.as_ref().and_then(|pm| pm.card.as_ref()).map(|c| c.last4.as_str()), Some("0002"));
    let failed = api.charge.clone().expect("failed charge id");
    let charge = RetrieveCharge::new(failed.as_str()).send(&t.client).await.expect("charge");
    assert_eq!(charge.status, ChargeStatus::Failed);
    assert_eq!(charge.failure_code.as_deref(), Some("card_declined"));

    // Stored state matches, and a retry with a good card succeeds.
    let fetched = RetrievePaymentIntent::new(pi.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(fetched.status, PaymentIntentStatus::RequiresPaymentMethod);
    let ok = ConfirmPaymentIntent::new(pi.id.clone())
        .payment_method("pm_card_visa")
        .send(&t.client)
        .await
        .expect("retry succeeds");
    assert_eq!(ok.status, PaymentIntentStatus::Succeeded);
    assert!(ok.last_payment_error.is_none());
    assert_eq!(t.sandbox.events_of_type("payment_intent.payment_failed").len(), 1);
    assert_eq!(t.sandbox.events_of_type("charge.failed").len(), 1);

    // Other decline codes.
    let err = pay(&t.client, &cus, "pm_card_chargeDeclinedInsufficientFunds", 1000).await.expect_err("declined");
    let StripeError::Stripe(api, 402) = err else { panic!("402: {err:?}") };
    assert_eq!(api.decline_code.as_deref(), Some("insufficient_funds"));
}

#[tokio::test]
async fn authentication_required_card_needs_action_then_completes() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let pi = pay(&t.client, &cus, "pm_card_authenticationRequired", 3000).await.expect("requires action");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresAction);
    let action = pi.next_action.as_ref().expect("next_action");
    assert_eq!(action.type_, "use_stripe_sdk");
    assert!(action.use_stripe_sdk.is_some());
    assert_eq!(t.sandbox.events_of_type("payment_intent.requires_action").len(), 1);

    // The customer completes 3-D Secure (control API).
    let (status, body) = t
        .control("POST", &format!("_sandbox/payment_intents/{}/authenticate", pi.id.as_str()), json!({"succeed": true}))
        .await;
    assert_eq!(status, 200, "{body}");
    let done: PaymentIntent = parse_as(&body);
    assert_eq!(done.status, PaymentIntentStatus::Succeeded);
    let charge = RetrieveCharge::new(expandable_id(&done.latest_charge).expect("charge").as_str())
        .send(&t.client)
        .await
        .expect("charge");
    assert_eq!(charge.status, ChargeStatus::Succeeded);

    // With a return_url the next action is a redirect; failing the challenge fails the payment.
    let pi = CreatePaymentIntent::new(3000, Currency::USD)
        .customer(cus.as_str())
        .payment_method("pm_card_authenticationRequired")
        .confirm(true)
        .return_url("https://app.example/return")
        .send(&t.client)
        .await
        .expect("requires action");
    let redirect = pi.next_action.as_ref().and_then(|a| a.redirect_to_url.as_ref()).expect("redirect_to_url");
    assert_eq!(redirect.return_url.as_deref(), Some("https://app.example/return"));
    let url = redirect.url.clone().expect("challenge url");
    assert!(url.starts_with(&t.sandbox.base_url()), "{url}");
    let failed = t.sandbox.authenticate_payment_intent(pi.id.as_str(), false).expect("authenticate");
    let failed: PaymentIntent = parse_as(&failed);
    assert_eq!(failed.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert_eq!(
        failed.last_payment_error.as_ref().and_then(|e| e.code.as_ref()).map(|c| c.as_str()),
        Some("payment_intent_authentication_failure")
    );

    // Off-session, the same card is declined with authentication_required.
    let err = CreatePaymentIntent::new(3000, Currency::USD)
        .customer(cus.as_str())
        .payment_method("pm_card_authenticationRequired")
        .confirm(true)
        .off_session(CreatePaymentIntentOffSession::Bool(true))
        .send(&t.client)
        .await
        .expect_err("declined off-session");
    let StripeError::Stripe(api, 402) = err else { panic!("402: {err:?}") };
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("authentication_required"));
}

#[tokio::test]
async fn client_side_confirmation_and_redirect_page() {
    let t = start().await;
    let pi = CreatePaymentIntent::new(1500, Currency::EUR).send(&t.client).await.expect("create");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert!(pi.client_secret.is_some());
    assert_eq!(pi.automatic_payment_methods.as_ref().map(|a| a.enabled), Some(true));

    // Stripe.js confirms on the client: no return_url needed.
    let (status, body) = t
        .control(
            "POST",
            &format!("_sandbox/payment_intents/{}/confirm", pi.id.as_str()),
            json!({"payment_method": "pm_card_authenticationRequired", "return_url": "http://app.local/back"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "requires_action");
    let url = body["next_action"]["redirect_to_url"]["url"].as_str().expect("url").to_string();

    // The challenge page completes the payment and redirects back like Stripe.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let resp = no_redirects.get(format!("{url}?succeed=true")).send().await.expect("3ds page");
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(location.starts_with("http://app.local/back?payment_intent="), "{location}");
    assert!(location.ends_with("redirect_status=succeeded"), "{location}");
    let fetched = RetrievePaymentIntent::new(pi.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(fetched.status, PaymentIntentStatus::Succeeded);

    // The library API does the same.
    let pi = CreatePaymentIntent::new(800, Currency::USD).send(&t.client).await.expect("create");
    let done = t.sandbox.confirm_payment_intent(pi.id.as_str(), Some("pm_card_visa")).expect("confirm");
    assert_eq!(done["status"], "succeeded");
}

#[tokio::test]
async fn confirm_cancel_and_list() {
    let t = start().await;
    let cus = customer(&t.client).await;
    let pi = CreatePaymentIntent::new(1200, Currency::USD)
        .customer(cus.as_str())
        .payment_method("pm_card_visa")
        .automatic_payment_methods(no_redirects())
        .send(&t.client)
        .await
        .expect("create");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresConfirmation);
    let confirmed = ConfirmPaymentIntent::new(pi.id.clone()).send(&t.client).await.expect("confirm");
    assert_eq!(confirmed.status, PaymentIntentStatus::Succeeded);
    let err = ConfirmPaymentIntent::new(pi.id.clone()).send(&t.client).await.expect_err("already succeeded");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("payment_intent_unexpected_state"));
    let err = CancelPaymentIntent::new(pi.id.clone()).send(&t.client).await.expect_err("cannot cancel");
    assert!(matches!(err, StripeError::Stripe(_, 400)));

    let open =
        CreatePaymentIntent::new(900, Currency::USD).customer(cus.as_str()).send(&t.client).await.expect("create");
    let canceled = CancelPaymentIntent::new(open.id.clone()).send(&t.client).await.expect("cancel");
    assert_eq!(canceled.status, PaymentIntentStatus::Canceled);
    assert!(canceled.canceled_at.is_some());
    assert_eq!(t.sandbox.events_of_type("payment_intent.canceled").len(), 1);

    let listed = ListPaymentIntent::new().customer(cus.as_str()).limit(1).send(&t.client).await.expect("list");
    assert_eq!(listed.data.len(), 1);
    assert!(listed.has_more);
    assert_eq!(listed.data[0].id, open.id, "newest first");
}

#[tokio::test]
async fn server_confirmation_with_redirect_methods_needs_a_return_url() {
    let t = start().await;
    let err = CreatePaymentIntent::new(1000, Currency::USD)
        .payment_method("pm_card_visa")
        .confirm(true)
        .send(&t.client)
        .await
        .expect_err("return_url required");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert!(api.message.as_deref().unwrap_or("").contains("return_url"));
    let ok = CreatePaymentIntent::new(1000, Currency::USD)
        .payment_method("pm_card_visa")
        .confirm(true)
        .return_url("https://app.example/return")
        .send(&t.client)
        .await
        .expect("with return_url");
    assert_eq!(ok.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn stripe_shaped_errors() {
    let t = start().await;
    // Unknown id: 404 resource_missing.
    let err = RetrievePaymentIntent::new("pi_missing").send(&t.client).await.expect_err("404");
    let StripeError::Stripe(api, 404) = err else { panic!("404: {err:?}") };
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("resource_missing"));
    assert_eq!(api.message.as_deref(), Some("No such payment_intent: 'pi_missing'"));
    let err = RetrievePaymentMethod::new("pm_nope").send(&t.client).await.expect_err("404");
    assert!(matches!(err, StripeError::Stripe(_, 404)));

    // Unknown customer as a parameter: 400 resource_missing with the param.
    let err =
        CreatePaymentIntent::new(1000, Currency::USD).customer("cus_nope").send(&t.client).await.expect_err("400");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("resource_missing"));
    assert_eq!(api.param.as_deref(), Some("customer"));

    // Missing, bad and unknown parameters (raw requests).
    let (status, _, body) = t.post_form("v1/payment_intents", &[("currency", "usd")], None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("parameter_missing")));
    assert_eq!(body["error"]["param"], "amount");
    let (status, _, body) = t.post_form("v1/payment_intents", &[("amount", "ten"), ("currency", "usd")], None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("parameter_invalid_integer")));
    let (status, _, body) = t.post_form("v1/payment_intents", &[("amount", "10"), ("currency", "usd")], None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("amount_too_small")));
    let (status, _, body) = t.post_form("v1/customers", &[("emial", "x@y.z")], None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("parameter_unknown")));
    let (status, _, body) = t.post_form("v1/customers", &[("metadata[a]", "1"), ("metadata", "x")], None).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = t.get_json("v1/nothing_here").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "invalid_request_error");

    // Authentication.
    let resp = t.http.get(t.url("v1/customers")).send().await.expect("answered");
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let bad = common::client_for(&t.sandbox, "sk_live_nope");
    let err = CreateCustomer::new().send(&bad).await.expect_err("401");
    assert!(matches!(err, StripeError::Stripe(_, 401)), "{err:?}");
    let resp = t.http.get(t.url("v1/customers")).basic_auth(KEY, Some("")).send().await.expect("answered");
    assert_eq!(resp.status().as_u16(), 200, "curl -u sk_test_...: works");
}

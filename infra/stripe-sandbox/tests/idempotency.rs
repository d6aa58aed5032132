//! Idempotency-Key on POSTs, as Stripe: replay on the same parameters, an idempotency_error on
//! different ones, keys scoped to the secret key.

mod common;

use std::collections::HashMap;

use common::{client_for, start};
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects,
};
use stripe_types::Currency;

fn key(k: &str) -> RequestStrategy {
    RequestStrategy::Idempotent(IdempotencyKey::new(k).expect("key"))
}

fn intent(pm: &str, amount: i64) -> CreatePaymentIntent {
    CreatePaymentIntent::new(amount, Currency::USD)
        .payment_method(pm)
        .confirm(true)
        .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods {
            allow_redirects: Some(CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never),
            enabled: true,
        })
        .metadata(HashMap::from([("paymentId".to_string(), "p_1".to_string())]))
}

#[tokio::test]
async fn same_key_same_params_replays() {
    let t = start().await;
    let first =
        intent("pm_card_visa", 2000).customize().request_strategy(key("pay-1")).send(&t.client).await.expect("first");
    let second =
        intent("pm_card_visa", 2000).customize().request_strategy(key("pay-1")).send(&t.client).await.expect("replay");
    assert_eq!(first.id, second.id, "the same PaymentIntent");
    assert_eq!(t.sandbox.events_of_type("payment_intent.created").len(), 1, "nothing happened twice");

    // Raw: the replay is flagged and keeps the original request id.
    let form = [("email", "x@example.com")];
    let (s1, h1, b1) = t.post_form("v1/customers", &form, Some("cus-key")).await;
    let (s2, h2, b2) = t.post_form("v1/customers", &form, Some("cus-key")).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(b1["id"], b2["id"]);
    assert!(h1.get("idempotent-replayed").is_none());
    assert_eq!(h2.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(h1.get("request-id"), h2.get("request-id"));
    assert_eq!(h2.get("idempotency-key").and_then(|v| v.to_str().ok()), Some("cus-key"));

    let requests = t.sandbox.requests();
    let replays: Vec<_> = requests.iter().filter(|r| r.idempotent_replayed).collect();
    assert_eq!(replays.len(), 2);
    // Events name the key that caused them.
    let created = t.sandbox.events_of_type("payment_intent.created");
    assert_eq!(created[0]["request"]["idempotency_key"], "pay-1");
}

#[tokio::test]
async fn same_key_different_params_is_an_idempotency_error() {
    let t = start().await;
    intent("pm_card_visa", 2000).customize().request_strategy(key("pay-2")).send(&t.client).await.expect("first");
    let err = intent("pm_card_visa", 2100)
        .customize()
        .request_strategy(key("pay-2"))
        .send(&t.client)
        .await
        .expect_err("mismatch");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert_eq!(api.type_.as_str(), "idempotency_error");
    assert!(api.message.as_deref().unwrap_or("").contains("pay-2"));

    // The same key on another endpoint is a mismatch too.
    let err =
        CreateCustomer::new().customize().request_strategy(key("pay-2")).send(&t.client).await.expect_err("mismatch");
    assert!(matches!(err, StripeError::Stripe(_, 400)));
}

#[tokio::test]
async fn declines_replay_and_keys_are_per_secret_key() {
    let t = start().await;
    let first = intent("pm_card_chargeDeclined", 1000).customize().request_strategy(key("dec")).send(&t.client).await;
    let second = intent("pm_card_chargeDeclined", 1000).customize().request_strategy(key("dec")).send(&t.client).await;
    let (Err(StripeError::Stripe(a, 402)), Err(StripeError::Stripe(b, 402))) = (first, second) else {
        panic!("two 402s");
    };
    let id = |e: &stripe::ApiErrors| e.payment_intent.as_ref().map(|p| p.id.as_str().to_string());
    assert_eq!(id(&a), id(&b), "the decline replays");
    assert_eq!(t.sandbox.events_of_type("payment_intent.payment_failed").len(), 1);

    // Validation errors are not saved: fixing the request with the same key works.
    let form_bad = [("amount", "10"), ("currency", "usd")];
    let (status, _, _) = t.post_form("v1/payment_intents", &form_bad, Some("fix-me")).await;
    assert_eq!(status, 400);
    let form_good = [("amount", "1000"), ("currency", "usd")];
    let (status, _, _) = t.post_form("v1/payment_intents", &form_good, Some("fix-me")).await;
    assert_eq!(status, 200);

    // Another secret key has its own key space.
    let other = client_for(&t.sandbox, "sk_test_another_account");
    let mine = CreateCustomer::new().customize().request_strategy(key("shared")).send(&t.client).await.expect("mine");
    let theirs = CreateCustomer::new().customize().request_strategy(key("shared")).send(&other).await.expect("theirs");
    assert_ne!(mine.id, theirs.id);
}

//! Refunds: full, partial, too large, already refunded; the charge follows.

mod common;

use std::collections::HashMap;

use common::start;
use stripe::StripeError;
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects,
};
use stripe_core::refund::{CreateRefund, CreateRefundReason, RetrieveRefund};
use stripe_shared::{PaymentIntent, PaymentIntentStatus};
use stripe_types::Currency;

async fn paid(client: &stripe::Client, amount: i64) -> PaymentIntent {
    let pi = CreatePaymentIntent::new(amount, Currency::USD)
        .payment_method("pm_card_visa")
        .confirm(true)
        .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods {
            allow_redirects: Some(CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never),
            enabled: true,
        })
        .send(client)
        .await
        .expect("paid");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    pi
}

fn charge_of(pi: &PaymentIntent) -> String {
    pi.latest_charge.as_ref().map(|c| c.id().as_str().to_string()).expect("charge")
}

#[tokio::test]
async fn full_refund_by_payment_intent() {
    let t = start().await;
    let pi = paid(&t.client, 5000).await;
    let refund = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .reason(CreateRefundReason::RequestedByCustomer)
        .metadata(HashMap::from([("refundId".to_string(), "r_1".to_string())]))
        .send(&t.client)
        .await
        .expect("refund");
    assert!(refund.id.as_str().starts_with("re_"));
    assert_eq!(refund.amount, 5000, "defaults to the remaining amount");
    assert_eq!(refund.status.as_deref(), Some("succeeded"));
    assert_eq!(refund.payment_intent.as_ref().map(|p| p.id().as_str().to_string()), Some(pi.id.as_str().to_string()));
    assert_eq!(refund.metadata.as_ref().and_then(|m| m.get("refundId")).map(String::as_str), Some("r_1"));

    let charge = RetrieveCharge::new(charge_of(&pi).as_str()).send(&t.client).await.expect("charge");
    assert_eq!(charge.amount_refunded, 5000);
    assert!(charge.refunded);

    let fetched = RetrieveRefund::new(refund.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(fetched.id, refund.id);

    let err = CreateRefund::new().payment_intent(pi.id.as_str()).send(&t.client).await.expect_err("nothing left");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert_eq!(api.type_.as_str(), "invalid_request_error");
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("charge_already_refunded"));

    assert_eq!(t.sandbox.events_of_type("refund.created").len(), 1);
    let refunded = t.sandbox.events_of_type("charge.refunded");
    assert_eq!(refunded.len(), 1);
    assert_eq!(refunded[0]["data"]["object"]["amount_refunded"], 5000);
}

#[tokio::test]
async fn partial_refunds_then_too_large() {
    let t = start().await;
    let pi = paid(&t.client, 3000).await;
    let charge_id = charge_of(&pi);
    let first = CreateRefund::new().charge(charge_id.as_str()).amount(1000).send(&t.client).await.expect("partial");
    assert_eq!(first.amount, 1000);
    let charge = RetrieveCharge::new(charge_id.as_str()).send(&t.client).await.expect("charge");
    assert_eq!((charge.amount_refunded, charge.refunded), (1000, false));

    let err =
        CreateRefund::new().payment_intent(pi.id.as_str()).amount(2500).send(&t.client).await.expect_err("too large");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("amount_too_large"));
    assert_eq!(api.param.as_deref(), Some("amount"));
    assert!(api.message.as_deref().unwrap_or("").contains("$20.00"), "{:?}", api.message);

    let rest = CreateRefund::new().payment_intent(pi.id.as_str()).send(&t.client).await.expect("the rest");
    assert_eq!(rest.amount, 2000);
    let charge = RetrieveCharge::new(charge_id.as_str()).send(&t.client).await.expect("charge");
    assert_eq!((charge.amount_refunded, charge.refunded), (3000, true));
    assert_eq!(t.sandbox.events_of_type("charge.refunded").len(), 2);
}

#[tokio::test]
async fn refunds_need_a_succeeded_payment() {
    let t = start().await;
    let open = CreatePaymentIntent::new(1000, Currency::USD).send(&t.client).await.expect("open");
    let err = CreateRefund::new().payment_intent(open.id.as_str()).send(&t.client).await.expect_err("not paid");
    assert!(matches!(err, StripeError::Stripe(_, 400)), "{err:?}");
    let err = CreateRefund::new().send(&t.client).await.expect_err("nothing to refund");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("parameter_missing"));
    let err = CreateRefund::new().payment_intent("pi_missing").send(&t.client).await.expect_err("missing");
    let StripeError::Stripe(api, 400) = err else { panic!("400: {err:?}") };
    assert_eq!(api.code.as_ref().map(|c| c.as_str()), Some("resource_missing"));
    let err = RetrieveRefund::new("re_missing").send(&t.client).await.expect_err("missing");
    assert!(matches!(err, StripeError::Stripe(_, 404)));
}

#[tokio::test]
async fn refund_metadata_update_emits_refund_updated() {
    let t = start().await;
    let pi = paid(&t.client, 1000).await;
    let refund = CreateRefund::new().payment_intent(pi.id.as_str()).amount(400).send(&t.client).await.expect("refund");
    let (status, _, body) =
        t.post_form(&format!("v1/refunds/{}", refund.id.as_str()), &[("metadata[note]", "goodwill")], None).await;
    assert_eq!(status, 200, "{body}");
    let updated = t.sandbox.events_of_type("refund.updated");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["data"]["object"]["metadata"]["note"], "goodwill");
    assert_eq!(updated[0]["data"]["previous_attributes"]["metadata"], serde_json::json!({}));
}

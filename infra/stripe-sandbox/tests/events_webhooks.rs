//! Events through the API, webhook deliveries verified with async-stripe-webhook, and the control
//! API (config, manual/stale/tampered deliveries, request log, reset).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use azora_stripe_sandbox::{API_VERSION, DeliverOptions, SandboxOptions, signature_header};
use common::{Receiver, SECRET, start, start_with};
use serde_json::{Value, json};
use stripe_core::customer::CreateCustomer;
use stripe_core::event::{ListEvent, RetrieveEvent};
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects,
};
use stripe_core::refund::CreateRefund;
use stripe_types::Currency;
use stripe_webhook::{EventObject, Webhook, WebhookError};

async fn pay(client: &stripe::Client, pm: &str) -> Result<stripe_shared::PaymentIntent, stripe::StripeError> {
    CreatePaymentIntent::new(4200, Currency::USD)
        .payment_method(pm)
        .confirm(true)
        .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods {
            allow_redirects: Some(CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never),
            enabled: true,
        })
        .metadata(HashMap::from([("paymentId".to_string(), "p_9".to_string())]))
        .send(client)
        .await
}

#[tokio::test]
async fn events_list_and_retrieve() {
    let t = start().await;
    CreateCustomer::new().send(&t.client).await.expect("customer");
    let pi = pay(&t.client, "pm_card_visa").await.expect("paid");
    CreateRefund::new().payment_intent(pi.id.as_str()).send(&t.client).await.expect("refund");
    let _ = pay(&t.client, "pm_card_chargeDeclined").await.expect_err("declined");

    let all = ListEvent::new().limit(100).send(&t.client).await.expect("list events");
    let types: Vec<&str> = all.data.iter().map(|e| e.type_.as_str()).collect();
    assert_eq!(
        types,
        [
            "payment_intent.payment_failed",
            "charge.failed",
            "payment_intent.created",
            "charge.refunded",
            "refund.created",
            "payment_intent.succeeded",
            "charge.succeeded",
            "payment_intent.created",
            "customer.created",
        ],
        "newest first"
    );
    let created: Vec<i64> = all.data.iter().map(|e| e.created).collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "strictly increasing: {created:?}");
    for e in &all.data {
        assert!(e.id.as_str().starts_with("evt_"));
        assert!(!e.livemode);
        assert_eq!(e.api_version.as_deref(), Some(API_VERSION));
        assert!(e.request.as_ref().and_then(|r| r.id.as_deref()).is_some_and(|id| id.starts_with("req_")));
    }

    let page = ListEvent::new().limit(2).send(&t.client).await.expect("page");
    assert_eq!(page.data.len(), 2);
    assert!(page.has_more);
    let next = ListEvent::new().limit(2).starting_after(page.data[1].id.as_str()).send(&t.client).await.expect("next");
    assert_eq!(next.data[0].id, all.data[2].id);

    let succeeded = ListEvent::new().type_("payment_intent.succeeded").send(&t.client).await.expect("filter");
    assert_eq!(succeeded.data.len(), 1);
    let pis = ListEvent::new().type_("payment_intent.*").send(&t.client).await.expect("wildcard");
    assert_eq!(pis.data.len(), 4);
    let charges = ListEvent::new()
        .types(vec!["charge.succeeded".to_string(), "charge.refunded".to_string()])
        .send(&t.client)
        .await
        .expect("types");
    assert_eq!(charges.data.len(), 2);

    let one = RetrieveEvent::new(succeeded.data[0].id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(one.type_.as_str(), "payment_intent.succeeded");
    let err = RetrieveEvent::new("evt_missing").send(&t.client).await.expect_err("404");
    assert!(matches!(err, stripe::StripeError::Stripe(_, 404)));

    // Every event's data.object is a typed Stripe object for async-stripe-webhook.
    for raw in t.sandbox.events() {
        let body = serde_json::to_string(&raw).expect("json");
        let header = signature_header(SECRET, azora_stripe_sandbox_now(), &body);
        let event = Webhook::construct_event(&body, &header, SECRET)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{body}", raw["type"]));
        assert!(!matches!(event.data.object, EventObject::Unknown(_)), "{}", raw["type"]);
    }
}

/// Every event type the sandbox emits parses into async-stripe-webhook's typed `EventObject`,
/// through its miniserde path (`construct_event`) and its serde `Deserialize`.
#[tokio::test]
async fn every_event_type_is_typed() {
    let t = start().await;
    let cus = CreateCustomer::new().email("all@example.com").send(&t.client).await.expect("customer");
    t.post_form(&format!("v1/customers/{}", cus.id.as_str()), &[("name", "All Events")], None).await;
    let pi = pay(&t.client, "pm_card_visa").await.expect("paid");
    let refund = CreateRefund::new().payment_intent(pi.id.as_str()).amount(200).send(&t.client).await.expect("refund");
    t.post_form(&format!("v1/refunds/{}", refund.id.as_str()), &[("metadata[k]", "v")], None).await;
    let _ = pay(&t.client, "pm_card_chargeDeclined").await.expect_err("declined");
    let action = pay(&t.client, "pm_card_authenticationRequired").await.expect("requires action");
    t.sandbox.authenticate_payment_intent(action.id.as_str(), false).expect("fails");
    let action = pay(&t.client, "pm_card_authenticationRequired").await.expect("requires action");
    t.sandbox.authenticate_payment_intent(action.id.as_str(), true).expect("succeeds");
    let open = CreatePaymentIntent::new(700, Currency::USD).send(&t.client).await.expect("open");
    t.post_form(&format!("v1/payment_intents/{}/cancel", open.id.as_str()), &[], None).await;
    t.http
        .delete(t.url(&format!("v1/customers/{}", cus.id.as_str())))
        .bearer_auth(common::KEY)
        .send()
        .await
        .expect("delete");

    let mut seen = std::collections::BTreeSet::new();
    for raw in t.sandbox.events() {
        let body = serde_json::to_string_pretty(&raw).expect("json");
        let header = signature_header(SECRET, azora_stripe_sandbox_now(), &body);
        let event = Webhook::construct_event(&body, &header, SECRET)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{body}", raw["type"]));
        assert!(!matches!(event.data.object, EventObject::Unknown(_)), "{} is untyped", raw["type"]);
        let via_serde: stripe_webhook::Event = common::parse_as(&raw);
        assert_eq!(via_serde.id, event.id);
        seen.insert(event.type_.as_str().to_string());
    }
    let expected = [
        "charge.failed",
        "charge.refunded",
        "charge.succeeded",
        "customer.created",
        "customer.deleted",
        "customer.updated",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "refund.created",
        "refund.updated",
    ];
    assert_eq!(seen.iter().map(String::as_str).collect::<Vec<_>>(), expected);
}

fn azora_stripe_sandbox_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[tokio::test]
async fn automatic_delivery_is_signed_like_stripe() {
    let receiver = Receiver::start().await;
    let t = start_with(SandboxOptions {
        webhook_url: Some(receiver.url()),
        webhook_secret: SECRET.into(),
        ..SandboxOptions::default()
    })
    .await;
    let pi = pay(&t.client, "pm_card_visa").await.expect("paid");
    let got = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 3, "payment_intent.created, charge.succeeded, payment_intent.succeeded");
    let mut types = Vec::new();
    for delivery in &got {
        assert_eq!(delivery.content_type.as_deref(), Some("application/json; charset=utf-8"));
        let signature = delivery.signature.as_deref().expect("Stripe-Signature");
        assert!(signature.starts_with("t=") && signature.contains(",v1="), "{signature}");
        let event = Webhook::construct_event(&delivery.body, signature, SECRET).expect("verifies and parses");
        types.push(event.type_.as_str().to_string());
        if let EventObject::PaymentIntentSucceeded(obj) = &event.data.object {
            assert_eq!(obj.id, pi.id);
            assert_eq!(obj.metadata.get("paymentId").map(String::as_str), Some("p_9"));
        }
        assert!(matches!(
            Webhook::construct_event(&delivery.body, signature, "whsec_wrong"),
            Err(WebhookError::BadSignature)
        ));
    }
    assert_eq!(types, ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"], "in order");
    assert!(t.sandbox.wait_for_deliveries(Duration::from_secs(2)).await);
    assert!(t.sandbox.events().iter().all(|e| e["pending_webhooks"] == 0));
    assert!(t.sandbox.deliveries().iter().all(|d| d.automatic && d.status == Some(200)));
}

#[tokio::test]
async fn failed_deliveries_are_retried_in_the_background() {
    let receiver = Receiver::start().await;
    receiver.answer_next(&[500, 503]);
    let t = start().await;
    t.sandbox.set_webhook_url(receiver.url());
    let started = std::time::Instant::now();
    CreateCustomer::new().send(&t.client).await.expect("customer");
    assert!(started.elapsed() < Duration::from_secs(1), "the API call does not wait for delivery");
    let got = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 3, "two failures, then success");
    assert!(got.iter().all(|d| d.body == got[0].body));
    assert!(t.sandbox.wait_for_deliveries(Duration::from_secs(2)).await);
    let attempts: Vec<(u32, Option<u16>)> = t.sandbox.deliveries().iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(attempts, [(1, Some(500)), (2, Some(503)), (3, Some(200))]);
}

#[tokio::test]
async fn manual_deliveries_twice_stale_and_tampered() {
    let receiver = Receiver::start().await;
    let t = start().await;
    // Configure through the control API: URL set, automatic delivery off.
    let (status, config) =
        t.control("POST", "_sandbox/config", json!({"webhookUrl": receiver.url(), "autoDeliver": false})).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["webhookUrl"], receiver.url());
    assert_eq!(config["webhookSecret"], SECRET);
    assert_eq!(config["autoDeliver"], false);

    let pi = pay(&t.client, "pm_card_visa").await.expect("paid");
    let (status, events) = t.control("GET", "_sandbox/events", Value::Null).await;
    assert_eq!(status, 200);
    let events = events["data"].as_array().cloned().unwrap_or_default();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"], "oldest first");
    assert!(events.iter().all(|e| e["pending_webhooks"] == 0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(receiver.received().is_empty(), "nothing delivered automatically");
    let succeeded = events[2]["id"].as_str().expect("id").to_string();
    let created = events[0]["id"].as_str().expect("id").to_string();

    // Twice, then the older event after it (out of order).
    let (status, body) = t.control("POST", &format!("_sandbox/events/{succeeded}/deliver"), json!({"times": 2})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["statuses"], json!([200, 200]));
    t.control("POST", &format!("_sandbox/events/{created}/deliver"), json!({})).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let parsed: Vec<_> = got
        .iter()
        .map(|d| Webhook::construct_event(&d.body, d.signature.as_deref().unwrap_or(""), SECRET).expect("valid"))
        .collect();
    assert_eq!(parsed[0].id, parsed[1].id, "the same event twice");
    assert_eq!(parsed[2].type_.as_str(), "payment_intent.created");
    match &parsed[0].data.object {
        EventObject::PaymentIntentSucceeded(obj) => assert_eq!(obj.id, pi.id),
        other => panic!("typed object: {other:?}"),
    }

    // Stale: signed 10 minutes ago.
    let (_, body) = t
        .control("POST", &format!("_sandbox/events/{succeeded}/deliver"), json!({"timestampOffsetSeconds": -600}))
        .await;
    assert_eq!(body["statuses"], json!([200]));
    let stale = receiver.received().pop().expect("stale delivery");
    let signature = stale.signature.as_deref().unwrap_or("");
    assert!(matches!(Webhook::construct_event(&stale.body, signature, SECRET), Err(WebhookError::BadTimestamp(_))));
    let t_value: i64 = signature.trim_start_matches("t=").split(',').next().and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!(Webhook::construct_event_with_timestamp(&stale.body, signature, SECRET, t_value).is_ok());

    // Tampered: the body changed after signing.
    let attempts = t
        .sandbox
        .deliver_event(&succeeded, DeliverOptions { tamper: true, ..DeliverOptions::default() })
        .await
        .expect("delivered");
    assert!(attempts[0].tampered);
    let tampered = receiver.received().pop().expect("tampered delivery");
    assert!(serde_json::from_str::<Value>(&tampered.body).is_ok(), "still JSON");
    assert!(matches!(
        Webhook::construct_event(&tampered.body, tampered.signature.as_deref().unwrap_or(""), SECRET),
        Err(WebhookError::BadSignature)
    ));

    // Signed with another secret.
    t.control("POST", &format!("_sandbox/events/{succeeded}/deliver"), json!({"secret": "whsec_other"})).await;
    let other = receiver.received().pop().expect("delivery");
    let signature = other.signature.as_deref().unwrap_or("");
    assert!(Webhook::construct_event(&other.body, signature, "whsec_other").is_ok());
    assert!(matches!(Webhook::construct_event(&other.body, signature, SECRET), Err(WebhookError::BadSignature)));

    // The endpoint's answer is reported, and a missing event is a 404.
    receiver.answer_next(&[400]);
    let (_, body) = t.control("POST", &format!("_sandbox/events/{succeeded}/deliver"), json!({})).await;
    assert_eq!(body["statuses"], json!([400]));
    let (status, body) = t.control("POST", "_sandbox/events/evt_nope/deliver", json!({})).await;
    assert_eq!(status, 404, "{body}");
    let (_, deliveries) = t.control("GET", "_sandbox/deliveries", Value::Null).await;
    assert_eq!(deliveries["data"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn request_log_and_reset() {
    let t = start().await;
    CreateCustomer::new()
        .email("log@example.com")
        .metadata(HashMap::from([("userId".to_string(), "u 7".to_string())]))
        .send(&t.client)
        .await
        .expect("customer");
    let (s, _, _) = t
        .post_form(
            "v1/payment_intents",
            &[("amount", "1000"), ("currency", "usd"), ("expand[0]", "customer")],
            Some("k1"),
        )
        .await;
    assert_eq!(s, 200);
    let (status, body) = t.control("GET", "_sandbox/requests", Value::Null).await;
    assert_eq!(status, 200);
    let requests = body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/v1/customers");
    assert_eq!(first["params"]["email"], "log@example.com");
    assert_eq!(first["params"]["metadata[userId]"], "u 7", "flat keys as sent");
    assert_eq!(first["paramsNested"]["metadata"]["userId"], "u 7", "and decoded");
    assert_eq!(first["status"], 200);
    assert!(first["stripeVersion"].as_str().is_some_and(|v| v == API_VERSION), "async-stripe sends its version");
    assert!(
        first["apiKey"].as_str().is_some_and(|k| k.starts_with("sk_test_") && k.ends_with("1234") && k.contains('*'))
    );
    let second = &requests[1];
    assert_eq!(second["idempotencyKey"], "k1");
    assert_eq!(second["paramsNested"]["expand"], json!(["customer"]));
    assert_eq!(t.sandbox.requests().len(), 2);

    // Stripe-Account is recorded, and objects made for a connected account stay there.
    let resp = t
        .http
        .post(t.url("v1/customers"))
        .bearer_auth(common::KEY)
        .header("stripe-account", "acct_123")
        .form(&[("email", "connected@example.com")])
        .send()
        .await
        .expect("answered");
    let connected: Value = resp.json().await.expect("json");
    let id = connected["id"].as_str().unwrap_or("").to_string();
    assert_eq!(t.sandbox.requests()[2].stripe_account.as_deref(), Some("acct_123"));
    let (status, _) = t.get_json(&format!("v1/customers/{id}")).await;
    assert_eq!(status, 404, "not visible to the platform");
    let event = t.sandbox.events_of_type("customer.created").pop().expect("event");
    assert_eq!(event["account"], "acct_123");

    let (status, _) = t.control("POST", "_sandbox/reset", json!({})).await;
    assert_eq!(status, 200);
    assert!(t.sandbox.requests().is_empty());
    assert!(t.sandbox.events().is_empty());
    let (status, _) = t.get_json("v1/customers").await;
    assert_eq!(status, 200);
}

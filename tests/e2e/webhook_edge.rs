//! The webhook edge (issue 10, #13): a correctly signed event is acknowledged whatever its object
//! holds; types the worker does not handle are acknowledged without being enqueued; a tampered
//! delivery is still refused.

use azora_e2e::sign_webhook as sign;
use azora_e2e::{TEST_WEBHOOK_SECRET, TestApp, error_code, json_of, spawn_app, unique};
use serde_json::{Value, json};

async fn post_signed(app: &TestApp, body: &str, signature: &str) -> (u16, Value) {
    let resp = app
        .request(reqwest::Method::POST, "/api/webhooks/stripe", None)
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .expect("request sent");
    json_of(resp).await
}

fn event(id: &str, event_type: &str, object: Value) -> String {
    json!({
        "id": id, "object": "event", "type": event_type, "api_version": "2026-09-30.endive",
        "created": jiff::Timestamp::now().as_second(), "livemode": false, "pending_webhooks": 1,
        "data": { "object": object }
    })
    .to_string()
}

fn signed(body: &str) -> String {
    sign(body, TEST_WEBHOOK_SECRET, jiff::Timestamp::now().as_second())
}

async fn recorded(app: &TestApp, event_id: &str) -> bool {
    app.booted.state.store.stripe_event_recorded(event_id).await.expect("store")
}

#[tokio::test]
async fn a_signed_customer_updated_with_a_minimal_object_is_acknowledged() {
    let app = spawn_app().await;
    let id = unique("evt");
    let body = event(&id, "customer.updated", json!({ "id": "cus_minimal", "object": "customer" }));
    let (status, answer) = post_signed(&app, &body, &signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["received"], true);
    // Not a type the worker handles: acknowledged, neither recorded nor enqueued.
    assert_eq!(answer["ignored"], true, "{answer}");
    assert!(!recorded(&app, &id).await);
}

#[tokio::test]
async fn a_signed_unknown_type_is_acknowledged_and_not_enqueued() {
    let app = spawn_app().await;
    let id = unique("evt");
    let body = event(&id, "v2.core.brand_new_thing", json!({ "whatever": [1, 2, 3] }));
    let (status, answer) = post_signed(&app, &body, &signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ignored"], true, "{answer}");
    assert!(!recorded(&app, &id).await, "nothing recorded, nothing enqueued");
    // Again: still 200 (Stripe must never see a non-2xx for a genuine event).
    let (status, _) = post_signed(&app, &body, &signed(&body)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_handled_type_with_a_minimal_object_is_enqueued_once() {
    let app = spawn_app().await;
    let id = unique("evt");
    // An invoice the typed client would not parse (no lines, no status...): the worker reads what
    // it needs from the raw object and finds no subscription of ours.
    let body = event(&id, "invoice.paid", json!({ "id": "in_minimal", "object": "invoice" }));
    let (status, answer) = post_signed(&app, &body, &signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ignored"], Value::Null, "{answer}");
    assert!(recorded(&app, &id).await, "recorded and enqueued");
    let (status, again) = post_signed(&app, &body, &signed(&body)).await;
    assert_eq!((status, &again["duplicate"]), (200, &json!(true)), "{again}");
}

#[tokio::test]
async fn tampered_stale_and_wrongly_signed_minimal_events_are_still_refused() {
    let app = spawn_app().await;
    let id = unique("evt");
    let body = event(&id, "customer.updated", json!({ "id": "cus_minimal", "object": "customer" }));
    let signature = signed(&body);
    let tampered = body.replace("cus_minimal", "cus_other");
    let (status, err) = post_signed(&app, &tampered, &signature).await;
    assert_eq!((status, error_code(&err)), (400, "invalid_signature"));
    let stale = sign(&body, TEST_WEBHOOK_SECRET, jiff::Timestamp::now().as_second() - 301);
    let (status, err) = post_signed(&app, &body, &stale).await;
    assert_eq!((status, error_code(&err)), (400, "stale_signature"));
    let wrong = sign(&body, "whsec_wrong", jiff::Timestamp::now().as_second());
    let (status, err) = post_signed(&app, &body, &wrong).await;
    assert_eq!((status, error_code(&err)), (400, "invalid_signature"));
    // Handled types too: a tampered payment event changes nothing and is not recorded.
    let pay_id = unique("evt");
    let pay = event(&pay_id, "payment_intent.succeeded", json!({ "id": "pi_x", "object": "payment_intent" }));
    let (status, _) = post_signed(&app, &pay.replace("pi_x", "pi_y"), &signed(&pay)).await;
    assert_eq!(status, 400);
    assert!(!recorded(&app, &pay_id).await);
    // Several v1 signatures (a secret being rolled): one good one is enough.
    let good = signed(&body);
    let (t, v1) = good.split_once(",v1=").expect("t and v1");
    let rolled = format!("{t},v1={},v1={v1}", "0".repeat(64));
    let (status, _) = post_signed(&app, &body, &rolled).await;
    assert_eq!(status, 200);
}

//! Payments end to end: the local API, the Stripe sandbox (real async-stripe over HTTP, signed
//! webhooks), the stripe-events worker, DynamoDB Local and moto.

use azora_e2e::{AppOptions, TestApp, error_code, json_of, spawn_app, spawn_app_with, unique};
use serde_json::{Value, json};
use std::time::Duration;

struct Buyer {
    id: String,
    email: String,
    token: String,
}

fn buyer(app: &TestApp) -> Buyer {
    let id = unique("buyer");
    let email = format!("{id}@example.com");
    let token = app.token_with_email(&id, &["student"], &email);
    Buyer { id, email, token }
}

async fn pay(app: &TestApp, b: &Buyer, course: &str, pm: Option<&str>, key: &str) -> (u16, Value) {
    let mut body = json!({ "items": [{ "type": "course", "courseId": course }] });
    if let Some(pm) = pm {
        body["paymentMethodId"] = json!(pm);
    }
    json_of(app.post("/api/payments/process", Some(&b.token), Some(key), &body).await).await
}

#[tokio::test]
async fn a_successful_purchase_is_fulfilled_once_with_a_receipt_email() {
    let app = spawn_app().await;
    let course = app.seed_course("instructor-1", 1999, "USD").await;
    let b = buyer(&app);
    let (status, body) = pay(&app, &b, &course, Some("pm_card_visa"), "buy-1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["amount"], 1999);
    assert_eq!(body["currency"], "USD");
    let payment_id = body["paymentId"].as_str().unwrap().to_string();

    let payment = app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
    let receipt = payment["receiptNumber"].as_str().expect("receipt number");
    assert!(receipt.starts_with("R-") && receipt.ends_with("-000001"), "{receipt}");
    assert!(app.booted.state.store.is_enrolled(&azora_domain::UserId::parse(&b.id).unwrap(), &course).await.unwrap());

    let emails = app.wait_for_emails(&b.email, 1).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["subject"], format!("Your Azora receipt {receipt}"));
    assert!(emails[0].to_string().contains("USD 19.99"));

    let resp = app.get(&format!("/api/payments/{payment_id}/receipt"), Some(&b.token)).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains(receipt) && html.contains("USD 19.99"), "{html}");

    // What our adapter sent to Stripe.
    let creates: Vec<Value> = app.stripe_requests("POST", "/v1/payment_intents").await;
    assert_eq!(creates.len(), 1, "one PaymentIntent");
    let sent = &creates[0];
    assert_eq!(sent["params"]["amount"], "1999");
    assert_eq!(sent["params"]["currency"], "usd");
    assert_eq!(sent["params"]["metadata[paymentId]"], payment_id.as_str());
    assert_eq!(sent["params"]["payment_method"], "pm_card_visa");
    assert_eq!(sent["params"]["confirm"], "true");
    assert_eq!(sent["idempotencyKey"], format!("pi-create-{payment_id}"));
}

#[tokio::test]
async fn a_declined_card_fails_the_payment_and_emails_the_buyer() {
    let app = spawn_app().await;
    let course = app.seed_course("instructor-1", 2500, "USD").await;
    let b = buyer(&app);
    let (status, body) = pay(&app, &b, &course, Some("pm_card_chargeDeclined"), "decline-1").await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(error_code(&body), "card_declined");
    let payment_id = body["error"]["paymentId"].as_str().expect("paymentId in the error").to_string();
    let (_, payment) = json_of(app.get(&format!("/api/payments/{payment_id}"), Some(&b.token)).await).await;
    assert_eq!(payment["status"], "failed");
    assert_eq!(payment["fulfilled"], false);
    let emails = app.wait_for_emails(&b.email, 1).await;
    assert_eq!(emails.len(), 1, "one failure email");
    assert_eq!(emails[0]["subject"], "Your Azora payment did not go through");
    let (status, _) = json_of(app.get(&format!("/api/payments/{payment_id}/receipt"), Some(&b.token)).await).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn three_d_secure_requires_action_then_succeeds_after_authentication() {
    let app = spawn_app().await;
    let course = app.seed_course("instructor-1", 4900, "EUR").await;
    let b = buyer(&app);
    let (status, body) = pay(&app, &b, &course, Some("pm_card_authenticationRequired"), "3ds-1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "requires_action");
    assert!(body["clientSecret"].as_str().is_some_and(|s| s.contains("_secret_")));
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    let pi = app.payment_intent_of(&payment_id).await;
    app.sandbox_post(&format!("/_sandbox/payment_intents/{pi}/authenticate"), json!({ "succeed": true })).await;
    let payment = app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["currency"], "EUR");
}

#[tokio::test]
async fn client_side_confirmation_uses_the_client_secret() {
    let app = spawn_app().await;
    let course = app.seed_course("instructor-1", 1000, "USD").await;
    let b = buyer(&app);
    let (status, body) = pay(&app, &b, &course, None, "client-1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "requires_payment_method");
    assert!(body["clientSecret"].is_string());
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    let pi = app.payment_intent_of(&payment_id).await;
    app.sandbox_post(&format!("/_sandbox/payment_intents/{pi}/confirm"), json!({ "payment_method": "pm_card_visa" }))
        .await;
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
}

#[tokio::test]
async fn duplicated_and_interleaved_events_apply_once_and_end_refunded() {
    let app = spawn_app().await;
    app.sandbox_post("/_sandbox/config", json!({ "autoDeliver": false })).await;
    let course = app.seed_course("instructor-1", 3000, "USD").await;
    let b = buyer(&app);
    let (status, body) = pay(&app, &b, &course, Some("pm_card_visa"), "dup-1").await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    let succeeded = app.sandbox_event("payment_intent.succeeded").await;

    for _ in 0..3 {
        assert_eq!(app.deliver(&succeeded, json!({})).await, vec![200]);
    }
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;

    let admin = app.token("admin-1", &["admin"]);
    let (status, refund) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some("r-1"),
            &json!({ "paymentId": payment_id, "reason": "duplicate" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["paymentStatus"], "refunded");
    let refunded = app.sandbox_event("charge.refunded").await;
    assert_eq!(app.deliver(&refunded, json!({})).await, vec![200]);
    // The late, duplicated success events arrive after the refund.
    assert_eq!(app.deliver(&succeeded, json!({ "times": 2 })).await, vec![200, 200]);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (_, payment) = json_of(app.get(&format!("/api/payments/{payment_id}"), Some(&b.token)).await).await;
    assert_eq!(payment["status"], "refunded");
    assert_eq!(payment["refundedAmount"], 3000);
    assert_eq!(payment["refunds"].as_array().unwrap().len(), 1);
    let receipts: Vec<Value> = app
        .sent_emails(&b.email)
        .await
        .into_iter()
        .filter(|e| e["subject"].as_str().is_some_and(|s| s.starts_with("Your Azora receipt")))
        .collect();
    assert_eq!(receipts.len(), 1, "one receipt email");
    assert!(!app.booted.state.store.is_enrolled(&azora_domain::UserId::parse(&b.id).unwrap(), &course).await.unwrap());
    let (_, history) = json_of(app.get("/api/payments/history", Some(&b.token)).await).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "one payment");
}

#[tokio::test]
async fn bad_stale_and_altered_signatures_are_rejected_with_nothing_written() {
    let app = spawn_app().await;
    app.sandbox_post("/_sandbox/config", json!({ "autoDeliver": false })).await;
    let course = app.seed_course("instructor-1", 1500, "USD").await;
    let b = buyer(&app);
    let (_, body) = pay(&app, &b, &course, Some("pm_card_visa"), "sig-1").await;
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    let succeeded = app.sandbox_event("payment_intent.succeeded").await;

    assert_eq!(app.deliver(&succeeded, json!({ "tamper": true })).await, vec![400]);
    assert_eq!(app.deliver(&succeeded, json!({ "timestampOffsetSeconds": -600 })).await, vec![400]);
    assert_eq!(app.deliver(&succeeded, json!({ "secret": "whsec_wrong" })).await, vec![400]);
    let resp = app
        .request(reqwest::Method::POST, "/api/webhooks/stripe", None)
        .header("content-type", "application/json")
        .body(r#"{"id":"evt_forged","type":"payment_intent.succeeded"}"#)
        .send()
        .await
        .unwrap();
    let (status, err) = json_of(resp).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&err), "invalid_signature");

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_, payment) = json_of(app.get(&format!("/api/payments/{payment_id}"), Some(&b.token)).await).await;
    assert_eq!(payment["fulfilled"], false, "rejected deliveries change nothing");
    // Nothing was recorded either: the genuine delivery is still accepted as new.
    assert_eq!(app.deliver(&succeeded, json!({})).await, vec![200]);
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
}

#[tokio::test]
async fn concurrent_partial_refunds_cannot_exceed_the_charge() {
    let app = spawn_app().await;
    let course = app.seed_course("instructor-1", 1000, "USD").await;
    let b = buyer(&app);
    let (_, body) = pay(&app, &b, &course, Some("pm_card_visa"), "conc-1").await;
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
    let admin = app.token("admin-1", &["admin"]);
    let mut handles = Vec::new();
    for key in ["c-a", "c-b"] {
        let rb = app
            .request(reqwest::Method::POST, "/api/payments/refund", Some(&admin))
            .header("Idempotency-Key", key)
            .json(&json!({ "paymentId": payment_id, "amount": 600, "reason": "requested_by_customer" }));
        handles.push(tokio::spawn(async move { json_of(rb.send().await.unwrap()).await }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        let (status, body) = h.await.unwrap();
        if status == 422 {
            assert_eq!(error_code(&body), "refund_exceeds_remaining");
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 422]);
    let (_, payment) = json_of(app.get(&format!("/api/payments/{payment_id}"), Some(&b.token)).await).await;
    assert_eq!(payment["refundedAmount"], 600);
    assert_eq!(payment["status"], "partially_refunded");
    // The rest can still be refunded, and no more.
    let (status, body) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some("c-c"),
            &json!({ "paymentId": payment_id, "amount": 401, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some("c-d"),
            &json!({ "paymentId": payment_id, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["amount"], 400);
    assert_eq!(body["paymentStatus"], "refunded");
}

#[tokio::test]
async fn another_users_payment_is_not_found() {
    let app = spawn_app().await;
    let course = app.seed_course("instructor-1", 1000, "USD").await;
    let owner = buyer(&app);
    let (_, body) = pay(&app, &owner, &course, Some("pm_card_visa"), "own-1").await;
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &owner.token, |p| p["fulfilled"] == true).await;
    let stranger = buyer(&app);
    for path in [format!("/api/payments/{payment_id}"), format!("/api/payments/{payment_id}/receipt")] {
        let (status, body) = json_of(app.get(&path, Some(&stranger.token)).await).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(error_code(&body), "not_found");
    }
    let (status, _) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&stranger.token),
            Some("x"),
            &json!({ "paymentId": payment_id, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) =
        json_of(app.get(&format!("/api/payments/history?userId={}", owner.id), Some(&stranger.token)).await).await;
    assert_eq!(status, 403);
    let admin = app.token("admin-1", &["admin"]);
    let (status, _) = json_of(app.get(&format!("/api/payments/{payment_id}"), Some(&admin)).await).await;
    assert_eq!(status, 200);
    let (_, history) =
        json_of(app.get(&format!("/api/payments/history?userId={}", owner.id), Some(&admin)).await).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn replaying_the_idempotency_key_returns_the_same_response_and_one_payment_intent() {
    let app = spawn_app().await;
    let course = app.seed_course("instructor-1", 1234, "USD").await;
    let b = buyer(&app);
    let first = pay(&app, &b, &course, Some("pm_card_visa"), "same-key").await;
    let second = pay(&app, &b, &course, Some("pm_card_visa"), "same-key").await;
    assert_eq!(first, second);
    assert_eq!(app.stripe_requests("POST", "/v1/payment_intents").await.len(), 1);
    let (status, body) = pay(&app, &b, &course, Some("pm_card_chargeDeclined"), "same-key").await;
    assert_eq!(status, 422);
    assert_eq!(error_code(&body), "idempotency_key_reused");
}

#[tokio::test]
async fn orders_are_validated_against_the_catalog() {
    let app = spawn_app().await;
    let b = buyer(&app);
    let own = app.seed_course(&b.id, 1000, "USD").await;
    let free = app.seed_course("instructor-1", 0, "USD").await;
    let usd = app.seed_course("instructor-1", 1000, "USD").await;
    let eur = app.seed_course("instructor-2", 1000, "EUR").await;
    let cases = [
        (json!({ "items": [{ "type": "course", "courseId": own }] }), 422, "own_course"),
        (json!({ "items": [{ "type": "course", "courseId": free }] }), 422, "free_course"),
        (json!({ "items": [{ "type": "course", "courseId": "nope" }] }), 404, "not_found"),
        (
            json!({ "items": [{ "type": "course", "courseId": usd }, { "type": "course", "courseId": eur }] }),
            422,
            "mixed_currencies",
        ),
        (
            json!({ "items": [{ "type": "course", "courseId": usd }, { "type": "course", "courseId": usd }] }),
            400,
            "validation_failed",
        ),
        (json!({ "items": [] }), 400, "validation_failed"),
        (json!({ "items": [{ "type": "bundle", "courseId": usd }] }), 400, "invalid_json"),
        (
            json!({ "items": [{ "type": "course", "courseId": usd }], "paymentMethodId": "card_123" }),
            400,
            "validation_failed",
        ),
        (json!({ "items": [{ "type": "course", "courseId": usd }], "amount": 1 }), 400, "invalid_json"),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let (got, resp) =
            json_of(app.post("/api/payments/process", Some(&b.token), Some(&format!("v-{i}")), &body).await).await;
        assert_eq!((got, error_code(&resp)), (status, code), "case {i}: {resp}");
    }
    let (status, body) = json_of(
        app.post(
            "/api/payments/process",
            Some(&b.token),
            None,
            &json!({ "items": [{ "type": "course", "courseId": usd }] }),
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "idempotency_key_required"));

    // Owning a course blocks buying it again.
    let (_, body) = pay(&app, &b, &usd, Some("pm_card_visa"), "first").await;
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
    let (status, body) = pay(&app, &b, &usd, Some("pm_card_visa"), "second").await;
    assert_eq!((status, error_code(&body)), (409, "already_owned"));
}

#[tokio::test]
async fn the_buyer_refund_window_follows_the_moved_clock() {
    const WINDOW_DAYS: i64 = 14;
    const DAY: i64 = 86_400;
    let settings = [("REFUND_WINDOW_DAYS".to_string(), WINDOW_DAYS.to_string())].into_iter().collect();
    let app = spawn_app_with(AppOptions { settings, ..Default::default() }).await;
    let b = buyer(&app);
    let mut payments = Vec::new();
    for (i, amount) in [1500, 2500].into_iter().enumerate() {
        let course = app.seed_course("instructor-1", amount, "USD").await;
        let (status, body) = pay(&app, &b, &course, Some("pm_card_visa"), &format!("moved-{i}")).await;
        assert_eq!(status, 201, "{body}");
        let payment_id = body["paymentId"].as_str().unwrap().to_string();
        app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
        payments.push(payment_id);
    }
    let refund = |payment_id: &str| json!({ "paymentId": payment_id, "reason": "requested_by_customer" });

    // A day before the window closes (by the app's clock, not the wall clock) the buyer may.
    app.booted.state.clock.advance((WINDOW_DAYS - 1) * DAY);
    let (status, body) =
        json_of(app.post("/api/payments/refund", Some(&b.token), Some("moved-r0"), &refund(&payments[0])).await).await;
    assert_eq!(status, 201, "{body}");

    // A day after it, the buyer may not; an admin still may.
    app.booted.state.clock.advance(2 * DAY);
    let (status, body) =
        json_of(app.post("/api/payments/refund", Some(&b.token), Some("moved-r1"), &refund(&payments[1])).await).await;
    assert_eq!((status, error_code(&body)), (422, "refund_window_closed"), "{body}");
    let admin = app.token("admin-1", &["admin"]);
    let (status, body) =
        json_of(app.post("/api/payments/refund", Some(&admin), Some("moved-r2"), &refund(&payments[1])).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["paymentStatus"], "refunded");
}

#[tokio::test]
async fn buyers_refund_within_the_window_and_admins_any_time() {
    let settings = [("REFUND_WINDOW_DAYS".to_string(), "0".to_string())].into_iter().collect();
    let app = spawn_app_with(AppOptions { settings, ..Default::default() }).await;
    let course = app.seed_course("instructor-1", 5000, "GBP").await;
    let b = buyer(&app);
    let (_, body) = pay(&app, &b, &course, Some("pm_card_visa"), "win-1").await;
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refund = json!({ "paymentId": payment_id, "amount": 1000, "reason": "requested_by_customer" });
    let (status, body) = json_of(app.post("/api/payments/refund", Some(&b.token), Some("w-1"), &refund).await).await;
    assert_eq!((status, error_code(&body)), (422, "refund_window_closed"));
    let admin = app.token("admin-1", &["admin"]);
    let (status, body) = json_of(app.post("/api/payments/refund", Some(&admin), Some("w-2"), &refund).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["paymentStatus"], "partially_refunded");
    // Audited, and the buyer is told.
    let (_, audit) = json_of(app.get("/api/admin/audit", Some(&admin)).await).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "payment.refund" && e["target"] == format!("payment:{payment_id}"))
    );
    let emails = app.wait_for_emails(&b.email, 2).await;
    assert!(
        emails.iter().any(|e| e["subject"] == "Your Azora refund" && e.to_string().contains("GBP 10.00")),
        "{emails:?}"
    );
    // The receipt shows the refund.
    let html = app.get(&format!("/api/payments/{payment_id}/receipt"), Some(&b.token)).await.text().await.unwrap();
    assert!(html.contains("-GBP 10.00"), "{html}");
}

#[tokio::test]
async fn history_is_newest_first_and_paginates() {
    let app = spawn_app().await;
    let b = buyer(&app);
    let mut ids = Vec::new();
    for i in 0..3 {
        let course = app.seed_course("instructor-1", 1000 + i, "USD").await;
        let (status, body) = pay(&app, &b, &course, Some("pm_card_visa"), &format!("h-{i}")).await;
        assert_eq!(status, 201);
        ids.push(body["paymentId"].as_str().unwrap().to_string());
    }
    let (_, first) = json_of(app.get("/api/payments/history?limit=2", Some(&b.token)).await).await;
    let cursor = first["nextCursor"].as_str().expect("more pages");
    let (_, second) =
        json_of(app.get(&format!("/api/payments/history?limit=2&cursor={cursor}"), Some(&b.token)).await).await;
    let seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|p| p["paymentId"].as_str().unwrap().to_string())
        .collect();
    ids.reverse();
    assert_eq!(seen, ids);
}

async fn library(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = json_of(app.get(&format!("/api/users/me/courses{query}"), Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn the_library_lists_bought_and_free_courses_and_drops_a_refunded_one() {
    let app = spawn_app().await;
    let bought = app.seed_course("instructor-lib", 2500, "USD").await;
    let b = buyer(&app);
    let (status, body) = pay(&app, &b, &bought, Some("pm_card_visa"), &unique("lib")).await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
    let teacher = app.token(&unique("teacher"), &["instructor"]);
    let upload = json!({
        "title": "Free course", "description": "d", "category": "business", "level": "beginner",
        "language": "en", "price": { "amount": 0, "currency": "USD" }, "publish": true,
        "lessons": [{ "title": "One", "durationSeconds": 60, "contentUrl": "https://cdn.example.com/1.mp4" }]
    });
    let (status, free) = json_of(app.post("/api/courses/upload", Some(&teacher), None, &upload).await).await;
    assert_eq!(status, 201, "{free}");
    let free = free["courseId"].as_str().unwrap().to_string();
    let (status, body) = json_of(
        app.post("/api/courses/purchase", Some(&b.token), Some(&unique("free")), &json!({ "courseId": free })).await,
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let all = library(&app, &b.token, "").await;
    let mut owned: Vec<(String, String, Value)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["courseId"].as_str().unwrap().to_string(),
                c["source"].as_str().unwrap().to_string(),
                c["paymentId"].clone(),
            )
        })
        .collect();
    owned.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![
        (bought.clone(), "purchase".to_string(), json!(payment_id)),
        (free.clone(), "free".to_string(), Value::Null),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(owned, want, "{all}");
    assert!(all["items"].as_array().unwrap().iter().all(|c| c["title"].is_string()), "{all}");
    // Pages of one, and nobody else's library.
    let first = library(&app, &b.token, "?limit=1").await;
    let cursor = first["nextCursor"].as_str().expect("a second page").to_string();
    let second = library(&app, &b.token, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_ne!(first["items"][0]["courseId"], second["items"][0]["courseId"]);
    let stranger = buyer(&app);
    assert_eq!(library(&app, &stranger.token, "").await["items"], json!([]));
    let (status, body) =
        json_of(app.get(&format!("/api/users/me/courses?cursor={cursor}"), Some(&stranger.token)).await).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_cursor"), "another user's cursor: {body}");

    // A refunded purchase leaves the library.
    let admin = app.token("admin-lib", &["admin"]);
    let (status, refund) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some(&unique("r")),
            &json!({ "paymentId": payment_id, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{refund}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ids: Vec<Value> = library(&app, &b.token, "").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["courseId"].clone())
            .collect();
        if ids == vec![json!(free)] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the refunded course is still listed: {ids:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_course_can_be_unpublished_and_archived_without_touching_its_buyers_or_their_orders() {
    let app = spawn_app().await;
    let teacher = app.token(&unique("teacher"), &["instructor"]);
    let content = |amount: i64| {
        json!({
            "title": "Lifecycle course", "description": "d", "category": "business", "level": "beginner",
            "language": "en", "price": { "amount": amount, "currency": "USD" }, "publish": true,
            "lessons": [{ "title": "One", "durationSeconds": 60, "contentUrl": "https://cdn.example.com/1.mp4" }]
        })
    };
    let (status, course) = json_of(app.post("/api/courses/upload", Some(&teacher), None, &content(2000)).await).await;
    assert_eq!(status, 201, "{course}");
    let id = course["courseId"].as_str().unwrap().to_string();
    let b = buyer(&app);
    let (status, body) = pay(&app, &b, &id, Some("pm_card_visa"), &unique("life")).await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;

    // A new price touches no order.
    let mut edit = content(5000);
    edit["courseId"] = json!(id);
    let (status, _) = json_of(app.post("/api/courses/upload", Some(&teacher), None, &edit).await).await;
    assert_eq!(status, 200);
    let (_, payment) = json_of(app.get(&format!("/api/payments/{payment_id}"), Some(&b.token)).await).await;
    assert_eq!((&payment["amount"], &payment["items"][0]["amount"]), (&json!(2000), &json!(2000)), "{payment}");

    let set = |status: &'static str| {
        let (app, teacher, path) = (&app, teacher.clone(), format!("/api/courses/{id}/status"));
        async move { json_of(app.post(&path, Some(&teacher), None, &json!({ "status": status })).await).await }
    };
    let in_catalog = || {
        let (app, id) = (&app, id.clone());
        async move {
            let (_, page) = json_of(app.get("/api/courses/list?limit=100&sort=newest", None).await).await;
            page["items"].as_array().unwrap().iter().any(|c| c["courseId"] == json!(id))
        }
    };
    assert!(in_catalog().await);
    // Unpublished: out of the catalog, not for sale, still the buyer's.
    let (status, body) = set("draft").await;
    assert_eq!((status, &body["status"]), (200, &json!("draft")), "{body}");
    assert!(!in_catalog().await);
    let other = buyer(&app);
    let (status, _) = pay(&app, &other, &id, Some("pm_card_visa"), &unique("life")).await;
    assert_eq!(status, 404, "an unpublished course is not for sale");
    let (status, _) = json_of(app.get(&format!("/api/courses/{id}"), None).await).await;
    assert_eq!(status, 404);
    let (status, seen) = json_of(app.get(&format!("/api/courses/{id}"), Some(&b.token)).await).await;
    assert_eq!(status, 200, "the buyer keeps the course: {seen}");
    let (_, library) = json_of(app.get("/api/users/me/courses", Some(&b.token)).await).await;
    assert_eq!(library["items"][0]["courseId"], json!(id));
    // Published again, then archived for good.
    assert_eq!(set("published").await.0, 200);
    assert!(in_catalog().await);
    assert_eq!(set("archived").await.0, 200);
    assert!(!in_catalog().await);
    let (status, body) = set("published").await;
    assert_eq!((status, error_code(&body)), (422, "course_archived"));
    let (status, body) = json_of(app.get(&format!("/api/courses/{id}/access"), Some(&b.token)).await).await;
    assert_eq!((status, &body["access"]), (200, &json!(true)), "{body}");
    // Something that was for sale is never deleted; a draft that never was, is.
    let delete = |course: String| {
        let (app, teacher) = (&app, teacher.clone());
        async move {
            let resp = app
                .request(reqwest::Method::DELETE, &format!("/api/courses/{course}"), Some(&teacher))
                .send()
                .await
                .unwrap();
            json_of(resp).await
        }
    };
    let (status, body) = delete(id.clone()).await;
    assert_eq!((status, error_code(&body)), (409, "course_not_deletable"));
    let mut draft = content(1000);
    draft["publish"] = json!(false);
    let (status, draft) = json_of(app.post("/api/courses/upload", Some(&teacher), None, &draft).await).await;
    assert_eq!(status, 201, "{draft}");
    let draft_id = draft["courseId"].as_str().unwrap().to_string();
    let (status, body) = delete(draft_id.clone()).await;
    assert_eq!((status, &body["deleted"]), (200, &json!(true)), "{body}");
    let (status, _) = json_of(app.get(&format!("/api/courses/{draft_id}"), Some(&teacher)).await).await;
    assert_eq!(status, 404);
}

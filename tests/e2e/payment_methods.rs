//! Saved cards: `POST /api/payment-methods/setup`, `GET /api/payment-methods`,
//! `POST /api/payment-methods/{paymentMethodId}/default`, `DELETE /api/payment-methods/{paymentMethodId}`, and the billing
//! cycle's email about a card that expires before the renewal.

use azora_domain::UserId;
use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

struct User {
    id: String,
    email: String,
    token: String,
}

fn user(app: &TestApp) -> User {
    let id = unique("cards");
    let email = format!("{id}@example.com");
    let token = app.token_with_email(&id, &["student"], &email);
    User { id, email, token }
}

async fn setup(app: &TestApp, u: &User, key: &str, pm: &str) -> (u16, Value) {
    json_of(app.post("/api/payment-methods/setup", Some(&u.token), Some(key), &json!({ "paymentMethodId": pm })).await)
        .await
}

async fn cards(app: &TestApp, u: &User) -> Value {
    let (status, body) = json_of(app.get("/api/payment-methods", Some(&u.token)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn make_default(app: &TestApp, token: &str, pm: &str, key: &str) -> reqwest::Response {
    app.post(&format!("/api/payment-methods/{pm}/default"), Some(token), Some(key), &json!({})).await
}

async fn remove(app: &TestApp, token: &str, pm: &str) -> (u16, Value) {
    json_of(app.request(Method::DELETE, &format!("/api/payment-methods/{pm}"), Some(token)).send().await.expect("sent"))
        .await
}

async fn subscribe(app: &TestApp, u: &User) -> String {
    let body = json!({ "tier": "pro", "interval": "month", "paymentMethodId": "pm_card_visa" });
    let (status, created) =
        json_of(app.post("/api/subscriptions/create", Some(&u.token), Some(&unique("k")), &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["subscriptionId"].as_str().expect("subscriptionId").to_string()
}

/// The subscription as the Stripe sandbox has it.
async fn stripe_subscription(app: &TestApp, id: &str) -> Value {
    let url = format!("{}v1/subscriptions/{id}", app.stripe.base_url());
    let resp = app.http.get(url).bearer_auth("sk_test_end_to_end").send().await.expect("sandbox answers");
    json_of(resp).await.1
}

fn ids(list: &Value) -> Vec<String> {
    list["paymentMethods"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn cards_are_added_listed_made_default_on_the_subscription_and_removed() {
    let app = spawn_app().await;
    let u = user(&app);
    assert_eq!(cards(&app, &u).await, json!({ "paymentMethods": [], "defaultPaymentMethodId": null }));

    // A first card is saved at once and becomes the default; a replay answers the same intent.
    let (status, first) = setup(&app, &u, "card-1", "pm_card_visa").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!((first["status"].clone(), first["madeDefault"].clone()), (json!("succeeded"), json!(true)));
    let visa = first["paymentMethodId"].as_str().expect("pm").to_string();
    let replay = app
        .post(
            "/api/payment-methods/setup",
            Some(&u.token),
            Some("card-1"),
            &json!({ "paymentMethodId": "pm_card_visa" }),
        )
        .await;
    assert_eq!(replay.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(json_of(replay).await.1["setupIntentId"], first["setupIntentId"]);
    let listed = cards(&app, &u).await;
    assert_eq!(ids(&listed), vec![visa.clone()], "the replay saved nothing more");
    let card = &listed["paymentMethods"][0];
    assert_eq!(
        (card["brand"].clone(), card["last4"].clone(), card["expMonth"].clone(), card["default"].clone()),
        (json!("visa"), json!("4242"), json!(12), json!(true))
    );
    assert!(card["expYear"].as_i64().is_some_and(|y| y > 2026));

    // A subscription charges its own card (the default); a second card does not take over.
    let sub_id = subscribe(&app, &u).await;
    let (status, second) = setup(&app, &u, "card-2", "pm_card_mastercard").await;
    assert_eq!((status, second["madeDefault"].clone()), (201, json!(false)), "{second}");
    let mastercard = second["paymentMethodId"].as_str().expect("pm").to_string();
    let listed = cards(&app, &u).await;
    assert_eq!(ids(&listed)[0], mastercard, "newest first: {listed}");
    assert_ne!(listed["defaultPaymentMethodId"], json!(mastercard));

    // Making it the default reaches the live subscription in Stripe; a replay changes nothing.
    let resp = make_default(&app, &u.token, &mastercard, "default-1").await;
    let (status, after) = json_of(resp).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["defaultPaymentMethodId"], json!(mastercard));
    assert_eq!(stripe_subscription(&app, &sub_id).await["default_payment_method"], json!(mastercard));
    let replay = make_default(&app, &u.token, &mastercard, "default-1").await;
    assert_eq!(replay.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let (status, body) = json_of(
        app.request(Method::POST, &format!("/api/payment-methods/{mastercard}/default"), Some(&u.token))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "idempotency_key_required"));

    // The other cards go; the last card of a live subscription stays.
    for other in ids(&cards(&app, &u).await).into_iter().filter(|id| *id != mastercard) {
        let (status, body) = remove(&app, &u.token, &other).await;
        assert_eq!(status, 200, "{body}");
        assert!(!ids(&body).contains(&other));
    }
    assert_eq!(ids(&cards(&app, &u).await), vec![mastercard.clone()]);
    let (status, body) = remove(&app, &u.token, &mastercard).await;
    assert_eq!((status, error_code(&body)), (409, "default_card_required"));
    let detached: Vec<Value> = app.stripe.events_of_type("payment_method.detached");
    assert!(detached.iter().any(|e| e["data"]["object"]["id"] == json!(visa)));
}

#[tokio::test]
async fn another_users_card_is_not_found_and_declines_and_3ds_are_answered() {
    let app = spawn_app().await;
    let (a, b) = (user(&app), user(&app));
    let (status, created) = setup(&app, &a, "a-card", "pm_card_visa").await;
    assert_eq!(status, 201, "{created}");
    let pm = created["paymentMethodId"].as_str().expect("pm").to_string();
    // B has no customer yet, then one of their own: A's card is unknown to B either way.
    for _ in 0..2 {
        let (status, body) = json_of(make_default(&app, &b.token, &pm, &unique("k")).await).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"));
        let (status, body) = remove(&app, &b.token, &pm).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"));
        assert!(!ids(&cards(&app, &b).await).contains(&pm));
        setup(&app, &b, "b-card", "pm_card_amex").await;
    }
    for unknown in ["pm_doesNotExist123", "pm_card_visa", "not-a-card"] {
        let (status, body) = json_of(make_default(&app, &b.token, unknown, &unique("k")).await).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{unknown}");
        let (status, body) = remove(&app, &b.token, unknown).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{unknown}");
    }
    assert_eq!(ids(&cards(&app, &a).await), vec![pm.clone()], "A's card is untouched");

    // A decline is 402 and saves nothing; the key is free for a corrected retry.
    let (status, body) = setup(&app, &a, "a-declined", "pm_card_chargeDeclined").await;
    assert_eq!((status, error_code(&body)), (402, "card_declined"));
    assert_eq!(body["error"]["declineCode"], "generic_decline");
    let (status, body) = setup(&app, &a, "a-declined", "pm_card_mastercard").await;
    assert_eq!((status, body["status"].clone()), (201, json!("succeeded")), "another card under the same key: {body}");
    let mastercard = body["paymentMethodId"].as_str().expect("pm").to_string();
    let (status, body) = remove(&app, &a.token, &mastercard).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = setup(&app, &a, "a-bad", "card_visa").await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"));

    // 3-D Secure: the client completes the challenge with the intent's secret.
    let (status, body) = setup(&app, &a, "a-3ds", "pm_card_authenticationRequired").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "requires_action");
    let secret = body["clientSecret"].as_str().expect("clientSecret");
    let seti = body["setupIntentId"].as_str().expect("id");
    assert!(secret.starts_with(&format!("{seti}_secret_")));
    app.sandbox_post(&format!("/_sandbox/setup_intents/{seti}/authenticate"), json!({ "succeed": true })).await;
    let listed = cards(&app, &a).await;
    assert_eq!(ids(&listed).len(), 2, "{listed}");
    assert_eq!(listed["paymentMethods"][0]["last4"], "3184");
    assert_eq!(listed["defaultPaymentMethodId"], json!(pm), "the first card stays the default");
}

#[tokio::test]
async fn a_card_expiring_before_the_renewal_is_emailed_once() {
    let app = spawn_app().await;
    let u = user(&app);
    subscribe(&app, &u).await;
    let record = app
        .booted
        .state
        .store
        .get_subscription_record(&UserId::parse(u.id.clone()).expect("id"))
        .await
        .expect("store")
        .expect("recorded");
    let end = record.subscription.current_period_end.expect("period end");
    let default = cards(&app, &u).await["defaultPaymentMethodId"].as_str().expect("default").to_string();
    // The card runs out the month before the renewal.
    let before = (end - jiff::SignedDuration::from_hours(35 * 24)).to_zoned(jiff::tz::TimeZone::UTC);
    app.sandbox_post(
        &format!("/_sandbox/payment_methods/{default}/expiry"),
        json!({ "exp_month": before.month(), "exp_year": before.year() }),
    )
    .await;
    // Two days before the renewal (the reminder's window for monthly plans); two daily runs.
    let to = (end - jiff::SignedDuration::from_hours(48)).as_second() - app.booted.state.clock.now().as_second();
    app.booted.state.clock.advance(to);
    let job = |run: &'static str| {
        let app = &app;
        async move {
            let (status, report) =
                json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({ "run": run })).await).await;
            assert_eq!(status, 200, "{report}");
            report
        }
    };
    assert_eq!(job("card-day-1").await["cardExpiryWarnings"], 1);
    app.booted.state.clock.advance(24 * 3600);
    assert_eq!(job("card-day-2").await["cardExpiryWarnings"], 0, "once per card and period");
    app.wait_for_emails(&u.email, 2).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let warnings: Vec<Value> = app
        .sent_emails(&u.email)
        .await
        .into_iter()
        .filter(|e| e["subject"] == "Your card expires before your Azora renewal")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let text = warnings[0].to_string();
    assert!(text.contains("visa ending in 4242") && text.contains("/billing/payment-method"), "{text}");
}

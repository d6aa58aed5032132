//! Concurrent subscription creates (issue 10, #5): the user's one slot is claimed in DynamoDB
//! before Stripe is called, so racing creates leave exactly one live Stripe subscription; a claim
//! left by a crash neither blocks the user for good nor lets a second subscription through.

use azora_domain::UserId;
use azora_domain::subscription::BillingInterval;
use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use azora_store::subscriptions::SlotClaim;
use serde_json::{Value, json};

/// A call to the sandbox's Stripe API itself (not through our code).
async fn stripe_api(app: &TestApp, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    let url = format!("{}{}", app.stripe.base_url(), path.trim_start_matches('/'));
    let resp = app
        .http
        .request(method, url)
        .bearer_auth(&app.booted.state.config.stripe.get().unwrap().secret_key)
        .form(form)
        .send()
        .await
        .expect("sandbox answers");
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The customer's subscriptions that are not canceled, straight from the sandbox.
async fn live_in_stripe(app: &TestApp, customer: &str) -> Vec<Value> {
    let list = stripe_api(
        app,
        reqwest::Method::GET,
        &format!("/v1/subscriptions?customer={customer}&status=all&limit=100"),
        &[],
    )
    .await;
    list["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|s| !matches!(s["status"].as_str(), Some("canceled" | "incomplete_expired")))
        .cloned()
        .collect()
}

async fn customer_of(app: &TestApp, user: &str) -> String {
    app.booted.state.store.get_stripe_customer(&UserId::parse(user).unwrap()).await.unwrap().expect("a Stripe customer")
}

async fn create(app: &TestApp, token: &str, key: &str, pm: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "tier": "pro", "interval": "month" });
    if let Some(pm) = pm {
        body["paymentMethodId"] = json!(pm);
    }
    json_of(app.post("/api/subscriptions/create", Some(token), Some(key), &body).await).await
}

/// A claim as a crashed create would have left it.
async fn leave_claim(app: &TestApp, user: &str, claim_id: &str, lease_until: i64) {
    let now = jiff::Timestamp::now().as_second();
    let claim = SlotClaim {
        claim_id: claim_id.to_string(),
        stripe_key: format!("subscription-{claim_id}"),
        lease_until,
        created_at: now - 120,
    };
    let outcome =
        app.booted.state.store.claim_subscription_slot(&UserId::parse(user).unwrap(), &claim, None, now).await.unwrap();
    assert!(matches!(outcome, azora_store::subscriptions::SlotOutcome::Acquired { fresh: true }), "{outcome:?}");
}

/// A Stripe customer for `user`, made the way our API makes it.
async fn with_customer(app: &TestApp, user: &str) -> String {
    let customer = stripe_api(app, reqwest::Method::POST, "/v1/customers", &[("metadata[userId]", user)]).await;
    let id = customer["id"].as_str().unwrap().to_string();
    app.booted.state.store.keep_stripe_customer(&UserId::parse(user).unwrap(), &id).await.unwrap()
}

/// A subscription created in Stripe under `claim_id` whose create crashed before recording it.
async fn orphan_in_stripe(app: &TestApp, user: &str, customer: &str, claim_id: &str) -> String {
    let price = azora_api::subscriptions::pro_price_id(&app.booted.state, BillingInterval::Month).await.unwrap();
    let sub = stripe_api(
        app,
        reqwest::Method::POST,
        "/v1/subscriptions",
        &[
            ("customer", customer),
            ("items[0][price]", &price),
            ("payment_behavior", "default_incomplete"),
            ("metadata[userId]", user),
            ("metadata[tier]", "pro"),
            ("metadata[interval]", "month"),
            ("metadata[claimId]", claim_id),
        ],
    )
    .await;
    sub["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn concurrent_creates_leave_exactly_one_live_stripe_subscription() {
    let app = spawn_app().await;
    let user = unique("racer");
    let token = app.token(&user, &["student"]);
    let mut handles = Vec::new();
    for i in 0..6 {
        let rb = app
            .request(reqwest::Method::POST, "/api/subscriptions/create", Some(&token))
            .header("Idempotency-Key", format!("race-{i}"))
            .json(&json!({ "tier": "pro", "interval": "month", "paymentMethodId": "pm_card_visa" }));
        handles.push(tokio::spawn(async move { json_of(rb.send().await.unwrap()).await }));
    }
    let mut created = Vec::new();
    let mut conflicts = 0;
    for h in handles {
        let (status, body) = h.await.unwrap();
        match status {
            201 => created.push(body),
            409 => {
                assert!(matches!(error_code(&body), "subscription_exists" | "subscription_in_progress"), "{body}");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created.len(), conflicts), (1, 5), "{created:?}");
    let customer = customer_of(&app, &user).await;
    let live = live_in_stripe(&app, &customer).await;
    let ids: Vec<&Value> = live.iter().map(|s| &s["id"]).collect();
    assert_eq!(live.len(), 1, "exactly one live Stripe subscription: {ids:?}");
    assert_eq!(live[0]["id"], created[0]["subscriptionId"]);
    assert_eq!(app.stripe_requests("POST", "/v1/subscriptions").await.len(), 1, "only the slot's holder called Stripe");
    let (_, current) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(current["tier"], "pro");
    assert!(
        app.booted.state.store.get_slot_claim(&UserId::parse(&user).unwrap()).await.unwrap().is_none(),
        "slot freed"
    );
}

#[tokio::test]
async fn a_running_claim_answers_409_without_touching_stripe() {
    let app = spawn_app().await;
    let user = unique("waiter");
    let token = app.token(&user, &["student"]);
    leave_claim(&app, &user, "someone-else", jiff::Timestamp::now().as_second() + 60).await;
    let resp = app
        .request(reqwest::Method::POST, "/api/subscriptions/create", Some(&token))
        .header("Idempotency-Key", "wait-1")
        .json(&json!({ "tier": "pro", "interval": "month", "paymentMethodId": "pm_card_visa" }))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("retry-after").is_some());
    let (status, body) = json_of(resp).await;
    assert_eq!((status, error_code(&body)), (409, "subscription_in_progress"));
    assert!(app.stripe_requests("POST", "/v1/subscriptions").await.is_empty());
    assert!(app.stripe_requests("POST", "/v1/customers").await.is_empty());
    // The conflict was transient, so it was not stored for the key: once the other request is
    // done (here: gave up), a retry with the same key subscribes.
    app.booted.state.store.release_subscription_claim(&UserId::parse(&user).unwrap(), "someone-else").await.unwrap();
    let (status, body) = create(&app, &token, "wait-1", Some("pm_card_visa")).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn an_expired_claim_that_created_nothing_is_taken_over() {
    let app = spawn_app().await;
    let user = unique("phoenix");
    let token = app.token(&user, &["student"]);
    let customer = with_customer(&app, &user).await;
    leave_claim(&app, &user, "crashed-before-stripe", jiff::Timestamp::now().as_second() - 1).await;
    let (status, body) = create(&app, &token, "after-crash", Some("pm_card_visa")).await;
    assert_eq!(status, 201, "{body}");
    let live = live_in_stripe(&app, &customer).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["id"], body["subscriptionId"]);
}

#[tokio::test]
async fn what_an_expired_claim_created_is_adopted_not_duplicated() {
    let app = spawn_app().await;
    let user = unique("adopted");
    let token = app.token(&user, &["student"]);
    let customer = with_customer(&app, &user).await;
    let orphan = orphan_in_stripe(&app, &user, &customer, "crashed-after-stripe").await;
    leave_claim(&app, &user, "crashed-after-stripe", jiff::Timestamp::now().as_second() - 1).await;
    let (status, body) = create(&app, &token, "another-try", Some("pm_card_visa")).await;
    assert_eq!((status, error_code(&body)), (409, "subscription_exists"), "{body}");
    let live = live_in_stripe(&app, &customer).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["id"], json!(orphan));
    let record = app.booted.state.store.get_subscription_record(&UserId::parse(&user).unwrap()).await.unwrap().unwrap();
    assert_eq!(record.stripe_subscription_id.as_deref(), Some(orphan.as_str()), "the orphan is ours now");
}

#[tokio::test]
async fn a_retry_of_the_same_request_completes_its_crashed_claim_without_a_second_subscription() {
    let app = spawn_app().await;
    let user = unique("retry");
    let token = app.token(&user, &["student"]);
    let customer = with_customer(&app, &user).await;
    // The first attempt of key "same" claimed the slot and created in Stripe, then crashed.
    let claim_id = azora_api::idempotency::fingerprint(format!("{user}:same").as_bytes());
    let first = orphan_in_stripe(&app, &user, &customer, &claim_id).await;
    leave_claim(&app, &user, &claim_id, jiff::Timestamp::now().as_second() + 60).await;
    let (status, body) = create(&app, &token, "same", None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["subscriptionId"], json!(first), "the earlier attempt's subscription, not a new one");
    assert_eq!(app.stripe_requests("POST", "/v1/subscriptions").await.len(), 1, "only the test's own create");
    assert_eq!(live_in_stripe(&app, &customer).await.len(), 1);
}

#[tokio::test]
async fn a_create_stripe_refuses_gives_the_slot_back_at_once() {
    let app = spawn_app().await;
    let user = unique("refused");
    let token = app.token(&user, &["student"]);
    let (status, body) = create(&app, &token, "bad-card", Some("pm_does_not_exist")).await;
    assert!(status == 422 || status == 402, "{status} {body}");
    assert!(app.booted.state.store.get_slot_claim(&UserId::parse(&user).unwrap()).await.unwrap().is_none());
    let (status, body) = create(&app, &token, "good-card", Some("pm_card_visa")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(live_in_stripe(&app, &customer_of(&app, &user).await).await.len(), 1);
}

#[tokio::test]
async fn the_billing_cycle_settles_claims_left_by_crashed_creates_nobody_retried() {
    let app = spawn_app().await;
    let now = jiff::Timestamp::now().as_second();
    // A: crashed after Stripe created the subscription. B: crashed before. C: still running.
    let (a, b, c) = (unique("crash-after"), unique("crash-before"), unique("running"));
    let customer_a = with_customer(&app, &a).await;
    let orphan = orphan_in_stripe(&app, &a, &customer_a, "claim-a").await;
    leave_claim(&app, &a, "claim-a", now - 1).await;
    with_customer(&app, &b).await;
    leave_claim(&app, &b, "claim-b", now - 1).await;
    leave_claim(&app, &c, "claim-c", now + 60).await;

    let (status, report) =
        json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({ "run": "claims" })).await).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["claimsSettled"], 2, "{report}");
    let store = &app.booted.state.store;
    let user = |u: &str| UserId::parse(u).unwrap();
    let record = store.get_subscription_record(&user(&a)).await.unwrap().expect("adopted");
    assert_eq!(record.stripe_subscription_id.as_deref(), Some(orphan.as_str()));
    assert!(store.get_slot_claim(&user(&a)).await.unwrap().is_none());
    assert_eq!(live_in_stripe(&app, &customer_a).await.len(), 1);
    assert!(store.get_slot_claim(&user(&b)).await.unwrap().is_none(), "B's slot is free again");
    assert!(store.get_subscription_record(&user(&b)).await.unwrap().is_none());
    assert_eq!(store.get_slot_claim(&user(&c)).await.unwrap().map(|c| c.claim_id).as_deref(), Some("claim-c"));
    // B subscribes at once.
    let (status, body) = create(&app, &app.token(&b, &["student"]), "b-1", Some("pm_card_visa")).await;
    assert_eq!(status, 201, "{body}");
}

//! Where money flows meet (issue #10): refunds racing fulfilment, partial refunds and access,
//! events we should not trust, two orders of one course, effects left halfway, late retries,
//! keys reused across routes, disputes and refunds that fail after succeeding.

use azora_domain::payment::{Refund, RefundStatus};
use azora_domain::{Currency, Money, UserId};
use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

struct Buyer {
    id: String,
    token: String,
}

fn buyer(app: &TestApp) -> Buyer {
    let id = unique("buyer");
    let token = app.token_with_email(&id, &["student"], &format!("{id}@example.com"));
    Buyer { id, token }
}

async fn order(app: &TestApp, b: &Buyer, courses: &[&str], pm: Option<&str>, key: &str) -> (u16, Value) {
    let items: Vec<Value> = courses.iter().map(|c| json!({ "type": "course", "courseId": c })).collect();
    let mut body = json!({ "items": items });
    if let Some(pm) = pm {
        body["paymentMethodId"] = json!(pm);
    }
    json_of(app.post("/api/payments/process", Some(&b.token), Some(key), &body).await).await
}

async fn refund(app: &TestApp, token: &str, payment_id: &str, amount: Option<i64>, key: &str) -> (u16, Value) {
    let mut body = json!({ "paymentId": payment_id, "reason": "requested_by_customer" });
    if let Some(a) = amount {
        body["amount"] = json!(a);
    }
    json_of(app.post("/api/payments/refund", Some(token), Some(key), &body).await).await
}

async fn enrolled(app: &TestApp, b: &Buyer, course: &str) -> bool {
    app.booted.state.store.is_enrolled(&UserId::parse(&b.id).unwrap(), course).await.unwrap()
}

/// The instructor's net earnings (lifetime credited minus reversed) in USD.
async fn net_earned(app: &TestApp, instructor: &str) -> i64 {
    let b = app.booted.state.store.balance(&UserId::parse(instructor).unwrap(), Currency::Usd).await.unwrap();
    b.lifetime - b.reversed
}

async fn payment(app: &TestApp, id: &str) -> azora_domain::payment::Payment {
    app.booted.state.store.get_payment(id).await.unwrap().expect("payment")
}

/// Polls until `done` holds for the stored payment, or fails after 20 s.
async fn wait_until(app: &TestApp, id: &str, what: &str, done: impl Fn(&azora_domain::payment::Payment) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = payment(app, id).await;
        if done(&p) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {p:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sandbox events not delivered yet, oldest first.
async fn sandbox_events(app: &TestApp) -> Vec<Value> {
    let (_, all) =
        json_of(app.http.get(format!("{}_sandbox/events", app.stripe.base_url())).send().await.unwrap()).await;
    let mut events = all["data"].as_array().cloned().unwrap_or_default();
    events.sort_by_key(|e| e["created"].as_i64());
    events
}

/// A Stripe API call straight to the sandbox with the platform's secret key (what someone
/// with dashboard or API access does outside our API).
async fn stripe_api(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app
        .http
        .post(format!("{}{}", app.stripe.base_url().trim_end_matches('/'), path))
        .bearer_auth("sk_test_end_to_end")
        .form(form)
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

fn id_of(body: &Value) -> String {
    body["paymentId"].as_str().expect("paymentId").to_string()
}

#[tokio::test]
async fn a_refund_waits_for_fulfilment_and_a_refund_made_before_it_grants_nothing() {
    let app = spawn_app().await;
    app.sandbox_post("/_sandbox/config", json!({ "autoDeliver": false })).await;
    let teacher = unique("teacher");
    let course = app.seed_course(&teacher, 2000, "USD").await;
    let b = buyer(&app);
    let (status, body) = order(&app, &b, &[&course], Some("pm_card_visa"), "early-1").await;
    assert_eq!((status, body["status"].as_str()), (201, Some("succeeded")), "{body}");
    let payment_id = id_of(&body);

    // Charged but not fulfilled yet (the success event is delayed): our API refuses to refund.
    let (status, body) = refund(&app, &b.token, &payment_id, None, "early-r1").await;
    assert_eq!((status, error_code(&body)), (409, "payment_not_fulfilled"), "{body}");

    // A refund made in Stripe's dashboard meanwhile; its events arrive before the success event.
    let pi = app.payment_intent_of(&payment_id).await;
    let (status, made) = stripe_api(&app, "/v1/refunds", &[("payment_intent", &pi)]).await;
    assert_eq!(status, 200, "{made}");
    let events = sandbox_events(&app).await;
    let succeeded: Vec<&Value> = events.iter().filter(|e| e["type"] == "payment_intent.succeeded").collect();
    for e in
        events.iter().filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("refund.") || t == "charge.refunded"))
    {
        app.deliver(e["id"].as_str().unwrap(), json!({})).await;
    }
    wait_until(&app, &payment_id, "the dashboard refund counted", |p| p.refunded == 2000).await;
    app.deliver(succeeded[0]["id"].as_str().unwrap(), json!({})).await;
    wait_until(&app, &payment_id, "fulfilment", |p| p.fulfilled_at.is_some()).await;

    // Fulfilled into a refunded state: a receipt (money was taken and given back), no access,
    // and the instructor keeps nothing of a sale that was refunded in full.
    let deadline = Instant::now() + Duration::from_secs(10);
    while net_earned(&app, &teacher).await != 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(net_earned(&app, &teacher).await, 0);
    assert!(!enrolled(&app, &b, &course).await, "no access for a refunded order");
    assert_eq!(payment(&app, &payment_id).await.status.as_str(), "refunded");
}

#[tokio::test]
async fn buyers_refund_all_or_nothing_and_an_item_refunded_in_full_loses_its_access_and_review() {
    let app = spawn_app().await;
    let (t1, t2) = (unique("teacher"), unique("teacher"));
    let (c1, c2) = (app.seed_course(&t1, 1000, "USD").await, app.seed_course(&t2, 500, "USD").await);
    let b = buyer(&app);
    let (status, body) = order(&app, &b, &[&c1, &c2], Some("pm_card_visa"), "two-1").await;
    assert_eq!(status, 201, "{body}");
    let payment_id = id_of(&body);
    wait_until(&app, &payment_id, "fulfilment", |p| p.fulfilled_at.is_some()).await;
    let (status, body) =
        json_of(app.post(&format!("/api/courses/{c1}/reviews"), Some(&b.token), None, &json!({ "rating": 5 })).await)
            .await;
    assert!(status == 200 || status == 201, "{body}");

    // A buyer cannot keep the courses with a refund of all but a cent.
    let (status, body) = refund(&app, &b.token, &payment_id, Some(1499), "two-r1").await;
    assert_eq!((status, error_code(&body)), (422, "partial_refund_not_allowed"), "{body}");

    // Support refunds the first item's price: that item's access and review go, the other stays.
    let admin = app.token("admin-1", &["admin"]);
    let (status, body) = refund(&app, &admin, &payment_id, Some(1000), "two-r2").await;
    assert_eq!(status, 201, "{body}");
    assert!(!enrolled(&app, &b, &c1).await, "the refunded item's access is revoked");
    assert!(enrolled(&app, &b, &c2).await, "the other item stays");
    assert!(app.booted.state.store.get_review(&c1, &UserId::parse(&b.id).unwrap()).await.unwrap().is_none());
    let (_, course) = json_of(app.get(&format!("/api/courses/{c1}"), Some(&b.token)).await).await;
    assert_eq!(course["ratingCount"].as_i64().unwrap_or(0), 0, "{course}");
    assert_eq!((net_earned(&app, &t1).await, net_earned(&app, &t2).await), (0, 350));
}

#[tokio::test]
async fn a_payment_intent_we_did_not_create_or_a_connected_accounts_event_fulfils_nothing() {
    let app = spawn_app().await;
    let course = app.seed_course(&unique("teacher"), 12900, "USD").await;
    let b = buyer(&app);
    let (status, body) = order(&app, &b, &[&course], None, "forge-1").await;
    assert_eq!((status, body["status"].as_str()), (201, Some("requires_payment_method")), "{body}");
    let payment_id = id_of(&body);
    let pi = app.payment_intent_of(&payment_id).await;

    // 50 cents on another PaymentIntent that claims our payment in its metadata.
    let (status, forged) = stripe_api(
        &app,
        "/v1/payment_intents",
        &[
            ("amount", "50"),
            ("currency", "usd"),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
            ("automatic_payment_methods[enabled]", "true"),
            ("automatic_payment_methods[allow_redirects]", "never"),
            ("metadata[paymentId]", &payment_id),
        ],
    )
    .await;
    assert_eq!((status, forged["status"].as_str()), (200, Some("succeeded")), "{forged}");
    // The right PaymentIntent, but an event of a connected account.
    let object = json!({ "id": pi, "object": "payment_intent", "amount": 12900, "amount_received": 12900,
        "currency": "usd", "status": "succeeded", "metadata": { "paymentId": payment_id } });
    assert_eq!(
        app.signed_event("payment_intent.succeeded", object.clone(), json!({ "account": "acct_other" })).await,
        200
    );
    // Live-mode event on a test-mode platform.
    assert_eq!(app.signed_event("payment_intent.succeeded", object, json!({ "livemode": true })).await, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = payment(&app, &payment_id).await;
    assert!(p.fulfilled_at.is_none() && !p.status.is_paid(), "{p:?}");
    assert!(!enrolled(&app, &b, &course).await);

    // The genuine intent still fulfils it.
    app.sandbox_post(&format!("/_sandbox/payment_intents/{pi}/confirm"), json!({ "payment_method": "pm_card_visa" }))
        .await;
    wait_until(&app, &payment_id, "fulfilment", |p| p.fulfilled_at.is_some()).await;
    assert_eq!(payment(&app, &payment_id).await.stripe_payment_intent_id.as_deref(), Some(pi.as_str()));
}

#[tokio::test]
async fn a_second_order_of_a_course_cancels_the_unpaid_first_and_concurrent_orders_charge_once() {
    let app = spawn_app().await;
    let course = app.seed_course(&unique("teacher"), 1500, "USD").await;
    let b = buyer(&app);
    let (_, first) = order(&app, &b, &[&course], None, "dup-o1").await;
    let first_id = id_of(&first);
    let first_pi = app.payment_intent_of(&first_id).await;
    let (status, second) = order(&app, &b, &[&course], Some("pm_card_visa"), "dup-o2").await;
    assert_eq!((status, second["status"].as_str()), (201, Some("succeeded")), "{second}");
    assert_eq!(payment(&app, &first_id).await.status.as_str(), "canceled");
    // The first can no longer be charged.
    let resp = app
        .http
        .post(format!("{}_sandbox/payment_intents/{first_pi}/confirm", app.stripe.base_url()))
        .json(&json!({ "payment_method": "pm_card_visa" }))
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status().as_u16(), 200, "a canceled PaymentIntent cannot be confirmed");
    wait_until(&app, &id_of(&second), "fulfilment", |p| p.fulfilled_at.is_some()).await;
    // A third order of an owned course is refused before anything is charged.
    let (status, body) = order(&app, &b, &[&course], Some("pm_card_visa"), "dup-o3").await;
    assert_eq!((status, error_code(&body)), (409, "already_owned"), "{body}");

    // Four concurrent orders of one course by another buyer: one charge.
    let other = buyer(&app);
    let mut tasks = Vec::new();
    for i in 0..4 {
        let rb = app
            .request(reqwest::Method::POST, "/api/payments/process", Some(&other.token))
            .header("Idempotency-Key", format!("conc-{i}"))
            .json(&json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": "pm_card_visa" }));
        tasks.push(tokio::spawn(async move { json_of(rb.send().await.unwrap()).await }));
    }
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => created += 1,
            409 => assert!(["order_in_progress", "already_owned"].contains(&error_code(&body)), "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    let (_, intents) = json_of(
        app.http
            .get(format!("{}v1/payment_intents?limit=100", app.stripe.base_url()))
            .bearer_auth("sk_test_end_to_end")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let succeeded = intents["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pi| pi["status"] == "succeeded" && pi["metadata"]["userId"] == other.id.as_str())
        .count();
    assert_eq!(succeeded, 1, "one charge for one course");
}

/// Counts a refund on our side as if the process crashed right after: no effects applied.
async fn count_refund_without_effects(app: &TestApp, payment_id: &str, amount: i64, refund_id: &str) -> Refund {
    let store = &app.booted.state.store;
    let refund = Refund {
        id: refund_id.into(),
        payment_id: payment_id.into(),
        amount: Money::new(amount, Currency::Usd),
        status: RefundStatus::Pending,
        reason: Some("other".into()),
        stripe_refund_id: None,
        requested_by: "admin-1".into(),
        created_at: jiff::Timestamp::now(),
        effects_applied: false,
    };
    store.reserve_refund(&refund).await.unwrap();
    refund
}

#[tokio::test]
async fn refund_effects_left_halfway_are_finished_by_the_reconcile_job_and_stale_reservations_released() {
    let app = spawn_app().await;
    let teacher = unique("teacher");
    let course = app.seed_course(&teacher, 1000, "USD").await;
    let b = buyer(&app);
    let (_, body) = order(&app, &b, &[&course], Some("pm_card_visa"), "half-1").await;
    let payment_id = id_of(&body);
    wait_until(&app, &payment_id, "fulfilment", |p| p.fulfilled_at.is_some()).await;
    // The worker's fulfilment is over (its last effect, the receipt email, is out): otherwise its
    // own `finish_refunds`, which follows the fulfilment, could still find the refund below.
    app.wait_for_emails(&format!("{}@example.com", b.id), 1).await;
    let store = &app.booted.state.store;

    // Counted, then the process died: access and earnings still as before the refund.
    count_refund_without_effects(&app, &payment_id, 1000, "ref_crashed").await;
    store
        .complete_refund(
            &payment_id,
            "ref_crashed",
            "re_crashed",
            azora_domain::Money::new(1000, azora_domain::Currency::Usd),
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    assert!(enrolled(&app, &b, &course).await);
    // A stale reservation whose Stripe call never answered (nothing was made at Stripe).
    let (_, second) =
        order(&app, &b, &[&app.seed_course(&teacher, 700, "USD").await], Some("pm_card_visa"), "half-2").await;
    let second_id = id_of(&second);
    wait_until(&app, &second_id, "fulfilment", |p| p.fulfilled_at.is_some()).await;
    count_refund_without_effects(&app, &second_id, 300, "ref_stale").await;
    assert_eq!(payment(&app, &second_id).await.refundable, 400);

    app.booted.state.clock.advance(20 * 60);
    // The job reads an index, which (like DynamoDB's) may lag a write: a run may miss an item
    // the next run finds.
    let mut report = Value::Null;
    for _ in 0..20 {
        let resp =
            app.request(reqwest::Method::POST, "/_local/jobs/reconcile", None).json(&json!({})).send().await.unwrap();
        let (status, body) = json_of(resp).await;
        assert_eq!(status, 200, "{body}");
        report = body;
        let crashed = store.get_refund(&payment_id, "ref_crashed").await.unwrap().unwrap();
        let stale = store.get_refund(&second_id, "ref_stale").await.unwrap().unwrap();
        if crashed.effects_applied && stale.status != RefundStatus::Pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(!enrolled(&app, &b, &course).await, "{report}");
    assert_eq!(net_earned(&app, &teacher).await, 490, "only the second sale remains: {report}");
    assert!(store.get_refund(&payment_id, "ref_crashed").await.unwrap().unwrap().effects_applied);
    assert_eq!(store.get_refund(&second_id, "ref_stale").await.unwrap().unwrap().status, RefundStatus::Failed);
    assert_eq!(payment(&app, &second_id).await.refundable, 700);
    // A second run finds nothing more to do.
    let resp =
        app.request(reqwest::Method::POST, "/_local/jobs/reconcile", None).json(&json!({})).send().await.unwrap();
    let (_, again) = json_of(resp).await;
    assert_eq!(again["fixed"].as_array().map(Vec::len), Some(0), "{again}");
    assert_eq!(net_earned(&app, &teacher).await, 490);
}

#[tokio::test]
async fn a_late_retry_never_charges_a_payment_twice_and_a_key_is_one_order_on_every_route() {
    let app = spawn_app().await;
    let (c1, c2) =
        (app.seed_course(&unique("teacher"), 900, "USD").await, app.seed_course(&unique("teacher"), 800, "USD").await);
    let b = buyer(&app);
    let (status, first) = order(&app, &b, &[&c1], Some("pm_card_visa"), "late-1").await;
    assert_eq!(status, 201, "{first}");
    // Days later our idempotency record has expired (and Stripe has forgotten the key).
    let scope = format!("POST /api/payments/process:{}", b.id);
    app.booted
        .state
        .store
        .client()
        .delete_item()
        .table_name(app.booted.state.store.table())
        .key("PK", azora_store::item::s(azora_store::keys::claim(&scope, "late-1")))
        .key("SK", azora_store::item::s("CLAIM"))
        .send()
        .await
        .unwrap();
    let (status, again) = order(&app, &b, &[&c1], Some("pm_card_visa"), "late-1").await;
    assert_eq!((status, id_of(&again)), (201, id_of(&first)), "{again}");
    assert_eq!(app.stripe_requests("POST", "/v1/payment_intents").await.len(), 1, "one PaymentIntent, ever");

    // The same key for another course, on the other checkout route.
    let (status, body) = json_of(
        app.post(
            "/api/courses/purchase",
            Some(&b.token),
            Some("late-1"),
            &json!({ "courseId": c2, "paymentMethodId": "pm_card_visa" }),
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (422, "idempotency_key_reused"), "{body}");
}

#[tokio::test]
async fn a_lost_dispute_takes_access_and_share_and_a_refund_that_fails_later_gives_them_back() {
    let app = spawn_app().await;
    let teacher = unique("teacher");
    let (c1, c2) = (app.seed_course(&teacher, 2000, "USD").await, app.seed_course(&teacher, 1000, "USD").await);
    let b = buyer(&app);
    let (_, body) = order(&app, &b, &[&c1], Some("pm_card_visa"), "dis-1").await;
    let disputed = id_of(&body);
    wait_until(&app, &disputed, "fulfilment", |p| p.fulfilled_at.is_some()).await;
    let pi = app.payment_intent_of(&disputed).await;
    let dispute = |status: &str| {
        json!({ "id": "dp_1", "object": "dispute", "amount": 2000, "currency": "usd", "payment_intent": pi,
            "charge": "ch_x", "status": status, "reason": "fraudulent" })
    };
    assert_eq!(app.signed_event("charge.dispute.created", dispute("needs_response"), json!({})).await, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(enrolled(&app, &b, &c1).await, "access stays while the dispute is open");
    for _ in 0..2 {
        assert_eq!(app.signed_event("charge.dispute.closed", dispute("lost"), json!({})).await, 200);
    }
    wait_until(&app, &disputed, "the lost dispute counted", |p| p.refunded == 2000).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while enrolled(&app, &b, &c1).await && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!enrolled(&app, &b, &c1).await, "a lost dispute revokes access");
    assert_eq!(net_earned(&app, &teacher).await, 0, "and the instructor's share");

    // A refund that fails after it succeeded.
    let (_, body) = order(&app, &b, &[&c2], Some("pm_card_visa"), "dis-2").await;
    let refunded = id_of(&body);
    wait_until(&app, &refunded, "fulfilment", |p| p.fulfilled_at.is_some()).await;
    let admin = app.token("admin-1", &["admin"]);
    let (status, r) = refund(&app, &admin, &refunded, None, "dis-r1").await;
    assert_eq!(status, 201, "{r}");
    assert!(!enrolled(&app, &b, &c2).await);
    let refund_id = r["refundId"].as_str().unwrap();
    let stored = app.booted.state.store.get_refund(&refunded, refund_id).await.unwrap().unwrap();
    let pi2 = app.payment_intent_of(&refunded).await;
    let failed = json!({ "id": stored.stripe_refund_id, "object": "refund", "amount": 1000, "currency": "usd",
        "payment_intent": pi2, "status": "failed", "metadata": { "paymentId": refunded, "refundId": refund_id } });
    for _ in 0..2 {
        assert_eq!(app.signed_event("refund.updated", failed.clone(), json!({})).await, 200);
    }
    wait_until(&app, &refunded, "the failed refund uncounted", |p| p.refunded == 0).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !enrolled(&app, &b, &c2).await && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(enrolled(&app, &b, &c2).await, "access comes back");
    let p = payment(&app, &refunded).await;
    assert_eq!((p.status.as_str(), p.refundable), ("succeeded", 1000));
    assert_eq!(net_earned(&app, &teacher).await, 700, "the share comes back");

    // The business report: the dispute opened once and lost once (delivered twice), the refund
    // counted and taken back when it failed (delivered twice): net nothing.
    assert_eq!(app.signed_event("charge.dispute.created", dispute("needs_response"), json!({})).await, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let month = app.booted.state.clock.now().strftime("%Y-%m").to_string();
    let (status, report) =
        json_of(app.get(&format!("/api/admin/reports/monthly?from={month}&to={month}"), Some(&admin)).await).await;
    assert_eq!(status, 200, "{report}");
    let usd = &report["months"][0]["currencies"][0];
    assert_eq!(usd["currency"], "USD", "{report}");
    assert_eq!((usd["disputesOpened"].as_i64(), usd["disputesLost"].as_i64()), (Some(1), Some(1)), "{report}");
    assert_eq!(usd["disputesLostAmount"], 2000);
    assert_eq!((usd["refundsCount"].as_i64(), usd["refundsAmount"].as_i64()), (Some(0), Some(0)), "{report}");
    assert_eq!((usd["paymentsSucceeded"].as_i64(), usd["revenueGross"].as_i64()), (Some(2), Some(3000)));
}

async fn reconcile(app: &TestApp) -> Value {
    let resp =
        app.request(reqwest::Method::POST, "/_local/jobs/reconcile", None).json(&json!({})).send().await.unwrap();
    let (status, report) = json_of(resp).await;
    assert_eq!(status, 200, "{report}");
    report
}

fn kinds(report: &Value, list: &str) -> Vec<String> {
    report[list].as_array().into_iter().flatten().filter_map(|e| e["kind"].as_str().map(str::to_string)).collect()
}

#[tokio::test]
async fn reconciliation_fulfils_a_missed_charge_and_reports_charges_and_transfers_it_cannot_explain() {
    let app = spawn_app().await;
    app.sandbox_post("/_sandbox/config", json!({ "autoDeliver": false })).await;
    let course = app.seed_course(&unique("teacher"), 1200, "USD").await;
    let b = buyer(&app);
    let (_, body) = order(&app, &b, &[&course], Some("pm_card_visa"), "rec-1").await;
    let payment_id = id_of(&body);
    // The success event never arrives (dropped for good): the job finds the charge.
    let report = reconcile(&app).await;
    assert!(kinds(&report, "fixed").contains(&"charge_fulfilled".to_string()), "{report}");
    assert!(payment(&app, &payment_id).await.fulfilled_at.is_some());
    assert!(enrolled(&app, &b, &course).await);

    // A second charge claiming the same payment, and a transfer that is none of our payouts.
    stripe_api(
        &app,
        "/v1/payment_intents",
        &[
            ("amount", "1200"),
            ("currency", "usd"),
            ("payment_method", "pm_card_bypassPending"),
            ("confirm", "true"),
            ("automatic_payment_methods[enabled]", "true"),
            ("automatic_payment_methods[allow_redirects]", "never"),
            ("metadata[paymentId]", &payment_id),
        ],
    )
    .await;
    let (status, account) =
        stripe_api(&app, "/v1/accounts", &[("type", "express"), ("capabilities[transfers][requested]", "true")]).await;
    assert_eq!(status, 200, "{account}");
    app.sandbox_post(&format!("/_sandbox/accounts/{}/complete_onboarding", account["id"].as_str().unwrap()), json!({}))
        .await;
    let (status, transfer) = stripe_api(
        &app,
        "/v1/transfers",
        &[("amount", "100"), ("currency", "usd"), ("destination", account["id"].as_str().unwrap())],
    )
    .await;
    assert_eq!(status, 200, "{transfer}");
    let report = reconcile(&app).await;
    let drift = kinds(&report, "drift");
    assert!(drift.contains(&"second_charge_for_payment".to_string()), "{report}");
    assert!(drift.contains(&"transfer_not_ours".to_string()), "{report}");
    assert!(kinds(&report, "fixed").is_empty(), "nothing applied twice: {report}");
    assert_eq!(payment(&app, &payment_id).await.amount.amount, 1200);
    // Admins see what stays open.
    let admin = app.token("admin-1", &["admin"]);
    let (status, open) = json_of(app.get("/api/admin/reconciliation", Some(&admin)).await).await;
    assert_eq!(status, 200, "{open}");
    let open_kinds: Vec<&str> = open["items"].as_array().unwrap().iter().filter_map(|i| i["kind"].as_str()).collect();
    assert!(open_kinds.contains(&"second_charge_for_payment") && open_kinds.contains(&"transfer_not_ours"), "{open}");
    let (status, _) = json_of(app.get("/api/admin/reconciliation", Some(&b.token)).await).await;
    assert_eq!(status, 403);

    // A refund made in the dashboard whose events are lost: the job counts it, once.
    let pi = app.payment_intent_of(&payment_id).await;
    let (status, made) = stripe_api(&app, "/v1/refunds", &[("payment_intent", &pi)]).await;
    assert_eq!(status, 200, "{made}");
    let report = reconcile(&app).await;
    assert!(kinds(&report, "fixed").contains(&"refund_counted".to_string()), "{report}");
    let p = payment(&app, &payment_id).await;
    assert_eq!((p.refunded, p.status.as_str()), (1200, "refunded"));
    assert!(!enrolled(&app, &b, &course).await);
    let again = reconcile(&app).await;
    assert!(!kinds(&again, "fixed").contains(&"refund_counted".to_string()), "{again}");
}

#[tokio::test]
async fn reconciliation_cancels_a_live_stripe_subscription_we_do_not_own() {
    let app = spawn_app().await;
    let b = buyer(&app);
    let body = json!({ "tier": "pro", "interval": "month", "paymentMethodId": "pm_card_visa" });
    let (status, created) =
        json_of(app.post("/api/subscriptions/create", Some(&b.token), Some("sub-1"), &body).await).await;
    assert_eq!(status, 201, "{created}");
    let user = UserId::parse(&b.id).unwrap();
    let record = app.booted.state.store.get_subscription_record(&user).await.unwrap().unwrap();
    let ours = record.stripe_subscription_id.clone().unwrap();
    let customer = record.stripe_customer_id.clone().unwrap();
    let (_, sub) = json_of(
        app.http
            .get(format!("{}v1/subscriptions/{ours}", app.stripe.base_url()))
            .bearer_auth("sk_test_end_to_end")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let price = sub["items"]["data"][0]["price"]["id"].as_str().unwrap().to_string();
    // A second subscription for the same user, made outside our API: it would bill every month.
    let (status, orphan) = stripe_api(
        &app,
        "/v1/subscriptions",
        &[
            ("customer", &customer),
            ("items[0][price]", &price),
            ("default_payment_method", "pm_card_visa"),
            ("metadata[userId]", &b.id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{orphan}");
    let orphan_id = orphan["id"].as_str().unwrap().to_string();

    let report = reconcile(&app).await;
    assert!(kinds(&report, "fixed").contains(&"orphan_subscription_canceled".to_string()), "{report}");
    let status_of = |id: String| {
        let app = &app;
        async move {
            let (_, s) = json_of(
                app.http
                    .get(format!("{}v1/subscriptions/{id}", app.stripe.base_url()))
                    .bearer_auth("sk_test_end_to_end")
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            s["status"].as_str().unwrap_or_default().to_string()
        }
    };
    assert_eq!(status_of(orphan_id).await, "canceled");
    assert_eq!(status_of(ours).await, "active", "ours stays");
    let again = reconcile(&app).await;
    assert!(kinds(&again, "fixed").is_empty(), "{again}");
}

#[tokio::test]
async fn an_event_about_a_payment_we_do_not_know_is_acknowledged_not_retried() {
    let app = spawn_app().await;
    let queues = azora_e2e::invariants::Queues::of(&app).await;
    let object = json!({ "id": "pi_not_ours", "object": "payment_intent", "amount": 500, "amount_received": 500,
        "currency": "usd", "status": "succeeded", "metadata": {} });
    assert_eq!(app.signed_event("payment_intent.succeeded", object, json!({})).await, 200);
    let claimed = json!({ "id": "pi_not_ours_2", "object": "payment_intent", "amount": 500, "amount_received": 500,
        "currency": "usd", "status": "succeeded", "metadata": { "paymentId": "pay_nobody" } });
    assert_eq!(app.signed_event("payment_intent.succeeded", claimed, json!({})).await, 200);
    // Applied (as "nothing to do") on the first receive: nothing waits for a retry.
    let deadline = Instant::now() + Duration::from_secs(10);
    while queues.depth("StripeEventsQueue").await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(queues.depth("StripeEventsQueue").await, 0, "acknowledged, not back on the queue");
    assert_eq!(queues.depth("StripeEventsDeadLetterQueue").await, 0);
}

#[tokio::test]
async fn a_dispute_lost_at_stripe_whose_events_are_lost_is_counted_by_reconciliation() {
    let app = spawn_app().await;
    let teacher = unique("teacher");
    let course = app.seed_course(&teacher, 1800, "USD").await;
    let b = buyer(&app);
    let (_, body) = order(&app, &b, &[&course], Some("pm_card_visa"), "dsp-1").await;
    let payment_id = id_of(&body);
    wait_until(&app, &payment_id, "fulfilment", |p| p.fulfilled_at.is_some()).await;
    let pi = app.payment_intent_of(&payment_id).await;
    let (_, intent) = json_of(
        app.http
            .get(format!("{}v1/payment_intents/{pi}", app.stripe.base_url()))
            .bearer_auth("sk_test_end_to_end")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let charge = intent["latest_charge"].as_str().unwrap().to_string();
    // The dispute's events never reach us.
    app.sandbox_post("/_sandbox/config", json!({ "autoDeliver": false })).await;
    let dispute = app.sandbox_post(&format!("/_sandbox/charges/{charge}/dispute"), json!({})).await;
    let dispute_id = dispute["id"].as_str().unwrap().to_string();
    app.sandbox_post(&format!("/_sandbox/disputes/{dispute_id}/close"), json!({ "outcome": "lost" })).await;
    assert!(enrolled(&app, &b, &course).await);

    let report = reconcile(&app).await;
    assert!(kinds(&report, "fixed").contains(&"dispute_counted".to_string()), "{report}");
    let p = payment(&app, &payment_id).await;
    assert_eq!((p.refunded, p.status.as_str()), (1800, "refunded"));
    assert!(!enrolled(&app, &b, &course).await);
    assert_eq!(net_earned(&app, &teacher).await, 0);
    // Then the events arrive after all: nothing more happens.
    for e in sandbox_events(&app)
        .await
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("charge.dispute")))
    {
        app.deliver(e["id"].as_str().unwrap(), json!({})).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(payment(&app, &payment_id).await.refunded, 1800);
    let again = reconcile(&app).await;
    assert!(!kinds(&again, "fixed").contains(&"dispute_counted".to_string()), "{again}");
}

//! Business reports (issue #14 item 8): the admin endpoints read aggregates that the money and
//! subscription transactions maintain, so they show exact numbers, count a duplicated webhook
//! once and a declined payment as a failed attempt.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use serde_json::{Value, json};
use std::time::Duration;

fn admin(app: &TestApp) -> String {
    app.token("admin-reports", &["admin"])
}

fn month(app: &TestApp) -> String {
    app.booted.state.clock.now().strftime("%Y-%m").to_string()
}

async fn monthly(app: &TestApp, query: &str) -> Value {
    let (status, body) =
        json_of(app.get(&format!("/api/admin/reports/monthly?{query}"), Some(&admin(app))).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The month's row in `currency` (all zeros when absent).
fn row<'a>(report: &'a Value, month: &str, currency: &str) -> &'a Value {
    report["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == month)
        .and_then(|m| m["currencies"].as_array().unwrap().iter().find(|c| c["currency"] == currency))
        .unwrap_or_else(|| panic!("no {currency} row for {month}: {report}"))
}

/// Sum of a counter over every month of the report, in `currency`.
fn total(report: &Value, currency: &str, name: &str) -> i64 {
    report["months"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["currencies"].as_array().unwrap().iter())
        .filter(|c| c["currency"] == currency)
        .map(|c| c[name].as_i64().unwrap_or(0))
        .sum()
}

async fn pay(app: &TestApp, token: &str, course: &str, pm: &str, key: &str) -> (u16, Value) {
    let body = json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": pm });
    json_of(app.post("/api/payments/process", Some(token), Some(key), &body).await).await
}

#[tokio::test]
async fn a_sale_a_refund_and_a_decline_are_reported_once_each_however_often_the_events_come() {
    let app = spawn_app().await;
    let teacher = unique("teacher");
    let course = app.seed_course(&teacher, 2000, "USD").await;
    let buyer = unique("buyer");
    let token = app.token_with_email(&buyer, &["student"], &format!("{buyer}@example.com"));
    let (status, body) = pay(&app, &token, &course, "pm_card_visa", "rep-1").await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &token, |p| p["fulfilled"] == true).await;
    // The success event again, twice: refused by the fulfilment's condition, counted nothing.
    let succeeded = app.sandbox_event("payment_intent.succeeded").await;
    assert_eq!(app.deliver(&succeeded, json!({ "times": 2 })).await, vec![200, 200]);

    let (status, refund) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin(&app)),
            Some("rep-refund"),
            &json!({ "paymentId": payment_id, "amount": 500, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{refund}");
    let refunded = app.sandbox_event("charge.refunded").await;
    assert_eq!(app.deliver(&refunded, json!({ "times": 2 })).await, vec![200, 200]);

    let other = unique("buyer");
    let other_token = app.token_with_email(&other, &["student"], &format!("{other}@example.com"));
    let (status, body) = pay(&app, &other_token, &course, "pm_card_chargeDeclined", "rep-2").await;
    assert_eq!(status, 402, "{body}");
    app.stripe.wait_for_deliveries(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let m = month(&app);
    let report = monthly(&app, &format!("from={m}&to={m}")).await;
    let usd = row(&report, &m, "USD");
    assert_eq!(usd["paymentsSucceeded"], 1, "{report}");
    assert_eq!(usd["paymentsFailed"], 1, "the decline, counted once: {report}");
    assert_eq!(usd["paymentSuccessRate"], 0.5);
    assert_eq!(usd["revenueGross"], 2000);
    assert_eq!(usd["revenueInstructor"], 1400);
    assert_eq!(usd["revenuePlatform"], 600);
    assert_eq!(usd["refundsCount"], 1, "{report}");
    assert_eq!(usd["refundsAmount"], 500);
    assert_eq!(usd["subscriptionsNew"], 0);
    assert_eq!(report["months"].as_array().unwrap().len(), 1);

    let (status, instructors) =
        json_of(app.get(&format!("/api/admin/reports/instructors?month={m}"), Some(&admin(&app))).await).await;
    assert_eq!(status, 200, "{instructors}");
    let items = instructors["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{instructors}");
    let t = &items[0];
    assert_eq!(t["instructorId"], teacher.as_str());
    assert_eq!(t["currency"], "USD");
    assert_eq!((t["salesCount"].as_i64(), t["revenueGross"].as_i64()), (Some(1), Some(2000)));
    assert_eq!((t["revenueInstructor"].as_i64(), t["revenuePlatform"].as_i64()), (Some(1400), Some(600)));
    assert_eq!((t["refundsGross"].as_i64(), t["refundsInstructor"].as_i64()), (Some(500), Some(350)));

    // Only admins; months are checked.
    let student = app.token("student-reports", &["student"]);
    let (status, body) = json_of(app.get("/api/admin/reports/monthly", Some(&student)).await).await;
    assert_eq!((status, error_code(&body)), (403, "forbidden"), "{body}");
    let (status, body) = json_of(app.get("/api/admin/reports/monthly?from=2026-13", Some(&admin(&app))).await).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_month"));
    let (status, body) =
        json_of(app.get("/api/admin/reports/monthly?from=2026-12&to=2026-11", Some(&admin(&app))).await).await;
    assert_eq!((status, error_code(&body)), (422, "invalid_range"));
    let (status, body) =
        json_of(app.get("/api/admin/reports/monthly?from=2024-11&to=2026-11", Some(&admin(&app))).await).await;
    assert_eq!((status, error_code(&body)), (422, "invalid_range"), "25 months");
    let (status, body) = json_of(app.get("/api/admin/reports/instructors?month=26-11", Some(&admin(&app))).await).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_month"));
}

async fn current(app: &TestApp, token: &str) -> Value {
    json_of(app.get("/api/subscriptions/current", Some(token)).await).await.1
}

async fn wait_current(app: &TestApp, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..150 {
        let c = current(app, token).await;
        if done(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("subscription never reached the expected state: {}", current(app, token).await);
}

#[tokio::test]
async fn a_subscription_created_upgraded_and_canceled_moves_mrr_exactly_once() {
    let app = spawn_app().await;
    let user = unique("sub");
    let token = app.token_with_email(&user, &["student"], &format!("{user}@example.com"));
    let body = json!({ "tier": "pro", "interval": "month", "paymentMethodId": "pm_card_visa" });
    let (status, created) =
        json_of(app.post("/api/subscriptions/create", Some(&token), Some(&unique("k")), &body).await).await;
    assert_eq!(status, 201, "{created}");
    wait_current(&app, &token, |c| c["status"] == "active").await;
    app.stripe.wait_for_deliveries(Duration::from_secs(5)).await;
    let m = month(&app);
    let report = monthly(&app, &format!("from={m}&to={m}")).await;
    let usd = row(&report, &m, "USD");
    assert_eq!((usd["subscriptionsNew"].as_i64(), usd["mrrNew"].as_i64()), (Some(1), Some(1200)), "{report}");
    assert_eq!(usd["mrr"], 1200);
    assert_eq!(report["mrrNow"], json!([{ "currency": "USD", "amount": 1200 }]));

    // Monthly → yearly: 120.00 / 12 = 10.00 a month, a contraction of 2.00.
    let (status, upgraded) = json_of(
        app.request(reqwest::Method::PUT, "/api/subscriptions/update", Some(&token))
            .json(&json!({ "interval": "year" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{upgraded}");
    let proration = upgraded["prorationAmount"].as_i64().expect("proration amount");
    wait_current(&app, &token, |c| c["interval"] == "year").await;
    app.stripe.wait_for_deliveries(Duration::from_secs(5)).await;

    // Canceled at once (admin): churned.
    let (status, body) = json_of(
        app.post(
            "/api/subscriptions/cancel",
            Some(&admin(&app)),
            None,
            &json!({ "atPeriodEnd": false, "userId": user }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_current(&app, &token, |c| c["status"] == "canceled").await;
    app.stripe.wait_for_deliveries(Duration::from_secs(5)).await;

    // Every subscription event again: stale or already applied, none moves MRR.
    let (_, events) =
        json_of(app.http.get(format!("{}_sandbox/events", app.stripe.base_url())).send().await.unwrap()).await;
    for e in events["data"].as_array().unwrap() {
        let kind = e["type"].as_str().unwrap_or_default();
        if kind.starts_with("customer.subscription.") || kind.starts_with("invoice.") {
            app.deliver(e["id"].as_str().unwrap(), json!({})).await;
        }
    }
    app.stripe.wait_for_deliveries(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let m = month(&app);
    let report = monthly(&app, &format!("from={m}&to={m}")).await;
    let usd = row(&report, &m, "USD");
    let counted = |name: &str| usd[name].as_i64().unwrap_or(-1);
    assert_eq!(counted("subscriptionsNew"), 1, "{report}");
    assert_eq!(counted("subscriptionsChurned"), 1, "{report}");
    assert_eq!(counted("mrrNew"), 1200);
    assert_eq!(counted("mrrExpansion"), 0);
    assert_eq!(counted("mrrContraction"), 200);
    assert_eq!(counted("mrrChurned"), 1000);
    assert_eq!(counted("mrrChange"), 0);
    assert_eq!(usd["mrr"], 0);
    assert_eq!(report["mrrNow"], json!([{ "currency": "USD", "amount": 0 }]));
    // The first invoice and the upgrade's proration, each paid once.
    assert_eq!(counted("paymentsSucceeded"), 2, "{report}");
    assert_eq!(counted("subscriptionRevenue"), 1200 + proration);
    assert_eq!(total(&report, "USD", "paymentsFailed"), 0);
}

#[tokio::test]
async fn an_order_of_twenty_courses_by_twenty_instructors_is_fulfilled_and_reported_per_instructor() {
    // The fulfilment's transaction is at its largest here (a sale, a course and a balance per
    // instructor): the instructors' reports must not push it past DynamoDB's 100 actions.
    let app = spawn_app().await;
    let mut courses = Vec::new();
    for _ in 0..20 {
        courses.push(app.seed_course(&unique("teacher"), 1000, "USD").await);
    }
    let buyer = unique("buyer");
    let token = app.token_with_email(&buyer, &["student"], &format!("{buyer}@example.com"));
    let items: Vec<Value> = courses.iter().map(|c| json!({ "type": "course", "courseId": c })).collect();
    let body = json!({ "items": items, "paymentMethodId": "pm_card_visa" });
    let (status, body) = json_of(app.post("/api/payments/process", Some(&token), Some("rep-20"), &body).await).await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &token, |p| p["fulfilled"] == true).await;
    let (status, refund) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin(&app)),
            Some("rep-20-refund"),
            &json!({ "paymentId": payment_id, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{refund}");

    let m = month(&app);
    let (status, page) =
        json_of(app.get(&format!("/api/admin/reports/instructors?month={m}&limit=100"), Some(&admin(&app))).await)
            .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 20, "{page}");
    for t in items {
        assert_eq!((t["salesCount"].as_i64(), t["revenueInstructor"].as_i64()), (Some(1), Some(700)), "{t}");
        assert_eq!((t["refundsGross"].as_i64(), t["refundsInstructor"].as_i64()), (Some(1000), Some(700)), "{t}");
    }
    let report = monthly(&app, &format!("from={m}&to={m}")).await;
    let usd = row(&report, &m, "USD");
    assert_eq!((usd["revenueGross"].as_i64(), usd["refundsAmount"].as_i64()), (Some(20_000), Some(20_000)));
}

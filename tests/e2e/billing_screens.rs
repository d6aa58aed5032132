//! The API of the billing screens: the proration preview (`GET /api/subscriptions/preview`)
//! quotes what `PUT /api/subscriptions/update` then charges, by the update's rules; the invoices
//! list (`GET /api/subscriptions/invoices`) shows the caller's own invoices only.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const DAY: i64 = 24 * 3600;

async fn subscribe(app: &TestApp, token: &str, interval: &str) {
    let body = json!({ "tier": "pro", "interval": interval, "paymentMethodId": "pm_card_visa" });
    let (status, created) =
        json_of(app.post("/api/subscriptions/create", Some(token), Some(&unique("k")), &body).await).await;
    assert_eq!(status, 201, "{created}");
    for _ in 0..150 {
        let (_, c) = json_of(app.get("/api/subscriptions/current", Some(token)).await).await;
        if c["status"] == "active" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the subscription never became active");
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    json_of(app.get(path, Some(token)).await).await
}

async fn update(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    json_of(app.request(Method::PUT, "/api/subscriptions/update", Some(token)).json(&body).send().await.unwrap()).await
}

/// Moves the sandbox's clock and ours together.
async fn advance(app: &TestApp, seconds: i64) {
    app.sandbox_post("/_sandbox/clock/advance", json!({ "seconds": seconds })).await;
    app.booted.state.clock.advance(seconds);
}

#[tokio::test]
async fn a_preview_quotes_exactly_what_the_upgrade_then_charges() {
    let app = spawn_app().await;
    let user = unique("quote");
    let token = app.token(&user, &["student"]);
    subscribe(&app, &token, "month").await;
    advance(&app, 10 * DAY).await;
    let record = app.booted.state.store.get_subscription_record(&azora_domain::UserId::parse(&user).unwrap()).await;
    let sub_path = format!("/v1/subscriptions/{}", record.unwrap().unwrap().stripe_subscription_id.unwrap());
    let updates_before = app.stripe_requests("POST", &sub_path).await.len();

    let (status, quote) = get(&app, "/api/subscriptions/preview?tier=pro&interval=year", &token).await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!((quote["change"].clone(), quote["effective"].clone()), (json!("upgrade"), json!("now")));
    assert_eq!((quote["tier"].clone(), quote["interval"].clone()), (json!("pro"), json!("year")));
    assert_eq!(quote["currency"], "USD");
    let due = quote["amountDue"].as_i64().expect("amountDue");
    // A year of Pro less the unused two-thirds of the month paid for.
    assert!(due > 12_000 - 1_200 && due < 12_000 - 600, "{quote}");
    let lines = quote["lines"].as_array().expect("lines");
    let amounts: Vec<i64> = lines.iter().map(|l| l["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts.len(), 2, "{quote}");
    assert!(amounts[0] < 0 && amounts[1] == 12_000, "the unused time credited, the year charged: {quote}");
    assert_eq!(amounts.iter().sum::<i64>(), quote["total"].as_i64().unwrap());
    assert_eq!(due, quote["total"].as_i64().unwrap(), "no credit balance");
    let (_, again) = get(&app, "/api/subscriptions/preview?interval=year", &token).await;
    assert_eq!(again["amountDue"], due, "the tier defaults to the current one");
    assert_eq!(
        app.stripe_requests("POST", &sub_path).await.len(),
        updates_before,
        "a preview changes nothing in Stripe"
    );
    let (_, current) = get(&app, "/api/subscriptions/current", &token).await;
    assert_eq!(current["interval"], "month", "nor here");

    // A quote is good for an hour.
    advance(&app, 2 * 3600).await;
    let (status, body) =
        update(&app, &token, json!({ "interval": "year", "prorationDate": quote["prorationDate"] })).await;
    assert_eq!((status, error_code(&body)), (422, "quote_expired"), "{body}");
    let (status, body) = update(&app, &token, json!({ "interval": "year", "prorationDate": "yesterday" })).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"), "{body}");

    // Confirmed ten minutes after a new quote: charged exactly the quote.
    let (_, quote) = get(&app, "/api/subscriptions/preview?tier=pro&interval=year", &token).await;
    advance(&app, 600).await;
    let (status, body) =
        update(&app, &token, json!({ "interval": "year", "prorationDate": quote["prorationDate"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["prorationAmount"], quote["amountDue"], "{body} vs {quote}");

    let (status, list) = get(&app, "/api/subscriptions/invoices", &token).await;
    assert_eq!(status, 200, "{list}");
    let invoices = list["invoices"].as_array().expect("invoices");
    assert_eq!(invoices.len(), 2, "{list}");
    assert_eq!(
        (invoices[0]["amount"].clone(), invoices[0]["status"].clone()),
        (quote["amountDue"].clone(), json!("paid"))
    );
    assert_eq!(invoices[0]["billingReason"], "subscription_update");
    assert_eq!((invoices[1]["amount"].clone(), invoices[1]["currency"].clone()), (json!(1200), json!("USD")));

    // Nothing more to upgrade to: the preview says so as the update does.
    let (status, body) = get(&app, "/api/subscriptions/preview?interval=year", &token).await;
    assert_eq!((status, error_code(&body)), (422, "no_change"));
}

#[tokio::test]
async fn a_preview_follows_the_update_rules() {
    let app = spawn_app().await;
    let token = app.token(&unique("rules"), &["student"]);
    let (status, body) = get(&app, "/api/subscriptions/preview?interval=year", &token).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "no subscription: {body}");
    subscribe(&app, &token, "month").await;

    for query in ["", "?tier=pro", "?interval=month", "?tier=pro&interval=month"] {
        let (status, body) = get(&app, &format!("/api/subscriptions/preview{query}"), &token).await;
        assert_eq!((status, error_code(&body)), (422, "no_change"), "{query}: {body}");
        let (u_status, u_body) = update(&app, &token, json!({})).await;
        assert_eq!((u_status, error_code(&u_body)), (422, "no_change"), "the update agrees: {u_body}");
    }
    let (status, body) = get(&app, "/api/subscriptions/preview?tier=enterprise", &token).await;
    assert_eq!((status, error_code(&body)), (422, "enterprise_via_license"));
    let (status, body) = get(&app, "/api/subscriptions/preview?interval=week", &token).await;
    assert_eq!(
        (status, error_code(&body), body["error"]["field"].clone()),
        (400, "validation_failed", json!("interval"))
    );
    let (status, body) = get(&app, "/api/subscriptions/preview?tier=gold", &token).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"));

    // Pro → Free: at the period end, nothing due now.
    let (_, current) = get(&app, "/api/subscriptions/current", &token).await;
    let (status, quote) = get(&app, "/api/subscriptions/preview?tier=free", &token).await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!((quote["change"].clone(), quote["effective"].clone()), (json!("downgrade"), json!("period_end")));
    assert_eq!(quote["effectiveAt"], current["currentPeriodEnd"]);
    assert_eq!((quote["amountDue"].clone(), quote["lines"].clone()), (json!(0), json!([])));
    assert_eq!(quote["prorationDate"], Value::Null);

    // Canceled at the period end: asking for the current plan is a resume, free of charge.
    let (status, body) =
        json_of(app.post("/api/subscriptions/cancel", Some(&token), None, &json!({ "atPeriodEnd": true })).await).await;
    assert_eq!(status, 200, "{body}");
    let (status, quote) = get(&app, "/api/subscriptions/preview", &token).await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!((quote["change"].clone(), quote["effective"].clone()), (json!("resume"), json!("now")));
    assert_eq!(quote["amountDue"], 0);
}

#[tokio::test]
async fn another_user_never_sees_my_invoices() {
    let app = spawn_app().await;
    let (a, b) = (app.token(&unique("inv-a"), &["student"]), app.token(&unique("inv-b"), &["student"]));
    let (status, list) = get(&app, "/api/subscriptions/invoices", &a).await;
    assert_eq!((status, list.clone()), (200, json!({ "invoices": [], "nextCursor": null })), "none before subscribing");

    subscribe(&app, &a, "year").await;
    let (_, list) = get(&app, "/api/subscriptions/invoices", &a).await;
    let mine = list["invoices"].as_array().expect("invoices").clone();
    assert_eq!(mine.len(), 1, "{list}");
    let invoice = &mine[0];
    assert_eq!((invoice["amount"].clone(), invoice["amountPaid"].clone()), (json!(12_000), json!(12_000)));
    assert_eq!((invoice["currency"].clone(), invoice["status"].clone()), (json!("USD"), json!("paid")));
    assert!(invoice["number"].as_str().is_some_and(|n| !n.is_empty()), "{invoice}");
    assert!(invoice["hostedInvoiceUrl"].as_str().is_some(), "{invoice}");
    assert!(invoice["date"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok(), "{invoice}");
    let a_invoice = invoice["id"].as_str().unwrap().to_string();

    let (status, list) = get(&app, "/api/subscriptions/invoices", &b).await;
    assert_eq!((status, list["invoices"].clone()), (200, json!([])), "B has no customer yet");
    subscribe(&app, &b, "month").await;
    let (_, list) = get(&app, "/api/subscriptions/invoices", &b).await;
    let theirs = list["invoices"].as_array().unwrap();
    assert_eq!(theirs.len(), 1, "{list}");
    assert_ne!(theirs[0]["id"], a_invoice);
    assert_eq!(theirs[0]["amount"], 1200);
    // A's invoice as B's cursor shows nothing of A's.
    let (status, body) = get(&app, &format!("/api/subscriptions/invoices?startingAfter={a_invoice}"), &b).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"), "{body}");
    assert!(!body.to_string().contains("12000"), "{body}");

    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("startingAfter=cus_1", "validation_failed"),
        ("limit=6&limit=", "repeated_query_parameter"),
    ] {
        let (status, body) = get(&app, &format!("/api/subscriptions/invoices?{query}"), &a).await;
        assert_eq!((status, error_code(&body)), (400, code), "{query}: {body}");
    }
    let (status, _) = json_of(app.get("/api/subscriptions/invoices", None).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn invoices_page_with_a_cursor() {
    let app = spawn_app().await;
    let token = app.token(&unique("pages"), &["student"]);
    subscribe(&app, &token, "month").await;
    advance(&app, 31 * DAY).await;
    advance(&app, 31 * DAY).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let query = cursor.as_ref().map(|c| format!("&startingAfter={c}")).unwrap_or_default();
        let (status, page) = get(&app, &format!("/api/subscriptions/invoices?limit=2{query}"), &token).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["invoices"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3, "the first invoice and two renewals: {seen:?}");
    seen.dedup();
    assert_eq!(seen.len(), 3, "no invoice twice");
}

/// Right after subscribing (Stripe's events of the create still arriving, some dated after the
/// upgrade's answer), an upgrade ends up recorded as yearly: the interval is the price's, as
/// Stripe bills it, not the create's metadata.
#[tokio::test]
async fn an_upgrade_right_after_subscribing_is_recorded_as_yearly() {
    let app = spawn_app().await;
    let token = app.token(&unique("fast"), &["student"]);
    subscribe(&app, &token, "month").await;
    let (status, body) = update(&app, &token, json!({ "interval": "year" })).await;
    assert_eq!(status, 200, "{body}");
    let in_a_year = jiff::Timestamp::from_second(app.booted.state.clock.now().as_second() + 300 * DAY).unwrap();
    for _ in 0..150 {
        let (_, c) = get(&app, "/api/subscriptions/current", &token).await;
        let end: Option<jiff::Timestamp> = c["currentPeriodEnd"].as_str().and_then(|t| t.parse().ok());
        if end.is_some_and(|e| e > in_a_year) {
            // Let the update's own events arrive too.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (_, c) = get(&app, "/api/subscriptions/current", &token).await;
            assert_eq!(c["interval"], "year", "{c}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the yearly period was never recorded");
}

//! Abuse limits (issue #14 item 12): card testing and ticket floods are refused with 429 and
//! `Retry-After`, per user and per source address, before anything is written; the budget comes
//! back when its hour is over, and an idempotent replay of an accepted request is not counted.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use azora_local::tokens::TokenSpec;
use serde_json::{Value, json};

const DECLINED: &str = "pm_card_chargeDeclined";

/// One order of a new course with `card`: (status, body, Retry-After).
async fn order(app: &TestApp, token: &str, course: &str, card: &str) -> (u16, Value, Option<u64>) {
    let body = json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": card });
    let resp = app.post("/api/payments/process", Some(token), Some(&unique("order")), &body).await;
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    let (status, body) = json_of(resp).await;
    (status, body, retry_after)
}

async fn payments_of(app: &TestApp, token: &str) -> usize {
    let (status, body) = json_of(app.get("/api/payments/history?limit=100", Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_card_tester_is_stopped_after_five_declines_until_the_hour_is_over() {
    let app = spawn_app().await;
    let course = app.seed_course("limits-instructor", 1200, "USD").await;
    let tester = unique("tester");
    let token = app.token(&tester, &["student"]);
    for i in 0..5 {
        let (status, body, _) = order(&app, &token, &course, DECLINED).await;
        assert_eq!((status, error_code(&body)), (402, "card_declined"), "attempt {i}: {body}");
    }
    let written = payments_of(&app, &token).await;
    // Over the budget even a good card is refused, before any order is written.
    let (status, body, retry_after) = order(&app, &token, &course, "pm_card_visa").await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    assert!(retry_after.is_some_and(|s| (1..=3600).contains(&s)), "Retry-After: {retry_after:?}");
    assert_eq!(body["error"]["per"], "user");
    assert_eq!(payments_of(&app, &token).await, written, "nothing written for a refused attempt");
    // The course route shares the budget.
    let resp = app
        .post(
            "/api/courses/purchase",
            Some(&token),
            Some(&unique("buy")),
            &json!({ "courseId": course, "paymentMethodId": "pm_card_visa" }),
        )
        .await;
    let (status, body) = json_of(resp).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    // Another buyer from the same address is not affected.
    let other = app.token(&unique("buyer"), &["student"]);
    let (status, body, _) = order(&app, &other, &course, "pm_card_visa").await;
    assert_eq!(status, 201, "{body}");
    // An hour later the budget is back.
    app.booted.state.clock.advance(3600);
    let (status, body, _) = order(&app, &token, &course, "pm_card_visa").await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn one_address_cycling_through_accounts_is_stopped_after_twenty_declines() {
    let app = spawn_app().await;
    let course = app.seed_course("limits-instructor", 900, "USD").await;
    // Five accounts, four declines each: no user is over their own budget...
    for _ in 0..5 {
        let token = app.token(&unique("tester"), &["student"]);
        for _ in 0..4 {
            let (status, body, _) = order(&app, &token, &course, DECLINED).await;
            assert_eq!(status, 402, "{body}");
        }
    }
    // ...but the address is: a sixth account gets 429 at once.
    let fresh = app.token(&unique("tester"), &["student"]);
    let (status, body, retry_after) = order(&app, &fresh, &course, "pm_card_visa").await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    assert_eq!(body["error"]["per"], "address");
    assert!(retry_after.is_some());
}

#[tokio::test]
async fn a_ticket_flood_is_refused_but_a_replay_of_an_accepted_ticket_is_not() {
    let app = spawn_app().await;
    let org = unique("org");
    let token = app.token_with(&TokenSpec {
        sub: &format!("boss-{org}"),
        roles: &["enterprise"],
        org: Some(&org),
        ttl_seconds: 600,
    });
    let ticket =
        |i: usize| json!({ "subject": format!("Help {i}"), "body": "Something is off.", "priority": "normal" });
    let mut last_key = String::new();
    for i in 0..10 {
        last_key = unique("ticket");
        let (status, body) =
            json_of(app.post("/api/enterprise/support/tickets", Some(&token), Some(&last_key), &ticket(i)).await).await;
        assert_eq!(status, 201, "ticket {i}: {body}");
    }
    let resp = app.post("/api/enterprise/support/tickets", Some(&token), Some(&unique("ticket")), &ticket(10)).await;
    assert!(resp.headers().get("retry-after").is_some());
    let (status, body) = json_of(resp).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    // A retry of an accepted ticket answers as before and is not counted.
    let (status, body) =
        json_of(app.post("/api/enterprise/support/tickets", Some(&token), Some(&last_key), &ticket(9)).await).await;
    assert_eq!(status, 201, "{body}");
    let (status, list) = json_of(app.get("/api/enterprise/support/tickets?limit=100", Some(&token)).await).await;
    assert_eq!((status, list["items"].as_array().map(Vec::len)), (200, Some(10)), "{list}");
}

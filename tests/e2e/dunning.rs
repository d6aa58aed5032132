//! Dunning on the documented retry schedule (issue #14 item 3), driven by the sandbox clock: a
//! renewal that fails is retried 3, 5 and 7 days after the first failure, each failed attempt
//! emails the next retry date (the last one says it was the final attempt), then past due → grace
//! → Free; or the customer fixes the card before a retry, which pays the renewal (receipt email)
//! and keeps the plan.

use crate::subscriptions_billing::{DAY, Subscriber, advance, current, job, wait_current};
use azora_e2e::{AppOptions, TestApp, json_of, spawn_app_with, unique};
use serde_json::{Value, json};
use std::time::Duration;

async fn app_with_grace(days: &str) -> TestApp {
    let settings = [("SUBSCRIPTION_GRACE_DAYS".to_string(), days.to_string())].into_iter().collect();
    spawn_app_with(AppOptions { settings, ..Default::default() }).await
}

/// Saves a card through the payment-methods API and makes it the default (also on the live
/// subscription); returns its id.
async fn use_card(app: &TestApp, s: &Subscriber, test_card: &str) -> String {
    let (status, saved) = json_of(
        app.post(
            "/api/payment-methods/setup",
            Some(&s.token),
            Some(&unique("pm")),
            &json!({ "paymentMethodId": test_card }),
        )
        .await,
    )
    .await;
    assert!(status < 300, "{status} {saved}");
    let pm = saved["paymentMethodId"].as_str().expect("saved at once").to_string();
    let resp =
        app.post(&format!("/api/payment-methods/{pm}/default"), Some(&s.token), Some(&unique("d")), &json!({})).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    pm
}

/// A Pro monthly subscriber (paid with Visa) whose card then starts failing.
async fn subscriber_with_a_failing_card(app: &TestApp) -> (Subscriber, jiff::Timestamp) {
    let id = unique("dun");
    let email = format!("{id}@example.com");
    let s = Subscriber { token: app.token_with_email(&id, &["student"], &email), email, id };
    let body = json!({ "tier": "pro", "interval": "month", "paymentMethodId": "pm_card_visa" });
    let (status, created) =
        json_of(app.post("/api/subscriptions/create", Some(&s.token), Some(&unique("k")), &body).await).await;
    assert_eq!(status, 201, "{created}");
    let c = wait_current(app, &s, |c| c["status"] == "active").await;
    let renews_at: jiff::Timestamp = c["currentPeriodEnd"].as_str().expect("period end").parse().expect("timestamp");
    use_card(app, &s, "pm_card_chargeCustomerFail").await;
    (s, renews_at)
}

fn day(t: jiff::Timestamp, plus_days: i64) -> String {
    (t + jiff::SignedDuration::from_secs(plus_days * DAY)).strftime("%Y-%m-%d").to_string()
}

/// Waits for the failure email that contains `needle`.
async fn failure_email(app: &TestApp, s: &Subscriber, needle: &str) -> String {
    for _ in 0..200 {
        let found = app
            .sent_emails(&s.email)
            .await
            .into_iter()
            .filter(|e| e["subject"] == "We could not renew your Azora subscription")
            .map(|e| e.to_string())
            .find(|e| e.contains(needle));
        if let Some(email) = found {
            return email;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no failure email with {needle:?}: {:?}", app.sent_emails(&s.email).await);
}

fn has_pro(c: &Value) -> bool {
    c["features"].as_array().is_some_and(|f| f.iter().any(|x| x == "ai_tutor"))
}

#[tokio::test]
async fn a_failing_card_is_retried_on_the_schedule_then_past_due_then_free_after_grace() {
    let app = app_with_grace("10").await;
    let (s, renews_at) = subscriber_with_a_failing_card(&app).await;

    // The renewal fails: past due, attempt 1, next try 3 days later.
    advance(&app, 31 * DAY + 3600).await;
    let c = wait_current(&app, &s, |c| c["status"] == "past_due").await;
    assert!(has_pro(&c), "past due keeps the plan: {c}");
    let first = failure_email(&app, &s, &format!("We will try your card again on {}", day(renews_at, 3))).await;
    assert!(first.contains("/billing/payment-method") && first.contains("failed."), "{first}");

    // Each retry fails and says when the next one is.
    advance(&app, 3 * DAY).await;
    let second = failure_email(&app, &s, "(attempt 2)").await;
    assert!(second.contains(&format!("We will try your card again on {}", day(renews_at, 5))), "{second}");
    advance(&app, 2 * DAY).await;
    let third = failure_email(&app, &s, "(attempt 3)").await;
    assert!(third.contains(&format!("We will try your card again on {}", day(renews_at, 7))), "{third}");
    advance(&app, 2 * DAY).await;
    let last = failure_email(&app, &s, "(attempt 4)").await;
    assert!(last.contains("That was the final attempt"), "{last}");
    assert_eq!(
        app.sent_emails(&s.email)
            .await
            .iter()
            .filter(|e| e["subject"] == "We could not renew your Azora subscription")
            .count(),
        4,
        "one email per attempt"
    );

    // Past due after the last attempt, within the grace period: still Pro.
    let c = wait_current(&app, &s, |c| c["status"] == "past_due").await;
    assert!(has_pro(&c), "{c}");
    assert_eq!(job(&app).await["lapsedToFree"], 0, "grace (10 days from the first failure) not over");

    // Grace over: Free.
    app.booted.state.clock.advance(3 * DAY + 3600);
    assert_eq!(job(&app).await["lapsedToFree"], 1);
    let c = current(&app, &s).await;
    assert_eq!(c["status"], "canceled");
    assert_eq!(c["features"], json!([]));
    let emails = app.wait_for_emails(&s.email, 5).await;
    assert!(emails.iter().any(|e| e["subject"] == "Your Azora subscription has ended"), "{emails:?}");
}

#[tokio::test]
async fn a_card_fixed_before_the_retry_pays_the_renewal_and_keeps_the_plan() {
    let app = app_with_grace("7").await;
    let (s, renews_at) = subscriber_with_a_failing_card(&app).await;
    advance(&app, 31 * DAY + 3600).await;
    wait_current(&app, &s, |c| c["status"] == "past_due").await;
    failure_email(&app, &s, &format!("We will try your card again on {}", day(renews_at, 3))).await;

    // The customer adds a working card before the second attempt; the retry charges it.
    use_card(&app, &s, "pm_card_mastercard").await;
    advance(&app, 3 * DAY).await;
    let c = wait_current(&app, &s, |c| c["status"] == "active").await;
    assert!(has_pro(&c), "{c}");
    let mut renewed = Vec::new();
    for _ in 0..100 {
        renewed = app
            .sent_emails(&s.email)
            .await
            .into_iter()
            .filter(|e| e["subject"] == "Your Azora subscription renewed")
            .collect::<Vec<_>>();
        if !renewed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(renewed.len(), 1, "the renewal receipt");
    assert!(renewed[0].to_string().contains("Receipt: invoice"), "{:?}", renewed[0]);
    let failures = app
        .sent_emails(&s.email)
        .await
        .iter()
        .filter(|e| e["subject"] == "We could not renew your Azora subscription")
        .count();
    assert_eq!(failures, 1, "no more failure emails");

    // Well past the grace period: still Pro.
    app.booted.state.clock.advance(8 * DAY);
    assert_eq!(job(&app).await["lapsedToFree"], 0);
    let c = current(&app, &s).await;
    assert_eq!(c["status"], "active");
    assert!(has_pro(&c), "{c}");
    assert!(!app.sent_emails(&s.email).await.iter().any(|e| e["subject"] == "Your Azora subscription has ended"));
}

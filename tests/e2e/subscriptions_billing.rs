//! Subscriptions through Stripe Billing (the sandbox and its clock), the stripe-events worker and
//! the billing-cycle job.

use azora_e2e::{AppOptions, TestApp, error_code, json_of, spawn_app, spawn_app_with, unique};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const DAY: i64 = 24 * 3600;

/// A learner with an email claim; `dunning.rs` shares these helpers.
pub(crate) struct Subscriber {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) token: String,
}

fn subscriber(app: &TestApp) -> Subscriber {
    let id = unique("sub");
    let email = format!("{id}@example.com");
    let token = app.token_with_email(&id, &["student"], &email);
    Subscriber { id, email, token }
}

async fn subscribe(app: &TestApp, s: &Subscriber, interval: &str) -> Value {
    let body = json!({ "tier": "pro", "interval": interval, "paymentMethodId": "pm_card_visa" });
    let (status, created) =
        json_of(app.post("/api/subscriptions/create", Some(&s.token), Some(&unique("k")), &body).await).await;
    assert_eq!(status, 201, "{created}");
    created
}

pub(crate) async fn current(app: &TestApp, s: &Subscriber) -> Value {
    json_of(app.get("/api/subscriptions/current", Some(&s.token)).await).await.1
}

pub(crate) async fn wait_current(app: &TestApp, s: &Subscriber, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..150 {
        let c = current(app, s).await;
        if done(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("subscription never reached the expected state: {}", current(app, s).await);
}

/// Moves the sandbox's clock (renewals and retries happen) and ours together.
pub(crate) async fn advance(app: &TestApp, seconds: i64) {
    app.sandbox_post("/_sandbox/clock/advance", json!({ "seconds": seconds })).await;
    app.booted.state.clock.advance(seconds);
}

pub(crate) async fn job(app: &TestApp) -> Value {
    let (status, report) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({})).await).await;
    assert_eq!(status, 200, "{report}");
    report
}

#[tokio::test]
async fn subscribing_pays_the_first_invoice_and_unlocks_pro_features() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    let free = current(&app, &s).await;
    assert_eq!(free["tier"], "free");

    // Feature gating on a real endpoint: certificates need Pro.
    let teacher = app.token("teacher-cert", &["instructor"]);
    let (_, course) = json_of(app.post("/api/courses/upload", Some(&teacher), None, &json!({
        "title": "Certified free course", "description": "d", "category": "business", "level": "beginner", "language": "en",
        "price": { "amount": 0, "currency": "USD" }, "publish": true,
        "lessons": [{ "title": "One", "durationSeconds": 60, "contentUrl": "https://cdn.example.com/1.mp4" }]
    })).await).await;
    let course_id = course["courseId"].as_str().unwrap().to_string();
    app.post("/api/courses/purchase", Some(&s.token), Some("enroll"), &json!({ "courseId": course_id })).await;
    let (status, body) = json_of(app.get(&format!("/api/courses/{course_id}/certificate"), Some(&s.token)).await).await;
    assert_eq!((status, error_code(&body)), (403, "feature_not_in_plan"));
    assert_eq!(body["error"]["requiredTier"], "pro");

    let created = subscribe(&app, &s, "month").await;
    assert_eq!(created["status"], "active");
    let pro = wait_current(&app, &s, |c| c["tier"] == "pro" && c["status"] == "active").await;
    assert_eq!(pro["interval"], "month");
    assert!(pro["features"].as_array().unwrap().iter().any(|f| f == "certificates"));
    assert!(pro["currentPeriodEnd"].is_string());
    let (status, cert) = json_of(app.get(&format!("/api/courses/{course_id}/certificate"), Some(&s.token)).await).await;
    assert_eq!(status, 200, "{cert}");

    let body = json!({ "tier": "pro", "interval": "year", "paymentMethodId": "pm_card_visa" });
    let (status, body) =
        json_of(app.post("/api/subscriptions/create", Some(&s.token), Some("again"), &body).await).await;
    assert_eq!((status, error_code(&body)), (409, "subscription_exists"));
    let (status, body) = json_of(
        app.post(
            "/api/subscriptions/create",
            Some(&s.token),
            Some("ent"),
            &json!({ "tier": "enterprise", "interval": "year" }),
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (422, "enterprise_via_license"));
}

#[tokio::test]
async fn without_a_payment_method_the_subscription_is_incomplete_with_a_client_secret() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    let (status, created) = json_of(
        app.post(
            "/api/subscriptions/create",
            Some(&s.token),
            Some("inc"),
            &json!({ "tier": "pro", "interval": "month" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "incomplete");
    assert!(created["clientSecret"].as_str().is_some_and(|c| !c.is_empty()));
    let c = current(&app, &s).await;
    assert_eq!(c["status"], "incomplete");
    assert_eq!(c["features"], json!([]), "no features until paid");
}

#[tokio::test]
async fn an_upgrade_takes_effect_now_with_the_proration_invoiced() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    subscribe(&app, &s, "month").await;
    wait_current(&app, &s, |c| c["status"] == "active").await;
    advance(&app, 10 * DAY).await;
    let (status, body) = json_of(
        app.request(reqwest::Method::PUT, "/api/subscriptions/update", Some(&s.token))
            .json(&json!({ "interval": "year" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["change"], "upgrade");
    let proration = body["prorationAmount"].as_i64().expect("proration amount");
    // A year of Pro less the unused part of the month already paid.
    assert!(proration > 12_000 - 1_200 && proration < 12_000, "{proration}");
    let invoices: Vec<Value> = app
        .stripe_requests(
            "POST",
            &format!(
                "/v1/subscriptions/{}",
                app.booted
                    .state
                    .store
                    .get_subscription_record(&azora_domain::UserId::parse(&s.id).unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .stripe_subscription_id
                    .unwrap()
            ),
        )
        .await;
    assert_eq!(invoices.last().unwrap()["params"]["proration_behavior"], "always_invoice");
    let c = wait_current(&app, &s, |c| c["interval"] == "year").await;
    assert_eq!(c["status"], "active");
    let (status, body) = json_of(
        app.request(reqwest::Method::PUT, "/api/subscriptions/update", Some(&s.token))
            .json(&json!({ "interval": "year" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&body)), (422, "no_change"));
}

#[tokio::test]
async fn a_downgrade_is_scheduled_then_applied_at_renewal() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    subscribe(&app, &s, "year").await;
    wait_current(&app, &s, |c| c["status"] == "active" && c["interval"] == "year").await;
    let (status, body) = json_of(
        app.request(reqwest::Method::PUT, "/api/subscriptions/update", Some(&s.token))
            .json(&json!({ "interval": "month" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["effective"], "period_end");
    let c = current(&app, &s).await;
    assert_eq!(c["interval"], "year", "still yearly until the period ends");
    assert_eq!(c["pendingChange"]["interval"], "month");
    assert_eq!(c["cancelAtPeriodEnd"], false);

    advance(&app, 366 * DAY).await;
    let c = wait_current(&app, &s, |c| c["interval"] == "month" && c["status"] == "active").await;
    assert!(c["pendingChange"].is_null(), "{c}");
    assert_eq!(c["tier"], "pro");
}

#[tokio::test]
async fn a_failed_renewal_goes_past_due_emails_then_drops_to_free_after_grace() {
    let settings = [("SUBSCRIPTION_GRACE_DAYS".to_string(), "3".to_string())].into_iter().collect();
    let app = spawn_app_with(AppOptions { settings, ..Default::default() }).await;
    let s = subscriber(&app);
    subscribe(&app, &s, "month").await;
    wait_current(&app, &s, |c| c["status"] == "active").await;
    let customer = app
        .booted
        .state
        .store
        .get_stripe_customer(&azora_domain::UserId::parse(&s.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    app.sandbox_post(&format!("/_sandbox/customers/{customer}/fail_charges"), json!({ "fail": true })).await;
    // No automatic retries (the schedule itself: tests/e2e/dunning.rs): the first failure is final.
    app.sandbox_post("/_sandbox/config", json!({ "invoiceRetryDays": [] })).await;
    // Just past the renewal (a monthly period is at most 31 days): past due since the renewal.
    advance(&app, 31 * DAY + 3600).await;
    let c = wait_current(&app, &s, |c| c["status"] == "past_due").await;
    assert!(c["features"].as_array().unwrap().iter().any(|f| f == "ai_tutor"), "past due keeps access during grace");
    let emails = app.wait_for_emails(&s.email, 1).await;
    assert!(
        emails.iter().any(|e| e["subject"] == "We could not renew your Azora subscription"
            && e.to_string().contains("/billing/payment-method")
            && e.to_string().contains("That was the final attempt: we will not try your card again automatically")),
        "{emails:?}"
    );

    let record = app
        .booted
        .state
        .store
        .get_subscription_record(&azora_domain::UserId::parse(&s.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let report = job(&app).await;
    assert_eq!(
        report["lapsedToFree"],
        0,
        "grace not over yet: {report} {record:?} now {}",
        app.booted.state.clock.now()
    );
    app.booted.state.clock.advance(3 * DAY);
    let report = job(&app).await;
    assert_eq!(report["lapsedToFree"], 1, "{report}");
    let c = current(&app, &s).await;
    assert_eq!(c["status"], "canceled");
    assert_eq!(c["features"], json!([]));
    let emails = app.wait_for_emails(&s.email, 2).await;
    assert!(emails.iter().any(|e| e["subject"] == "Your Azora subscription has ended"), "{emails:?}");
    assert_eq!(job(&app).await["lapsedToFree"], 0, "idempotent");
}

#[tokio::test]
async fn a_paid_renewal_emails_its_receipt_once() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    subscribe(&app, &s, "month").await;
    wait_current(&app, &s, |c| c["status"] == "active").await;
    let first_end = current(&app, &s).await["currentPeriodEnd"].clone();
    advance(&app, 31 * DAY + 3600).await;
    wait_current(&app, &s, |c| c["currentPeriodEnd"] != first_end).await;
    let emails = app.wait_for_email_where(&s.email, |e| e["subject"] == "Your Azora subscription renewed").await;
    let renewed: Vec<&Value> = emails.iter().filter(|e| e["subject"] == "Your Azora subscription renewed").collect();
    assert_eq!(renewed.len(), 1, "one receipt for the renewal, none for the first invoice: {emails:?}");
    let text = renewed[0].to_string();
    assert!(text.contains("Pro (monthly)") && text.contains("Receipt: invoice"), "{text}");
    // invoice.paid and invoice.payment_succeeded both arrive: still one email.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = app.sent_emails(&s.email).await;
    assert_eq!(again.iter().filter(|e| e["subject"] == "Your Azora subscription renewed").count(), 1, "{again:?}");
}

#[tokio::test]
async fn cancel_at_period_end_keeps_access_until_the_end_then_free() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    subscribe(&app, &s, "month").await;
    wait_current(&app, &s, |c| c["status"] == "active").await;
    let (status, body) =
        json_of(app.post("/api/subscriptions/cancel", Some(&s.token), None, &json!({ "atPeriodEnd": true })).await)
            .await;
    assert_eq!(status, 200, "{body}");
    // Read right after the 200: our own change is in force at once.
    let c = current(&app, &s).await;
    assert_eq!(c["cancelAtPeriodEnd"], true, "{c}");
    assert_eq!(c["tier"], "pro");
    assert!(!c["features"].as_array().unwrap().is_empty(), "access until the period ends");
    let (status, _) =
        json_of(app.post("/api/subscriptions/cancel", Some(&s.token), None, &json!({ "atPeriodEnd": false })).await)
            .await;
    assert_eq!(status, 403, "only admins cancel at once");

    advance(&app, 32 * DAY).await;
    let c = wait_current(&app, &s, |c| c["status"] == "canceled").await;
    assert_eq!(c["features"], json!([]));
    // Other mail (a renewal reminder) may come first: wait for this one.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let ended = |emails: &[Value]| emails.iter().any(|e| e["subject"] == "Your Azora subscription has ended");
    let mut emails = app.sent_emails(&s.email).await;
    while !ended(&emails) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        emails = app.sent_emails(&s.email).await;
    }
    assert!(ended(&emails), "{emails:?}");
}

#[tokio::test]
async fn a_stale_subscription_update_delivered_late_changes_nothing() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    subscribe(&app, &s, "month").await;
    wait_current(&app, &s, |c| c["status"] == "active").await;
    app.post("/api/subscriptions/cancel", Some(&s.token), None, &json!({})).await;
    app.stripe.wait_for_deliveries(Duration::from_secs(5)).await;
    let (_, events) =
        json_of(app.http.get(format!("{}_sandbox/events", app.stripe.base_url())).send().await.unwrap()).await;
    let updates: Vec<&Value> =
        events["data"].as_array().unwrap().iter().filter(|e| e["type"] == "customer.subscription.updated").collect();
    assert!(!updates.is_empty());
    let newest = current(&app, &s).await;
    assert_eq!(newest["cancelAtPeriodEnd"], true);
    // Replay the oldest update (before the cancellation) and the creation event.
    let oldest = updates.first().unwrap()["id"].as_str().unwrap();
    app.deliver(oldest, json!({})).await;
    let created =
        events["data"].as_array().unwrap().iter().find(|e| e["type"] == "customer.subscription.created").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    app.deliver(&created, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = current(&app, &s).await;
    assert_eq!(after["cancelAtPeriodEnd"], true, "stale events are ignored: {after}");
    assert_eq!(after["status"], newest["status"]);
}

#[tokio::test]
async fn the_billing_cycle_job_sends_each_renewal_reminder_once() {
    let app = spawn_app().await;
    let s = subscriber(&app);
    subscribe(&app, &s, "month").await;
    let c = wait_current(&app, &s, |c| c["status"] == "active").await;
    let end: jiff::Timestamp = c["currentPeriodEnd"].as_str().unwrap().parse().unwrap();
    // Our clock to two days before the renewal (inside the 3-day window for monthly plans).
    let to = (end - jiff::SignedDuration::from_hours(48)).as_second() - app.booted.state.clock.now().as_second();
    app.booted.state.clock.advance(to);
    assert_eq!(job(&app).await["remindersSent"], 1);
    assert_eq!(job(&app).await["remindersSent"], 0);
    let emails = app.wait_for_emails(&s.email, 1).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let reminders: Vec<Value> = app
        .sent_emails(&s.email)
        .await
        .into_iter()
        .filter(|e| e["subject"] == "Your Azora subscription renews soon")
        .collect();
    assert_eq!(reminders.len(), 1, "{emails:?}");
    assert!(reminders[0].to_string().contains("USD 12.00"));
}

/// Stripe's clock is not ours: a test clock, or skew, or events stamped a second apart puts
/// Stripe's `created` ahead of the app's time. The order of states we apply must come from one
/// clock (ours), or a fetch triggered by a "future" event outranks our own later cancel.
#[tokio::test]
async fn a_cancel_is_read_back_at_once_when_stripes_clock_runs_ahead_of_ours() {
    let app = spawn_app().await;
    // Only Stripe's clock moves (an hour ahead); the renewal is a month away, so nothing bills.
    app.sandbox_post("/_sandbox/clock/advance", json!({ "seconds": 3600 })).await;
    let s = subscriber(&app);
    subscribe(&app, &s, "month").await;
    wait_current(&app, &s, |c| c["status"] == "active").await;
    // Every event of the subscription start has been applied (with its "future" created).
    app.stripe.wait_for_deliveries(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) =
        json_of(app.post("/api/subscriptions/cancel", Some(&s.token), None, &json!({ "atPeriodEnd": true })).await)
            .await;
    assert_eq!(status, 200, "{body}");
    let c = current(&app, &s).await;
    assert_eq!(c["cancelAtPeriodEnd"], true, "our own cancel, read right after it: {c}");
    assert_eq!(c["pendingChange"]["tier"], "free", "{c}");
}

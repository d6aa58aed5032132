//! The payout job against the Stripe sandbox's real failure paths: one instructor's failed
//! transfer does not stop the others; `balance_insufficient` (the platform's funds still pending)
//! leaves the payout pending and a later run pays it exactly once; repeated and concurrent runs
//! pay each entry once.

use azora_domain::{Currency, UserId};
use azora_e2e::{AppOptions, TestApp, json_of, spawn_app_with, unique};
use azora_store::payouts::Reservation;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const DAY: i64 = 86_400;

async fn app_with(available_after: Option<Duration>) -> TestApp {
    let settings = [("REFUND_WINDOW_DAYS".to_string(), "0".to_string())].into_iter().collect();
    spawn_app_with(AppOptions { settings, stripe_available_after: available_after, ..Default::default() }).await
}

/// An instructor with a connected account whose onboarding is complete (payouts enabled through
/// Stripe's `account.updated`); returns (token, account id).
async fn onboarded_instructor(app: &TestApp, id: &str) -> (String, String) {
    let token = app.token(id, &["instructor"]);
    let (status, account) =
        json_of(app.post("/api/instructors/me/payout-account", Some(&token), None, &json!({})).await).await;
    assert_eq!(status, 200, "{account}");
    let account_id = account["accountId"].as_str().expect("account id").to_string();
    app.sandbox_post(&format!("/_sandbox/accounts/{account_id}/complete_onboarding"), json!({})).await;
    for _ in 0..100 {
        let user = UserId::parse(id).expect("id");
        if app.booted.state.store.payout_account(&user).await.expect("store").is_some_and(|a| a.payouts_enabled) {
            return (token, account_id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("payouts never enabled for {id}");
}

/// A fulfilled purchase of `course` (price 2000: the instructor earns 1400); its payment id.
async fn sell(app: &TestApp, course: &str) -> String {
    let buyer = app.token(&unique("buyer"), &["student"]);
    let (status, body) = json_of(
        app.post(
            "/api/courses/purchase",
            Some(&buyer),
            Some(&unique("buy")),
            &json!({ "courseId": course, "paymentMethodId": "pm_card_visa" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["paymentId"].as_str().expect("payment id").to_string();
    app.wait_for_payment(&payment_id, &buyer, |p| p["fulfilled"] == true).await;
    payment_id
}

async fn run_payouts(app: &TestApp, input: Value) -> Value {
    let (status, report) = json_of(app.post("/_local/jobs/instructor-payouts", None, None, &input).await).await;
    assert_eq!(status, 200, "the run completes: {report}");
    report
}

async fn balance_of(app: &TestApp, token: &str) -> Value {
    let (_, e) = json_of(app.get("/api/instructors/me/earnings", Some(token)).await).await;
    e["balances"][0].clone()
}

fn amounts(b: &Value) -> (Option<i64>, Option<i64>, Option<i64>) {
    (b["available"].as_i64(), b["payingOut"].as_i64(), b["paidOut"].as_i64())
}

/// Transfers the sandbox actually made (`transfer.created`), by destination.
fn transfers_to(app: &TestApp, account: &str) -> Vec<Value> {
    app.stripe
        .events_of_type("transfer.created")
        .into_iter()
        .map(|e| e["data"]["object"].clone())
        .filter(|t| t["destination"] == account)
        .collect()
}

#[tokio::test]
async fn one_instructors_failed_transfer_does_not_stop_the_others() {
    let app = app_with(None).await;
    // Balances are paged in instructor order: the failing one comes first.
    let ids = [unique("a-teacher"), unique("b-teacher"), unique("c-teacher")];
    let mut people = Vec::new();
    for id in &ids {
        let (token, account) = onboarded_instructor(&app, id).await;
        let course = app.seed_course(id, 2000, "usd").await;
        sell(&app, &course).await;
        people.push((token, account));
    }
    // The first instructor's connected account is closed on Stripe's side: transfers to it fail.
    let resp = app
        .http
        .delete(format!("{}v1/accounts/{}", app.stripe.base_url(), people[0].1))
        .bearer_auth("sk_test_end_to_end")
        .send()
        .await
        .expect("sandbox answers");
    assert_eq!(resp.status(), 200);

    let report = run_payouts(&app, json!({})).await;
    assert_eq!(report["failures"], 1, "{report}");
    assert_eq!(report["failed"][0]["who"]["instructorId"], ids[0].as_str(), "{report}");
    let paid: Vec<&str> =
        report["paid"].as_array().expect("paid").iter().filter_map(|p| p["who"]["instructorId"].as_str()).collect();
    assert_eq!(paid, vec![ids[1].as_str(), ids[2].as_str()], "the others are paid: {report}");
    for (token, account) in &people[1..] {
        assert_eq!(transfers_to(&app, account).len(), 1);
        assert_eq!(amounts(&balance_of(&app, token).await), (Some(0), Some(0), Some(1400)));
    }
    // The failed one is reserved, not paid, and is retried (not re-reserved) by the next run.
    assert_eq!(amounts(&balance_of(&app, &people[0].0).await), (Some(0), Some(1400), Some(0)));
    let again = run_payouts(&app, json!({ "run": "retry" })).await;
    assert_eq!(again["failures"], 1, "{again}");
    assert!(again["paid"].as_array().expect("paid").is_empty(), "{again}");
    assert_eq!(again["failed"][0]["who"]["instructorId"], ids[0].as_str(), "{again}");
    assert_eq!(amounts(&balance_of(&app, &people[0].0).await), (Some(0), Some(1400), Some(0)), "still one reservation");
    let attempts: Vec<Value> = app
        .stripe_requests("POST", "/v1/transfers")
        .await
        .into_iter()
        .filter(|r| r["params"]["destination"] == people[0].1.as_str())
        .collect();
    assert_eq!(attempts.len(), 2, "retried, not re-reserved");
    assert_eq!(attempts[0]["idempotencyKey"], attempts[1]["idempotencyKey"], "with the same key");
    assert_eq!(attempts[1]["params"]["amount"], "1400");
    assert_eq!(app.stripe_requests("POST", "/v1/transfers").await.iter().filter(|r| r["status"] == 200).count(), 2);
}

#[tokio::test]
async fn balance_insufficient_leaves_the_payout_pending_and_a_later_run_pays_it_once() {
    // Stripe's real hold: a card payment's funds are pending for two days.
    let app = app_with(Some(Duration::from_secs(2 * DAY as u64))).await;
    let id = unique("teacher");
    let (token, account) = onboarded_instructor(&app, &id).await;
    let course = app.seed_course(&id, 2000, "usd").await;
    sell(&app, &course).await;

    let report = run_payouts(&app, json!({})).await;
    assert_eq!(report["failures"], 0, "{report}");
    assert!(report["paid"].as_array().expect("paid").is_empty(), "{report}");
    assert_eq!(report["awaitingFunds"][0]["amount"], 1400, "{report}");
    let refused = app.stripe_requests("POST", "/v1/transfers").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["status"], 400);
    assert!(transfers_to(&app, &account).is_empty());
    assert_eq!(amounts(&balance_of(&app, &token).await), (Some(0), Some(1400), Some(0)), "reserved, not paid");
    let (_, e) = json_of(app.get("/api/instructors/me/earnings", Some(&token)).await).await;
    let payout_entry = e["entries"].as_array().expect("entries").iter().find(|x| x["kind"] == "payout").cloned();
    assert!(
        payout_entry.as_ref().is_some_and(|p| p["reference"].as_str().is_some_and(|r| r.starts_with("payout-"))),
        "no transfer recorded: {e}"
    );

    // Still pending on a second try the same day; a new sale meanwhile is not mixed into it.
    let again = run_payouts(&app, json!({})).await;
    assert_eq!(again["awaitingFunds"].as_array().map(Vec::len), Some(1), "{again}");
    sell(&app, &course).await;

    // Two days later the funds are available: the pending payout is paid, with its own amount.
    app.stripe.advance_clock(2 * DAY).expect("clock");
    let report = run_payouts(&app, json!({})).await;
    assert_eq!(report["failures"], 0, "{report}");
    let paid = report["paid"].as_array().expect("paid");
    assert_eq!(paid.len(), 1, "{report}");
    assert_eq!(paid[0]["amount"], 1400);
    assert_eq!(transfers_to(&app, &account).len(), 1);
    assert_eq!(amounts(&balance_of(&app, &token).await), (Some(1400), Some(0), Some(1400)));

    // The second sale goes with the next run, once; repeating runs pay nothing more.
    let next = run_payouts(&app, json!({ "run": "next-day" })).await;
    assert_eq!(next["paid"][0]["amount"], 1400, "{next}");
    for input in [json!({}), json!({ "run": "next-day" }), json!({ "run": "day-after" })] {
        let report = run_payouts(&app, input).await;
        assert!(report["paid"].as_array().expect("paid").is_empty(), "{report}");
    }
    let transfers = transfers_to(&app, &account);
    assert_eq!(transfers.len(), 2);
    assert_eq!(transfers.iter().map(|t| t["amount"].as_i64().unwrap_or(0)).sum::<i64>(), 2800);
    assert_eq!(amounts(&balance_of(&app, &token).await), (Some(0), Some(0), Some(2800)));
}

#[tokio::test]
async fn repeated_and_concurrent_runs_pay_each_instructor_once() {
    let app = app_with(None).await;
    let mut people = Vec::new();
    for prefix in ["p-teacher", "q-teacher"] {
        let id = unique(prefix);
        let (token, account) = onboarded_instructor(&app, &id).await;
        let course = app.seed_course(&id, 2000, "usd").await;
        sell(&app, &course).await;
        sell(&app, &course).await;
        people.push((token, account));
    }
    // Same run twice, and other runs, all at once.
    let inputs = [json!({}), json!({}), json!({ "run": "x" }), json!({ "run": "x" }), json!({ "run": "y" }), json!({})];
    let mut handles = Vec::new();
    for input in inputs {
        let http = app.http.clone();
        let url = format!("{}/_local/jobs/instructor-payouts", app.base_url);
        handles
            .push(tokio::spawn(async move { json_of(http.post(url).json(&input).send().await.expect("sent")).await }));
    }
    let mut paid_total = 0;
    for h in handles {
        let (status, report) = h.await.expect("joined");
        assert_eq!(status, 200, "{report}");
        paid_total += report["paid"].as_array().map(Vec::len).unwrap_or(0);
    }
    assert_eq!(paid_total, 2, "one payout per instructor across all runs");
    for (token, account) in &people {
        let transfers = transfers_to(&app, account);
        assert_eq!(transfers.len(), 1, "{transfers:?}");
        assert_eq!(transfers[0]["amount"], 2800);
        assert_eq!(amounts(&balance_of(&app, token).await), (Some(0), Some(0), Some(2800)));
    }
    // And again, sequentially: nothing more.
    for input in [json!({}), json!({ "run": "x" }), json!({ "run": "z" })] {
        let report = run_payouts(&app, input).await;
        assert!(report["paid"].as_array().expect("paid").is_empty(), "{report}");
    }
    assert_eq!(app.stripe.events_of_type("transfer.created").len(), 2);
}

/// A run that crashed after Stripe made the transfer but before it was recorded, then a refund of
/// the sale it carried: the next run finds the transfer (no second one) and records it; the refund
/// is a negative balance, since the sale was not known to be paid out.
#[tokio::test]
async fn a_transfer_made_before_a_crash_is_recorded_by_the_next_run_and_never_repeated() {
    let app = app_with(None).await;
    let id = unique("teacher");
    let instructor = UserId::parse(id.as_str()).expect("id");
    let (token, account) = onboarded_instructor(&app, &id).await;
    let course = app.seed_course(&id, 2000, "usd").await;
    let payment = sell(&app, &course).await;

    // The crashed run: reserved, transferred, not recorded.
    let store = &app.booted.state.store;
    let now = jiff::Timestamp::now();
    assert_eq!(store.release_due(&instructor, Currency::Usd, now).await.expect("release"), 1);
    let Reservation::Created(payout) =
        store.reserve_payout(&instructor, Currency::Usd, "crashed", &account, now).await.expect("reserve")
    else {
        panic!("a new reservation");
    };
    assert_eq!(payout.amount.amount, 1400);
    let metadata = HashMap::from([
        ("instructorId".to_string(), id.clone()),
        ("run".to_string(), "crashed".to_string()),
        ("payoutId".to_string(), payout.id.clone()),
    ]);
    let transfer = app
        .booted
        .state
        .stripe()
        .expect("the harness state has Stripe")
        .create_transfer(payout.amount, &account, &payout.id, metadata, &payout.id)
        .await
        .expect("transfer");

    // A refund lands before anything is recorded.
    let admin = app.token("admin-1", &["admin"]);
    let (status, body) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some("refund-1"),
            &json!({ "paymentId": payment, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // The next runs: the transfer is found and recorded once; nothing is paid again.
    let report = run_payouts(&app, json!({})).await;
    assert_eq!(report["failures"], 0, "{report}");
    assert_eq!(report["paid"].as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(report["paid"][0]["transferId"], transfer.as_str(), "{report}");
    assert_eq!(report["paid"][0]["run"], "crashed");
    for input in [json!({}), json!({ "run": "later" })] {
        let again = run_payouts(&app, input).await;
        assert!(again["paid"].as_array().expect("paid").is_empty(), "{again}");
    }
    assert_eq!(transfers_to(&app, &account).len(), 1, "one transfer");
    assert_eq!(amounts(&balance_of(&app, &token).await), (Some(-1400), Some(0), Some(1400)), "carried as a debt");
}

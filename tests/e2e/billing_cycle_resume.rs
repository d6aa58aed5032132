//! The billing-cycle job resumes from a per-run checkpoint (issue 10, #11): with a tiny time budget
//! every invocation does a little and records where it stopped; repeated invocations of the same
//! run finish every step (license expiry included) and send nothing twice.

use azora_domain::license::{License, LicenseStatus};
use azora_domain::notification::EmailAddress;
use azora_e2e::{TestApp, json_of, spawn_app, unique};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::time::Duration;

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

async fn job(app: &TestApp, input: Value) -> Value {
    let (status, report) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &input).await).await;
    assert_eq!(status, 200, "{report}");
    report
}

/// A license written straight to the table, expiring at `expires_at`.
async fn seed_license(app: &TestApp, expires_at: Timestamp) -> License {
    let now = Timestamp::from_second(app.booted.state.clock.now().as_second()).unwrap();
    let mut license = License {
        id: unique("lic"),
        org_id: azora_domain::OrgId::parse(unique("org")).unwrap(),
        org_name: "Resumable Org".into(),
        contact_email: EmailAddress::parse(format!("{}@example.com", unique("contact"))).unwrap(),
        seats: 3,
        seats_used: 0,
        features: azora_domain::Tier::Enterprise.features().to_vec(),
        status: LicenseStatus::Active,
        issued_at: now - hours(24 * 400),
        expires_at: Timestamp::from_second(expires_at.as_second()).unwrap(),
        grace_days: 14,
        self_activation: false,
        key_version: 1,
        key: String::new(),
        white_label: None,
        updated_at: now,
    };
    license.key = app.booted.state.config.license_signer.get().unwrap().issue(&license.key_payload());
    app.booted.state.store.create_license(&license).await.unwrap();
    license
}

fn total(report: &Value, key: &str) -> i64 {
    report["runTotals"][key].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn with_a_tiny_budget_repeated_runs_finish_every_step_and_send_nothing_twice() {
    let app = spawn_app().await;
    // Three Pro subscribers whose renewal reminder is due.
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        let id = unique("cyc");
        let email = format!("{id}@example.com");
        let token = app.token_with_email(&id, &["student"], &email);
        let body = json!({ "tier": "pro", "interval": "month", "paymentMethodId": "pm_card_visa" });
        let (status, created) =
            json_of(app.post("/api/subscriptions/create", Some(&token), Some(&unique("k")), &body).await).await;
        assert_eq!(status, 201, "{created}");
        subscribers.push((id, email));
    }
    let mut ends = Vec::new();
    for (id, _) in &subscribers {
        let record =
            app.booted.state.store.get_subscription_record(&azora_domain::UserId::parse(id).unwrap()).await.unwrap();
        ends.push(record.unwrap().subscription.current_period_end.expect("period end"));
    }
    let first_end = ends.iter().min().copied().unwrap();
    let to = (first_end - hours(48)).as_second() - app.booted.state.clock.now().as_second();
    app.booted.state.clock.advance(to);
    let now = app.booted.state.clock.now();
    // Licenses: a 7-day and a 1-day notice due, two past their grace days (to expire).
    let notices = [seed_license(&app, now + hours(24 * 6 + 1)).await, seed_license(&app, now + hours(20)).await];
    let lapsed = [seed_license(&app, now - hours(24 * 15)).await, seed_license(&app, now - hours(24 * 40)).await];

    let input = json!({ "run": "resume-test", "budgetMs": 1 });
    let mut reports = Vec::new();
    for _ in 0..60 {
        let report = job(&app, input.clone()).await;
        let complete = report["complete"] == true;
        reports.push(report);
        if complete {
            break;
        }
    }
    let last = reports.last().unwrap().clone();
    assert_eq!(last["complete"], true, "never completed: {reports:#?}");
    assert!(reports.len() >= 4, "a 1 ms budget cannot do it all at once: {} invocations", reports.len());
    assert_eq!(last["stepsDone"], json!(["claims", "grace", "licenses", "quotes", "reconcile", "reminders"]), "{last}");
    // Steps are only ever added: each invocation resumed, none started over.
    for pair in reports.windows(2) {
        let before = pair[0]["stepsDone"].as_array().unwrap().len();
        let after = pair[1]["stepsDone"].as_array().unwrap().len();
        assert!(after >= before, "{pair:#?}");
    }
    let sum = |f: &dyn Fn(&Value) -> i64| reports.iter().map(f).sum::<i64>();
    assert_eq!(sum(&|r| r["remindersSent"].as_i64().unwrap()), 3, "{reports:#?}");
    assert_eq!(sum(&|r| r["steps"][0]["noticesSent"].as_i64().unwrap()), 2, "{reports:#?}");
    assert_eq!(sum(&|r| r["steps"][0]["expired"].as_i64().unwrap()), 2, "{reports:#?}");
    assert_eq!(total(&last, "reminders.sent"), 3, "{last}");
    assert_eq!(total(&last, "licenses.noticesSent"), 2, "{last}");
    assert_eq!(total(&last, "licenses.expired"), 2, "{last}");
    for license in &lapsed {
        let after = app.booted.state.store.get_license(&license.id).await.unwrap().unwrap();
        assert_eq!(after.status, LicenseStatus::Expired, "{}", license.id);
    }

    // The run is complete: invoking it again does nothing; a new run finds nothing left to send.
    let again = job(&app, input.clone()).await;
    assert_eq!((again["status"].as_str(), again["remindersSent"].as_i64()), (Some("already_complete"), Some(0)));
    let fresh = job(&app, json!({ "run": "another-run" })).await;
    assert_eq!(fresh["complete"], true, "{fresh}");
    assert_eq!((fresh["remindersSent"].as_i64(), fresh["steps"][0]["noticesSent"].as_i64()), (Some(0), Some(0)));

    // Exactly one email each.
    for (_, email) in &subscribers {
        app.wait_for_emails(email, 1).await;
    }
    for license in &notices {
        app.wait_for_emails(license.contact_email.as_str(), 1).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for (_, email) in &subscribers {
        let reminders: Vec<Value> = app
            .sent_emails(email)
            .await
            .into_iter()
            .filter(|e| e["subject"] == "Your Azora subscription renews soon")
            .collect();
        assert_eq!(reminders.len(), 1, "{email}: {reminders:?}");
    }
    for license in &notices {
        let sent = app.sent_emails(license.contact_email.as_str()).await;
        assert_eq!(sent.len(), 1, "{}: {sent:?}", license.id);
    }
}

#[tokio::test]
async fn a_run_held_by_a_running_invocation_is_not_run_twice_at_once() {
    let app = spawn_app().await;
    let store = &app.booted.state.store;
    let now = Timestamp::now().as_second();
    // Another invocation holds the run (its lease has a minute to go).
    assert!(store.begin_job_run("billing-cycle", "held-run", "inv-other", now, now + 60).await.unwrap().is_some());
    let report = job(&app, json!({ "run": "held-run" })).await;
    assert_eq!(report["status"], "running_elsewhere", "{report}");
    assert_eq!(report["complete"], false);
    // Once its lease has run out (it crashed), the next invocation takes over and finishes the run.
    assert!(
        store.begin_job_run("billing-cycle", "stale-run", "inv-crashed", now - 120, now - 1).await.unwrap().is_some()
    );
    let report = job(&app, json!({ "run": "stale-run" })).await;
    assert_eq!(report["complete"], true, "{report}");
}

#[tokio::test]
async fn bad_run_or_budget_inputs_are_refused() {
    let app = spawn_app().await;
    for input in [json!({ "run": "no spaces" }), json!({ "budgetMs": 0 }), json!({ "budgetMs": "fast" })] {
        let (status, body) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &input).await).await;
        assert_eq!(status, 400, "{input}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }
}

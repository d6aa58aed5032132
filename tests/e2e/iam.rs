//! The IAM call recording (`GET /_local/iam`), and failure paths the rest of the suite does not
//! reach, exercised here so that the IAM conformance check (`make test`,
//! `infra/stack/tests/iam_conformance.rs`) sees the AWS calls they make: a policy that only covers
//! the happy path answers AccessDenied in AWS exactly when things already go wrong.

use azora_e2e::{TestApp, json_of, spawn_app, unique};
use azora_stack::iam::table_arn;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// `GET /api/subscriptions/current` queries the caller's license seats (besides its reads): its
/// calls are recorded for its function and allowed by its policy (the `Query` once was not).
#[tokio::test]
async fn each_functions_aws_calls_are_recorded_with_the_verdict_of_its_policy() {
    let app = spawn_app().await;
    let token = app.token(&unique("student"), &["student"]);
    let (status, body) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(status, 200, "{body}");
    let (status, report) = json_of(app.get("/_local/iam", None).await).await;
    assert_eq!(status, 200, "{report}");
    let calls: Vec<(String, String, Value)> = report["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["function"] == "subscriptions-current")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["resource"].as_str().unwrap().to_string(),
                c["allowed"].clone(),
            )
        })
        .collect();
    assert!(calls.contains(&("dynamodb:Query".to_string(), table_arn("Table"), json!(true))), "{calls:?}");
    assert!(calls.iter().all(|(_, _, allowed)| allowed == &json!(true)), "{calls:?}");
}

/// The billing-cycle job's report; the job answers 200 and reports a failed step under `errors`.
async fn run_billing_cycle(app: &TestApp) -> Value {
    let (status, report) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({})).await).await;
    assert_eq!(status, 200, "{report}");
    report
}

fn licenses_step_unavailable(report: &Value) -> bool {
    report["errors"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["step"] == "licenses" && e["code"] == "service_unavailable"))
}

/// A renewal notice that cannot be queued gives its once-per-term claim back (a `DeleteItem`), so
/// the next run tries again instead of taking the notice as in progress.
#[tokio::test]
async fn a_renewal_notice_that_cannot_be_queued_is_tried_again_by_the_next_run() {
    let app = spawn_app().await;
    let org = unique("org");
    let body = json!({ "orgId": org, "orgName": "Org", "contactEmail": format!("{}@example.com", unique("it")),
                       "seats": 2, "expiresAt": (Timestamp::now() + SignedDuration::from_hours(24 * 6 + 1)).to_string() });
    let admin = app.token("ops-admin", &["admin"]);
    let (status, license) =
        json_of(app.post("/api/enterprise/licenses/create", Some(&admin), Some(&unique("create")), &body).await).await;
    assert_eq!(status, 201, "{license}");

    // The email queue goes away: queuing the notice fails.
    let email_queue = app.booted.provisioned.queue_urls.get("EmailQueue").expect("EmailQueue provisioned");
    let sqs = aws_sdk_sqs::Client::new(&azora_stack::sdk_config().await);
    sqs.delete_queue().queue_url(email_queue).send().await.expect("queue deleted");

    let report = run_billing_cycle(&app).await;
    assert!(licenses_step_unavailable(&report), "{report}");
    let report = run_billing_cycle(&app).await;
    assert!(
        licenses_step_unavailable(&report),
        "the claim was given back, so the second run tried again (not 'in progress'): {report}"
    );
}

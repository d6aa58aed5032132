//! One answer to "what may this user do": a license-seat holder and a Pro-credit holder get the
//! plan `/api/subscriptions/current` reports on a gated endpoint (the certificate) and on a
//! completion award (the token multiplier), and both agree with `/current`.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use azora_local::tokens::TokenSpec;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn current(app: &TestApp, token: &str) -> Value {
    let (status, body) = json_of(app.get("/api/subscriptions/current", Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A free course, published through the API, with `student` enrolled in it.
async fn enrolled_course(app: &TestApp, student: &str) -> String {
    let teacher = app.token(&unique("teacher"), &["instructor"]);
    let body = json!({
        "title": "Certified course", "description": "d", "category": "business", "level": "beginner",
        "language": "en", "price": { "amount": 0, "currency": "USD" }, "publish": true,
        "lessons": [{ "title": "One", "durationSeconds": 60, "contentUrl": "https://cdn.example.com/1.mp4" }]
    });
    let (status, course) = json_of(app.post("/api/courses/upload", Some(&teacher), None, &body).await).await;
    assert_eq!(status, 201, "{course}");
    let course_id = course["courseId"].as_str().unwrap().to_string();
    let (status, enrolled) = json_of(
        app.post("/api/courses/purchase", Some(student), Some(&unique("enroll")), &json!({ "courseId": course_id }))
            .await,
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {enrolled}");
    course_id
}

async fn certificate(app: &TestApp, token: &str, course_id: &str) -> (u16, Value) {
    json_of(app.get(&format!("/api/courses/{course_id}/certificate"), Some(token)).await).await
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let (status, body) = json_of(app.get("/api/tokens/balance", Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body["balance"].as_i64().unwrap()
}

/// Reports a course completion (as the learning platform) and waits for the rewards worker's award;
/// returns the ledger entry.
async fn complete_and_wait(app: &TestApp, user: &str, token: &str, course_id: &str) -> Value {
    let service = app.token("learning-platform", &["service"]);
    let event = json!({ "userId": user, "reason": "course_completion", "courseId": course_id });
    let (status, body) = json_of(app.post("/api/tokens/award", Some(&service), None, &event).await).await;
    assert_eq!(status, 202, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, history) = json_of(app.get("/api/tokens/history?limit=100", Some(token)).await).await;
        if let Some(entry) = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["reason"] == "course_completion" && e["details"]["courseId"] == course_id)
        {
            return entry.clone();
        }
        assert!(Instant::now() < deadline, "no completion award: {history}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The certificate, the award and `/current` agree for `user`, who must hold a paid plan.
async fn assert_one_answer(app: &TestApp, user: &str, token: &str, course_id: &str, tier: &str, multiplier: i64) {
    let plan = current(app, token).await;
    assert_eq!((plan["tier"].as_str(), plan["tokenMultiplierPercent"].as_i64()), (Some(tier), Some(multiplier)));
    assert!(plan["features"].as_array().unwrap().iter().any(|f| f == "certificates"), "{plan}");

    let (status, cert) = certificate(app, token, course_id).await;
    assert_eq!(status, 200, "the plan /current reports includes certificates: {cert}");
    assert_eq!(cert["tier"], tier);

    let before = balance(app, token).await;
    let entry = complete_and_wait(app, user, token, course_id).await;
    assert_eq!(entry["details"]["multiplierPercent"], multiplier, "{entry}");
    assert_eq!(entry["details"]["tier"], tier, "{entry}");
    // Base 100, first day of a streak: no bonus.
    assert_eq!(entry["delta"].as_i64(), Some(100 * multiplier / 100), "{entry}");
    assert_eq!(balance(app, token).await, before + 100 * multiplier / 100);
}

#[tokio::test]
async fn a_seat_holder_gets_the_enterprise_plan_current_reports_everywhere() {
    let app = spawn_app().await;
    let org = unique("org");
    let admin = app.token("ops-admin", &["admin"]);
    let body = json!({ "orgId": org, "orgName": "Acme", "contactEmail": "it@acme.example", "seats": 2,
                       "termMonths": 12, "features": ["certificates", "white_label"] });
    let (status, license) =
        json_of(app.post("/api/enterprise/licenses/create", Some(&admin), Some(&unique("lic")), &body).await).await;
    assert_eq!(status, 201, "{license}");

    let member = unique("member");
    let token = app.token(&member, &["student"]);
    let course_id = enrolled_course(&app, &token).await;
    // Before the seat: Free, no certificate.
    let (status, body) = certificate(&app, &token, &course_id).await;
    assert_eq!((status, error_code(&body)), (403, "feature_not_in_plan"));

    let boss = app.token_with(&TokenSpec {
        sub: &format!("boss-{org}"),
        roles: &["enterprise"],
        org: Some(&org),
        ttl_seconds: 600,
    });
    let (status, seat) = json_of(
        app.post(
            "/api/enterprise/licenses/activate",
            Some(&boss),
            Some(&unique("act")),
            &json!({ "key": license["key"], "userId": member }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{seat}");
    let plan = current(&app, &token).await;
    assert_eq!((plan["source"].as_str(), &plan["licenseId"]), (Some("license"), &license["licenseId"]));
    assert_eq!(plan["features"], json!(["certificates", "white_label"]));

    assert_one_answer(&app, &member, &token, &course_id, "enterprise", 200).await;

    // The seat released: Free again, on every path.
    let (status, freed) = json_of(
        app.post(
            "/api/enterprise/licenses/deactivate",
            Some(&boss),
            Some(&unique("free")),
            &json!({ "licenseId": license["licenseId"], "userId": member }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{freed}");
    assert_eq!(current(&app, &token).await["tier"], "free");
    let (status, body) = certificate(&app, &token, &course_id).await;
    assert_eq!((status, error_code(&body)), (403, "feature_not_in_plan"));
}

#[tokio::test]
async fn a_pro_credit_holder_gets_the_pro_plan_current_reports_everywhere() {
    let app = spawn_app().await;
    let user = unique("saver");
    let token = app.token(&user, &["student"]);
    let course_id = enrolled_course(&app, &token).await;
    let (status, body) = certificate(&app, &token, &course_id).await;
    assert_eq!((status, error_code(&body)), (403, "feature_not_in_plan"));

    let admin = app.token("admin-rewards", &["admin"]);
    let (status, granted) = json_of(
        app.post(
            "/api/tokens/award",
            Some(&admin),
            Some(&unique("grant")),
            &json!({ "userId": user, "amount": 2000, "reason": "contest_winner" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{granted}");
    let (status, redeemed) = json_of(
        app.post("/api/tokens/redeem", Some(&token), Some(&unique("redeem")), &json!({ "rewardId": "pro_month" }))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{redeemed}");
    let plan = current(&app, &token).await;
    assert_eq!(plan["proCreditUntil"], redeemed["proCreditUntil"]);

    assert_one_answer(&app, &user, &token, &course_id, "pro", 150).await;

    // Once the credit has run out (the injected clock moves past it), Free again everywhere.
    app.booted.state.clock.advance(32 * 86_400);
    let plan = current(&app, &token).await;
    assert_eq!((plan["tier"].as_str(), plan["tokenMultiplierPercent"].as_i64()), (Some("free"), Some(100)), "{plan}");
    let (status, body) = certificate(&app, &token, &course_id).await;
    assert_eq!((status, error_code(&body)), (403, "feature_not_in_plan"));
}

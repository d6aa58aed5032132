use azora_e2e::{error_code, json_of, spawn_app};
use serde_json::json;

#[tokio::test]
async fn health_answers_from_dynamodb() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/api/health", None).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["dynamodb"], "ok");
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let resp = app.get("/api/health", None).await;
    assert!(resp.headers().get("x-request-id").is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/api/nope", None).await).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "route_not_found");
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_4xx() {
    let app = spawn_app().await;
    let admin = app.token("admin-1", &["admin"]);
    let big = "x".repeat(70 * 1024);
    let (status, body) =
        json_of(app.post("/api/admin/email-test", Some(&admin), Some("k"), &json!({ "to": big })).await).await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&body), "payload_too_large");

    let resp = app
        .request(reqwest::Method::POST, "/api/admin/email-test", Some(&admin))
        .header("Idempotency-Key", "k2")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "invalid_json");

    let (status, body) =
        json_of(app.post("/api/admin/email-test", Some(&admin), Some("k3"), &json!({ "to": "not-an-email" })).await)
            .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "validation_failed");
    assert_eq!(body["error"]["field"], "email");

    let (status, body) = json_of(
        app.post("/api/admin/email-test", Some(&admin), Some("k4"), &json!({ "to": "a@b.co", "extra": true })).await,
    )
    .await;
    assert_eq!(status, 400, "unknown fields are rejected: {body}");
}

#[tokio::test]
async fn billing_cycle_job_can_be_triggered_locally() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({})).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job"], "billing-cycle");
    let (status, body) = json_of(app.post("/_local/jobs/nope", None, None, &json!({})).await).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "job_not_found");
}

#[tokio::test]
async fn audit_log_is_admin_only_and_paginates() {
    let app = spawn_app().await;
    let admin = app.token("admin-1", &["admin"]);
    for i in 0..3 {
        let (status, _) = json_of(
            app.post(
                "/api/admin/email-test",
                Some(&admin),
                Some(&format!("audit-{i}")),
                &json!({ "to": format!("a{i}@example.com") }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 202);
    }
    let student = app.token("student-1", &["student"]);
    let (status, body) = json_of(app.get("/api/admin/audit", Some(&student)).await).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(&body), "forbidden");

    let (status, first) = json_of(app.get("/api/admin/audit?limit=2", Some(&admin)).await).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a next page");
    let (_, second) = json_of(app.get(&format!("/api/admin/audit?limit=2&cursor={cursor}"), Some(&admin)).await).await;
    let mut targets: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    targets.sort();
    assert_eq!(targets, ["email:a0@example.com", "email:a1@example.com", "email:a2@example.com"]);
    let entry = &first["items"][0];
    assert_eq!(entry["actor"], "admin-1");
    assert_eq!(entry["action"], "email.test");
    assert!(entry["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    // Newest first.
    assert!(first["items"][0]["at"].as_str() >= first["items"][1]["at"].as_str());

    let (status, body) = json_of(app.get("/api/admin/audit?cursor=eyJQSyI6IlVTRVIjeCJ9", Some(&admin)).await).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "invalid_cursor");
    let (status, _) = json_of(app.get("/api/admin/audit?month=2026-13", Some(&admin)).await).await;
    assert_eq!(status, 400);
    let (status, _) = json_of(app.get("/api/admin/audit?limit=1000", Some(&admin)).await).await;
    assert_eq!(status, 400);
}

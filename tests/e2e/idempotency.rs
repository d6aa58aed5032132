use azora_e2e::{error_code, json_of, spawn_app, unique};
use serde_json::json;

#[tokio::test]
async fn same_key_and_body_replays_the_first_response_and_acts_once() {
    let app = spawn_app().await;
    let admin = app.token("admin-1", &["admin"]);
    let to = format!("{}@example.com", unique("idem"));
    let body = json!({ "to": to });
    let first = app.post("/api/admin/email-test", Some(&admin), Some("key-1"), &body).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (s1, b1) = json_of(first).await;
    assert_eq!(s1, 202, "{b1}");

    let second = app.post("/api/admin/email-test", Some(&admin), Some("key-1"), &body).await;
    assert_eq!(second.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let (s2, b2) = json_of(second).await;
    assert_eq!((s2, &b2), (s1, &b1));

    // One email, one audit entry: the work ran once.
    assert_eq!(app.wait_for_emails(&to, 1).await.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.sent_emails(&to).await.len(), 1);
    let (_, audit) = json_of(app.get("/api/admin/audit", Some(&admin)).await).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn same_key_with_a_different_body_is_422() {
    let app = spawn_app().await;
    let admin = app.token("admin-1", &["admin"]);
    let (s, _) = json_of(
        app.post("/api/admin/email-test", Some(&admin), Some("key-2"), &json!({ "to": "a@example.com" })).await,
    )
    .await;
    assert_eq!(s, 202);
    let (s, body) = json_of(
        app.post("/api/admin/email-test", Some(&admin), Some("key-2"), &json!({ "to": "b@example.com" })).await,
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(error_code(&body), "idempotency_key_reused");
}

#[tokio::test]
async fn keys_are_scoped_to_the_caller() {
    let app = spawn_app().await;
    let a = app.token("admin-a", &["admin"]);
    let b = app.token("admin-b", &["admin"]);
    let (s, ra) =
        json_of(app.post("/api/admin/email-test", Some(&a), Some("shared"), &json!({ "to": "a@example.com" })).await)
            .await;
    assert_eq!(s, 202);
    let (s, rb) =
        json_of(app.post("/api/admin/email-test", Some(&b), Some("shared"), &json!({ "to": "a@example.com" })).await)
            .await;
    assert_eq!(s, 202);
    assert_ne!(ra["notificationId"], rb["notificationId"], "another caller's key must not replay");
}

#[tokio::test]
async fn missing_or_invalid_key_is_400_and_a_rejected_request_frees_the_key() {
    let app = spawn_app().await;
    let admin = app.token("admin-1", &["admin"]);
    let (s, body) =
        json_of(app.post("/api/admin/email-test", Some(&admin), None, &json!({ "to": "a@example.com" })).await).await;
    assert_eq!(s, 400);
    assert_eq!(error_code(&body), "idempotency_key_required");
    let long = "k".repeat(256);
    let (s, body) =
        json_of(app.post("/api/admin/email-test", Some(&admin), Some(&long), &json!({ "to": "a@example.com" })).await)
            .await;
    assert_eq!(s, 400);
    assert_eq!(error_code(&body), "invalid_idempotency_key");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_act_once() {
    let app = spawn_app().await;
    let admin = app.token("admin-1", &["admin"]);
    let to = format!("{}@example.com", unique("race"));
    let body = json!({ "to": to });
    let mut handles = Vec::new();
    for _ in 0..8 {
        let rb = app
            .request(reqwest::Method::POST, "/api/admin/email-test", Some(&admin))
            .header("Idempotency-Key", "race")
            .json(&body);
        handles.push(tokio::spawn(async move { rb.send().await.unwrap().status().as_u16() }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 202 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&202));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.wait_for_emails(&to, 1).await.len(), 1);
}

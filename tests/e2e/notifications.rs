use azora_e2e::{AppOptions, json_of, spawn_app, spawn_app_with, unique};
use serde_json::json;

#[tokio::test]
async fn test_email_is_rendered_and_sent_through_sqs_and_ses() {
    let app = spawn_app().await;
    let admin = app.token("admin-mail", &["admin"]);
    let to = format!("{}@example.com", unique("ops"));
    let (status, body) =
        json_of(app.post("/api/admin/email-test", Some(&admin), Some("mail-1"), &json!({ "to": to })).await).await;
    assert_eq!(status, 202, "{body}");
    let emails = app.wait_for_emails(&to, 1).await;
    assert_eq!(emails.len(), 1, "exactly one email reached moto");
    let email = &emails[0];
    assert_eq!(email["subject"], "Azora test email");
    assert_eq!(email["source"], "no-reply@azora.local");
    let text = email.to_string();
    assert!(text.contains("Email delivery from Azora works."), "{email}");
    assert!(text.contains(body["notificationId"].as_str().unwrap()));
    assert!(text.contains("admin-mail"));
}

#[tokio::test]
async fn base64_encoded_bodies_are_handled_like_text() {
    let app = spawn_app_with(AppOptions { force_base64_bodies: true, ..Default::default() }).await;
    let admin = app.token("admin-b64", &["admin"]);
    let to = format!("{}@example.com", unique("b64"));
    let (status, body) =
        json_of(app.post("/api/admin/email-test", Some(&admin), Some("b64"), &json!({ "to": to })).await).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(app.wait_for_emails(&to, 1).await.len(), 1);
}

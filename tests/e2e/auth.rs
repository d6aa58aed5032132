use azora_e2e::{TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, error_code, json_of, spawn_app};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

fn sign(claims: &Value, secret: &str) -> String {
    encode(&Header::default(), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn claims() -> Value {
    let now = jiff::Timestamp::now().as_second();
    json!({ "sub": "user-1", "roles": ["student"], "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "exp": now + 600, "iat": now })
}

fn with(mut c: Value, key: &str, value: Value) -> Value {
    c[key] = value;
    c
}

fn without(mut c: Value, key: &str) -> Value {
    c.as_object_mut().unwrap().remove(key);
    c
}

fn b64(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn valid_token_is_accepted() {
    let app = spawn_app().await;
    let (status, _) = json_of(app.get("/api/subscriptions/current", Some(&sign(&claims(), TEST_SECRET))).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_tokens_are_rejected_with_401_json() {
    let app = spawn_app().await;
    let now = jiff::Timestamp::now().as_second();
    let alg_none = format!("{}.{}.", b64(&json!({"alg":"none","typ":"JWT"})), b64(&claims()));
    let cases: Vec<(&str, String)> = vec![
        ("expired", sign(&with(claims(), "exp", json!(now - 3600)), TEST_SECRET)),
        ("wrong issuer", sign(&with(claims(), "iss", json!("https://evil.example/")), TEST_SECRET)),
        ("wrong audience", sign(&with(claims(), "aud", json!("someone-else")), TEST_SECRET)),
        ("wrong key", sign(&claims(), "another-secret-that-is-long-enough-0123")),
        ("alg none", alg_none),
        ("no exp", sign(&without(claims(), "exp"), TEST_SECRET)),
        ("no iss", sign(&without(claims(), "iss"), TEST_SECRET)),
        ("no aud", sign(&without(claims(), "aud"), TEST_SECRET)),
        ("no sub", sign(&without(claims(), "sub"), TEST_SECRET)),
        ("bad sub", sign(&with(claims(), "sub", json!("a#b")), TEST_SECRET)),
        ("garbage", "not.a.jwt".to_string()),
        // Not valid for another hour, or issued an hour from now (beyond the 30 s leeway).
        ("nbf in the future", sign(&with(claims(), "nbf", json!(now + 3600)), TEST_SECRET)),
        ("iat in the future", sign(&with(claims(), "iat", json!(now + 3600)), TEST_SECRET)),
    ];
    for (name, token) in cases {
        let (status, body) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(error_code(&body), "unauthorized", "{name}");
    }
}

#[tokio::test]
async fn times_within_the_leeway_are_accepted() {
    let app = spawn_app().await;
    let now = jiff::Timestamp::now().as_second();
    let token = sign(&with(with(claims(), "nbf", json!(now + 10)), "iat", json!(now + 10)), TEST_SECRET);
    let (status, body) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_token_signed_with_another_algorithm_is_rejected() {
    let app = spawn_app().await;
    let token = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims(),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let (status, body) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn missing_or_non_bearer_authorization_is_401() {
    let app = spawn_app().await;
    let (status, body) = json_of(app.get("/api/subscriptions/current", None).await).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "unauthorized");
    let resp = app
        .request(reqwest::Method::GET, "/api/subscriptions/current", None)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn roles_are_enforced() {
    let app = spawn_app().await;
    let student = app.token("student-1", &["student"]);
    let (status, body) =
        json_of(app.post("/api/admin/email-test", Some(&student), Some("k"), &json!({ "to": "a@b.co" })).await).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(&body), "forbidden");
}

/// The optional Cognito user pool's pre-token-generation trigger, as the pool invokes it (event
/// version 2), through the function template.yaml defines and the local server's job route.
#[tokio::test]
async fn the_cognito_trigger_puts_groups_in_roles_and_the_org_attribute_in_org() {
    let app = spawn_app().await;
    let event = json!({
        "version": "2", "triggerSource": "TokenGeneration_HostedAuth", "region": "eu-west-1",
        "userPoolId": "eu-west-1_Example", "userName": "ada", "callerContext": { "clientId": "console" },
        "request": {
            "userAttributes": { "sub": "8f2b1c9e-1111-2222-3333-444455556666", "email": "ada@example.com", "custom:org": "acme" },
            "groupConfiguration": { "groupsToOverride": ["enterprise", "service", "instructor"], "iamRolesToOverride": [], "preferredRole": null },
            "scopes": ["openid", "email"]
        },
        "response": { "claimsAndScopeOverrideDetails": null }
    });
    let (status, out) = json_of(app.post("/_local/jobs/cognito-pre-token", None, None, &event).await).await;
    assert_eq!(status, 200, "{out}");
    let id_token = &out["response"]["claimsAndScopeOverrideDetails"]["idTokenGeneration"]["claimsToAddOrOverride"];
    assert_eq!(id_token, &json!({ "roles": ["enterprise", "instructor"], "org": "acme" }), "{out}");
    assert_eq!(out["request"], event["request"], "the event goes back as it came, with its response");
}

//! What the local server adds for the web console: the built files at `/` with the SPA fallback
//! (never over `/api`, `/_local` or `/_sandbox`), the dev sign-in token, and the Stripe sandbox's
//! 3-D Secure page on the same origin. The browser journeys themselves are in web/browser-tests.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use azora_local::console::ConsoleOptions;
use serde_json::json;
use std::path::PathBuf;

/// A stand-in for `web/dist`: an index page and one asset.
fn built_console() -> PathBuf {
    let root = std::env::temp_dir().join(unique("azora-console"));
    std::fs::create_dir_all(root.join("assets")).expect("dist dir");
    std::fs::write(root.join("index.html"), "<!doctype html><title>Azora console</title>").expect("index");
    std::fs::write(root.join("assets/app-1234.js"), "export {}").expect("asset");
    root
}

async fn app_with_console() -> TestApp {
    let app = spawn_app().await;
    app.booted.server.serve_console(ConsoleOptions::from_env(&app.booted.env, Some(built_console())));
    app
}

#[tokio::test]
async fn the_console_is_served_at_root_with_a_fallback_that_never_shadows_the_api() {
    let app = app_with_console().await;
    for path in ["/", "/courses", "/courses/demo-course-01", "/payments/pay_1?checkout=1"] {
        let resp = app.get(path, None).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8", "{path}");
        assert!(resp.text().await.unwrap().contains("Azora console"), "{path}");
    }
    let asset = app.get("/assets/app-1234.js", None).await;
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(app.get("/assets/missing.js", None).await.status(), 404);

    for path in ["/api/nope", "/_local/nope", "/_sandbox/nope"] {
        let (status, body) = json_of(app.get(path, None).await).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(error_code(&body), "route_not_found", "{path}: {body}");
    }
    let (status, health) = json_of(app.get("/api/health", None).await).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (_, features) = json_of(app.get("/_local/console", None).await).await;
    assert_eq!(features, json!({ "local": true, "devSignIn": true, "sandbox3ds": true }));
}

#[tokio::test]
async fn without_the_console_the_server_answers_the_api_only() {
    let app = spawn_app().await;
    for path in ["/", "/courses", "/_local/console"] {
        let (status, body) = json_of(app.get(path, None).await).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(error_code(&body), "route_not_found");
    }
    let (status, _) =
        json_of(app.post("/_local/token", None, None, &json!({ "role": "admin", "sub": "x" })).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn dev_sign_in_mints_a_token_the_api_accepts() {
    let app = app_with_console().await;
    let user = unique("learner");
    let (status, minted) = json_of(
        app.post("/_local/token", None, None, &json!({ "role": "enterprise", "sub": user, "org": "acme" })).await,
    )
    .await;
    assert_eq!(status, 201, "{minted}");
    assert_eq!(minted["roles"], json!(["enterprise"]));
    assert_eq!(minted["org"], "acme");
    let token = minted["token"].as_str().expect("token");
    let (status, balance) = json_of(app.get("/api/tokens/balance", Some(token)).await).await;
    assert_eq!(status, 200, "{balance}");
    assert_eq!(balance["userId"], user.as_str());

    for (body, field) in [
        (json!({ "role": "root", "sub": "x" }), "role"),
        (json!({ "role": "admin", "sub": "" }), "sub"),
        (json!({ "role": "admin", "sub": "two words" }), "sub"),
    ] {
        let (status, err) = json_of(app.post("/_local/token", None, None, &body).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let (status, err) = json_of(app.post("/_local/token", None, None, &json!({ "role": "admin" })).await).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&err), "validation_failed");
}

#[tokio::test]
async fn the_3ds_page_is_forwarded_and_completing_it_fulfils_the_payment() {
    let app = app_with_console().await;
    let course = app.seed_course("instructor-1", 2900, "USD").await;
    let buyer = unique("buyer");
    let token = app.token(&buyer, &["student"]);
    let (status, paid) = json_of(
        app.post(
            "/api/payments/process",
            Some(&token),
            Some("3ds-console-1"),
            &json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": "pm_card_authenticationRequired" }),
        )
        .await,
    )
    .await;
    assert_eq!((status, paid["status"].as_str()), (201, Some("requires_action")), "{paid}");
    let payment_id = paid["paymentId"].as_str().expect("payment id").to_string();
    // The console reads the PaymentIntent from the client secret, as Stripe.js does.
    let pi = paid["clientSecret"].as_str().and_then(|s| s.split("_secret_").next()).expect("client secret").to_string();
    assert_eq!(pi, app.payment_intent_of(&payment_id).await);

    let page = app.get(&format!("/_sandbox/3ds/{pi}"), None).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("Complete authentication"));

    let done = app.get(&format!("/_sandbox/3ds/{pi}?succeed=true"), None).await;
    assert_eq!(done.status(), 200);
    let payment = app.wait_for_payment(&payment_id, &token, |p| p["fulfilled"] == true).await;
    assert_eq!(payment["status"], "succeeded");
}

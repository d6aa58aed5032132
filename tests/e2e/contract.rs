//! The served OpenAPI document, template.yaml's routes and the handlers agree.

use azora_e2e::{json_of, spawn_app};
use azora_stack::Template;
use std::collections::BTreeSet;

#[tokio::test]
async fn openapi_paths_and_methods_equal_template_routes() {
    let app = spawn_app().await;
    let (status, doc) = json_of(app.get("/api/openapi.json", None).await).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let template = Template::load_default().unwrap();
    let routed: BTreeSet<(String, String)> = template
        .functions
        .iter()
        .flat_map(|f| f.http_routes.iter().filter(|r| !r.is_fallback()).map(|r| (r.method.clone(), r.path.clone())))
        .collect();
    assert_eq!(documented, routed, "openapi.yaml and template.yaml disagree");
}

#[tokio::test]
async fn every_template_route_is_served() {
    let app = spawn_app().await;
    let template = Template::load_default().unwrap();
    for f in &template.functions {
        for r in f.http_routes.iter().filter(|r| !r.is_fallback()) {
            let path = r.path.replace('{', "x").replace('}', "");
            let resp = app.request(r.method.parse().unwrap(), &path, None).send().await.unwrap();
            let (status, body) = json_of(resp).await;
            assert_ne!(body["error"]["code"], "route_not_found", "{} {} is not served", r.method, r.path);
            assert!(status < 500, "{} {} failed without input: {status} {body}", r.method, r.path);
        }
    }
}

#[tokio::test]
async fn a_known_path_with_another_method_is_405_with_allow_and_an_unknown_one_404() {
    let app = spawn_app().await;
    let resp = app.request(reqwest::Method::DELETE, "/api/payments/history", None).send().await.unwrap();
    let allow = resp.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_string);
    let (status, body) = json_of(resp).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), allow.as_deref()),
        (405, Some("method_not_allowed"), Some("GET"))
    );
    let resp = app.request(reqwest::Method::PUT, "/api/courses/crs_anything", None).send().await.unwrap();
    assert_eq!(resp.headers().get("allow").and_then(|v| v.to_str().ok()), Some("DELETE, GET"));
    assert_eq!(resp.status(), 405);
    let (status, body) =
        json_of(app.request(reqwest::Method::POST, "/api/no/such/thing", None).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("route_not_found")));
    // The routes themselves still win over the catch-all.
    let (status, _) = json_of(app.get("/api/health", None).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn docs_page_is_html() {
    let app = spawn_app().await;
    let resp = app.get("/api/docs", None).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    // It forwards to the console's API reference (Swagger UI over /api/openapi.json).
    let page = resp.text().await.unwrap();
    assert!(page.contains("url=/docs") && page.contains("/api/openapi.json"), "{page}");
}

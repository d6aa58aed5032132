//! `GET /api/openapi.json` and `GET /api/docs`: the API description (shared/api/openapi.yaml, the
//! one source) as JSON, and a small HTML page that sends readers to the API reference: Swagger UI
//! over that JSON, bundled with the web console (`/docs`, served beside `/api` on the same origin
//! locally and through CloudFront in AWS), where "Try it out" calls this API.

use crate::error::ApiError;
use crate::http::{HttpResult, html, ok};
use crate::state::AppState;
use azora_domain::notification::escape_html;
use lambda_http::Request;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Where the console serves its API reference (web/src/screens/ApiDocs.tsx).
const VIEWER_PATH: &str = "/docs";

/// The parsed document, once per cold start.
pub fn document() -> Result<&'static Value, ApiError> {
    static DOC: OnceLock<Result<Value, String>> = OnceLock::new();
    DOC.get_or_init(|| serde_yaml::from_str::<Value>(OPENAPI_YAML).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(ApiError::internal)
}

pub async fn get(req: Request, _state: Arc<AppState>) -> HttpResult {
    let doc = document()?;
    if req.uri().path().ends_with("/docs") { html(render_page(doc)) } else { ok(doc) }
}

/// A page that forwards to the console's viewer, with plain links for clients that do not follow
/// the refresh.
fn render_page(doc: &Value) -> String {
    let title = escape_html(doc["info"]["title"].as_str().unwrap_or("API"));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta http-equiv=\"refresh\" content=\"0; url={VIEWER_PATH}\"></head><body><h1>{title}</h1>\
         <p>The API reference is in the console: <a href=\"{VIEWER_PATH}\">{VIEWER_PATH}</a>. \
         The OpenAPI document: <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_parses_and_every_ref_resolves() {
        let doc = document().unwrap();
        let text = doc.to_string();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("\"$ref\":\"#") {
            rest = &rest[i + 9..];
            let end = rest.find('"').unwrap();
            let pointer = &rest[..end];
            assert!(doc.pointer(pointer).is_some(), "unresolved $ref #{pointer}");
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        // Generated clients (the console's types) name operations by id: a repeat shadows one.
        let doc = document().unwrap();
        let mut seen = std::collections::BTreeMap::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                if let Some(id) = op["operationId"].as_str()
                    && let Some(first) = seen.insert(id.to_string(), format!("{method} {path}"))
                {
                    panic!("operationId {id} is used by {first} and {method} {path}");
                }
            }
        }
    }

    #[test]
    fn every_operation_documents_its_responses_and_error_shape() {
        let doc = document().unwrap();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let responses =
                    op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path} has no responses"));
                assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} has no success response");
                let secured = op.get("security").map(|s| s != &serde_json::json!([])).unwrap_or(true);
                if secured {
                    assert!(responses.contains_key("401"), "{method} {path} needs a 401 response");
                }
            }
        }
    }

    #[test]
    fn page_forwards_to_the_console_viewer() {
        let page = render_page(document().unwrap());
        assert!(page.contains("<meta http-equiv=\"refresh\" content=\"0; url=/docs\">"), "{page}");
        assert!(page.contains("href=\"/docs\"") && page.contains("href=\"/api/openapi.json\""), "{page}");
    }
}

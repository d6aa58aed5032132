//! `GET /api/openapi.json` and `GET /api/docs`: the API description (shared/api/openapi.yaml, the
//! one source) as JSON, and a self-contained HTML page generated from it (no CDN needed).

use crate::error::ApiError;
use crate::http::{HttpResult, html, ok};
use crate::state::AppState;
use azora_domain::notification::escape_html;
use lambda_http::Request;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

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

fn render_page(doc: &Value) -> String {
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let mut out = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         .op{{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}}\
         .m{{font-weight:bold;text-transform:uppercase;margin-right:.5rem}}pre{{background:#f6f6f6;padding:.5rem;overflow:auto}}\
         </style></head><body><h1>{t}</h1><p><a href=\"/api/openapi.json\">openapi.json</a></p><pre>{d}</pre>",
        t = escape_html(title),
        d = escape_html(doc["info"]["description"].as_str().unwrap_or_default()),
    );
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                out.push_str(&format!(
                    "<div class=\"op\"><p><span class=\"m\">{}</span><code>{}</code> — {}</p>",
                    escape_html(method),
                    escape_html(path),
                    escape_html(op["summary"].as_str().unwrap_or_default())
                ));
                if let Some(body) = op.get("requestBody") {
                    out.push_str(&format!("<p>Request body</p><pre>{}</pre>", escape_html(&pretty(body))));
                }
                out.push_str("<p>Responses</p><ul>");
                for (status, resp) in op["responses"].as_object().into_iter().flatten() {
                    let described = resolve(doc, resp);
                    out.push_str(&format!(
                        "<li><b>{}</b> {}</li>",
                        escape_html(status),
                        escape_html(described["description"].as_str().unwrap_or_default())
                    ));
                }
                out.push_str("</ul></div>");
            }
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        out.push_str("<h2>Schemas</h2>");
        for (name, schema) in schemas {
            out.push_str(&format!("<h3>{}</h3><pre>{}</pre>", escape_html(name), escape_html(&pretty(schema))));
        }
    }
    out.push_str("</body></html>");
    out
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Follows a local `$ref` like `#/components/responses/Unauthorized`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
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
    fn page_lists_every_path() {
        let doc = document().unwrap();
        let page = render_page(doc);
        for path in doc["paths"].as_object().unwrap().keys() {
            assert!(page.contains(&escape_html(path)), "{path} missing from docs page");
        }
    }
}

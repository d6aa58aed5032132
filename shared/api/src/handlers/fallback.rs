//! `ANY /api/{proxy+}`: API Gateway's route for every request no other route takes (more specific
//! routes always win). A documented path asked with another method is 405 with `Allow` listing
//! its methods; anything else is the JSON 404 `route_not_found`. The routes come from the OpenAPI
//! document, which the contract tests keep equal to template.yaml.

use crate::error::ApiError;
use crate::http::HttpResult;
use crate::state::AppState;
use ::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The methods the document lists for the path template matching `path`, upper-case and sorted.
fn allowed_methods(doc: &Value, path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut methods: Vec<String> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(p, s)| if p.starts_with('{') { !s.is_empty() } else { p == s })
        })
        .flat_map(|(_, ops)| ops.as_object().into_iter().flatten().map(|(m, _)| m.to_ascii_uppercase()))
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

pub async fn answer(req: Request, _state: Arc<AppState>) -> HttpResult {
    let (method, path) = (req.method().as_str().to_string(), req.uri().path().to_string());
    let allowed = allowed_methods(super::docs::document()?, &path);
    if allowed.is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "route_not_found", format!("No route for {method} {path}.")));
    }
    let allow = allowed.join(", ");
    let body = json!({ "error": {
        "code": "method_not_allowed",
        "message": format!("{path} does not take {method}; it takes {allow}."),
    } });
    let mut response = Response::builder()
        .status(StatusCode::METHOD_NOT_ALLOWED)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .map_err(ApiError::internal)?;
    let allow = HeaderValue::from_str(&allow).map_err(ApiError::internal)?;
    response.headers_mut().insert("allow", allow);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_paths_give_their_methods_and_others_none() {
        let doc = super::super::docs::document().unwrap();
        assert_eq!(allowed_methods(doc, "/api/payments/history"), ["GET"]);
        assert_eq!(allowed_methods(doc, "/api/courses/crs_1"), ["DELETE", "GET"]);
        assert!(allowed_methods(doc, "/api/nope").is_empty());
        assert!(allowed_methods(doc, "/api/courses//x").is_empty());
    }
}

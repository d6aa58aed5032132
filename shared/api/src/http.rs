//! Small helpers for reading API Gateway HTTP API requests and writing JSON responses.

use crate::error::ApiError;
use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest request body we accept (64 KiB); larger bodies get 413 `payload_too_large`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub type HttpResult = Result<Response<Body>, ApiError>;

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Parses the JSON body into `T`, refusing oversized or malformed input with a 4xx.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body exceeds {MAX_BODY_BYTES} bytes."),
        ));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request("invalid_json", "A JSON request body is required."));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("The request body is not valid: {e}.")))
}

/// Every parameter of our API is a single value, so a name given twice (`?limit=6&limit=`) is
/// ambiguous: the request is refused rather than one of the values silently chosen. Checked once,
/// for every HTTP function, before its handler runs.
pub fn refuse_repeated_query_parameters(req: &Request) -> Result<(), ApiError> {
    let Some(params) = req.query_string_parameters_ref() else { return Ok(()) };
    match params.iter().map(|(name, _)| name).find(|name| params.all(name).is_some_and(|v| v.len() > 1)) {
        None => Ok(()),
        Some(name) => Err(ApiError::bad_request(
            "repeated_query_parameter",
            format!("The query parameter {name} is given more than once; give it once."),
        )),
    }
}

pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_string)
}

pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters_ref().and_then(|p| p.first(name)).map(str::to_string).ok_or_else(|| {
        ApiError::bad_request("missing_path_parameter", format!("The path parameter {name} is missing."))
    })
}

/// `limit` query parameter: default when absent, 1..=max otherwise.
pub fn limit(req: &Request, default: i32, max: i32) -> Result<i32, ApiError> {
    match query(req, "limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request("invalid_limit", format!("limit must be a whole number from 1 to {max}."))),
        },
    }
}

/// The API Gateway request id (the local server sets one the same way).
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResult {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}

pub fn ok<T: Serialize>(value: &T) -> HttpResult {
    json(StatusCode::OK, value)
}

pub fn html(body: String) -> HttpResult {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/html; charset=utf-8")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}

/// A file download: `content_type`, `Content-Disposition: inline` with `file_name`, the bytes as a
/// binary body (API Gateway returns it base64-encoded to the Lambda runtime and raw to the client).
pub fn file(content_type: &str, file_name: &str, bytes: Vec<u8>) -> HttpResult {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .header("content-disposition", format!("inline; filename=\"{file_name}\""))
        .body(Body::Binary(bytes))
        .map_err(ApiError::internal)
}

/// The address a request came from, as API Gateway saw it (for per-address limits); `unknown`
/// when there is none.
pub fn source_ip(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
    .filter(|ip| !ip.is_empty() && ip.len() <= 64)
    .unwrap_or_else(|| "unknown".into())
}

pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// The headers every API response carries, set in the one place every response passes:
/// `Strict-Transport-Security`, `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store`
/// unless the handler chose a cache policy for an anonymous request (public, caller-independent
/// answers such as the license public key). A request with credentials is never cacheable.
pub fn security_headers(response: &mut Response<Body>, authenticated: bool) {
    use http::HeaderValue;
    use http::header::{CACHE_CONTROL, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
    let headers = response.headers_mut();
    headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if authenticated || !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cache(value: Option<&'static str>) -> Response<Body> {
        let mut r = Response::new(Body::Empty);
        if let Some(v) = value {
            r.headers_mut().insert("cache-control", http::HeaderValue::from_static(v));
        }
        r
    }

    fn with_query(raw: &str) -> Request {
        let params: lambda_http::aws_lambda_events::query_map::QueryMap = raw.parse().unwrap_or_default();
        Request::default().with_query_string_parameters(params)
    }

    #[test]
    fn a_repeated_query_parameter_is_refused_and_single_ones_pass() {
        assert!(refuse_repeated_query_parameters(&with_query("limit=6&cursor=abc")).is_ok());
        assert!(refuse_repeated_query_parameters(&Request::default()).is_ok());
        for raw in ["limit=6&limit=", "limit=6&q=a&q=a"] {
            let error = refuse_repeated_query_parameters(&with_query(raw)).err();
            assert_eq!(error.map(|e| e.code), Some("repeated_query_parameter".into()), "{raw}");
        }
    }

    #[test]
    fn every_response_gets_the_security_headers() {
        for authenticated in [false, true] {
            let mut r = with_cache(None);
            security_headers(&mut r, authenticated);
            assert_eq!(r.headers()["strict-transport-security"], HSTS);
            assert_eq!(r.headers()["x-content-type-options"], "nosniff");
            assert_eq!(r.headers()["cache-control"], "no-store");
        }
    }

    #[test]
    fn a_public_cache_policy_survives_only_for_anonymous_requests() {
        let mut r = with_cache(Some("public, max-age=300"));
        security_headers(&mut r, false);
        assert_eq!(r.headers()["cache-control"], "public, max-age=300");
        let mut r = with_cache(Some("public, max-age=300"));
        security_headers(&mut r, true);
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
}

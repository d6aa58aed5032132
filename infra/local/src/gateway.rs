//! Turns an HTTP request into the API Gateway HTTP API (payload v2.0) event that Lambda would
//! receive, and lets lambda_http parse it, so handlers see exactly what they see in AWS.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

pub struct IncomingRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    pub source_ip: String,
}

/// Builds the v2 event. Bodies are sent as text when they are UTF-8, else base64 — or always as
/// base64 with `force_base64`, which API Gateway also does for some content types.
pub fn v2_event(
    req: &IncomingRequest<'_>,
    route_key: &str,
    path_params: &HashMap<String, String>,
    request_id: &str,
    force_base64: bool,
) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_string()));
            continue;
        }
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(req.raw_query.as_bytes()) {
        query
            .entry(k.into_owned())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    let (body, is_base64) = match std::str::from_utf8(req.body) {
        _ if req.body.is_empty() => (Value::Null, false),
        Ok(text) if !force_base64 => (Value::String(text.to_string()), false),
        _ => (Value::String(STANDARD.encode(req.body)), true),
    };
    let now = jiff::Timestamp::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": req.path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host").cloned().unwrap_or_else(|| "127.0.0.1".into()),
            "domainPrefix": "local",
            "http": {
                "method": req.method,
                "path": req.path,
                "protocol": "HTTP/1.1",
                "sourceIp": req.source_ip,
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default()
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.as_millisecond()
        },
        "isBase64Encoded": is_base64
    });
    let obj: &mut Map<String, Value> = event.as_object_mut().expect("event is an object");
    if !cookies.is_empty() {
        obj.insert("cookies".into(), json!(cookies));
    }
    if !query.is_empty() {
        obj.insert("queryStringParameters".into(), json!(query));
    }
    if !path_params.is_empty() {
        obj.insert("pathParameters".into(), json!(path_params));
    }
    if !body.is_null() {
        obj.insert("body".into(), body);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::{Body, RequestExt};

    fn sample(body: &[u8], force: bool) -> lambda_http::Request {
        let req = IncomingRequest {
            method: "POST",
            path: "/api/courses/c1",
            raw_query: "a=1&a=2&q=hello%20world",
            headers: vec![("Content-Type".into(), "application/json".into()), ("Host".into(), "127.0.0.1:3000".into())],
            body,
            source_ip: "127.0.0.1".into(),
        };
        let params = HashMap::from([("courseId".to_string(), "c1".to_string())]);
        let event = v2_event(&req, "POST /api/courses/{courseId}", &params, "req-1", force);
        lambda_http::request::from_str(&event.to_string()).expect("lambda_http parses the event")
    }

    #[test]
    fn lambda_http_sees_path_query_and_body() {
        let r = sample(br#"{"x":1}"#, false);
        assert_eq!(r.uri().path(), "/api/courses/c1");
        assert_eq!(r.path_parameters_ref().and_then(|p| p.first("courseId")), Some("c1"));
        assert_eq!(r.query_string_parameters_ref().and_then(|q| q.first("q")), Some("hello world"));
        assert!(matches!(r.body(), Body::Text(t) if t == r#"{"x":1}"#));
    }

    #[test]
    fn base64_bodies_arrive_decoded() {
        let r = sample(br#"{"x":1}"#, true);
        assert_eq!(azora_api::http::body_bytes(&r), br#"{"x":1}"#);
    }
}

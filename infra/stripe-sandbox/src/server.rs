//! The HTTP server: `/v1/...` is the Stripe API (authenticated, form-encoded, idempotent POSTs),
//! `/_sandbox/...` the control API. Every request gets an answer; nothing on a request path
//! panics.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::control;
use crate::error::ApiError;
use crate::expand;
use crate::ids;
use crate::params::Params;
use crate::records::RecordedRequest;
use crate::router::{self, Ctx, Method, RequestMeta};
use crate::sandbox::Shared;
use crate::store::{API_VERSION, IdempotentResult, Store, unix_now};

const MAX_BODY: usize = 1 << 20;

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of descriptors or similar: back off instead of spinning.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(shared, req).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(shared: Arc<Shared>, req: hyper::Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let headers = req.headers().clone();
    let response = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Err(_) => error_response(
            &ApiError::new(413, crate::error::ErrorType::InvalidRequest, None, "Request body too large."),
            None,
        ),
        Ok(collected) => {
            let body = collected.to_bytes();
            if path == "/v1" || path.starts_with("/v1/") {
                api(&shared, &method, &path, query.as_deref(), &headers, &body)
            } else if path == "/_sandbox" || path.starts_with("/_sandbox/") {
                control::handle(&shared, &method, &path, query.as_deref(), &body).await
            } else if path == "/dns-query" && method == "GET" {
                let name =
                    crate::dns::normalize(&crate::dns::query_param(query.as_deref(), "name").unwrap_or_default());
                let qtype = crate::dns::query_param(query.as_deref(), "type").unwrap_or_else(|| "A".into());
                let records = shared.lock().dns_txt.get(&name).cloned();
                let answer = crate::dns::answer(records.as_ref(), &name, &qtype);
                json_response(200, &answer, &[("content-type", "application/dns-json".to_string())])
            } else if path == "/" {
                json_response(200, &json!({"sandbox": "azora-stripe-sandbox", "api_version": API_VERSION}), &[])
            } else {
                error_response(&ApiError::unrecognized_url(&method, &path), None)
            }
        }
    };
    if shared.log_requests {
        let replayed = if response.headers().contains_key("idempotent-replayed") { " (replayed)" } else { "" };
        eprintln!(
            "stripe-sandbox {method} {path} -> {}{replayed} {:.1} ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    response
}

/// A reply of the API before it becomes an HTTP response.
struct Reply {
    status: u16,
    body: Value,
    request_id: String,
    replayed: bool,
}

struct ApiRequest<'a> {
    method: &'a str,
    path: &'a str,
    request_id: String,
    api_key: Result<String, ApiError>,
    params: Result<Params, ApiError>,
    idempotency_key: Option<String>,
    account: Option<String>,
    /// `Stripe-Version`, when sent.
    stripe_version: Option<String>,
}

fn api(
    shared: &Shared,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let header = |name: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    };
    // POST bodies carry the parameters; async-stripe also sends a DELETE's parameters
    // (`cancellation_details`, `expand`) form-encoded in the body.
    let raw: &[u8] = if method == "POST" || (method == "DELETE" && !body.is_empty()) {
        body
    } else {
        query.unwrap_or("").as_bytes()
    };
    let request = ApiRequest {
        method,
        path,
        request_id: ids::new_id("req"),
        api_key: authenticate(headers),
        params: Params::parse(raw),
        idempotency_key: header("idempotency-key"),
        account: header("stripe-account"),
        stripe_version: header("stripe-version"),
    };
    let (flat, nested) = match &request.params {
        Ok(p) => (p.flat_json(), Value::Object(p.nested.clone())),
        Err(_) => (Default::default(), Value::Object(Default::default())),
    };

    let mut store = shared.lock();
    // Time passes for subscriptions on the sandbox clock: renewals due by now happen first.
    let now = store.now();
    let _ = crate::billing::advance(&mut store, &shared.base_url(), None, now);
    let reply = execute(shared, &mut store, &request);
    store.record_request(RecordedRequest {
        request_id: reply.request_id.clone(),
        method: method.to_string(),
        path: path.to_string(),
        query: query.map(str::to_string),
        params: flat,
        params_nested: nested,
        idempotency_key: request.idempotency_key.clone(),
        stripe_account: request.account.clone(),
        stripe_version: header("stripe-version"),
        api_key: request.api_key.as_ref().ok().map(|k| mask(k)),
        status: reply.status,
        idempotent_replayed: reply.replayed,
        received_at: unix_now(),
    });
    shared.dispatch(&mut store);
    drop(store);

    // The version the request was served in (the only one the sandbox renders).
    let mut extra: Vec<(&str, String)> =
        vec![("request-id", reply.request_id.clone()), ("stripe-version", API_VERSION.to_string())];
    if method == "POST"
        && let Some(key) = &request.idempotency_key
    {
        extra.push(("idempotency-key", key.clone()));
    }
    if reply.replayed {
        extra.push(("idempotent-replayed", "true".into()));
    }
    json_response(reply.status, &reply.body, &extra)
}

fn execute(shared: &Shared, store: &mut Store, req: &ApiRequest<'_>) -> Reply {
    let fresh = |status: u16, body: Value| Reply { status, body, request_id: req.request_id.clone(), replayed: false };
    let fail = |e: ApiError| fresh(e.status, e.body(Some(&req.request_id)));
    let api_key = match &req.api_key {
        Ok(k) => k.clone(),
        Err(e) => return fail(e.clone()),
    };
    if let Some(version) = &req.stripe_version
        && let Err(e) = check_version(version)
    {
        return fail(e);
    }
    let Some(method) = Method::parse(req.method) else {
        return fail(ApiError::unrecognized_url(req.method, req.path));
    };
    let Some((route, captures)) = router::find(&shared.routes, method, req.path) else {
        return fail(ApiError::unrecognized_url(req.method, req.path));
    };
    let params = match &req.params {
        Ok(p) => p,
        Err(e) => return fail(e.clone()),
    };
    if let Err(e) = params.check_allowed(route.params) {
        return fail(e);
    }
    let expand = match params.expand() {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let idempotency_key = if method == Method::Post { req.idempotency_key.clone() } else { None };
    // Keys belong to the account acting: the secret key's, or the connected one it acts for.
    let key_scope = match &req.account {
        Some(account) => format!("{api_key}/{account}"),
        None => api_key,
    };
    let fingerprint = format!("{} {}?{}", req.method, req.path, params.fingerprint());
    if let Some(key) = &idempotency_key {
        if key.len() > 255 {
            return fail(ApiError::invalid_nocode("Idempotency keys can be at most 255 characters long."));
        }
        if let Some(saved) = store.idempotency.get(&(key_scope.clone(), key.clone())) {
            if saved.fingerprint != fingerprint {
                return fail(ApiError::idempotency_mismatch(key));
            }
            return Reply {
                status: saved.status,
                body: saved.body.clone(),
                request_id: saved.request_id.clone(),
                replayed: true,
            };
        }
    }
    let meta = RequestMeta {
        request_id: Some(req.request_id.clone()),
        idempotency_key: idempotency_key.clone(),
        account: req.account.clone(),
        base_url: shared.base_url(),
    };
    let result = {
        let mut ctx = Ctx { store: &mut *store, params, path: captures, meta: &meta };
        (route.handler)(&mut ctx)
    };
    let result = result.and_then(|mut value| {
        expand::apply(store, &mut value, &expand, req.account.as_deref())?;
        Ok(value)
    });
    let (status, body, saved) = match result {
        Ok(v) => (200, v, true),
        Err(e) => (e.status, e.body(Some(&req.request_id)), e.saved_for_idempotency()),
    };
    if let (Some(key), true) = (idempotency_key, saved) {
        store.idempotency.insert(
            (key_scope, key),
            IdempotentResult { fingerprint, status, body: body.clone(), request_id: req.request_id.clone() },
        );
    }
    fresh(status, body)
}

/// `Stripe-Version`: Stripe refuses a version that does not exist (`Invalid Stripe API version`).
/// The sandbox renders every object in [`API_VERSION`] only, so a real but different version is
/// refused too (400, saying so) rather than answered in a shape the client does not expect.
fn check_version(version: &str) -> Result<(), ApiError> {
    if version == API_VERSION {
        return Ok(());
    }
    let invalid = || ApiError::invalid_nocode(format!("Invalid Stripe API version: {version}"));
    let (date, name) = match version.split_once('.') {
        Some((date, name)) => (date, Some(name)),
        None => (version, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(invalid()) };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return Err(invalid());
    }
    let (month, day) = (m.parse::<u32>().unwrap_or(0), d.parse::<u32>().unwrap_or(0));
    let pinned_date = API_VERSION.split('.').next().unwrap_or(API_VERSION);
    // Versions are dated from 2011; named ones (`2024-09-30.acacia` on) are a date and a
    // lower-case release name, and date-only ones predate the names; none is later than ours.
    let known = date >= "2011-01-01"
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && date <= pinned_date
        && match name {
            Some(n) => date >= "2024-09-30" && !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase()),
            None => date < "2024-09-30",
        };
    if !known {
        return Err(invalid());
    }
    Err(ApiError::invalid_nocode(format!(
        "The Stripe sandbox answers in API version {API_VERSION} only (the version async-stripe pins); this request asked for {version}. Send Stripe-Version: {API_VERSION} or none."
    )))
}

/// The secret key of `Authorization: Bearer sk_test_…` (or HTTP Basic, as curl's `-u` sends).
fn authenticate(headers: &HeaderMap) -> Result<String, ApiError> {
    const NO_KEY: &str = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::unauthorized(NO_KEY));
    };
    let value = value.trim();
    let key = if let Some(token) = value.strip_prefix("Bearer ") {
        token.trim().to_string()
    } else if let Some(basic) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        decoded.split(':').next().unwrap_or("").to_string()
    } else {
        return Err(ApiError::unauthorized(format!("Invalid API Key provided: {}", mask(value))));
    };
    if key.is_empty() {
        return Err(ApiError::unauthorized(NO_KEY));
    }
    if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
        return Ok(key);
    }
    if key.starts_with("pk_") {
        return Err(ApiError::unauthorized(
            "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        ));
    }
    if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
        return Err(ApiError::unauthorized(
            "The Stripe sandbox only accepts test mode keys (sk_test_...); this is a live mode key.",
        ));
    }
    Err(ApiError::unauthorized(format!("Invalid API Key provided: {}", mask(&key))))
}

/// `sk_test_****************abcd`, as Stripe shows keys.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let prefix_len =
        key.match_indices('_').nth(1).map(|(i, _)| key[..=i].chars().count()).unwrap_or(0).min(chars.len());
    let tail = chars.len().saturating_sub(4).max(prefix_len);
    let prefix: String = chars[..prefix_len].iter().collect();
    let last: String = chars[tail..].iter().collect();
    format!("{prefix}{}{last}", "*".repeat(tail - prefix_len))
}

pub(crate) fn json_response(status: u16, body: &Value, headers: &[(&str, String)]) -> Response<Full<Bytes>> {
    let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
    h.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(HeaderName::from_static("stripe-version"), HeaderValue::from_static(API_VERSION));
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(*name), HeaderValue::from_str(value)) {
            h.insert(n, v);
        }
    }
    response
}

pub(crate) fn error_response(error: &ApiError, request_id: Option<&str>) -> Response<Full<Bytes>> {
    json_response(error.status, &error.body(request_id), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_api_versions() {
        assert!(check_version(API_VERSION).is_ok());
        for bad in ["", "latest", "2026-13-01", "2026-09-30.", "2026-09-30.Endive", "2099-01-01.zinnia", "26-09-30"] {
            let e = check_version(bad).err();
            assert!(e.as_ref().is_some_and(|e| e.message.starts_with("Invalid Stripe API version")), "{bad}: {e:?}");
        }
        let older = check_version("2024-06-20").err();
        assert!(older.is_some_and(|e| e.status == 400 && e.message.contains(API_VERSION)));
    }

    #[test]
    fn masks_keys_like_stripe() {
        assert_eq!(mask("sk_test_abcdefgh1234"), "sk_test_********1234");
        assert_eq!(mask("sk_test_1"), "sk_test_1");
        assert_eq!(mask("nonsense"), "****ense");
    }

    #[test]
    fn accepts_bearer_and_basic_test_keys_only() {
        let mut h = HeaderMap::new();
        assert_eq!(authenticate(&h).err().map(|e| e.status), Some(401));
        h.insert("authorization", HeaderValue::from_static("Bearer sk_test_123"));
        assert_eq!(authenticate(&h).ok().as_deref(), Some("sk_test_123"));
        h.insert("authorization", HeaderValue::from_static("Basic c2tfdGVzdF8xMjM6"));
        assert_eq!(authenticate(&h).ok().as_deref(), Some("sk_test_123"));
        h.insert("authorization", HeaderValue::from_static("Bearer sk_live_123"));
        assert!(authenticate(&h).is_err());
        h.insert("authorization", HeaderValue::from_static("Bearer pk_test_123"));
        assert!(authenticate(&h).is_err());
    }
}

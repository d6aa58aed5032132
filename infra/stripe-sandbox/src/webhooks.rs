//! Webhook delivery as Stripe does it: the event JSON POSTed to the endpoint with
//! `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//!
//! Automatic deliveries run in a background worker (first attempts in event order; a failed
//! attempt is retried on its own schedule so it does not hold up later events). Manual
//! deliveries (control API) are synchronous and can be repeated, stale or tampered with.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

use crate::error::ApiError;
use crate::records::{DeliverOptions, DeliveryAttempt};
use crate::sandbox::Shared;
use crate::store::unix_now;

/// Per-attempt timeout (Stripe waits a little longer; tests want failures fast).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many deliveries in one manual call.
const MAX_TIMES: u32 = 100;

/// The `Stripe-Signature` header for `payload` signed with `secret` at `timestamp`.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// The hex `v1` signature: HMAC-SHA256 over `"<timestamp>.<payload>"`.
pub fn sign(secret: &str, timestamp: i64, payload: &str) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(payload.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this branch cannot be reached.
        Err(_) => String::new(),
    }
}

/// The body of a delivery: the event as Stripe sends it (pretty-printed JSON).
fn payload(shared: &Shared, event_id: &str) -> Option<(String, String)> {
    let store = shared.lock();
    let event = store.event(event_id)?;
    let event_type = event.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    serde_json::to_string_pretty(event).ok().map(|p| (p, event_type))
}

/// A body that no longer matches its signature but still parses.
fn tampered(payload: &str) -> String {
    if payload.contains("\"livemode\": false") {
        payload.replacen("\"livemode\": false", "\"livemode\": true", 1)
    } else {
        format!("{payload}\n")
    }
}

struct Attempt<'a> {
    url: &'a str,
    secret: &'a str,
    offset: i64,
    tamper: bool,
    attempt: u32,
    automatic: bool,
}

async fn attempt(shared: &Shared, event_id: &str, a: Attempt<'_>) -> Option<DeliveryAttempt> {
    let (body, event_type) = payload(shared, event_id)?;
    let timestamp = unix_now() + a.offset;
    let signature = signature_header(a.secret, timestamp, &body);
    let sent = if a.tamper { tampered(&body) } else { body };
    let (status, error) = match post(a.url, sent, &signature).await {
        Ok(status) => (Some(status), None),
        Err(e) => (None, Some(e)),
    };
    let record = DeliveryAttempt {
        event_id: event_id.to_string(),
        event_type,
        url: a.url.to_string(),
        attempt: a.attempt,
        automatic: a.automatic,
        status,
        error,
        signature_timestamp: timestamp,
        signature,
        tampered: a.tamper,
        at: unix_now(),
    };
    let mut store = shared.lock();
    if a.automatic && record.succeeded() {
        store.mark_delivered(event_id);
    }
    store.record_delivery(record.clone());
    Some(record)
}

/// Delivers `event_id` now, `times` times, as the control API asks; answers every attempt.
pub(crate) async fn deliver_manual(
    shared: &Shared,
    event_id: &str,
    options: &DeliverOptions,
) -> Result<Vec<DeliveryAttempt>, ApiError> {
    let config = {
        let store = shared.lock();
        if store.event(event_id).is_none() {
            return Err(ApiError::not_found("event", event_id));
        }
        store.config.clone()
    };
    let url =
        options.url.clone().or(config.webhook_url).ok_or_else(|| {
            ApiError::invalid_nocode("No webhook URL: set one with POST /_sandbox/config or pass `url`.")
        })?;
    let secret = options.secret.clone().unwrap_or(config.webhook_secret);
    let times = options.times.unwrap_or(1);
    if times == 0 || times > MAX_TIMES {
        return Err(ApiError::invalid_nocode(format!("times must be between 1 and {MAX_TIMES}")));
    }
    let mut attempts = Vec::new();
    for n in 1..=times {
        let a = Attempt {
            url: &url,
            secret: &secret,
            offset: options.timestamp_offset_seconds,
            tamper: options.tamper,
            attempt: n,
            automatic: false,
        };
        match attempt(shared, event_id, a).await {
            Some(record) => attempts.push(record),
            None => return Err(ApiError::not_found("event", event_id)),
        }
    }
    Ok(attempts)
}

/// One automatic attempt with the current configuration; `true` when nothing is left to do.
async fn deliver_automatic(shared: &Shared, event_id: &str, n: u32) -> bool {
    let config = shared.lock().config.clone();
    let (Some(url), true) = (config.webhook_url, config.auto_deliver) else {
        return true;
    };
    let a =
        Attempt { url: &url, secret: &config.webhook_secret, offset: 0, tamper: false, attempt: n, automatic: true };
    attempt(shared, event_id, a).await.is_none_or(|r| r.succeeded())
}

async fn retry(shared: Arc<Shared>, event_id: String) {
    let delays = shared.lock().config.retry_delays_ms.clone();
    for (i, delay) in delays.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(*delay)).await;
        if deliver_automatic(&shared, &event_id, i as u32 + 2).await {
            return;
        }
    }
}

/// The background delivery worker: receives new event ids in order.
pub(crate) async fn worker(shared: Arc<Shared>, mut events: UnboundedReceiver<String>) {
    let mut retries = JoinSet::new();
    loop {
        tokio::select! {
            next = events.recv() => {
                let Some(id) = next else { break };
                if !deliver_automatic(&shared, &id, 1).await {
                    retries.spawn(retry(shared.clone(), id));
                }
            }
            Some(_) = retries.join_next(), if !retries.is_empty() => {}
        }
    }
}

/// POSTs a JSON body to an `http://` URL; the endpoint's status, or why there was none.
async fn post(url: &str, body: String, signature: &str) -> Result<u16, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("invalid webhook URL {url}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("only http:// webhook URLs are supported, got {url}"));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("webhook URL without a host: {url}"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    let authority = uri.authority().map(|a| a.to_string()).unwrap_or_else(|| host.clone());
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let request = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("host", authority.as_str())
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .header("accept", "*/*; q=0.5, application/xml")
        .header("cache-control", "no-cache")
        .header("stripe-signature", signature)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("cannot build the delivery request: {e}"))?;
    let exchange = async {
        let stream = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {authority} failed: {e}"))?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = sender.send_request(request).await.map_err(|e| format!("delivery to {url} failed: {e}"));
        let status = match response {
            Ok(r) => {
                let status = r.status().as_u16();
                let _ = r.into_body().collect().await;
                Ok(status)
            }
            Err(e) => Err(e),
        };
        driver.abort();
        status
    };
    tokio::time::timeout(DELIVERY_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer from {url} within {} s", DELIVERY_TIMEOUT.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stripe's documented scheme, checked against an independently computed value
    /// (`printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test`).
    #[test]
    fn signature_matches_stripe_scheme() {
        let header = signature_header("whsec_test", 1_700_000_000, r#"{"id":"evt_1"}"#);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(sign("whsec_test", 1_700_000_000, r#"{"id":"evt_1"}"#), EXPECTED);
    }

    const EXPECTED: &str = "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925";

    #[test]
    fn tampering_keeps_json_valid() {
        let body = "{\n  \"livemode\": false\n}";
        let t = tampered(body);
        assert_ne!(t, body);
        assert!(serde_json::from_str::<Value>(&t).is_ok());
    }
}

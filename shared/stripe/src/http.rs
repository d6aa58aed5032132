//! The HTTP client of the Stripe adapter. async-stripe's request types still build every call
//! (path, query, form body: `StripeRequest::build`); this client sends it and reads the answer into
//! the few fields we use (`crate::wire`), with serde.
//!
//! Why not async-stripe's own client: its answers deserialize into Stripe's complete object graph
//! (every field of every object an answer may embed, and of the error's `payment_intent`,
//! `setup_intent`, `payment_method` and `source`), which was ~5 MB of each Stripe function's 15 MB
//! binary (issue #11); and it opens a new TLS connection for every call (no keep-alive), which a
//! payment with three Stripe calls pays three times.

use crate::gateway::GatewayError;
use crate::wire;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use std::time::Duration;
use stripe_client_core::{RequestBuilder, StripeMethod};

/// One attempt's limit. A call that times out is `Unavailable`: our callers retry it with the same
/// idempotency key, and Stripe answers a retried key as it answered the first.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Stripe closes idle connections after about a minute; ours are dropped sooner, so a reused one is
/// rarely one Stripe has already closed (a request not yet written is retried by hyper itself).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const USER_AGENT_VALUE: &str = concat!("azora-monetization/", env!("CARGO_PKG_VERSION"));

#[derive(Clone)]
pub(crate) struct StripeHttp {
    client: Client<azora_https::Connector, Full<Bytes>>,
    /// `https://api.stripe.com/` or the sandbox's `http://127.0.0.1:12111/`.
    api_base: String,
    authorization: HeaderValue,
    stripe_version: HeaderValue,
}

impl StripeHttp {
    pub(crate) fn new(secret_key: &str, api_base: &str) -> Result<Self, GatewayError> {
        let mut authorization = HeaderValue::try_from(format!("Bearer {secret_key}"))
            .map_err(|_| GatewayError::Unavailable("the Stripe secret key is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        // The API version async-stripe's request types were generated for.
        let stripe_version = HeaderValue::from_str(stripe_shared::version::VERSION.as_str())
            .map_err(|_| GatewayError::Unavailable("the Stripe API version is not a valid header value".into()))?;
        // The workspace's one HTTPS connector (no Nagle, compiled-in roots); the call limit below
        // covers connecting too.
        let https = azora_https::https_connector(None);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(IDLE_TIMEOUT).build(https);
        let api_base = if api_base.ends_with('/') { api_base.to_string() } else { format!("{api_base}/") };
        Ok(Self { client, api_base, authorization, stripe_version })
    }

    /// Sends one call (once: retrying is the caller's, with the same key) and reads its answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> Result<T, GatewayError> {
        let (status, body) = self.send(request, idempotency_key).await?;
        if !status.is_success() {
            return Err(refusal(status, &body));
        }
        serde_json::from_slice(&body)
            .map_err(|e| GatewayError::Unavailable(format!("Stripe's answer could not be read: {e}")))
    }

    async fn send(
        &self,
        request: RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> Result<(StatusCode, Bytes), GatewayError> {
        let mut uri = format!("{}v1{}", self.api_base, request.path);
        if let Some(query) = &request.query {
            uri.push('?');
            uri.push_str(query);
        }
        let method = match request.method {
            StripeMethod::Get => Method::GET,
            StripeMethod::Post => Method::POST,
            StripeMethod::Delete => Method::DELETE,
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(HeaderName::from_static("stripe-version"), self.stripe_version.clone());
        if let Some(key) = idempotency_key {
            builder = builder.header(HeaderName::from_static("idempotency-key"), checked_key(key)?);
        }
        let body = match request.body {
            Some(form) => {
                builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                Bytes::from(form)
            }
            None => Bytes::new(),
        };
        let http_request = builder
            .body(Full::new(body))
            .map_err(|e| GatewayError::Unavailable(format!("cannot build the Stripe request: {e}")))?;
        let exchange = async {
            let response = self.client.request(http_request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(CALL_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(GatewayError::Unavailable(format!("cannot reach Stripe: {e}"))),
            Err(_) => Err(GatewayError::Unavailable(format!("Stripe did not answer within {CALL_TIMEOUT:?}"))),
        }
    }
}

/// Stripe's rules for an idempotency key: 1 to 255 characters.
fn checked_key(key: &str) -> Result<HeaderValue, GatewayError> {
    let invalid = |message: &str| GatewayError::Rejected {
        status: 400,
        code: "invalid_idempotency_key".into(),
        message: message.to_string(),
    };
    if key.is_empty() || key.len() > 255 {
        return Err(invalid("an idempotency key has 1 to 255 characters"));
    }
    HeaderValue::from_str(key).map_err(|_| invalid("an idempotency key is visible ASCII"))
}

/// A non-2xx answer as our error: a card decline (402 or `card_error`), a refusal to retry only
/// after changing the request (other 4xx), or Stripe being unavailable (429, 5xx, an unreadable
/// body).
fn refusal(status: StatusCode, body: &[u8]) -> GatewayError {
    let status = status.as_u16();
    let Ok(wire::ErrorBody { error }) = serde_json::from_slice::<wire::ErrorBody>(body) else {
        return GatewayError::Unavailable(format!("Stripe answered {status} with a body we could not read"));
    };
    let code = error.code.clone().unwrap_or_else(|| error.type_.clone());
    let message = error.message.clone().unwrap_or_else(|| "Stripe refused the request".into());
    if status == 402 || error.type_ == "card_error" {
        GatewayError::CardDeclined {
            code,
            decline_code: error.decline_code,
            message,
            payment_intent: error.payment_intent.as_ref().map(|pi| Box::new(pi.into())),
        }
    } else if status >= 500 || status == 429 {
        GatewayError::Unavailable(format!("{status} {code}: {message}"))
    } else {
        GatewayError::Rejected { status, code, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decline_carries_the_payment_intent_stripe_sent_with_it() {
        let body = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
            "message":"Your card has insufficient funds.","payment_intent":{"id":"pi_1","object":"payment_intent",
            "status":"requires_payment_method","amount":1999,"amount_received":0,"currency":"usd","created":1,"metadata":{}}}}"#;
        match refusal(StatusCode::PAYMENT_REQUIRED, body) {
            GatewayError::CardDeclined { code, decline_code, payment_intent: Some(pi), .. } => {
                assert_eq!(code, "card_declined");
                assert_eq!(decline_code.as_deref(), Some("insufficient_funds"));
                assert_eq!(pi.id, "pi_1");
                assert_eq!(pi.amount, 1999);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_are_classified_by_status() {
        let body =
            br#"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer"}}"#;
        assert!(matches!(
            refusal(StatusCode::NOT_FOUND, body),
            GatewayError::Rejected { status: 404, ref code, .. } if code == "resource_missing"
        ));
        assert!(matches!(refusal(StatusCode::TOO_MANY_REQUESTS, body), GatewayError::Unavailable(_)));
        assert!(matches!(refusal(StatusCode::BAD_GATEWAY, b"<html>"), GatewayError::Unavailable(_)));
        let idempotency = br#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}"#;
        assert!(matches!(
            refusal(StatusCode::BAD_REQUEST, idempotency),
            GatewayError::Rejected { ref code, .. } if code == "idempotency_error"
        ));
    }

    #[test]
    fn idempotency_keys_follow_stripes_rules() {
        assert!(checked_key("pay_1-charge").is_ok());
        assert!(checked_key("").is_err());
        assert!(checked_key(&"k".repeat(256)).is_err());
        assert!(checked_key("line\nbreak").is_err());
    }
}

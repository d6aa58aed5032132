//! TXT lookups for white-label domain proofs, behind [`TxtResolver`]. The one implementation,
//! [`DohResolver`], asks a DNS-over-HTTPS JSON API (`GET <DNS_RESOLVER_URL>?name=&type=TXT` with
//! `accept: application/dns-json`, as Cloudflare's and Google's resolvers answer). Locally and in
//! the tests `DNS_RESOLVER_URL` points at the Stripe sandbox's stand-in of the same API, whose
//! records the tests set, so the same code runs everywhere.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The resolver did not answer, or answered with an error (SERVFAIL, REFUSED, not JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DNS resolver: {0}")]
pub struct DnsError(pub String);

/// Looks up the TXT records of a name: their texts (each record's strings joined), none when the
/// name does not exist.
pub trait TxtResolver {
    fn txt(&self, name: &str) -> impl std::future::Future<Output = Result<Vec<String>, DnsError>> + Send;
}

/// A DNS-over-HTTPS JSON API client.
pub struct DohResolver {
    base_url: String,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl DohResolver {
    pub fn new(base_url: &str) -> Self {
        let https =
            hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().build();
        Self { base_url: base_url.to_string(), client: Client::builder(TokioExecutor::new()).build(https) }
    }
}

impl TxtResolver for DohResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let separator = if self.base_url.contains('?') { '&' } else { '?' };
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("name", name)
            .append_pair("type", "TXT")
            .finish();
        let request = ::http::Request::get(format!("{}{separator}{query}", self.base_url))
            .header("accept", "application/dns-json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| DnsError(format!("bad request: {e}")))?;
        let fetch = async {
            let response = self.client.request(request).await.map_err(|e| DnsError(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| DnsError(format!("reading the answer: {e}")))?
                .to_bytes();
            if !status.is_success() {
                return Err(DnsError(format!("HTTP {}", status.as_u16())));
            }
            let answer: Value =
                serde_json::from_slice(&body).map_err(|e| DnsError(format!("the answer is not JSON: {e}")))?;
            txt_records(&answer)
        };
        tokio::time::timeout(TIMEOUT, fetch).await.map_err(|_| DnsError("no answer within 5 s".into()))?
    }
}

/// The TXT texts of a DNS JSON answer: `Status` 0 (NOERROR) with its TXT answers, 3 (NXDOMAIN)
/// with none; any other status is an error. A record's quoted strings are joined (`"ab" "cd"` is
/// `abcd`), as a TXT record split into strings of 255 bytes means one text.
pub fn txt_records(answer: &Value) -> Result<Vec<String>, DnsError> {
    match answer.get("Status").and_then(Value::as_i64) {
        Some(0) => {}
        Some(3) => return Ok(Vec::new()),
        Some(other) => return Err(DnsError(format!("status {other}"))),
        None => return Err(DnsError("the answer has no Status".into())),
    }
    let records = answer.get("Answer").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(records
        .iter()
        .filter(|r| r.get("type").and_then(Value::as_i64) == Some(16))
        .filter_map(|r| r.get("data").and_then(Value::as_str))
        .map(join_strings)
        .collect())
}

/// `"ab" "cd"` → `abcd`; unquoted data stays as it is.
fn join_strings(data: &str) -> String {
    let data = data.trim();
    if !data.starts_with('"') {
        return data.to_string();
    }
    let mut out = String::new();
    let mut inside = false;
    let mut chars = data.chars();
    while let Some(c) = chars.next() {
        match (c, inside) {
            ('"', _) => inside = !inside,
            ('\\', true) => out.extend(chars.next()),
            (c, true) => out.push(c),
            (_, false) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_txt_answers_of_the_json_api() {
        let answer = json!({ "Status": 0, "Answer": [
            { "name": "_azora-verify.learn.acme.com.", "type": 16, "TTL": 300, "data": "\"azora-verify=abc\"" },
            { "name": "_azora-verify.learn.acme.com.", "type": 16, "TTL": 300, "data": "\"v=spf1 \" \"-all\"" },
            { "name": "learn.acme.com.", "type": 5, "TTL": 300, "data": "cdn.example." }
        ]});
        assert_eq!(txt_records(&answer).unwrap(), ["azora-verify=abc", "v=spf1 -all"]);
        assert_eq!(txt_records(&json!({ "Status": 3 })).unwrap(), Vec::<String>::new());
        assert_eq!(txt_records(&json!({ "Status": 0 })).unwrap(), Vec::<String>::new());
        assert!(txt_records(&json!({ "Status": 2 })).is_err());
        assert!(txt_records(&json!({})).is_err());
        assert_eq!(join_strings(r#""a\"b""#), "a\"b");
    }
}

//! Shared test support: a sandbox with the real async-stripe client pointed at it, raw HTTP
//! helpers, and a tiny webhook endpoint that records what it receives.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azora_stripe_sandbox::{Sandbox, SandboxHandle, SandboxOptions};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

pub const KEY: &str = "sk_test_sandbox_tests_1234";
pub const SECRET: &str = "whsec_test_secret_for_sandbox";

pub struct TestSandbox {
    pub sandbox: SandboxHandle,
    pub client: stripe::Client,
    pub http: reqwest::Client,
}

pub async fn start() -> TestSandbox {
    start_with(SandboxOptions {
        webhook_secret: SECRET.into(),
        retry_delays: vec![Duration::from_millis(50), Duration::from_millis(100)],
        ..SandboxOptions::default()
    })
    .await
}

pub async fn start_with(options: SandboxOptions) -> TestSandbox {
    let sandbox = Sandbox::start(options).await.expect("sandbox starts");
    let client = client_for(&sandbox, KEY);
    TestSandbox { sandbox, client, http: reqwest::Client::new() }
}

pub fn client_for(sandbox: &SandboxHandle, key: &str) -> stripe::Client {
    stripe::ClientBuilder::new(key).url(sandbox.base_url()).build().expect("client builds")
}

impl TestSandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.base_url(), path.trim_start_matches('/'))
    }

    /// A raw authenticated form POST to the API: (status, headers, JSON body).
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut req = self
            .http
            .post(self.url(path))
            .bearer_auth(KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        let resp = req.send().await.expect("request is answered");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let json = resp.json::<Value>().await.expect("JSON body");
        (status, headers, json)
    }

    /// A raw authenticated GET to the API.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self.http.get(self.url(path)).bearer_auth(KEY).send().await.expect("answered");
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.expect("JSON body"))
    }

    /// A control API call with a JSON body.
    pub async fn control(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let url = self.url(path);
        let req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body),
        };
        let resp = req.send().await.expect("control answers");
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.expect("JSON body"))
    }
}

/// Parses with serde (named errors, unlike miniserde) to pinpoint shape mismatches.
pub fn parse_as<T: serde::de::DeserializeOwned>(value: &Value) -> T {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(v) => v,
        Err(e) => panic!(
            "does not deserialize as {}: {e}\n{}",
            std::any::type_name::<T>(),
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
    }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    pub at: Instant,
}

/// A webhook endpoint: records every POST, answers queued statuses first, then 200.
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let (r, s) = (received.clone(), statuses.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (r, s) = (r.clone(), s.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (r, s) = (r.clone(), s.clone());
                        async move {
                            let header =
                                |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                            let signature = header("stripe-signature");
                            let content_type = header("content-type");
                            let body = req.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
                            r.lock().expect("lock").push(Received {
                                signature,
                                content_type,
                                body: String::from_utf8_lossy(&body).into_owned(),
                                at: Instant::now(),
                            });
                            let status = s.lock().expect("lock").pop_front().unwrap_or(200);
                            let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"{}")));
                            *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Receiver { addr, received, statuses, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/webhooks/stripe", self.addr)
    }

    /// The next answers, before the default 200s.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.statuses.lock().expect("lock").extend(statuses.iter().copied());
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until at least `n` deliveries arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

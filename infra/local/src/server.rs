//! One hyper server for every HTTP function, plus the consumers and the job trigger.

use crate::console::{self, ConsoleOptions};
use crate::consumers;
use crate::gateway::{IncomingRequest, v2_event};
use crate::iam;
use crate::router::Routes;
use azora_api::lambda::{dispatch_http, dispatch_job};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lambda_http::Body;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// API Gateway's own payload limit; our handlers enforce the smaller API limit themselves.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

pub struct ServerOptions {
    pub bind: SocketAddr,
    /// Logical queue id → local queue URL, for the consumers.
    pub queue_urls: BTreeMap<String, String>,
    pub run_consumers: bool,
    /// Send every request body base64-encoded, as API Gateway does for binary media types.
    pub force_base64_bodies: bool,
}

/// A running server; dropping it (or calling `shutdown`) stops the listener and the consumers.
pub struct LocalServer {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// Set by [`LocalServer::serve_console`]; until then the server serves the API only.
    console: Arc<OnceLock<ConsoleOptions>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LocalServer {
    pub async fn start(
        routes: Routes,
        sqs: aws_sdk_sqs::Client,
        options: ServerOptions,
    ) -> std::io::Result<LocalServer> {
        let listener = TcpListener::bind(options.bind).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = watch::channel(false);
        let routes = Arc::new(routes);
        let mut tasks = Vec::new();
        if options.run_consumers {
            for consumer in &routes.consumers {
                let Some(url) = options.queue_urls.get(&consumer.queue_logical_id) else {
                    tracing::warn!(queue = %consumer.queue_logical_id, "no local queue; consumer not started");
                    continue;
                };
                tasks.push(tokio::spawn(consumers::poll(consumer.clone(), url.clone(), sqs.clone(), stop.clone())));
            }
        }
        let force_base64 = options.force_base64_bodies;
        let console: Arc<OnceLock<ConsoleOptions>> = Arc::default();
        let console_of_server = console.clone();
        let mut stop_accept = stop.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stop_accept.changed() => break,
                };
                let Ok((stream, peer)) = accepted else {
                    continue;
                };
                let routes = routes.clone();
                let console = console.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |req| handle(req, peer, routes.clone(), console.clone(), force_base64));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }));
        Ok(LocalServer { addr, shutdown, console: console_of_server, tasks })
    }

    /// Also serve the web console and its local-only helpers ([`console`]); the first call wins.
    pub fn serve_console(&self, options: ConsoleOptions) {
        let _ = self.console.set(options);
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

type HyperResponse = hyper::Response<Full<Bytes>>;

fn json_response(status: u16, value: serde_json::Value) -> HyperResponse {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap_or_default()
}

fn error_response(status: u16, code: &str, message: &str) -> HyperResponse {
    json_response(status, json!({ "error": { "code": code, "message": message } }))
}

async fn handle(
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    routes: Arc<Routes>,
    console: Arc<OnceLock<ConsoleOptions>>,
    force_base64: bool,
) -> Result<HyperResponse, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(error_response(413, "payload_too_large", "The request body is too large."));
        }
    };
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();

    if method == "POST"
        && let Some(job) = path.strip_prefix("/_local/jobs/")
    {
        let input = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
        return Ok(run_job(job, input, &routes).await);
    }
    if method == "GET" && path == "/_local/iam" {
        return Ok(json_response(200, iam::report_json()));
    }
    if let Some(options) = console.get()
        && let Some(response) = console::handle(options, &method, &path, parts.uri.query(), &body).await
    {
        return Ok(response);
    }
    let Some((route, params)) = routes.find(&method, &path) else {
        return Ok(error_response(404, "route_not_found", &format!("No route for {method} {path}.")));
    };
    let request_id = ulid::Ulid::new().to_string();
    let incoming = IncomingRequest {
        method: &method,
        path: &path,
        raw_query: parts.uri.query().unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: &body,
        source_ip: peer.ip().to_string(),
    };
    let route_key = format!("{} {}", route.method, route.path);
    let event = v2_event(&incoming, &route_key, &params, &request_id, force_base64);
    let lambda_req = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => {
            return Ok(error_response(400, "bad_request", &format!("Unparseable request: {e}")));
        }
    };
    let response = iam::in_function(&route.binary, dispatch_http(route.handler, lambda_req, route.state.clone())).await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

async fn run_job(name: &str, input: serde_json::Value, routes: &Routes) -> HyperResponse {
    let Some((handler, state)) = routes.jobs.get(name) else {
        let known: Vec<&String> = routes.jobs.keys().collect();
        return error_response(404, "job_not_found", &format!("No scheduled job {name}; known: {known:?}."));
    };
    match iam::in_function(name, dispatch_job(*handler, input, state.clone())).await {
        Ok(report) => json_response(200, report),
        Err(e) => {
            let e = azora_api::error::ApiError::from(e);
            json_response(e.status.as_u16(), json!({ "error": { "code": e.code, "message": e.message } }))
        }
    }
}

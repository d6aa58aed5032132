//! A minimal AWS Lambda Runtime API (2018-06-01) on 127.0.0.1, enough for one function process
//! to initialise, take one invocation and post its result:
//!
//! - `GET  /2018-06-01/runtime/invocation/next` hands out the armed event once per run; later
//!   polls are held until the next run is armed (or the mock stops), as Lambda holds them while
//!   the sandbox is frozen.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error` record the result.
//! - `POST /2018-06-01/runtime/init/error` records an initialisation failure.
//!
//! Every call is reported, with the instant it arrived, on the channel returned by `start`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

const PREFIX: &str = "/2018-06-01/runtime/";
/// Lambda's own limit for a synchronous response payload.
const MAX_BODY: usize = 6 * 1024 * 1024;

/// What the function process did, and when the call reached the mock.
#[derive(Debug)]
pub enum Observed {
    /// A `next` poll; `served` is false for polls that were held (the run's event was taken).
    Next {
        at: Instant,
        served: bool,
    },
    Response {
        at: Instant,
        request_id: String,
        body: Bytes,
    },
    InvocationError {
        at: Instant,
        request_id: String,
        error_type: String,
        body: Bytes,
    },
    InitError {
        at: Instant,
        error_type: String,
        body: Bytes,
    },
}

/// The invocation the next `next` poll receives.
pub struct Invocation {
    pub request_id: String,
    pub event: Bytes,
    pub deadline_ms: i64,
    pub function_arn: String,
    pub trace_id: String,
}

struct Shared {
    armed: Mutex<Option<Invocation>>,
    /// Bumped on every `arm` and on shutdown; held polls wait for it to change.
    generation: watch::Sender<u64>,
    observed: mpsc::UnboundedSender<Observed>,
}

pub struct MockRuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl MockRuntimeApi {
    pub async fn start() -> std::io::Result<(MockRuntimeApi, mpsc::UnboundedReceiver<Observed>)> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (observed, rx) = mpsc::unbounded_channel();
        let (generation, _) = watch::channel(0u64);
        let shared = Arc::new(Shared { armed: Mutex::new(None), generation, observed });
        let (stop, mut stopped) = watch::channel(false);
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stopped.changed() => break,
                };
                let Ok((stream, _)) = accepted else {
                    continue;
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, shared.clone()));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok((MockRuntimeApi { addr, shared, stop, task }, rx))
    }

    /// Makes `invocation` the event of the next `next` poll and releases polls held from earlier
    /// runs.
    pub fn arm(&self, invocation: Invocation) {
        if let Ok(mut armed) = self.shared.armed.lock() {
            *armed = Some(invocation);
        }
        self.shared.generation.send_modify(|g| *g += 1);
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shared.generation.send_modify(|g| *g += 1);
        let _ = self.task.await;
    }
}

type HttpResponse = Response<Full<Bytes>>;

fn status(code: StatusCode, body: &'static str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = code;
    response
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<HttpResponse, std::convert::Infallible> {
    let at = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let Some(route) = path.strip_prefix(PREFIX) else {
        return Ok(status(StatusCode::NOT_FOUND, "unknown path"));
    };
    let error_type = parts
        .headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(status(StatusCode::PAYLOAD_TOO_LARGE, "payload too large")),
    };

    if parts.method == Method::GET && route == "invocation/next" {
        return Ok(next(at, shared).await);
    }
    if parts.method != Method::POST {
        return Ok(status(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"));
    }
    if route == "init/error" {
        let _ = shared.observed.send(Observed::InitError { at, error_type, body });
        return Ok(status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#));
    }
    let Some(rest) = route.strip_prefix("invocation/") else {
        return Ok(status(StatusCode::NOT_FOUND, "unknown path"));
    };
    let observed = if let Some(id) = rest.strip_suffix("/response") {
        Observed::Response { at, request_id: id.to_string(), body }
    } else if let Some(id) = rest.strip_suffix("/error") {
        Observed::InvocationError { at, request_id: id.to_string(), error_type, body }
    } else {
        return Ok(status(StatusCode::NOT_FOUND, "unknown path"));
    };
    let _ = shared.observed.send(observed);
    Ok(status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
}

/// Serves the armed invocation, or holds the poll until the next run is armed.
async fn next(at: Instant, shared: Arc<Shared>) -> HttpResponse {
    let mut generation = shared.generation.subscribe();
    let taken = shared.armed.lock().ok().and_then(|mut a| a.take());
    let _ = shared.observed.send(Observed::Next { at, served: taken.is_some() });
    let Some(inv) = taken else {
        // The run's single event was already handed out: hold the poll. It is released when the
        // bench arms the next run or stops, by which time this process has been killed.
        let _ = generation.changed().await;
        return status(StatusCode::GONE, "sandbox recycled");
    };
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &inv.request_id)
        .header("lambda-runtime-deadline-ms", inv.deadline_ms.to_string())
        .header("lambda-runtime-invoked-function-arn", &inv.function_arn)
        .header("lambda-runtime-trace-id", &inv.trace_id)
        .body(Full::new(inv.event))
        .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR, "bad invocation headers"))
}

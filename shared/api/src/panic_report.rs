//! Panics in the release build, which aborts instead of unwinding: unwinding needs landing pads
//! and unwind tables, which were a third of every binary (`.gcc_except_table` alone 4.5 MB of
//! `health`'s 14 MB). Without unwinding `catch_unwind` catches nothing, so a panic hook answers
//! the invocation in progress through the Lambda Runtime API itself before the process aborts: an
//! HTTP caller gets the same JSON 500 `dispatch_http` gives in tests (which unwind), an SQS batch or
//! job an invocation error, so every message of the batch is retried. Lambda then starts a fresh
//! process for the next event, which also drops whatever state the panic left half-changed.
//!
//! One invocation runs at a time per process (`lambda_runtime` polls sequentially unless its
//! `concurrency-tokio` feature is on, which we do not enable), so one slot holds the current one.

use crate::error::ApiError;
use lambda_http::{Body, Response};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

/// How the invocation in progress is answered when its handler panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An API Gateway (payload 2.0) response: our JSON 500.
    Http500,
    /// `POST /invocation/{id}/error`: Lambda fails the invocation (SQS retries the batch).
    InvocationError,
}

struct Invocation {
    /// The Lambda request id, which names the invocation on the Runtime API.
    lambda_request_id: String,
    /// API Gateway's request id, echoed as `x-request-id` like every other response.
    api_request_id: String,
}

static CURRENT: Mutex<Option<Invocation>> = Mutex::new(None);

/// Installs the hook once per cold start. It does nothing where panics unwind (tests and the
/// local server, whose `dispatch_*` catch them) or outside Lambda.
pub fn install(answer: Answer) {
    if cfg!(panic = "unwind") {
        return;
    }
    let Ok(runtime_api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else { return };
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info); // the message and location, on stderr, into the function's logs
        let taken = CURRENT.lock().map(|mut slot| slot.take()).unwrap_or(None);
        if let Some(invocation) = taken {
            let (path, body) = report(answer, &invocation);
            if let Err(e) = post(&runtime_api, &path, &body) {
                eprintln!("could not report the panic to the Runtime API: {e}");
            }
        }
    }));
}

/// Marks the start of an invocation; [`finish`] its end.
pub fn begin(lambda_request_id: &str, api_request_id: &str) {
    if cfg!(panic = "unwind") {
        return;
    }
    if let Ok(mut slot) = CURRENT.lock() {
        *slot = Some(Invocation {
            lambda_request_id: lambda_request_id.to_owned(),
            api_request_id: api_request_id.to_owned(),
        });
    }
}

pub fn finish() {
    if cfg!(panic = "unwind") {
        return;
    }
    if let Ok(mut slot) = CURRENT.lock() {
        *slot = None;
    }
}

/// The Runtime API path and JSON body that answer `invocation`.
fn report(answer: Answer, invocation: &Invocation) -> (String, String) {
    let id = &invocation.lambda_request_id;
    match answer {
        Answer::Http500 => {
            (format!("/2018-06-01/runtime/invocation/{id}/response"), http_500(&invocation.api_request_id))
        }
        Answer::InvocationError => (
            format!("/2018-06-01/runtime/invocation/{id}/error"),
            serde_json::json!({ "errorType": "Panic", "errorMessage": "the function panicked; see its logs" })
                .to_string(),
        ),
    }
}

/// The same response `dispatch_http` makes of a caught panic, as API Gateway payload 2.0.
fn http_500(api_request_id: &str) -> String {
    let mut response: Response<Body> = ApiError::internal("handler panicked").into_response();
    if let Ok(value) = api_request_id.parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    crate::http::security_headers(&mut response, true);
    let headers: serde_json::Map<String, serde_json::Value> = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.into())))
        .collect();
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    serde_json::json!({
        "statusCode": response.status().as_u16(),
        "headers": headers,
        "body": body,
        "isBase64Encoded": false,
    })
    .to_string()
}

/// One blocking HTTP/1.1 POST, waiting for the status line so the answer is taken before the
/// process aborts. No async runtime: the panic may have happened on any thread, in any state.
fn post(host_port: &str, path: &str, body: &str) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(host_port)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n\
         Lambda-Runtime-Function-Error-Type: Panic\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation() -> Invocation {
        Invocation { lambda_request_id: "lambda-1".into(), api_request_id: "api-1".into() }
    }

    #[test]
    fn an_http_panic_is_answered_with_the_json_500_and_the_usual_headers() {
        let (path, body) = report(Answer::Http500, &invocation());
        assert_eq!(path, "/2018-06-01/runtime/invocation/lambda-1/response");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["statusCode"], 500);
        assert_eq!(v["headers"]["content-type"], "application/json");
        assert_eq!(v["headers"]["x-request-id"], "api-1");
        assert_eq!(v["headers"]["cache-control"], "no-store");
        let inner: serde_json::Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
        assert_eq!(inner["error"]["code"], "internal_error");
    }

    #[test]
    fn a_consumer_or_job_panic_fails_the_invocation() {
        let (path, body) = report(Answer::InvocationError, &invocation());
        assert_eq!(path, "/2018-06-01/runtime/invocation/lambda-1/error");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["errorType"], "Panic");
    }

    #[test]
    fn the_report_is_one_complete_http_request() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            let mut buf = [0u8; 1024];
            // Read until the whole body (Content-Length) has arrived.
            loop {
                let n = conn.read(&mut buf).unwrap();
                received.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&received);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.parse().ok())
                        .unwrap();
                    if body.len() >= len {
                        break;
                    }
                }
            }
            conn.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
            String::from_utf8(received).unwrap()
        });
        post(&addr, "/2018-06-01/runtime/invocation/x/error", "{\"a\":1}").unwrap();
        let received = server.join().unwrap();
        assert!(received.starts_with("POST /2018-06-01/runtime/invocation/x/error HTTP/1.1\r\n"));
        assert!(received.ends_with("\r\n\r\n{\"a\":1}"));
    }
}

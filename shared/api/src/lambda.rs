//! Runs one registry entry as a Lambda function: telemetry, configuration and clients once per
//! cold start, then the handler per event. The local server calls the same `dispatch_*` functions.

use crate::error::ApiError;
use crate::registry::{self, Entry, HttpHandler, JobHandler, SqsHandler};
use crate::state::AppState;
use crate::{http, telemetry};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::FutureExt;
use lambda_http::{Body, Request, Response};
use lambda_runtime::{LambdaEvent, service_fn};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// The whole of every function's `main`.
pub async fn run(binary: &str) -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let function = registry::find(binary).ok_or_else(|| format!("no handler registered for binary {binary}"))?;
    let state = AppState::from_env().await.inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    match function.entry {
        Entry::Http(handler) => {
            lambda_http::run(service_fn(move |req: Request| {
                let state = state.clone();
                async move { Ok::<_, lambda_http::Error>(dispatch_http(handler, req, state).await) }
            }))
            .await
        }
        Entry::Sqs(handler) => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
                let state = state.clone();
                async move { Ok::<_, lambda_runtime::Error>(dispatch_sqs(handler, event.payload, state).await) }
            }))
            .await
        }
        Entry::Job(handler) => {
            lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
                let state = state.clone();
                async move {
                    // Jobs bound their work by the invocation's deadline (`jobs::Budget`).
                    let deadline = event.context.deadline();
                    crate::jobs::with_lambda_deadline(deadline, dispatch_job(handler, event.payload, state))
                        .await
                        .map_err(|e| lambda_runtime::Error::from(e.message))
                }
            }))
            .await
        }
    }
}

/// Runs an HTTP handler inside a request span; errors and panics become JSON error responses.
pub async fn dispatch_http(handler: HttpHandler, req: Request, state: Arc<AppState>) -> Response<Body> {
    let request_id = http::request_id(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        user_id = tracing::field::Empty,
        method = %req.method(),
        path = %req.uri().path(),
    );
    async move {
        let started = Instant::now();
        let outcome = AssertUnwindSafe(handler(req, state)).catch_unwind().await;
        let mut response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => error.into_response(),
            Err(_) => ApiError::internal("handler panicked").into_response(),
        };
        if let Ok(value) = request_id.parse() {
            response.headers_mut().insert("x-request-id", value);
        }
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request done"
        );
        response
    }
    .instrument(span)
    .await
}

/// Runs an SQS consumer; a panic fails the whole batch so every message is retried.
pub async fn dispatch_sqs(handler: SqsHandler, event: SqsEvent, state: Arc<AppState>) -> SqsBatchResponse {
    let ids: Vec<String> = event.records.iter().filter_map(|r| r.message_id.clone()).collect();
    let span = tracing::info_span!("sqs_batch", size = ids.len());
    async move {
        match AssertUnwindSafe(handler(event, state)).catch_unwind().await {
            Ok(response) => response,
            Err(_) => {
                tracing::error!("consumer panicked; failing the whole batch");
                crate::workers::batch_failures(ids)
            }
        }
    }
    .instrument(span)
    .await
}

pub async fn dispatch_job(
    handler: JobHandler,
    input: serde_json::Value,
    state: Arc<AppState>,
) -> Result<serde_json::Value, ApiError> {
    let span = tracing::info_span!("job");
    async move {
        match AssertUnwindSafe(handler(input, state)).catch_unwind().await {
            Ok(result) => result,
            Err(_) => Err(ApiError::internal("job panicked")),
        }
    }
    .instrument(span)
    .await
}

//! Runs one [`Function`] as a Lambda function: telemetry, its configuration and clients once per
//! cold start, then the handler per event. The local server calls the same `dispatch_*` functions.

use crate::error::ApiError;
use crate::fault::Fault;
use crate::http::HttpResult;
use crate::jobs::JobError;
use crate::needs::Needs;
use crate::panic_report::{self, Answer};
use crate::state::AppState;
use crate::{http, telemetry};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::FutureExt;
use futures::future::{BoxFuture, LocalBoxFuture};
use lambda_http::{Body, Request, Response};
use lambda_runtime::{LambdaEvent, service_fn};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

pub type HttpHandler = fn(Request, Arc<AppState>) -> BoxFuture<'static, HttpResult>;
pub type SqsHandler = fn(SqsEvent, Arc<AppState>) -> BoxFuture<'static, SqsBatchResponse>;
/// A scheduled job gets the schedule's input (`{}` when none).
pub type JobHandler = fn(serde_json::Value, Arc<AppState>) -> BoxFuture<'static, Result<serde_json::Value, JobError>>;

#[derive(Clone, Copy)]
pub enum Entry {
    Http(HttpHandler),
    Sqs(SqsHandler),
    Job(JobHandler),
}

/// Starts one function as a Lambda function; see [`Function::start`].
pub type Start = fn() -> LocalBoxFuture<'static, Result<(), lambda_runtime::Error>>;

/// One Lambda function: its entry point and what it builds at cold start. Each is a constant in
/// [`crate::functions`] that its crate's `main.rs` names, so a binary links only its own handler.
#[derive(Clone, Copy)]
pub struct Function {
    /// The handler, for the local server, which serves every function from one process.
    pub entry: Entry,
    pub needs: Needs,
    /// What [`run`] calls: [`run_http`], [`run_sqs`] or [`run_job`] with this function's handler,
    /// monomorphized over its [`Needs`] (`crate::functions`' macros write it). So a binary links
    /// only its own kind's runtime and the construction of its own clients: a run-time choice of
    /// either would link them all, since without LTO the linker keeps whatever a reachable
    /// function references.
    pub start: Start,
}

/// The whole of every function's `main`.
pub async fn run(function: Function) -> Result<(), lambda_runtime::Error> {
    (function.start)().await
}

/// Telemetry, then the configuration and clients of the parts `NEEDS` (the bits of a [`Needs`])
/// names: a constant, so the construction of every other client is not even compiled in. The
/// rest of each `run_*` is not generic, so it is compiled once, not once per function.
async fn cold_start<const NEEDS: u32>() -> Result<Arc<AppState>, lambda_runtime::Error> {
    telemetry::init();
    let state =
        AppState::from_env_for::<NEEDS>().await.inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    Ok(state)
}

/// Runs an HTTP function: API Gateway events through [`dispatch_http`].
pub async fn run_http<const NEEDS: u32>(handler: HttpHandler) -> Result<(), lambda_runtime::Error> {
    serve_http(handler, cold_start::<NEEDS>().await?).await
}

/// Runs an SQS consumer: batches through [`dispatch_sqs`].
pub async fn run_sqs<const NEEDS: u32>(handler: SqsHandler) -> Result<(), lambda_runtime::Error> {
    serve_sqs(handler, cold_start::<NEEDS>().await?).await
}

/// Runs a scheduled job through [`dispatch_job`], bounded by the invocation's deadline.
pub async fn run_job<const NEEDS: u32>(handler: JobHandler) -> Result<(), lambda_runtime::Error> {
    serve_job(handler, cold_start::<NEEDS>().await?).await
}

async fn serve_http(handler: HttpHandler, state: Arc<AppState>) -> Result<(), lambda_runtime::Error> {
    use lambda_http::RequestExt;
    panic_report::install(Answer::Http500);
    lambda_http::run(service_fn(move |req: Request| {
        let state = state.clone();
        let lambda_request_id = req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default();
        panic_report::begin(&lambda_request_id, &http::request_id(&req));
        async move {
            let response = dispatch_http(handler, req, state).await;
            panic_report::finish();
            Ok::<_, lambda_http::Error>(response)
        }
    }))
    .await
}

async fn serve_sqs(handler: SqsHandler, state: Arc<AppState>) -> Result<(), lambda_runtime::Error> {
    panic_report::install(Answer::InvocationError);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        panic_report::begin(&event.context.request_id, "");
        async move {
            let response = dispatch_sqs(handler, event.payload, state).await;
            panic_report::finish();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}

async fn serve_job(handler: JobHandler, state: Arc<AppState>) -> Result<(), lambda_runtime::Error> {
    panic_report::install(Answer::InvocationError);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        panic_report::begin(&event.context.request_id, "");
        async move {
            // Jobs bound their work by the invocation's deadline (`jobs::Budget`).
            let deadline = event.context.deadline();
            let result = crate::jobs::with_lambda_deadline(deadline, dispatch_job(handler, event.payload, state))
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()));
            panic_report::finish();
            result
        }
    }))
    .await
}

/// Runs an HTTP handler inside a request span; errors and panics become JSON error responses
/// (panics here where they unwind: tests and the local server; see [`panic_report`] for release).
pub async fn dispatch_http(handler: HttpHandler, req: Request, state: Arc<AppState>) -> Response<Body> {
    let request_id = http::request_id(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        user_id = tracing::field::Empty,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let authenticated = req.headers().contains_key(::http::header::AUTHORIZATION);
    async move {
        let started = Instant::now();
        let outcome = match http::refuse_repeated_query_parameters(&req) {
            Err(refused) => Ok(Err(refused)),
            Ok(()) => AssertUnwindSafe(handler(req, state)).catch_unwind().await,
        };
        let mut response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => error.into_response(),
            Err(_) => ApiError::internal("handler panicked").into_response(),
        };
        if let Ok(value) = request_id.parse() {
            response.headers_mut().insert("x-request-id", value);
        }
        http::security_headers(&mut response, authenticated);
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
) -> Result<serde_json::Value, JobError> {
    let span = tracing::info_span!("job");
    async move {
        match AssertUnwindSafe(handler(input, state)).catch_unwind().await {
            Ok(result) => result,
            Err(_) => Err(JobError::Fault(Fault::broken("job panicked"))),
        }
    }
    .instrument(span)
    .await
}

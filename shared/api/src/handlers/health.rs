//! `GET /api/health` (no auth): the function runs and DynamoDB answers.

use crate::http::{HttpResult, ok};
use crate::state::AppState;
use lambda_http::Request;
use serde_json::json;
use std::sync::Arc;

pub async fn get(_req: Request, state: Arc<AppState>) -> HttpResult {
    state.store.ping().await?;
    ok(&json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "dynamodb": "ok" }))
}

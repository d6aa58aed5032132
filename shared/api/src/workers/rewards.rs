//! The rewards worker: applies queued course completions. Redeliveries are harmless: the ledger's
//! source key `completion#<courseId>` applies once per user, ever. Failed messages are reported
//! for retry (after five tries they rest in the dead-letter queue, with an alarm).

use crate::rewards::{CompletionEvent, apply_completion};
use crate::state::AppState;
use crate::telemetry;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use azora_store::tokens::Applied;
use std::sync::Arc;

pub async fn handle(event: SqsEvent, state: Arc<AppState>) -> SqsBatchResponse {
    let mut failed = Vec::new();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let outcome = match serde_json::from_str::<CompletionEvent>(body) {
            Ok(completion) => apply_completion(&state, &completion).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("unreadable completion event: {e}")),
        };
        match outcome {
            Ok(Applied::Written { entry, .. }) => {
                tracing::info!(user_id = %entry.user_id, tokens = entry.delta, source = %entry.source_key, "completion awarded");
                telemetry::count("TokensAwarded", entry.delta.max(0) as u64);
            }
            Ok(Applied::Duplicate { .. }) => tracing::info!(message_id = %id, "completion already awarded"),
            Err(reason) => {
                tracing::warn!(message_id = %id, reason = %reason, "completion not applied; will retry");
                failed.push(id);
            }
        }
    }
    super::batch_failures(failed)
}

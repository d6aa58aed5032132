//! The email worker: renders each queued notification and sends it with SES v2, once.
//!
//! A notification id is claimed before sending, so a redelivered message is not sent twice; a
//! failed send releases the claim and reports the message for retry (after five tries it rests in
//! the dead-letter queue, with an alarm).

use crate::idempotency::fingerprint;
use crate::state::AppState;
use crate::telemetry;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use azora_domain::ids::new_id;
use azora_domain::notification::{Notification, render};
use azora_store::claims::{ClaimOutcome, ClaimRequest};
use std::sync::Arc;

const SCOPE: &str = "email";

pub async fn handle(event: SqsEvent, state: Arc<AppState>) -> SqsBatchResponse {
    let mut failed = Vec::new();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if let Err(reason) = process(record, &state).await {
            tracing::warn!(message_id = %id, reason = %reason, "email not sent; will retry");
            failed.push(id);
        }
    }
    super::batch_failures(failed)
}

async fn process(record: &SqsMessage, state: &AppState) -> Result<(), String> {
    let body = record.body.as_deref().unwrap_or_default();
    let notification: Notification = serde_json::from_str(body).map_err(|e| format!("unreadable notification: {e}"))?;
    let attempt = new_id("att");
    let now = jiff::Timestamp::now().as_second();
    let fp = fingerprint(body.as_bytes());
    let claim = ClaimRequest {
        scope: SCOPE,
        key: &notification.id,
        fingerprint: &fp,
        attempt: &attempt,
        now,
        lease_seconds: 120,
        ttl_seconds: 14 * 24 * 3600,
    };
    match state.store.claim(&claim).await.map_err(|e| e.to_string())? {
        ClaimOutcome::Completed { .. } => {
            tracing::info!(notification_id = %notification.id, "already sent; skipping duplicate delivery");
            return Ok(());
        }
        ClaimOutcome::InProgress => {
            return Err("another delivery of this notification is sending".into());
        }
        ClaimOutcome::Mismatch => return Err("a different notification used this id".into()),
        ClaimOutcome::Acquired => {}
    }
    match send(state, &notification).await {
        Ok(message_id) => {
            state
                .store
                .complete_claim(SCOPE, &notification.id, &attempt, &message_id)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(notification_id = %notification.id, ses_message_id = %message_id, "email sent");
            telemetry::count("EmailsSent", 1);
            Ok(())
        }
        Err(e) => {
            let _ = state.store.release_claim(SCOPE, &notification.id, &attempt).await;
            telemetry::count("EmailSendFailures", 1);
            Err(e)
        }
    }
}

async fn send(state: &AppState, notification: &Notification) -> Result<String, String> {
    let email = render(notification);
    let content = |text: String| Content::builder().data(text).charset("UTF-8").build().map_err(|e| e.to_string());
    let message = Message::builder()
        .subject(content(email.subject)?)
        .body(Body::builder().text(content(email.text)?).html(content(email.html)?).build())
        .build();
    let out = state
        .ses
        .send_email()
        .from_email_address(state.config.email_from.as_str())
        .destination(Destination::builder().to_addresses(notification.to.as_str()).build())
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await
        .map_err(|e| aws_sdk_sesv2::error::DisplayErrorContext(e).to_string())?;
    Ok(out.message_id.unwrap_or_default())
}

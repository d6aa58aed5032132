//! The email worker: renders each queued notification and sends it with SES v2, once.
//!
//! A notification id is claimed before sending, so a redelivered message is not sent twice; a
//! failed send releases the claim and reports the message for retry (after five tries it rests in
//! the dead-letter queue, with an alarm).

use crate::idempotency::fingerprint;
use crate::state::AppState;
use crate::telemetry;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::types::{
    Attachment, AttachmentContentDisposition, Body, Content, Destination, EmailContent, Message,
};
use azora_domain::UserId;
use azora_domain::ids::new_id;
use azora_domain::notification::{DigestAward, Notification, NotificationKind, RenderedEmail, render};
use azora_domain::tokens::LedgerKind;
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
    let mut notification: Notification =
        serde_json::from_str(body).map_err(|e| format!("unreadable notification: {e}"))?;
    let digest = matches!(notification.kind, NotificationKind::TokenDigest { .. });
    let attempt = new_id("att");
    let now = state.clock.now().as_second();
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
        // A token digest is queued once per award; a copy that differs (the recipient changed
        // within the window) is still the same digest, already claimed.
        ClaimOutcome::Mismatch if digest => {
            tracing::info!(notification_id = %notification.id, "digest already claimed; skipping");
            return Ok(());
        }
        ClaimOutcome::Mismatch => return Err("a different notification used this id".into()),
        ClaimOutcome::Acquired => {}
    }
    if digest {
        match fill_digest(state, &mut notification).await {
            Ok(true) => {}
            Ok(false) => {
                // Nothing was awarded in the window (cannot happen unless entries are missing).
                let _ = state.store.complete_claim(SCOPE, &notification.id, &attempt, "empty").await;
                return Ok(());
            }
            Err(e) => {
                let _ = state.store.release_claim(SCOPE, &notification.id, &attempt).await;
                return Err(e);
            }
        }
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

/// Renders a token digest from the ledger at send time: the user's awards created in the window
/// and their balance now. `false` when the window holds no award.
async fn fill_digest(state: &AppState, notification: &mut Notification) -> Result<bool, String> {
    let NotificationKind::TokenDigest { user_id, window_start, window_end, awards, balance } = &mut notification.kind
    else {
        return Ok(true);
    };
    let user = UserId::parse(user_id.clone()).map_err(|e| e.to_string())?;
    let entries = state
        .store
        .ledger_entries_between(&user, Some(*window_start), Some(*window_end))
        .await
        .map_err(|e| e.to_string())?;
    *awards = entries
        .iter()
        .filter(|e| e.kind == LedgerKind::Award)
        .map(|e| DigestAward { amount: e.delta, reason: e.reason.clone(), at: e.created_at })
        .collect();
    *balance = Some(state.store.token_account(&user).await.map_err(|e| e.to_string())?.balance);
    Ok(!awards.is_empty())
}

async fn send(state: &AppState, notification: &Notification) -> Result<String, String> {
    let message = ses_message(render(notification))?;
    let from = state.config.email_from.get().map_err(|e| e.to_string())?;
    let out = state
        .ses()
        .map_err(|e| e.to_string())?
        .send_email()
        .from_email_address(from.as_str())
        .destination(Destination::builder().to_addresses(notification.to.as_str()).build())
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await
        .map_err(|e| aws_sdk_sesv2::error::DisplayErrorContext(e).to_string())?;
    Ok(out.message_id.unwrap_or_default())
}

/// The SES message of a rendered email: subject, text and HTML parts, and its attachments (SES v2
/// simple content builds the MIME message itself).
fn ses_message(email: RenderedEmail) -> Result<Message, String> {
    let content = |text: String| Content::builder().data(text).charset("UTF-8").build().map_err(|e| e.to_string());
    let mut message = Message::builder()
        .subject(content(email.subject)?)
        .body(Body::builder().text(content(email.text)?).html(content(email.html)?).build());
    for file in email.attachments {
        message = message.attachments(
            Attachment::builder()
                .file_name(file.file_name)
                .content_type(file.content_type)
                .content_disposition(AttachmentContentDisposition::Attachment)
                .raw_content(aws_sdk_sesv2::primitives::Blob::new(file.content))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(message.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use azora_domain::notification::EmailAddress;
    use azora_domain::receipt::{Receipt, ReceiptLine};
    use azora_domain::{Currency, Money};

    #[test]
    fn the_receipt_email_carries_its_pdf() {
        let receipt = Receipt {
            number: "R-2026-000007".into(),
            issued_at: "2026-12-01T10:00:00Z".parse().unwrap(),
            payment_id: "pay_1".into(),
            seller: None,
            buyer: None,
            payment_method: None,
            lines: vec![ReceiptLine { description: "Course".into(), amount: Money::new(1000, Currency::Usd) }],
            tax: None,
            total: Money::new(1000, Currency::Usd),
            refunds: vec![],
        };
        let notification = Notification {
            id: "receipt-pay_1".into(),
            to: EmailAddress::parse("buyer@example.com").unwrap(),
            kind: NotificationKind::PaymentReceipt { receipt },
        };
        let message = ses_message(render(&notification)).unwrap();
        let files = message.attachments();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].file_name(), "R-2026-000007.pdf");
        assert_eq!(files[0].content_type(), Some("application/pdf"));
        assert!(files[0].raw_content().as_ref().starts_with(b"%PDF-1.4"));
        let other = Notification { kind: NotificationKind::TestEmail { requested_by: "ops".into() }, ..notification };
        assert!(ses_message(render(&other)).unwrap().attachments().is_empty());
    }
}

//! Queues notifications for the email worker.

use crate::error::ApiError;
use aws_sdk_sqs::types::MessageAttributeValue;
use azora_domain::notification::Notification;

#[derive(Clone, Debug)]
pub struct Notifier {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Notifier {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        Self {
            sqs,
            queue_url: queue_url.to_string(),
        }
    }

    pub async fn send(&self, notification: &Notification) -> Result<(), ApiError> {
        let body = serde_json::to_string(notification).map_err(ApiError::internal)?;
        let kind = serde_json::to_value(&notification.kind)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default();
        let attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(kind)
            .build()
            .map_err(ApiError::internal)?;
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes("kind", attr)
            .send()
            .await
            .map_err(|e| ApiError::unavailable(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        tracing::info!(notification_id = %notification.id, "notification queued");
        Ok(())
    }
}

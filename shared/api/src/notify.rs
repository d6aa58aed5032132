//! Queues: notifications for the email worker, verified Stripe events for the stripe-events worker.

use crate::fault::Fault;
use aws_sdk_sqs::types::MessageAttributeValue;
use azora_domain::notification::Notification;

/// Sends messages to one SQS queue.
#[derive(Clone, Debug)]
pub struct QueueSender {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl QueueSender {
    pub fn new(sqs: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        Self { sqs, queue_url: queue_url.to_string() }
    }

    /// Sends `body` with string attributes; a failure is transient, for the caller to retry.
    pub async fn send(&self, body: String, attributes: &[(&str, &str)]) -> Result<(), Fault> {
        self.send_delayed(body, attributes, 0).await
    }

    /// Like `send`, invisible to consumers for `delay_seconds` (0 to 900, SQS's limit).
    pub async fn send_delayed(
        &self,
        body: String,
        attributes: &[(&str, &str)],
        delay_seconds: i32,
    ) -> Result<(), Fault> {
        let mut req = self.sqs.send_message().queue_url(&self.queue_url).message_body(body);
        if delay_seconds > 0 {
            req = req.delay_seconds(delay_seconds.min(900));
        }
        for (name, value) in attributes {
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*value)
                .build()
                .map_err(Fault::broken)?;
            req = req.message_attributes(*name, attr);
        }
        req.send().await.map_err(|e| Fault::Queue(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

/// Queues notifications for the email worker.
#[derive(Clone, Debug)]
pub struct Notifier {
    queue: QueueSender,
}

impl Notifier {
    pub fn new(queue: QueueSender) -> Self {
        Self { queue }
    }

    pub async fn send(&self, notification: &Notification) -> Result<(), Fault> {
        self.send_delayed(notification, 0).await
    }

    /// Queues a notification that the email worker may see only after `delay_seconds` (≤ 900).
    pub async fn send_delayed(&self, notification: &Notification, delay_seconds: i32) -> Result<(), Fault> {
        let body = serde_json::to_string(notification).map_err(Fault::broken)?;
        let kind = serde_json::to_value(&notification.kind)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default();
        self.queue.send_delayed(body, &[("kind", &kind)], delay_seconds).await?;
        tracing::info!(notification_id = %notification.id, kind, "notification queued");
        Ok(())
    }
}

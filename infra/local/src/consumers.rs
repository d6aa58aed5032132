//! Polls a local queue and hands batches to its consumer, like Lambda's SQS event source mapping:
//! up to 10 messages, partial batch failures honoured, succeeded messages deleted.
//!
//! One local difference: a failed message is made visible again after 2 s instead of the queue's
//! visibility timeout, so local retries are prompt. The redrive to the DLQ after maxReceiveCount
//! is moto's, as configured from template.yaml.

use crate::router::Consumer;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use azora_api::lambda::dispatch_sqs;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch;

const LOCAL_RETRY_DELAY_SECONDS: i32 = 2;

pub async fn poll(consumer: Consumer, queue_url: String, sqs: aws_sdk_sqs::Client, mut stop: watch::Receiver<bool>) {
    let queue_arn = format!("arn:aws:sqs:local:000000000000:{}", queue_url.rsplit('/').next().unwrap_or_default());
    loop {
        if *stop.borrow() {
            break;
        }
        let received = tokio::select! {
            r = sqs.receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send() => r,
            _ = stop.changed() => break,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %consumer.queue_logical_id, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "receive failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let records: Vec<Value> = messages.iter().map(|m| record_json(m, &queue_arn)).collect();
        let event: SqsEvent = match serde_json::from_value(json!({ "Records": records })) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "could not build SQS event");
                continue;
            }
        };
        let response =
            crate::iam::in_function(&consumer.binary, dispatch_sqs(consumer.handler, event, consumer.state.clone()))
                .await;
        let failed: HashSet<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        let mut deletes = Vec::new();
        for m in &messages {
            let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else {
                continue;
            };
            if failed.contains(id) {
                let _ = sqs
                    .change_message_visibility()
                    .queue_url(&queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(LOCAL_RETRY_DELAY_SECONDS)
                    .send()
                    .await;
            } else if let Ok(entry) = DeleteMessageBatchRequestEntry::builder().id(id).receipt_handle(handle).build() {
                deletes.push(entry);
            }
        }
        if !deletes.is_empty()
            && let Err(e) = sqs.delete_message_batch().queue_url(&queue_url).set_entries(Some(deletes)).send().await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "delete failed; messages will be redelivered");
        }
    }
}

/// The record shape Lambda delivers for one SQS message.
fn record_json(m: &aws_sdk_sqs::types::Message, queue_arn: &str) -> Value {
    let attributes: Map<String, Value> = m
        .attributes()
        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone()))).collect())
        .unwrap_or_default();
    let message_attributes: Map<String, Value> = m
        .message_attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.clone(), json!({ "stringValue": v.string_value(), "dataType": v.data_type() })))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body(),
        "md5OfBody": m.md5_of_body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1"
    })
}

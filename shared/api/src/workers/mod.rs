//! SQS consumers. Each reports partial batch failures so only failed messages are retried.

pub mod email;
pub mod rewards;
pub mod stripe_events;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};

/// A batch response naming the messages to retry.
pub fn batch_failures(message_ids: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in message_ids {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

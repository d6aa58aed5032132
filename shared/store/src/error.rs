use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A conditional write's condition did not hold (duplicate, stale state, insufficient balance...).
    #[error("the write's condition did not hold")]
    ConditionFailed,
    /// A transaction was cancelled; one reason code per item, in order ("None" where it did not fail).
    #[error("transaction cancelled: {reasons:?}")]
    TransactionCanceled { reasons: Vec<String> },
    /// A pagination cursor that we did not issue for this query.
    #[error("the cursor is invalid")]
    InvalidCursor,
    /// An item in the table does not have the shape this code expects.
    #[error("malformed item: {0}")]
    Malformed(String),
    /// Anything else from DynamoDB: throttling, networking, service errors.
    #[error("dynamodb {operation} failed: {message}")]
    Backend { operation: &'static str, message: String },
}

impl StoreError {
    /// For a cancelled transaction: whether item `index` failed its condition.
    pub fn failed_condition_at(&self, index: usize) -> bool {
        matches!(self, StoreError::TransactionCanceled { reasons } if reasons.get(index).is_some_and(|r| r == "ConditionalCheckFailed"))
    }

    /// Whether the failure was a condition the caller can explain to the user (not an outage).
    pub fn is_condition(&self) -> bool {
        matches!(self, StoreError::ConditionFailed | StoreError::TransactionCanceled { .. })
    }
}

/// Maps an SDK error, turning condition and transaction failures into their own variants.
pub(crate) fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = &err {
        let inner = service.err();
        match inner.code() {
            Some("ConditionalCheckFailedException") => return StoreError::ConditionFailed,
            Some("TransactionCanceledException") => {
                // Reasons are parsed by the transaction helpers that need them; a generic mapping
                // keeps the message, which lists the codes in order.
                return StoreError::TransactionCanceled { reasons: parse_reasons(inner.message().unwrap_or_default()) };
            }
            _ => {}
        }
    }
    StoreError::Backend { operation, message: aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string() }
}

/// Maps a TransactWriteItems error, keeping the per-item cancellation reason codes.
pub(crate) fn from_transact(
    err: SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> StoreError {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    if let SdkError::ServiceError(service) = &err
        && let TransactWriteItemsError::TransactionCanceledException(e) = service.err()
    {
        let reasons = e.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_string()).collect();
        return StoreError::TransactionCanceled { reasons };
    }
    from_sdk("TransactWriteItems", err)
}

/// "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
fn parse_reasons(message: &str) -> Vec<String> {
    message
        .rsplit_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_cancellation_reasons_from_message() {
        let m = "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]";
        assert_eq!(super::parse_reasons(m), vec!["None", "ConditionalCheckFailed"]);
        assert!(super::parse_reasons("no list").is_empty());
    }
}

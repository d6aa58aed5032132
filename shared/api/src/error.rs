//! The crate's errors. [`ApiError`] is the HTTP boundary's: every failure reaches the client as
//! `{"error":{"code":"snake_case","message":"human sentence"}}` with the right status. Here: how
//! the errors beneath every service ([`Fault`], the store's, the gateway's) become one; the
//! services' own refusals are mapped in `catalogue.rs`. [`ConfigError`] fails a cold start on a
//! missing or invalid environment variable.

use crate::fault::Fault;
use crate::needs::UndeclaredPart;
use azora_domain::ValidationError;
use azora_domain::tiers::FeatureNotInPlan;
use azora_store::StoreError;
use azora_stripe::GatewayError;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Extra facts for the client (e.g. the field that failed), merged into the error object.
    pub details: Option<serde_json::Value>,
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), details: None, retry_after_seconds: None }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} was not found"))
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// Logs the cause; the client only learns that something went wrong on our side.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side; it has been logged.",
        )
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "dependency unavailable");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "A dependency is unavailable; retry shortly.",
        );
        e.retry_after_seconds = Some(1);
        e
    }

    pub fn into_response(self) -> Response<Body> {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) = (self.details, error.as_object_mut()) {
            obj.extend(extra);
        }
        let mut builder = Response::builder().status(self.status).header("content-type", "application/json");
        if self.status == StatusCode::UNAUTHORIZED {
            builder = builder.header("www-authenticate", "Bearer");
        }
        if let Some(secs) = self.retry_after_seconds {
            builder = builder.header("retry-after", secs.to_string());
        }
        builder.body(Body::Text(json!({ "error": error }).to_string())).unwrap_or_else(|_| {
            Response::new(Body::Text(r#"{"error":{"code":"internal_error","message":"response build failed"}}"#.into()))
        })
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::bad_request("validation_failed", format!("{}: {}", e.field, e.message))
            .with_details(json!({ "field": e.field }))
    }
}

impl From<FeatureNotInPlan> for ApiError {
    fn from(e: FeatureNotInPlan) -> Self {
        ApiError::forbidden(
            "feature_not_in_plan",
            format!("Your {} plan does not include {}; it is part of the {} plan.", e.current, e.feature, e.required),
        )
        .with_details(json!({ "feature": e.feature, "requiredTier": e.required }))
    }
}

impl From<UndeclaredPart> for ApiError {
    fn from(e: UndeclaredPart) -> Self {
        ApiError::internal(e)
    }
}

/// What Stripe said, where no rule of ours expected a refusal.
pub fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::CardDeclined { code, decline_code, message, .. } => {
            ApiError::new(StatusCode::PAYMENT_REQUIRED, "card_declined", message)
                .with_details(json!({ "stripeCode": code, "declineCode": decline_code }))
        }
        GatewayError::Rejected { code, message, .. } => {
            ApiError::unprocessable("payment_rejected", format!("The payment provider refused: {message}"))
                .with_details(json!({ "stripeCode": code }))
        }
        GatewayError::Unavailable(cause) => ApiError::unavailable(cause),
    }
}

impl From<Fault> for ApiError {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Store(e) => e.into(),
            Fault::Gateway(e) => gateway_error(e),
            Fault::Queue(cause) => ApiError::unavailable(cause),
            Fault::Undeclared(e) => e.into(),
            Fault::Broken(cause) => ApiError::internal(cause),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed | StoreError::TransactionCanceled { .. } => {
                ApiError::conflict("conflict", "The object changed or already exists; reload and retry.")
            }
            StoreError::InvalidCursor => {
                ApiError::bad_request("invalid_cursor", "The cursor is not valid for this listing.")
            }
            StoreError::Backend { .. } => ApiError::unavailable(e),
            StoreError::Malformed(_) => ApiError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            _ => panic!("text body expected"),
        }
    }

    #[test]
    fn renders_the_error_envelope() {
        let r = ApiError::not_found("payment").into_response();
        assert_eq!(r.status(), 404);
        assert_eq!(body(&r), json!({"error":{"code":"not_found","message":"payment was not found"}}));
    }

    #[test]
    fn validation_names_the_field() {
        let r = ApiError::from(ValidationError::new("title", "too short")).into_response();
        assert_eq!(r.status(), 400);
        assert_eq!(body(&r)["error"]["field"], "title");
    }

    #[test]
    fn condition_failures_are_conflicts_not_500() {
        assert_eq!(ApiError::from(StoreError::ConditionFailed).status, 409);
        assert_eq!(ApiError::from(StoreError::InvalidCursor).status, 400);
    }

    #[test]
    fn unauthorized_carries_the_challenge() {
        let r = ApiError::unauthorized("no token").into_response();
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }
}

//! Stripe-shaped errors: `{"error": {"type", "code", "message", "param", ...}}` with Stripe's HTTP
//! statuses (400 invalid request, 401 authentication, 402 card error, 404 missing resource).

use serde_json::{Map, Value, json};

/// Stripe's `error.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Card,
    Idempotency,
    Api,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Card => "card_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::Api => "api_error",
        }
    }
}

/// An error answered to the client. Built by handlers, rendered by the server.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub kind: ErrorType,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    pub decline_code: Option<&'static str>,
    /// Extra members of the `error` object: `payment_intent`, `charge`, `payment_method`, ...
    pub extra: Map<String, Value>,
}

pub type ApiResult<T = Value> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, kind: ErrorType, code: Option<&'static str>, message: impl Into<String>) -> Self {
        Self { status, kind, code, message: message.into(), param: None, decline_code: None, extra: Map::new() }
    }

    /// 400 `invalid_request_error` with a code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, ErrorType::InvalidRequest, Some(code), message)
    }

    /// 400 `invalid_request_error` without a code (Stripe omits it for many validation errors).
    pub fn invalid_nocode(message: impl Into<String>) -> Self {
        Self::new(400, ErrorType::InvalidRequest, None, message)
    }

    pub fn missing_param(name: &str) -> Self {
        Self::invalid("parameter_missing", format!("Missing required param: {name}.")).param(name)
    }

    pub fn unknown_param(name: &str) -> Self {
        Self::invalid("parameter_unknown", format!("Received unknown parameter: {name}")).param(name)
    }

    /// 404 for an id in the URL path: `No such customer: 'cus_x'`.
    pub fn not_found(label: &str, id: &str) -> Self {
        Self::new(404, ErrorType::InvalidRequest, Some("resource_missing"), format!("No such {label}: '{id}'"))
            .param("id")
    }

    /// 400 for an id given as a parameter (`customer=cus_missing`).
    pub fn missing_reference(label: &str, id: &str, param: &str) -> Self {
        Self::invalid("resource_missing", format!("No such {label}: '{id}'")).param(param)
    }

    pub fn unrecognized_url(method: &str, path: &str) -> Self {
        Self::new(
            404,
            ErrorType::InvalidRequest,
            None,
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
            ),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, ErrorType::InvalidRequest, None, message)
    }

    pub fn idempotency_mismatch(key: &str) -> Self {
        Self::new(
            400,
            ErrorType::Idempotency,
            None,
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, ErrorType::Api, None, message)
    }

    pub fn param(mut self, name: &str) -> Self {
        self.param = Some(name.to_string());
        self
    }

    pub fn decline_code(mut self, code: &'static str) -> Self {
        self.decline_code = Some(code);
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// Stripe stores an idempotent result only once the endpoint started executing: successes and
    /// card errors replay; validation errors (400/404) do not.
    pub fn saved_for_idempotency(&self) -> bool {
        self.status == 402
    }

    /// The inner `error` object (also used as a PaymentIntent's `last_payment_error`).
    pub fn error_object(&self) -> Value {
        let mut obj = Map::new();
        if let Some(code) = self.code {
            obj.insert("code".into(), json!(code));
            obj.insert(
                "doc_url".into(),
                json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))),
            );
        }
        if let Some(decline) = self.decline_code {
            obj.insert("decline_code".into(), json!(decline));
        }
        obj.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            obj.insert("param".into(), json!(param));
        }
        obj.insert("type".into(), json!(self.kind.as_str()));
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        Value::Object(obj)
    }

    /// The full response body.
    pub fn body(&self, request_id: Option<&str>) -> Value {
        let mut inner = self.error_object();
        if let (Some(id), Some(obj)) = (request_id, inner.as_object_mut()) {
            obj.insert("request_log_url".into(), json!(format!("https://dashboard.stripe.com/test/logs/{id}")));
        }
        json!({ "error": inner })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_stripe_shape() {
        let e = ApiError::missing_param("amount");
        let body = e.body(Some("req_1"));
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "parameter_missing");
        assert_eq!(body["error"]["param"], "amount");
        assert_eq!(body["error"]["doc_url"], "https://stripe.com/docs/error-codes/parameter-missing");
        assert_eq!(e.status, 400);
    }
}

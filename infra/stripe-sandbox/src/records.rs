//! What the control API reports: the sandbox configuration, recorded API requests and webhook
//! delivery attempts. Serialized with camelCase keys.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Webhook settings, changeable at run time (`POST /_sandbox/config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxConfig {
    /// Where events are POSTed (`http://` only). `None`: events are recorded, not delivered.
    pub webhook_url: Option<String>,
    /// The endpoint's signing secret (`whsec_…`).
    pub webhook_secret: String,
    /// Deliver every new event in the background as it happens.
    pub auto_deliver: bool,
    /// Waits before each retry of a failed automatic delivery; its length is the number of retries.
    pub retry_delays_ms: Vec<u64>,
    /// How long (sandbox-clock seconds) a successful charge's funds stay `pending` in the
    /// platform's balance before they become `available` (Stripe: about 2 days for US cards).
    /// Fixed per charge when it succeeds; 0 makes new charges available at once.
    #[serde(default = "default_available_after")]
    pub available_after_seconds: i64,
    /// Automatic retries of a failed subscription invoice, as Stripe's custom retry schedule
    /// (Dashboard → Billing → Revenue recovery → Retries): each entry is a retry, in days after
    /// the previous attempt; its length is the number of retries. Default `[3, 2, 2]`: retries 3,
    /// 5 and 7 days after the first failure (four attempts in all). Empty: no retries.
    #[serde(default = "default_invoice_retry_days")]
    pub invoice_retry_days: Vec<i64>,
    /// The subscription's status once the last retry failed (Stripe's "subscription status"
    /// setting of the same page): `past_due` (leave it past due; the default), `unpaid` or
    /// `canceled`.
    #[serde(default = "default_invoice_retry_end")]
    pub invoice_retry_end: String,
}

/// The default retry schedule: 3, 5 and 7 days after the first failed attempt.
pub const DEFAULT_INVOICE_RETRY_DAYS: [i64; 3] = [3, 2, 2];
/// What a subscription becomes when all retries failed, by default: it stays `past_due`.
pub const DEFAULT_INVOICE_RETRY_END: &str = "past_due";
/// The statuses a subscription may be left in once all retries failed.
pub const INVOICE_RETRY_ENDS: [&str; 3] = ["past_due", "unpaid", "canceled"];

fn default_invoice_retry_days() -> Vec<i64> {
    DEFAULT_INVOICE_RETRY_DAYS.to_vec()
}

fn default_invoice_retry_end() -> String {
    DEFAULT_INVOICE_RETRY_END.to_string()
}

/// Stripe's usual hold for card payments in the US: 2 days.
pub const DEFAULT_AVAILABLE_AFTER_SECONDS: i64 = 2 * 86_400;

fn default_available_after() -> i64 {
    DEFAULT_AVAILABLE_AFTER_SECONDS
}

/// One API request the sandbox received (`GET /_sandbox/requests`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// The `Request-Id` answered (`req_…`).
    pub request_id: String,
    pub method: String,
    /// Path without the query, e.g. `/v1/payment_intents/pi_123/confirm`.
    pub path: String,
    pub query: Option<String>,
    /// Form parameters (the body of a POST, the query of a GET/DELETE), decoded, with keys exactly
    /// as sent: `{"amount": "1000", "metadata[paymentId]": "p1", "expand[0]": "latest_charge"}`.
    pub params: Map<String, Value>,
    /// The same parameters decoded into nested objects and arrays (leaves stay strings):
    /// `{"amount": "1000", "metadata": {"paymentId": "p1"}, "expand": ["latest_charge"]}`.
    pub params_nested: Value,
    pub idempotency_key: Option<String>,
    pub stripe_account: Option<String>,
    pub stripe_version: Option<String>,
    /// The secret key, masked (`sk_test_…abcd`).
    pub api_key: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The answer was an idempotent replay of an earlier request.
    pub idempotent_replayed: bool,
    /// Unix seconds.
    pub received_at: i64,
}

/// One attempt to deliver an event to a webhook endpoint (`GET /_sandbox/deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    /// 1 for the first automatic attempt, 2.. for retries; manual deliveries count from 1 per call.
    pub attempt: u32,
    /// Delivered by the background worker (`true`) or through `POST /_sandbox/events/{id}/deliver`.
    pub automatic: bool,
    /// The HTTP status the endpoint answered; `None` when no answer came (refused, timed out).
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The `t=` of the `Stripe-Signature` sent.
    pub signature_timestamp: i64,
    /// The `Stripe-Signature` header sent.
    pub signature: String,
    /// The body was altered after signing (`tamper`).
    pub tampered: bool,
    /// Unix seconds.
    pub at: i64,
}

impl DeliveryAttempt {
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(s) if (200..300).contains(&s))
    }
}

/// Options of a manual delivery (`POST /_sandbox/events/{id}/deliver`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeliverOptions {
    /// How many times to POST the event (default 1).
    pub times: Option<u32>,
    /// Added to the current time for the signature's `t=` (e.g. -600 for a stale delivery).
    pub timestamp_offset_seconds: i64,
    /// Alter the body after signing, so the signature no longer matches.
    pub tamper: bool,
    /// Sign with this secret instead of the configured one.
    pub secret: Option<String>,
    /// Deliver to this URL instead of the configured one.
    pub url: Option<String>,
}

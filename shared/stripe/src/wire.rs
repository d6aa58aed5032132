//! Stripe's objects as we read them: only the fields the adapter turns into our types, everything
//! else in Stripe's answers is skipped unread. Fields Stripe may leave out or set to null default,
//! so an answer with more or fewer fields than we know still reads. The conversions into our
//! types (`PaymentIntentOutcome`, `SubscriptionOutcome`, ...) sit beside those types.

use serde::{Deserialize, Deserializer};
use std::collections::HashMap;

/// `null` as the type's default (Stripe writes `null` for many absent values).
fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

pub type Metadata = HashMap<String, String>;

#[derive(Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// A field Stripe sends as an id, or as the object when the request expanded it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Expandable<T> {
    Id(String),
    Object(Box<T>),
}

/// An object whose id is all we read.
#[derive(Debug, Deserialize)]
pub struct Object {
    pub id: String,
}

pub trait HasId {
    fn id(&self) -> &str;
}

impl HasId for Object {
    fn id(&self) -> &str {
        &self.id
    }
}

impl<T: HasId> Expandable<T> {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) => id,
            Expandable::Object(object) => object.id(),
        }
    }
}

/// `{"error": {...}}`, the body of every non-2xx answer.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Deserialize)]
pub struct ApiError {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// On a card decline: the PaymentIntent it left behind.
    #[serde(default)]
    pub payment_intent: Option<PaymentIntent>,
}

#[derive(Debug, Deserialize)]
pub struct NextAction {
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Debug, Deserialize)]
pub struct LastError {
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub amount_received: i64,
    pub created: i64,
    pub currency: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub latest_charge: Option<Expandable<Charge>>,
    #[serde(default)]
    pub next_action: Option<NextAction>,
    #[serde(default)]
    pub last_payment_error: Option<LastError>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
}

#[derive(Debug, Deserialize)]
pub struct Charge {
    pub id: String,
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
}

impl HasId for Charge {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Deserialize)]
pub struct PaymentMethodDetails {
    #[serde(default)]
    pub card: Option<ChargeCard>,
}

#[derive(Debug, Deserialize)]
pub struct ChargeCard {
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub last4: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Refund {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub payment_intent: Option<Expandable<Object>>,
}

#[derive(Debug, Deserialize)]
pub struct Dispute {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub payment_intent: Option<Expandable<Object>>,
}

/// A customer, or the stub Stripe answers for a deleted one (`deleted: true`).
#[derive(Debug, Deserialize)]
pub struct Customer {
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub invoice_settings: Option<InvoiceSettings>,
}

#[derive(Debug, Deserialize)]
pub struct InvoiceSettings {
    #[serde(default)]
    pub default_payment_method: Option<Expandable<Object>>,
}

#[derive(Debug, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub status: String,
    pub items: List<SubscriptionItem>,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub latest_invoice: Option<Expandable<Invoice>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    #[serde(default)]
    pub default_payment_method: Option<Expandable<Object>>,
}

#[derive(Debug, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    pub price: Price,
    pub current_period_start: i64,
    pub current_period_end: i64,
}

#[derive(Debug, Deserialize)]
pub struct Price {
    pub id: String,
    pub currency: String,
    #[serde(default)]
    pub lookup_key: Option<String>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub recurring: Option<Recurring>,
}

#[derive(Debug, Deserialize)]
pub struct Recurring {
    pub interval: String,
}

#[derive(Debug, Deserialize)]
pub struct Invoice {
    /// None for a preview.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub customer: Option<Expandable<Object>>,
    #[serde(default)]
    pub number: Option<String>,
    pub created: i64,
    pub total: i64,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub currency: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub billing_reason: Option<String>,
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
    #[serde(default)]
    pub invoice_pdf: Option<String>,
    #[serde(default)]
    pub due_date: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub lines: Option<List<InvoiceLine>>,
    #[serde(default)]
    pub confirmation_secret: Option<ConfirmationSecret>,
}

#[derive(Debug, Deserialize)]
pub struct InvoiceLine {
    #[serde(default)]
    pub description: Option<String>,
    pub amount: i64,
    #[serde(default)]
    pub parent: Option<InvoiceLineParent>,
}

#[derive(Debug, Deserialize)]
pub struct InvoiceLineParent {
    #[serde(default)]
    pub subscription_item_details: Option<ProrationDetails>,
}

#[derive(Debug, Deserialize)]
pub struct ProrationDetails {
    #[serde(default)]
    pub proration: bool,
}

#[derive(Debug, Deserialize)]
pub struct ConfirmationSecret {
    pub client_secret: String,
}

#[derive(Debug, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub created: i64,
    #[serde(default)]
    pub customer: Option<Expandable<Object>>,
    #[serde(default)]
    pub card: Option<Card>,
}

#[derive(Debug, Deserialize)]
pub struct Card {
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

#[derive(Debug, Deserialize)]
pub struct SetupIntent {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub payment_method: Option<Expandable<Object>>,
    #[serde(default)]
    pub next_action: Option<NextAction>,
}

#[derive(Debug, Deserialize)]
pub struct Transfer {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub destination: Option<Expandable<Object>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
}

#[derive(Debug, Deserialize)]
pub struct AccountLink {
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expanded_field_reads_as_the_object_and_an_unexpanded_one_as_its_id() {
        let plain: PaymentIntent = serde_json::from_str(
            r#"{"id":"pi_1","status":"succeeded","amount":500,"amount_received":500,"created":1,"currency":"usd",
                "latest_charge":"ch_1","metadata":null,"unknown_field":{"nested":[1,2]}}"#,
        )
        .expect("reads");
        assert!(matches!(plain.latest_charge, Some(Expandable::Id(ref id)) if id == "ch_1"));
        assert!(plain.metadata.is_empty());
        let expanded: PaymentIntent = serde_json::from_str(
            r#"{"id":"pi_1","status":"succeeded","amount":500,"amount_received":500,"created":1,"currency":"usd",
                "latest_charge":{"id":"ch_1","payment_method_details":{"card":{"brand":"visa","last4":"4242"}}}}"#,
        )
        .expect("reads");
        let Some(Expandable::Object(charge)) = expanded.latest_charge else { panic!("not expanded") };
        assert_eq!(charge.id(), "ch_1");
    }

    /// Money is never defaulted: an answer without an amount it should carry is unreadable (and
    /// the call `Unavailable`), not a zero.
    #[test]
    fn an_answer_missing_an_amount_is_refused_not_zeroed() {
        let missing = r#"{"id":"pi_1","status":"succeeded","amount":500,"created":1,"currency":"usd"}"#;
        assert!(serde_json::from_str::<PaymentIntent>(missing).is_err());
        let null =
            r#"{"id":"pi_1","status":"succeeded","amount":500,"amount_received":null,"created":1,"currency":"usd"}"#;
        assert!(serde_json::from_str::<PaymentIntent>(null).is_err());
        let refund = r#"{"id":"re_1","status":"succeeded","currency":"usd"}"#;
        assert!(serde_json::from_str::<Refund>(refund).is_err());
    }

    #[test]
    fn a_deleted_customer_reads_as_deleted() {
        let c: Customer = serde_json::from_str(r#"{"id":"cus_1","object":"customer","deleted":true}"#).expect("reads");
        assert!(c.deleted && c.invoice_settings.is_none());
    }
}

use crate::http::StripeHttp;
use crate::wire::{self, Expandable};
use azora_domain::Money;
use azora_domain::receipt::PaymentCard;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use stripe_client_core::StripeRequest;
use stripe_core::customer::CreateCustomer;
use stripe_core::dispute::ListDispute;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CancelPaymentIntentCancellationReason, CreatePaymentIntent,
    CreatePaymentIntentAutomaticPaymentMethods, CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects,
    ListPaymentIntent, RetrievePaymentIntent,
};
use stripe_core::refund::{CreateRefund, CreateRefundReason, ListRefund};
use stripe_types::Currency as StripeCurrency;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GatewayError {
    /// The card was declined (Stripe 402 `card_error`).
    #[error("card declined: {message}")]
    CardDeclined {
        code: String,
        decline_code: Option<String>,
        message: String,
        payment_intent: Option<Box<PaymentIntentOutcome>>,
    },
    /// Stripe refused the request's parameters (4xx `invalid_request_error`, `idempotency_error`).
    #[error("stripe refused the request: {code}: {message}")]
    Rejected { status: u16, code: String, message: String },
    /// Network failure, 5xx, or a response we could not read: safe to retry with the same key.
    #[error("stripe unavailable: {0}")]
    Unavailable(String),
}

/// Our view of a PaymentIntent's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentIntentState {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    Succeeded,
    Canceled,
}

impl PaymentIntentState {
    pub fn from_stripe(s: &str) -> Option<Self> {
        Some(match s {
            "requires_payment_method" => Self::RequiresPaymentMethod,
            "requires_confirmation" => Self::RequiresConfirmation,
            "requires_action" => Self::RequiresAction,
            // We never capture manually; treat a pending capture as still processing.
            "processing" | "requires_capture" => Self::Processing,
            "succeeded" => Self::Succeeded,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntentOutcome {
    pub id: String,
    pub state: Option<PaymentIntentState>,
    pub amount: i64,
    pub amount_received: i64,
    /// Unix seconds.
    pub created: i64,
    pub currency: String,
    pub client_secret: Option<String>,
    pub latest_charge: Option<String>,
    pub next_action: Option<String>,
    pub last_error_code: Option<String>,
    pub metadata: HashMap<String, String>,
}

impl From<&wire::PaymentIntent> for PaymentIntentOutcome {
    fn from(pi: &wire::PaymentIntent) -> Self {
        Self {
            id: pi.id.clone(),
            state: PaymentIntentState::from_stripe(&pi.status),
            amount: pi.amount,
            amount_received: pi.amount_received,
            created: pi.created,
            currency: pi.currency.clone(),
            client_secret: pi.client_secret.clone(),
            latest_charge: pi.latest_charge.as_ref().map(|c| c.id().to_string()),
            next_action: pi.next_action.as_ref().map(|a| a.type_.clone()),
            last_error_code: pi.last_payment_error.as_ref().and_then(|e| e.code.clone()),
            metadata: pi.metadata.clone(),
        }
    }
}

/// Brand and last 4 of a card charge (wire → domain).
fn card_of_charge(charge: &wire::Charge) -> Option<PaymentCard> {
    let card = charge.payment_method_details.as_ref()?.card.as_ref()?;
    let last4 = card.last4.clone().filter(|l| !l.is_empty())?;
    Some(PaymentCard { brand: card.brand.clone().unwrap_or_else(|| "unknown".to_string()), last4 })
}

#[derive(Debug, Clone)]
pub struct PaymentIntentRequest<'a> {
    pub amount: Money,
    pub customer_id: &'a str,
    /// Confirm now with this payment method (server-side confirmation).
    pub payment_method: Option<&'a str>,
    pub description: &'a str,
    pub metadata: HashMap<String, String>,
    pub transfer_group: Option<&'a str>,
    pub idempotency_key: &'a str,
}

#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    pub payment_intent_id: &'a str,
    pub amount: Money,
    pub reason: Option<&'a str>,
    pub metadata: HashMap<String, String>,
    pub idempotency_key: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    pub id: String,
    pub status: String,
    pub amount: i64,
    /// Our refund id (`metadata.refundId`), for refunds we asked for.
    pub our_refund_id: Option<String>,
    pub payment_intent: Option<String>,
    pub currency: String,
}

impl From<&wire::Refund> for RefundOutcome {
    fn from(refund: &wire::Refund) -> Self {
        Self {
            id: refund.id.clone(),
            status: refund.status.clone().unwrap_or_default(),
            amount: refund.amount,
            our_refund_id: refund.metadata.as_ref().and_then(|m| m.get("refundId").cloned()),
            payment_intent: refund.payment_intent.as_ref().map(|p| p.id().to_string()),
            currency: refund.currency.clone(),
        }
    }
}

/// Reads a Stripe list page by page (`starting_after` the last id of the page before) until it
/// ends or `max` items were read. `page(after)` fetches one page: its items, whether there is
/// more, and its last id.
pub(crate) async fn all_pages<T, F, Fut>(max: usize, mut page: F) -> Result<Vec<T>, GatewayError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, bool, Option<String>), GatewayError>>,
{
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (items, has_more, last) = page(after.take()).await?;
        all.extend(items);
        match last {
            Some(last) if has_more && all.len() < max => after = Some(last),
            _ => return Ok(all),
        }
    }
}

/// A dispute as the reconcile job compares it with our records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeSummary {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `needs_response`, `under_review`, `won`, `lost`, ...
    pub status: String,
    pub payment_intent: Option<String>,
}

/// The adapter: our HTTP client for Stripe's API, built once per cold start.
#[derive(Clone)]
pub struct StripeGateway {
    client: StripeHttp,
}

pub(crate) fn stripe_currency(m: &Money) -> StripeCurrency {
    m.currency.code().to_ascii_lowercase().parse().unwrap_or(StripeCurrency::USD)
}

impl StripeGateway {
    /// `api_base` is e.g. `https://api.stripe.com/` or the sandbox's `http://127.0.0.1:12111/`.
    pub fn new(secret_key: &str, api_base: &str) -> Result<Self, GatewayError> {
        Ok(Self { client: StripeHttp::new(secret_key, api_base)? })
    }

    /// Sends the call `request` describes (async-stripe's request types build path and form) and
    /// reads the answer as `T`, one of our `wire` types. Every call that creates or changes
    /// something passes its idempotency key.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        request: &impl StripeRequest,
        idempotency_key: Option<&str>,
    ) -> Result<T, GatewayError> {
        self.client.call(request.build(), idempotency_key).await
    }

    /// Creates a customer for our user; the key makes a retry return the same customer.
    pub async fn create_customer(
        &self,
        user_id: &str,
        email: Option<&str>,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let mut req = CreateCustomer::new().metadata(HashMap::from([("userId".to_string(), user_id.to_string())]));
        if let Some(email) = email {
            req = req.email(email);
        }
        let customer: wire::Object = self.send(&req, Some(idempotency_key)).await?;
        Ok(customer.id.as_str().to_string())
    }

    pub async fn create_payment_intent(
        &self,
        req: &PaymentIntentRequest<'_>,
    ) -> Result<PaymentIntentOutcome, GatewayError> {
        // No redirect-based methods: a server-side confirmation then needs no `return_url`, and
        // 3-D Secure is completed by Stripe.js with the client secret.
        let mut methods = CreatePaymentIntentAutomaticPaymentMethods::new(true);
        methods.allow_redirects = Some(CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never);
        let mut create = CreatePaymentIntent::new(req.amount.amount, stripe_currency(&req.amount))
            .automatic_payment_methods(methods)
            .customer(req.customer_id)
            .description(req.description)
            .metadata(req.metadata.clone());
        if let Some(group) = req.transfer_group {
            create = create.transfer_group(group);
        }
        if let Some(pm) = req.payment_method {
            create = create.payment_method(pm).confirm(true);
        }
        let pi: wire::PaymentIntent = self.send(&create, Some(req.idempotency_key)).await?;
        Ok(PaymentIntentOutcome::from(&pi))
    }

    /// Cancels a PaymentIntent that has not succeeded, so it can never be charged.
    pub async fn cancel_payment_intent(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentIntentOutcome, GatewayError> {
        let pi: wire::PaymentIntent = self
            .send(
                &CancelPaymentIntent::new(id).cancellation_reason(CancelPaymentIntentCancellationReason::Abandoned),
                Some(idempotency_key),
            )
            .await?;
        Ok(PaymentIntentOutcome::from(&pi))
    }

    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntentOutcome, GatewayError> {
        let pi: wire::PaymentIntent = self.send(&RetrievePaymentIntent::new(id), None).await?;
        Ok(PaymentIntentOutcome::from(&pi))
    }

    /// The card a PaymentIntent's latest charge was made with (`payment_method_details.card`:
    /// brand and last 4), for the receipt; `None` when the charge was not a card payment.
    pub async fn charged_card(&self, payment_intent_id: &str) -> Result<Option<PaymentCard>, GatewayError> {
        let pi: wire::PaymentIntent = self
            .send(&RetrievePaymentIntent::new(payment_intent_id).expand(vec!["latest_charge".to_string()]), None)
            .await?;
        Ok(match &pi.latest_charge {
            Some(Expandable::Object(charge)) => card_of_charge(charge),
            _ => None,
        })
    }

    pub async fn create_refund(&self, req: &RefundRequest<'_>) -> Result<RefundOutcome, GatewayError> {
        let mut create = CreateRefund::new()
            .payment_intent(req.payment_intent_id)
            .amount(req.amount.amount)
            .metadata(req.metadata.clone());
        match req.reason {
            Some("duplicate") => create = create.reason(CreateRefundReason::Duplicate),
            Some("fraudulent") => create = create.reason(CreateRefundReason::Fraudulent),
            Some("requested_by_customer") => create = create.reason(CreateRefundReason::RequestedByCustomer),
            _ => {}
        }
        let refund: wire::Refund = self.send(&create, Some(req.idempotency_key)).await?;
        Ok(RefundOutcome::from(&refund))
    }

    /// Every refund of a PaymentIntent (a PaymentIntent has few).
    pub async fn refunds_of(&self, payment_intent_id: &str) -> Result<Vec<RefundOutcome>, GatewayError> {
        let list: wire::List<wire::Refund> =
            self.send(&ListRefund::new().payment_intent(payment_intent_id).limit(100), None).await?;
        Ok(list.data.iter().map(RefundOutcome::from).collect())
    }

    /// The platform's disputes created since `since` (unix seconds), at most `max`.
    pub async fn disputes_since(&self, since: i64, max: usize) -> Result<Vec<DisputeSummary>, GatewayError> {
        all_pages(max, |after| async move {
            let mut list = ListDispute::new().created(stripe_types::RangeQueryTs::gte(since)).limit(100);
            if let Some(last) = &after {
                list = list.starting_after(last.as_str());
            }
            let page: wire::List<wire::Dispute> = self.send(&list, None).await?;
            let last = page.data.last().map(|x| x.id.as_str().to_string());
            Ok((
                page.data
                    .iter()
                    .map(|d| DisputeSummary {
                        id: d.id.as_str().to_string(),
                        amount: d.amount,
                        currency: d.currency.to_string(),
                        status: d.status.as_str().to_string(),
                        payment_intent: d.payment_intent.as_ref().map(|p| p.id().to_string()),
                    })
                    .collect(),
                page.has_more,
                last,
            ))
        })
        .await
    }

    /// The platform's refunds created since `since` (unix seconds), at most `max`.
    pub async fn refunds_since(&self, since: i64, max: usize) -> Result<Vec<RefundOutcome>, GatewayError> {
        all_pages(max, |after| async move {
            let mut list = ListRefund::new().created(stripe_types::RangeQueryTs::gte(since)).limit(100);
            if let Some(last) = &after {
                list = list.starting_after(last.as_str());
            }
            let page: wire::List<wire::Refund> = self.send(&list, None).await?;
            let last = page.data.last().map(|x| x.id.as_str().to_string());
            Ok((page.data.iter().map(RefundOutcome::from).collect(), page.has_more, last))
        })
        .await
    }

    /// The platform's PaymentIntents created since `since` (unix seconds), at most `max`, newest
    /// first: what the reconcile job compares with our payments.
    pub async fn payment_intents_since(
        &self,
        since: i64,
        max: usize,
    ) -> Result<Vec<PaymentIntentOutcome>, GatewayError> {
        all_pages(max, |after| async move {
            let mut list = ListPaymentIntent::new().created(stripe_types::RangeQueryTs::gte(since)).limit(100);
            if let Some(last) = &after {
                list = list.starting_after(last.as_str());
            }
            let page: wire::List<wire::PaymentIntent> = self.send(&list, None).await?;
            let last = page.data.last().map(|x| x.id.as_str().to_string());
            Ok((page.data.iter().map(PaymentIntentOutcome::from).collect(), page.has_more, last))
        })
        .await
    }
}

//! A customer's saved cards: SetupIntents to add one, the list, the default (the customer's
//! `invoice_settings.default_payment_method` and a subscription's `default_payment_method`), and
//! detaching.

use crate::gateway::{GatewayError, StripeGateway};
use crate::wire;
use stripe_billing::subscription::{RetrieveSubscription, UpdateSubscription};
use stripe_core::customer::{RetrieveCustomer, UpdateCustomer, UpdateCustomerInvoiceSettings};
use stripe_core::setup_intent::{
    CreateSetupIntent, CreateSetupIntentAutomaticPaymentMethods,
    CreateSetupIntentAutomaticPaymentMethodsAllowRedirects, CreateSetupIntentUsage,
};
use stripe_payment::payment_method::{
    DetachPaymentMethod, ListPaymentMethod, ListPaymentMethodType, RetrievePaymentMethod,
};

/// A saved card as the console shows it; never the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    pub id: String,
    /// The customer it is attached to (none once detached).
    pub customer: Option<String>,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    /// Unix seconds.
    pub created: i64,
}

impl CardSummary {
    /// `None` for a payment method that is not a card.
    fn from_stripe(pm: &wire::PaymentMethod) -> Option<Self> {
        let card = pm.card.as_ref()?;
        Some(Self {
            id: pm.id.clone(),
            customer: pm.customer.as_ref().map(|c| c.id().to_string()),
            brand: card.brand.clone(),
            last4: card.last4.clone(),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            created: pm.created,
        })
    }
}

/// A SetupIntent as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupOutcome {
    pub id: String,
    /// `requires_payment_method`, `requires_action`, `succeeded`, ...
    pub status: String,
    pub client_secret: Option<String>,
    pub payment_method: Option<String>,
    /// `use_stripe_sdk`, `redirect_to_url`, ...
    pub next_action: Option<String>,
}

impl From<&wire::SetupIntent> for SetupOutcome {
    fn from(si: &wire::SetupIntent) -> Self {
        Self {
            id: si.id.clone(),
            status: si.status.clone(),
            client_secret: si.client_secret.clone(),
            payment_method: si.payment_method.as_ref().map(|p| p.id().to_string()),
            next_action: si.next_action.as_ref().map(|a| a.type_.clone()),
        }
    }
}

impl StripeGateway {
    /// A SetupIntent for saving a card of `customer` for later off-session charges (renewals).
    /// With `payment_method` it is confirmed now (a decline is `CardDeclined`; 3-D Secure leaves
    /// it `requires_action` for the client); without, the client confirms it with the secret.
    /// Cards only, no redirects, so a server-side confirmation needs no `return_url`.
    pub async fn create_setup_intent(
        &self,
        customer: &str,
        payment_method: Option<&str>,
        idempotency_key: &str,
    ) -> Result<SetupOutcome, GatewayError> {
        let methods = CreateSetupIntentAutomaticPaymentMethods {
            allow_redirects: Some(CreateSetupIntentAutomaticPaymentMethodsAllowRedirects::Never),
            enabled: true,
        };
        let mut create = CreateSetupIntent::new()
            .customer(customer)
            .usage(CreateSetupIntentUsage::OffSession)
            .automatic_payment_methods(methods);
        if let Some(pm) = payment_method {
            create = create.payment_method(pm).confirm(true);
        }
        let si: wire::SetupIntent = self.send(&create, Some(idempotency_key)).await?;
        Ok(SetupOutcome::from(&si))
    }

    /// The customer's cards, newest first (a customer has a handful; at most 100).
    pub async fn list_cards(&self, customer: &str) -> Result<Vec<CardSummary>, GatewayError> {
        let page: wire::List<wire::PaymentMethod> = self
            .send(&ListPaymentMethod::new().customer(customer).type_(ListPaymentMethodType::Card).limit(100), None)
            .await?;
        // Stripe lists them newest first.
        Ok(page.data.iter().filter_map(CardSummary::from_stripe).collect())
    }

    /// One payment method (a card), with the customer it is attached to; `Ok(None)` when Stripe
    /// has no such payment method or it is not a card.
    pub async fn retrieve_card(&self, id: &str) -> Result<Option<CardSummary>, GatewayError> {
        match self.send::<wire::PaymentMethod>(&RetrievePaymentMethod::new(id), None).await {
            Ok(pm) => Ok(CardSummary::from_stripe(&pm)),
            Err(GatewayError::Rejected { status: 404, .. }) => Ok(None),
            Err(GatewayError::Rejected { code, .. }) if code == "resource_missing" => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The customer's default payment method for invoices (`None` when unset or deleted).
    pub async fn customer_default_payment_method(&self, customer: &str) -> Result<Option<String>, GatewayError> {
        let found: wire::Customer = self.send(&RetrieveCustomer::new(customer), None).await?;
        if found.deleted {
            return Ok(None);
        }
        Ok(found.invoice_settings.as_ref().and_then(|s| s.default_payment_method.as_ref()).map(|p| p.id().to_string()))
    }

    /// Makes an attached payment method the customer's default for invoices.
    pub async fn set_customer_default(&self, customer: &str, payment_method: &str) -> Result<(), GatewayError> {
        let mut settings = UpdateCustomerInvoiceSettings::new();
        settings.default_payment_method = Some(payment_method.to_string());
        self.send::<wire::Object>(&UpdateCustomer::new(customer).invoice_settings(settings), None).await?;
        Ok(())
    }

    /// Makes the payment method the subscription's own default (which Stripe prefers to the
    /// customer's for the subscription's invoices).
    pub async fn set_subscription_default(&self, subscription: &str, payment_method: &str) -> Result<(), GatewayError> {
        self.send::<wire::Object>(&UpdateSubscription::new(subscription).default_payment_method(payment_method), None)
            .await?;
        Ok(())
    }

    /// The subscription's own default payment method (`None`: the customer's default is used).
    pub async fn subscription_default_payment_method(
        &self,
        subscription: &str,
    ) -> Result<Option<String>, GatewayError> {
        let sub: wire::Subscription = self.send(&RetrieveSubscription::new(subscription), None).await?;
        Ok(sub.default_payment_method.as_ref().map(|p| p.id().to_string()))
    }

    /// Detaches the payment method from its customer; it cannot be used again. The key is the
    /// payment method's own (`detach-<pm>`): a retry is answered as the first call was.
    pub async fn detach_payment_method(&self, payment_method: &str) -> Result<(), GatewayError> {
        self.send::<wire::Object>(
            &DetachPaymentMethod::new(payment_method),
            Some(format!("detach-{payment_method}").as_str()),
        )
        .await?;
        Ok(())
    }
}

//! A customer's saved cards: SetupIntents to add one, the list, the default (the customer's
//! `invoice_settings.default_payment_method` and a subscription's `default_payment_method`), and
//! detaching.

use crate::gateway::{GatewayError, StripeGateway, strategy};
use stripe_billing::subscription::{RetrieveSubscription, UpdateSubscription};
use stripe_client_core::StripeRequest;
use stripe_core::customer::{
    RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer, UpdateCustomerInvoiceSettings,
};
use stripe_core::setup_intent::{
    CreateSetupIntent, CreateSetupIntentAutomaticPaymentMethods,
    CreateSetupIntentAutomaticPaymentMethodsAllowRedirects, CreateSetupIntentUsage,
};
use stripe_payment::payment_method::{
    DetachPaymentMethod, ListPaymentMethod, ListPaymentMethodType, RetrievePaymentMethod,
};
use stripe_shared::{PaymentMethod, SetupIntent, SetupIntentStatus};

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
    fn from_stripe(pm: &PaymentMethod) -> Option<Self> {
        let card = pm.card.as_ref()?;
        Some(Self {
            id: pm.id.as_str().to_string(),
            customer: pm.customer.as_ref().map(|c| c.id().as_str().to_string()),
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

impl From<&SetupIntent> for SetupOutcome {
    fn from(si: &SetupIntent) -> Self {
        let status = match &si.status {
            SetupIntentStatus::Unknown(s) => s.clone(),
            s => s.as_str().to_string(),
        };
        Self {
            id: si.id.as_str().to_string(),
            status,
            client_secret: si.client_secret.clone(),
            payment_method: si.payment_method.as_ref().map(|p| p.id().as_str().to_string()),
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
        let si = create
            .customize()
            .request_strategy(strategy(idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(GatewayError::from_stripe)?;
        Ok(SetupOutcome::from(&si))
    }

    /// The customer's cards, newest first (a customer has a handful; at most 100).
    pub async fn list_cards(&self, customer: &str) -> Result<Vec<CardSummary>, GatewayError> {
        let page = ListPaymentMethod::new()
            .customer(customer)
            .type_(ListPaymentMethodType::Card)
            .limit(100)
            .send(&self.client)
            .await
            .map_err(GatewayError::from_stripe)?;
        // Stripe lists them newest first.
        Ok(page.data.iter().filter_map(CardSummary::from_stripe).collect())
    }

    /// One payment method (a card), with the customer it is attached to; `Ok(None)` when Stripe
    /// has no such payment method or it is not a card.
    pub async fn retrieve_card(&self, id: &str) -> Result<Option<CardSummary>, GatewayError> {
        match RetrievePaymentMethod::new(id).send(&self.client).await {
            Ok(pm) => Ok(CardSummary::from_stripe(&pm)),
            Err(e) => match GatewayError::from_stripe(e) {
                GatewayError::Rejected { status: 404, .. } => Ok(None),
                GatewayError::Rejected { code, .. } if code == "resource_missing" => Ok(None),
                other => Err(other),
            },
        }
    }

    /// The customer's default payment method for invoices (`None` when unset or deleted).
    pub async fn customer_default_payment_method(&self, customer: &str) -> Result<Option<String>, GatewayError> {
        let found = RetrieveCustomer::new(customer).send(&self.client).await.map_err(GatewayError::from_stripe)?;
        Ok(match found {
            RetrieveCustomerReturned::Customer(c) => c
                .invoice_settings
                .as_ref()
                .and_then(|s| s.default_payment_method.as_ref())
                .map(|p| p.id().as_str().to_string()),
            RetrieveCustomerReturned::DeletedCustomer(_) => None,
        })
    }

    /// Makes an attached payment method the customer's default for invoices.
    pub async fn set_customer_default(&self, customer: &str, payment_method: &str) -> Result<(), GatewayError> {
        let mut settings = UpdateCustomerInvoiceSettings::new();
        settings.default_payment_method = Some(payment_method.to_string());
        UpdateCustomer::new(customer)
            .invoice_settings(settings)
            .send(&self.client)
            .await
            .map_err(GatewayError::from_stripe)?;
        Ok(())
    }

    /// Makes the payment method the subscription's own default (which Stripe prefers to the
    /// customer's for the subscription's invoices).
    pub async fn set_subscription_default(&self, subscription: &str, payment_method: &str) -> Result<(), GatewayError> {
        UpdateSubscription::new(subscription)
            .default_payment_method(payment_method)
            .send(&self.client)
            .await
            .map_err(GatewayError::from_stripe)?;
        Ok(())
    }

    /// The subscription's own default payment method (`None`: the customer's default is used).
    pub async fn subscription_default_payment_method(
        &self,
        subscription: &str,
    ) -> Result<Option<String>, GatewayError> {
        let sub =
            RetrieveSubscription::new(subscription).send(&self.client).await.map_err(GatewayError::from_stripe)?;
        Ok(sub.default_payment_method.as_ref().map(|p| p.id().as_str().to_string()))
    }

    /// Detaches the payment method from its customer; it cannot be used again. The key is the
    /// payment method's own (`detach-<pm>`): a retry is answered as the first call was.
    pub async fn detach_payment_method(&self, payment_method: &str) -> Result<(), GatewayError> {
        DetachPaymentMethod::new(payment_method)
            .customize()
            .request_strategy(strategy(&format!("detach-{payment_method}"))?)
            .send(&self.client)
            .await
            .map_err(GatewayError::from_stripe)?;
        Ok(())
    }
}

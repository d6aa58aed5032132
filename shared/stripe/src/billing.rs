//! Stripe Billing: Pro prices, subscriptions and their invoices.

use crate::gateway::{GatewayError, StripeGateway};
use crate::wire::{self, Expandable};
use std::collections::HashMap;
use stripe_billing::invoice::{
    CreatePreviewInvoice, CreatePreviewInvoiceSubscriptionDetails, CreatePreviewInvoiceSubscriptionDetailsItems,
    CreatePreviewInvoiceSubscriptionDetailsProrationBehavior, ListInvoice,
};
use stripe_billing::subscription::{
    CancelSubscription, CreateSubscription, CreateSubscriptionItems, CreateSubscriptionPaymentBehavior,
    ListSubscription, ListSubscriptionStatus, RetrieveSubscription, UpdateSubscription, UpdateSubscriptionItems,
    UpdateSubscriptionProrationBehavior,
};
use stripe_core::customer::{UpdateCustomer, UpdateCustomerInvoiceSettings};
use stripe_payment::payment_method::AttachPaymentMethod;
use stripe_product::price::{
    CreatePrice, CreatePriceProductData, CreatePriceRecurring, CreatePriceRecurringInterval, ListPrice,
};
use stripe_types::Currency as StripeCurrency;

/// A recurring price we sell, found by its lookup key (created once if missing).
#[derive(Debug, Clone)]
pub struct PriceSpec<'a> {
    pub lookup_key: &'a str,
    pub product_name: &'a str,
    pub unit_amount: i64,
    pub currency: &'a str,
    pub yearly: bool,
}

/// A live price as Stripe has it (what a subscription created now would charge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePrice {
    pub lookup_key: String,
    pub unit_amount: i64,
    /// Lowercase ISO code, as Stripe writes it.
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionOutcome {
    pub id: String,
    pub status: String,
    pub price_id: Option<String>,
    /// The billing interval of the item's price (`month`, `year`): what Stripe bills now.
    pub price_interval: Option<String>,
    pub item_id: Option<String>,
    pub current_period_start: Option<i64>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub latest_invoice_id: Option<String>,
    pub latest_invoice_amount: Option<i64>,
    pub client_secret: Option<String>,
    pub metadata: HashMap<String, String>,
}

impl From<&wire::Subscription> for SubscriptionOutcome {
    fn from(s: &wire::Subscription) -> Self {
        let item = s.items.data.first();
        let invoice = s.latest_invoice.as_ref().and_then(|i| match i {
            Expandable::Object(inv) => Some(inv),
            Expandable::Id(_) => None,
        });
        Self {
            id: s.id.clone(),
            status: s.status.clone(),
            price_id: item.map(|i| i.price.id.clone()),
            price_interval: item.and_then(|i| i.price.recurring.as_ref()).map(|r| r.interval.clone()),
            item_id: item.map(|i| i.id.clone()),
            current_period_start: item.map(|i| i.current_period_start),
            current_period_end: item.map(|i| i.current_period_end),
            cancel_at_period_end: s.cancel_at_period_end,
            latest_invoice_id: s.latest_invoice.as_ref().map(|i| match i {
                Expandable::Id(id) => id.clone(),
                Expandable::Object(inv) => inv.id.clone().unwrap_or_default(),
            }),
            latest_invoice_amount: invoice.map(|inv| inv.total),
            client_secret: invoice.and_then(|inv| inv.confirmation_secret.as_ref().map(|c| c.client_secret.clone())),
            metadata: s.metadata.clone(),
        }
    }
}

/// One line of an invoice (or of a preview).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub description: String,
    pub amount: i64,
    pub proration: bool,
}

/// An invoice as the billing screens show it; amounts in the currency's minor unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSummary {
    /// `None` for a preview.
    pub id: Option<String>,
    pub customer: Option<String>,
    pub number: Option<String>,
    /// Unix seconds.
    pub created: i64,
    pub total: i64,
    /// What is (or was) charged: the total less the customer's credit balance.
    pub amount_due: i64,
    pub amount_paid: i64,
    /// Lowercase ISO code, as Stripe writes it.
    pub currency: String,
    /// `draft`, `open`, `paid`, `uncollectible`, `void`.
    pub status: Option<String>,
    pub billing_reason: Option<String>,
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
    /// Unix seconds; invoices sent for payment (`send_invoice`) only.
    pub due_date: Option<i64>,
    pub metadata: HashMap<String, String>,
    pub lines: Vec<InvoiceLine>,
}

impl From<&wire::Invoice> for InvoiceSummary {
    fn from(inv: &wire::Invoice) -> Self {
        Self {
            id: inv.id.clone().filter(|id| !id.starts_with("upcoming_")),
            customer: inv.customer.as_ref().map(|c| c.id().to_string()),
            number: inv.number.clone(),
            created: inv.created,
            total: inv.total,
            amount_due: inv.amount_due,
            amount_paid: inv.amount_paid,
            currency: inv.currency.clone(),
            status: inv.status.clone(),
            billing_reason: inv.billing_reason.clone(),
            hosted_invoice_url: inv.hosted_invoice_url.clone(),
            invoice_pdf: inv.invoice_pdf.clone(),
            due_date: inv.due_date,
            metadata: inv.metadata.clone().unwrap_or_default(),
            lines: inv
                .lines
                .iter()
                .flat_map(|lines| &lines.data)
                .map(|l| InvoiceLine {
                    description: l.description.clone().unwrap_or_default(),
                    amount: l.amount,
                    proration: l
                        .parent
                        .as_ref()
                        .and_then(|p| p.subscription_item_details.as_ref())
                        .is_some_and(|d| d.proration),
                })
                .collect(),
        }
    }
}

/// A page of a customer's invoices, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePage {
    pub invoices: Vec<InvoiceSummary>,
    pub has_more: bool,
}

impl StripeGateway {
    /// The price id for `spec`: looked up by lookup key, created (idempotently) when missing.
    pub async fn ensure_price(&self, spec: &PriceSpec<'_>) -> Result<String, GatewayError> {
        let found: wire::List<wire::Price> =
            self.send(&ListPrice::new().lookup_keys(vec![spec.lookup_key.to_string()]), None).await?;
        if let Some(price) = found.data.first() {
            return Ok(price.id.as_str().to_string());
        }
        let interval =
            if spec.yearly { CreatePriceRecurringInterval::Year } else { CreatePriceRecurringInterval::Month };
        let currency: StripeCurrency = spec.currency.parse().unwrap_or(StripeCurrency::USD);
        let price: wire::Object = self
            .send(
                &CreatePrice::new(currency)
                    .unit_amount(spec.unit_amount)
                    .recurring(CreatePriceRecurring::new(interval))
                    .lookup_key(spec.lookup_key)
                    .product_data(CreatePriceProductData::new(spec.product_name)),
                Some(format!("price-{}", spec.lookup_key).as_str()),
            )
            .await?;
        Ok(price.id.as_str().to_string())
    }

    /// The active prices with these lookup keys (those Stripe has; creating is `ensure_price`'s).
    pub async fn prices_by_lookup_key(&self, keys: &[&str]) -> Result<Vec<LivePrice>, GatewayError> {
        let found: wire::List<wire::Price> = self
            .send(
                &ListPrice::new().lookup_keys(keys.iter().map(|k| k.to_string()).collect::<Vec<_>>()).active(true),
                None,
            )
            .await?;
        Ok(found
            .data
            .into_iter()
            .filter_map(|p| {
                Some(LivePrice {
                    lookup_key: p.lookup_key?,
                    unit_amount: p.unit_amount?,
                    currency: p.currency.to_string(),
                })
            })
            .collect())
    }

    /// Attaches a payment method to the customer and makes it the default for invoices.
    pub async fn set_default_payment_method(
        &self,
        customer: &str,
        payment_method: &str,
    ) -> Result<String, GatewayError> {
        let attached: wire::Object =
            self.send(&AttachPaymentMethod::new(payment_method).customer(customer), None).await?;
        let pm = attached.id.as_str().to_string();
        let mut settings = UpdateCustomerInvoiceSettings::new();
        settings.default_payment_method = Some(pm.clone());
        self.send::<wire::Object>(&UpdateCustomer::new(customer).invoice_settings(settings), None).await?;
        Ok(pm)
    }

    /// Creates the subscription. With a default payment method the first invoice is charged now
    /// (`allow_incomplete`: a decline leaves it `incomplete`); without, it waits for the client to
    /// confirm with the returned client secret (`default_incomplete`).
    pub async fn create_subscription(
        &self,
        customer: &str,
        price: &str,
        charge_now: bool,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<SubscriptionOutcome, GatewayError> {
        let mut item = CreateSubscriptionItems::new();
        item.price = Some(price.to_string());
        let behavior = if charge_now {
            CreateSubscriptionPaymentBehavior::AllowIncomplete
        } else {
            CreateSubscriptionPaymentBehavior::DefaultIncomplete
        };
        let sub: wire::Subscription = self
            .send(
                &CreateSubscription::new()
                    .customer(customer)
                    .items(vec![item])
                    .payment_behavior(behavior)
                    .metadata(metadata)
                    .expand(vec!["latest_invoice.confirmation_secret".to_string()]),
                Some(idempotency_key),
            )
            .await?;
        Ok(SubscriptionOutcome::from(&sub))
    }

    /// Every subscription of `customer`, in any status, newest first (to find what a crashed
    /// create may have left behind).
    pub async fn list_customer_subscriptions(&self, customer: &str) -> Result<Vec<SubscriptionOutcome>, GatewayError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        // A customer has a handful of subscriptions; the bound keeps a runaway list finite.
        for _ in 0..20 {
            let mut req = ListSubscription::new().customer(customer).status(ListSubscriptionStatus::All).limit(100);
            if let Some(last) = &after {
                req = req.starting_after(last.clone());
            }
            let page: wire::List<wire::Subscription> = self.send(&req, None).await?;
            all.extend(page.data.iter().map(SubscriptionOutcome::from));
            match (page.has_more, page.data.last()) {
                (true, Some(last)) => after = Some(last.id.as_str().to_string()),
                _ => return Ok(all),
            }
        }
        Ok(all)
    }

    /// The platform's subscriptions that can still bill (active, trialing, past due, unpaid),
    /// at most `max`: what the reconcile job compares with our records.
    pub async fn live_subscriptions(&self, max: usize) -> Result<Vec<SubscriptionOutcome>, GatewayError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut req = ListSubscription::new().status(ListSubscriptionStatus::All).limit(100);
            if let Some(last) = &after {
                req = req.starting_after(last.clone());
            }
            let page: wire::List<wire::Subscription> = self.send(&req, None).await?;
            all.extend(
                page.data
                    .iter()
                    .map(SubscriptionOutcome::from)
                    .filter(|s| matches!(s.status.as_str(), "active" | "trialing" | "past_due" | "unpaid")),
            );
            after = page.data.last().map(|s| s.id.as_str().to_string());
            if !page.has_more || after.is_none() || all.len() >= max {
                return Ok(all);
            }
        }
    }

    pub async fn retrieve_subscription(&self, id: &str) -> Result<SubscriptionOutcome, GatewayError> {
        let sub: wire::Subscription =
            self.send(&RetrieveSubscription::new(id).expand(vec!["latest_invoice".to_string()]), None).await?;
        Ok(SubscriptionOutcome::from(&sub))
    }

    /// Switches the subscription's price. `prorate_now` invoices the proration immediately
    /// (upgrades), computed at `proration_date` when given (a preview's, see
    /// [`Self::preview_price_change`]); otherwise no proration (a downgrade applied at renewal).
    pub async fn change_subscription_price(
        &self,
        id: &str,
        item_id: &str,
        price: &str,
        prorate_now: bool,
        proration_date: Option<i64>,
        idempotency_key: &str,
    ) -> Result<SubscriptionOutcome, GatewayError> {
        let mut item = UpdateSubscriptionItems::new();
        item.id = Some(item_id.to_string());
        item.price = Some(price.to_string());
        let proration = if prorate_now {
            UpdateSubscriptionProrationBehavior::AlwaysInvoice
        } else {
            UpdateSubscriptionProrationBehavior::None
        };
        let mut update = UpdateSubscription::new(id).items(vec![item]).proration_behavior(proration);
        if let Some(at) = proration_date {
            update = update.proration_date(at);
        }
        let sub: wire::Subscription =
            self.send(&update.expand(vec!["latest_invoice".to_string()]), Some(idempotency_key)).await?;
        Ok(SubscriptionOutcome::from(&sub))
    }

    pub async fn set_cancel_at_period_end(&self, id: &str, cancel: bool) -> Result<SubscriptionOutcome, GatewayError> {
        let sub: wire::Subscription =
            self.send(&UpdateSubscription::new(id).cancel_at_period_end(cancel), None).await?;
        Ok(SubscriptionOutcome::from(&sub))
    }

    pub async fn cancel_subscription_now(&self, id: &str) -> Result<SubscriptionOutcome, GatewayError> {
        let sub: wire::Subscription = self.send(&CancelSubscription::new(id), None).await?;
        Ok(SubscriptionOutcome::from(&sub))
    }

    /// The invoice that switching the subscription item to `price` with `always_invoice` would
    /// create now, prorated at `proration_date` (Stripe's invoice preview; nothing is created).
    /// Passing the same `proration_date` to [`Self::change_subscription_price`] invoices exactly
    /// this.
    pub async fn preview_price_change(
        &self,
        customer: &str,
        subscription: &str,
        item_id: &str,
        price: &str,
        proration_date: i64,
    ) -> Result<InvoiceSummary, GatewayError> {
        let mut item = CreatePreviewInvoiceSubscriptionDetailsItems::new();
        item.id = Some(item_id.to_string());
        item.price = Some(price.to_string());
        let mut details = CreatePreviewInvoiceSubscriptionDetails::new();
        details.items = Some(vec![item]);
        details.proration_behavior = Some(CreatePreviewInvoiceSubscriptionDetailsProrationBehavior::AlwaysInvoice);
        details.proration_date = Some(proration_date);
        let preview: wire::Invoice = self
            .send(
                &CreatePreviewInvoice::new()
                    .customer(customer)
                    .subscription(subscription)
                    .subscription_details(details),
                None,
            )
            .await?;
        Ok(InvoiceSummary::from(&preview))
    }

    /// One page (`limit` ≤ 100) of the customer's invoices, newest first, after the invoice
    /// `starting_after` (of the same customer) when given.
    pub async fn list_customer_invoices(
        &self,
        customer: &str,
        limit: i64,
        starting_after: Option<&str>,
    ) -> Result<InvoicePage, GatewayError> {
        let mut req = ListInvoice::new().customer(customer).limit(limit.clamp(1, 100));
        if let Some(after) = starting_after {
            req = req.starting_after(after);
        }
        let page: wire::List<wire::Invoice> = self.send(&req, None).await?;
        Ok(InvoicePage { invoices: page.data.iter().map(InvoiceSummary::from).collect(), has_more: page.has_more })
    }
}

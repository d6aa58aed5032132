//! Invoices we send for payment outside a subscription (enterprise seats): a customer for the
//! buyer, one invoice item, an invoice with `collection_method=send_invoice` due in N days,
//! finalized and emailed by Stripe; voided when it goes unpaid.
//!
//! Each call carries an idempotency key derived from the caller's key (`<key>-invoice`,
//! `<key>-item`, ...), so a retry of the whole sequence after a crash at any step returns the same
//! customer and the same invoice instead of a second bill.

use crate::billing::InvoiceSummary;
use crate::gateway::{GatewayError, StripeGateway, stripe_currency};
use crate::wire;
use azora_domain::Money;
use std::collections::HashMap;
use stripe_billing::invoice::{
    CreateInvoice, CreateInvoicePendingInvoiceItemsBehavior, FinalizeInvoiceInvoice, RetrieveInvoice,
    SendInvoiceInvoice, VoidInvoiceInvoice,
};
use stripe_billing::invoice_item::CreateInvoiceItem;
use stripe_core::customer::CreateCustomer;
use stripe_shared::InvoiceCollectionMethod;

/// What to bill: one line of `amount`, due `days_until_due` days after it is sent.
#[derive(Debug, Clone)]
pub struct SendInvoiceRequest<'a> {
    pub customer: &'a str,
    pub amount: Money,
    pub description: &'a str,
    pub days_until_due: u32,
    /// On the invoice (and so on its events): what it pays for, to find it again.
    pub metadata: HashMap<String, String>,
    /// Unique per bill; the calls' keys are derived from it.
    pub idempotency_key: &'a str,
}

impl StripeGateway {
    /// A customer billed by invoice (an organisation, not a signed-in user's card wallet).
    pub async fn create_invoice_customer(
        &self,
        name: &str,
        email: &str,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let customer: wire::Object =
            self.send(&CreateCustomer::new().name(name).email(email).metadata(metadata), Some(idempotency_key)).await?;
        Ok(customer.id.as_str().to_string())
    }

    /// Creates, finalizes and sends the invoice; returns it as sent (`open`, with its due date and
    /// hosted payment page).
    pub async fn send_invoice(&self, req: &SendInvoiceRequest<'_>) -> Result<InvoiceSummary, GatewayError> {
        let key = |step: &str| format!("{}-{step}", req.idempotency_key);
        let draft: wire::Invoice = self
            .send(
                &CreateInvoice::new()
                    .customer(req.customer)
                    .collection_method(InvoiceCollectionMethod::SendInvoice)
                    .days_until_due(req.days_until_due)
                    .auto_advance(false)
                    .currency(stripe_currency(&req.amount))
                    .description(req.description)
                    .metadata(req.metadata.clone())
                    .pending_invoice_items_behavior(CreateInvoicePendingInvoiceItemsBehavior::Exclude),
                Some(key("invoice").as_str()),
            )
            .await?;
        let invoice_id = draft.id.clone().ok_or_else(|| GatewayError::Unavailable("invoice without id".into()))?;
        self.send::<wire::Object>(
            &CreateInvoiceItem::new()
                .customer(req.customer)
                .invoice(invoice_id.as_str())
                .amount(req.amount.amount)
                .currency(stripe_currency(&req.amount))
                .description(req.description)
                .metadata(req.metadata.clone()),
            Some(key("item").as_str()),
        )
        .await?;
        self.send::<wire::Object>(
            &FinalizeInvoiceInvoice::new(invoice_id.clone()).auto_advance(false),
            Some(key("finalize").as_str()),
        )
        .await?;
        let sent: wire::Invoice = self.send(&SendInvoiceInvoice::new(invoice_id), Some(key("send").as_str())).await?;
        Ok(InvoiceSummary::from(&sent))
    }

    pub async fn retrieve_invoice(&self, id: &str) -> Result<InvoiceSummary, GatewayError> {
        let invoice: wire::Invoice = self.send(&RetrieveInvoice::new(id), None).await?;
        Ok(InvoiceSummary::from(&invoice))
    }

    /// Voids an open invoice (it can no longer be paid).
    pub async fn void_invoice(&self, id: &str, idempotency_key: &str) -> Result<InvoiceSummary, GatewayError> {
        let invoice: wire::Invoice = self.send(&VoidInvoiceInvoice::new(id), Some(idempotency_key)).await?;
        Ok(InvoiceSummary::from(&invoice))
    }
}

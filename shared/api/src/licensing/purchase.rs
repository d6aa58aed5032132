//! Self-serve enterprise purchase: a quote for N seats and a term, priced from the one seat price
//! (`azora_domain::plans::enterprise_seat_price`) by `license_purchase::quote`, exact in minor
//! units and fixed when written; accepted into a Stripe invoice (`send_invoice`, due in
//! [`INVOICE_DAYS_DUE`] days); the license issued when Stripe says that invoice was paid; the
//! invoice voided by the billing cycle when it goes unpaid past its due date.
//!
//! **Once only.** Accepting derives every Stripe idempotency key from the quote id, so a retry or a
//! concurrent accept gets the same customer and invoice, and only one of them moves the quote to
//! `invoiced`. The license id is derived from the quote id, so a duplicated or retried
//! `invoice.paid` finds the license the first wrote; the quote moves to `paid` only from
//! `invoiced` with that invoice. An `invoice.paid` whose invoice, customer, amount or currency is
//! not the quote's changes nothing (logged and counted as untrusted).
//!
//! **Who may ask.** Anyone signed in: a company buys seats without talking to sales. An
//! organisation's enterprise admin (role `enterprise` with an `org` claim) asks for the
//! organisation, and every enterprise admin of that org sees its quotes; anyone else asks for
//! themselves (owner `user:<id>`; the license would mint an organisation for them). Another owner's
//! quote answers 404, as if it did not exist; admins see every quote.

use super::LicenseError;
use super::licenses::{NewLicense, issue};
use crate::auth::Principal;
use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::Role;
use azora_domain::license::DEFAULT_GRACE_DAYS;
use azora_domain::license_purchase::{
    INVOICE_DAYS_DUE, PaidInvoice, QUOTE_VALID_DAYS, Quote, QuoteInvoice, QuoteStatus, org_owner, quote, term_end,
    user_owner,
};
use azora_domain::notification::EmailAddress;
use azora_domain::tiers::Tier;
use azora_store::StoreError;
use azora_store::cursor::Page;
use azora_stripe::invoicing::SendInvoiceRequest;
use jiff::SignedDuration;
use serde_json::{Value, json};
use std::collections::HashMap;

/// What a quote is asked for, validated by the caller.
pub struct QuoteRequest {
    pub seats: u32,
    pub term_months: u32,
    pub org_name: String,
    pub contact_email: EmailAddress,
}

/// Whose quotes the caller asks for and sees.
pub fn owner_of(principal: &Principal) -> String {
    match &principal.org {
        Some(org) if principal.roles.has(Role::Enterprise) => org_owner(org),
        _ => user_owner(&principal.user_id),
    }
}

/// Prices and stores a quote.
pub async fn request_quote(
    state: &AppState,
    principal: &Principal,
    request: QuoteRequest,
) -> Result<Quote, LicenseError> {
    let price = quote(request.seats, request.term_months)?;
    let now = state.clock.now();
    let owner = owner_of(principal);
    let quote = Quote {
        id: azora_domain::ids::new_id("quo"),
        org_id: principal.org.clone().filter(|_| owner.starts_with("org:")),
        owner,
        requested_by: principal.user_id.clone(),
        org_name: request.org_name,
        contact_email: request.contact_email,
        price,
        status: QuoteStatus::Open,
        created_at: now,
        valid_until: now + SignedDuration::from_hours(24 * QUOTE_VALID_DAYS),
        invoice: None,
        license_id: None,
    };
    state.store.create_quote(&quote).await?;
    Ok(quote)
}

/// A quote the caller may see (its owner, or an admin); 404 otherwise.
pub async fn quote_for(state: &AppState, principal: &Principal, quote_id: &str) -> Result<Quote, LicenseError> {
    let quote = state.store.get_quote(quote_id).await?.ok_or(LicenseError::NotFound("quote"))?;
    if !principal.is_admin() && quote.owner != owner_of(principal) {
        return Err(LicenseError::NotFound("quote"));
    }
    Ok(quote)
}

/// One page of the caller's quotes (their organisation's, or their own), newest first.
pub async fn quotes(
    state: &AppState,
    principal: &Principal,
    cursor: Option<&str>,
) -> Result<Page<Quote>, LicenseError> {
    Ok(state.store.quotes_of(&owner_of(principal), 50, cursor).await?)
}

/// The metadata key naming the quote on its Stripe invoice (and so on the invoice's events).
pub const QUOTE_METADATA_KEY: &str = "azoraQuoteId";

/// Accepts an open quote: a Stripe customer for the buyer and an invoice for the quote's total,
/// sent for payment. Accepting an invoiced or paid quote again answers it as it is.
pub async fn accept_quote(state: &AppState, principal: &Principal, quote_id: &str) -> Result<Quote, LicenseError> {
    let quote = quote_for(state, principal, quote_id).await?;
    match quote.status {
        QuoteStatus::Invoiced | QuoteStatus::Paid => return Ok(quote),
        QuoteStatus::Void => return Err(LicenseError::QuoteNotOpen(QuoteStatus::Void)),
        QuoteStatus::Open if state.clock.now() >= quote.valid_until => return Err(LicenseError::QuoteExpired),
        QuoteStatus::Open => {}
    }
    let stripe = state.stripe()?;
    let gateway = |e: azora_stripe::GatewayError| LicenseError::Fault(Fault::Gateway(e));
    let metadata = HashMap::from([(QUOTE_METADATA_KEY.to_string(), quote.id.clone())]);
    let customer = stripe
        .create_invoice_customer(
            &quote.org_name,
            quote.contact_email.as_str(),
            metadata.clone(),
            &format!("quote-{}-customer", quote.id),
        )
        .await
        .map_err(gateway)?;
    let p = &quote.price;
    let description = format!("{} Enterprise seats for {} months", p.seats, p.term_months);
    let sent = stripe
        .send_invoice(&SendInvoiceRequest {
            customer: &customer,
            amount: p.total,
            description: &description,
            days_until_due: INVOICE_DAYS_DUE,
            metadata,
            idempotency_key: &format!("quote-{}", quote.id),
        })
        .await
        .map_err(gateway)?;
    let invoice_id = sent.id.clone().ok_or_else(|| Fault::broken("a sent invoice without id"))?;
    if sent.amount_due != p.total.amount || !sent.currency.eq_ignore_ascii_case(p.total.currency.code()) {
        return Err(Fault::broken(format!("invoice {invoice_id} does not bill the quote's total")).into());
    }
    let due_at = sent
        .due_date
        .and_then(|d| jiff::Timestamp::from_second(d).ok())
        .ok_or_else(|| Fault::broken(format!("invoice {invoice_id} has no due date")))?;
    let invoice = QuoteInvoice { invoice_id, customer_id: customer, hosted_url: sent.hosted_invoice_url, due_at };
    match state.store.mark_quote_invoiced(&quote.id, &invoice).await {
        // Accepted concurrently: the same keys gave both callers the same invoice.
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    state.store.get_quote(&quote.id).await?.ok_or(LicenseError::NotFound("quote"))
}

/// What a paid Stripe invoice did to a quote.
#[derive(Debug, PartialEq, Eq)]
pub enum PaidOutcome {
    /// The license was issued (or had been, by an earlier delivery of the same news).
    Issued(String),
    /// The event does not pay this quote (why), or names no quote we know: nothing changed.
    Untrusted(&'static str),
}

/// Applies Stripe's news that an invoice naming a quote was paid: checked against the quote's
/// invoice, customer, amount and currency, then the license is issued and the quote marked paid,
/// each step idempotent, so a retry after a crash between them completes the other.
pub async fn apply_paid_invoice(
    state: &AppState,
    quote_id: &str,
    paid: &PaidInvoice<'_>,
) -> Result<PaidOutcome, LicenseError> {
    let Some(quote) = state.store.get_quote(quote_id).await? else {
        return Ok(PaidOutcome::Untrusted("no such quote"));
    };
    if let Err(mismatch) = quote.check_payment(paid) {
        return Ok(PaidOutcome::Untrusted(match mismatch {
            azora_domain::license_purchase::Mismatch::NotInvoiced => "the quote was never invoiced",
            azora_domain::license_purchase::Mismatch::Invoice => "another invoice than the quote's",
            azora_domain::license_purchase::Mismatch::Customer => "another customer than the quote's",
            azora_domain::license_purchase::Mismatch::Amount => "another amount than the quote's total",
            azora_domain::license_purchase::Mismatch::Currency => "another currency than the quote's",
        }));
    }
    let license_id = quote.license_id();
    if quote.status == QuoteStatus::Paid {
        return Ok(PaidOutcome::Issued(license_id));
    }
    if quote.status == QuoteStatus::Void {
        // Stripe never takes payment for a voided invoice; if it says so, a person must look.
        return Err(Fault::broken(format!("quote {} was voided but its invoice was paid", quote.id)).into());
    }
    let now = state.clock.now();
    let p = &quote.price;
    let new = NewLicense {
        id: license_id.clone(),
        org_id: quote.license_org()?,
        org_name: quote.org_name.clone(),
        contact_email: quote.contact_email.clone(),
        seats: p.seats,
        expires_at: term_end(now, p.term_months),
        features: Tier::Enterprise.features().to_vec(),
        grace_days: DEFAULT_GRACE_DAYS,
        self_activation: false,
    };
    issue(state, new, now).await?;
    match state.store.mark_quote_paid(&quote, &license_id, now).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(PaidOutcome::Issued(license_id)),
        Err(e) => Err(e.into()),
    }
}

/// Voids the invoices of quotes unpaid past their due date (at most `limit`), and the quotes with
/// them. An invoice Stripe reports paid meanwhile is left for its `invoice.paid` event. Returns
/// how many were voided.
pub async fn void_unpaid(state: &AppState, limit: i32) -> Result<u32, LicenseError> {
    let now = state.clock.now();
    let mut voided = 0;
    for due in state.store.quotes_past_due(now, limit).await? {
        let Some(quote) = state.store.get_quote(&due.quote_id).await? else { continue };
        let stripe = state.stripe()?;
        let gateway = |e: azora_stripe::GatewayError| LicenseError::Fault(Fault::Gateway(e));
        let invoice = stripe.retrieve_invoice(&due.invoice_id).await.map_err(gateway)?;
        match invoice.status.as_deref() {
            Some("open") => {
                stripe.void_invoice(&due.invoice_id, &format!("quote-{}-void", quote.id)).await.map_err(gateway)?;
            }
            Some("void") => {}
            _ => continue,
        }
        match state.store.mark_quote_void(&quote, now).await {
            Ok(()) => voided += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(voided)
}

fn money(m: azora_domain::Money) -> Value {
    json!({ "amount": m.amount, "currency": m.currency.code() })
}

/// A quote as its owner sees it.
pub fn quote_json(quote: &Quote, now: jiff::Timestamp) -> Value {
    let p = &quote.price;
    json!({
        "quoteId": quote.id,
        "orgId": quote.org_id,
        "orgName": quote.org_name,
        "contactEmail": quote.contact_email,
        "seats": p.seats,
        "termMonths": p.term_months,
        "unitPricePerMonth": money(p.unit_monthly),
        "unitPricePerTerm": money(p.unit_per_term),
        "total": money(p.total),
        "status": if quote.status == QuoteStatus::Open && now >= quote.valid_until { "expired" } else { quote.status.as_str() },
        "createdAt": quote.created_at.to_string(),
        "validUntil": quote.valid_until.to_string(),
        "invoice": quote.invoice.as_ref().map(|i| json!({
            "invoiceId": i.invoice_id,
            "hostedInvoiceUrl": i.hosted_url,
            "dueAt": i.due_at.to_string(),
        })),
        "licenseId": quote.license_id,
    })
}

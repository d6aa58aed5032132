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
use azora_domain::license::{License, LicenseStatus, MAX_SEATS};
use azora_domain::license_purchase::{
    INVOICE_DAYS_DUE, PaidInvoice, QUOTE_VALID_DAYS, Quote, QuoteInvoice, QuoteKind, QuoteStatus, RENEWAL_INVOICE_DAYS,
    org_owner, original_quote_id, quote, renewal_quote_id, seats_price, term_end, user_owner,
};
use azora_domain::notification::EmailAddress;
use azora_domain::tiers::Tier;
use azora_store::StoreError;
use azora_store::cursor::Page;
use azora_store::licenses::RenewalOutcome;
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
        kind: QuoteKind::NewLicense,
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
    let customer = match quote.kind.license() {
        // Seats and renewals (left open by a crash before their invoice) bill the license's buyer.
        Some(license_id) => customer_of(&original_of(state, &super::existing(state, license_id).await?).await?)?,
        None => state
            .stripe()?
            .create_invoice_customer(
                &quote.org_name,
                quote.contact_email.as_str(),
                HashMap::from([(QUOTE_METADATA_KEY.to_string(), quote.id.clone())]),
                &format!("quote-{}-customer", quote.id),
            )
            .await
            .map_err(gateway)?,
    };
    send_quote_invoice(state, &quote, customer, INVOICE_DAYS_DUE).await
}

fn gateway(e: azora_stripe::GatewayError) -> LicenseError {
    LicenseError::Fault(Fault::Gateway(e))
}

/// Sends the invoice of an open quote to `customer`, due in `days_until_due` days, and moves the
/// quote to `invoiced`; every Stripe key derives from the quote id (see the module's note).
async fn send_quote_invoice(
    state: &AppState,
    quote: &Quote,
    customer: String,
    days_until_due: u32,
) -> Result<Quote, LicenseError> {
    let p = &quote.price;
    let description = match &quote.kind {
        QuoteKind::NewLicense => format!("{} Enterprise seats for {} months", p.seats, p.term_months),
        QuoteKind::AddSeats { license_id } => format!("{} more Enterprise seats on license {license_id}", p.seats),
        QuoteKind::Renewal { license_id, .. } => {
            format!("Renewal of license {license_id}: {} Enterprise seats for {} months", p.seats, p.term_months)
        }
    };
    let sent = state
        .stripe()?
        .send_invoice(&SendInvoiceRequest {
            customer: &customer,
            amount: p.total,
            description: &description,
            days_until_due,
            metadata: HashMap::from([(QUOTE_METADATA_KEY.to_string(), quote.id.clone())]),
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

/// The quote a self-serve license was bought with, paid; `NotSelfServe` for licenses made by an
/// admin (their terms are changed by an admin).
async fn original_of(state: &AppState, license: &License) -> Result<Quote, LicenseError> {
    let id = original_quote_id(&license.id).ok_or(LicenseError::NotSelfServe)?;
    match state.store.get_quote(&id).await? {
        Some(q) if q.status == QuoteStatus::Paid && q.invoice.is_some() => Ok(q),
        _ => Err(LicenseError::NotSelfServe),
    }
}

fn customer_of(original: &Quote) -> Result<String, LicenseError> {
    original.invoice.as_ref().map(|i| i.customer_id.clone()).ok_or(LicenseError::NotSelfServe)
}

/// Invoices `added` seats on a self-serve license until its current expiry, prorated per started
/// day (`license_purchase::seats_price`); the seats come when the invoice is paid. `order_id`
/// derives from the caller's idempotency key, so a retried request finds the same order.
pub async fn request_seats(
    state: &AppState,
    principal: &Principal,
    license_id: &str,
    added: u32,
    order_id: &str,
) -> Result<Quote, LicenseError> {
    let license = super::managed_license(state, principal, license_id).await?;
    let now = state.clock.now();
    if license.status != LicenseStatus::Active || now >= license.expires_at {
        return Err(super::inactive(&license, now));
    }
    if license.seats.saturating_add(added) > MAX_SEATS {
        return Err(
            azora_domain::ValidationError::new("add", format!("a license has at most {MAX_SEATS} seats")).into()
        );
    }
    let original = original_of(state, &license).await?;
    let price = seats_price(&original.price, added, license.expires_at, now);
    if price.total.amount == 0 {
        return Err(LicenseError::NotSelfServe);
    }
    let kind = QuoteKind::AddSeats { license_id: license.id.clone() };
    let order = order_once(state, order_id, &license, &original, &principal.user_id, kind, price).await?;
    if order.kind.license() != Some(license.id.as_str()) || order.price.seats != added {
        return Err(LicenseError::Changed);
    }
    if order.status != QuoteStatus::Open {
        return Ok(order);
    }
    send_quote_invoice(state, &order, customer_of(&original)?, INVOICE_DAYS_DUE).await
}

/// The order `id` on a self-serve license (bought with `original`): read when it exists, else
/// written once (a concurrent writer's order is read back), open until the license expires.
async fn order_once(
    state: &AppState,
    id: &str,
    license: &License,
    original: &Quote,
    requested_by: &azora_domain::UserId,
    kind: QuoteKind,
    price: azora_domain::license_purchase::SeatPrice,
) -> Result<Quote, LicenseError> {
    if let Some(existing) = state.store.get_quote(id).await? {
        return Ok(existing);
    }
    let now = state.clock.now();
    let order = Quote {
        id: id.to_string(),
        owner: original.owner.clone(),
        org_id: Some(license.org_id.clone()),
        requested_by: requested_by.clone(),
        org_name: license.org_name.clone(),
        contact_email: license.contact_email.clone(),
        kind,
        price,
        status: QuoteStatus::Open,
        created_at: now,
        valid_until: license.expires_at,
        invoice: None,
        license_id: None,
    };
    match state.store.create_quote(&order).await {
        Ok(()) => Ok(order),
        Err(StoreError::ConditionFailed) => state.store.get_quote(id).await?.ok_or(LicenseError::NotFound("quote")),
        Err(e) => Err(e.into()),
    }
}

/// Invoices the next term of a self-serve license once, [`RENEWAL_INVOICE_DAYS`] before it
/// expires, due at its expiry (the license's seats, the original term, today's seat price).
/// Returns whether an invoice was sent now.
pub async fn invoice_renewal(state: &AppState, license: &License) -> Result<bool, LicenseError> {
    let now = state.clock.now();
    let window = license.expires_at - SignedDuration::from_hours(24 * RENEWAL_INVOICE_DAYS);
    if license.status != LicenseStatus::Active || now < window || now >= license.expires_at {
        return Ok(false);
    }
    let original = match original_of(state, license).await {
        Ok(q) => q,
        Err(LicenseError::NotSelfServe) => return Ok(false),
        Err(e) => return Err(e),
    };
    let id = renewal_quote_id(&license.id, license.expires_at);
    let kind = QuoteKind::Renewal { license_id: license.id.clone(), expires_at: license.expires_at };
    let price = quote(license.seats, original.price.term_months)?;
    let renewal = order_once(state, &id, license, &original, &original.requested_by, kind, price).await?;
    if renewal.status != QuoteStatus::Open {
        return Ok(false);
    }
    let seconds_left = license.expires_at.as_second() - now.as_second();
    let days_until_due = u32::try_from((seconds_left + 86_399) / 86_400).unwrap_or(1).max(1);
    send_quote_invoice(state, &renewal, customer_of(&original)?, days_until_due).await?;
    Ok(true)
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
    match &quote.kind {
        QuoteKind::NewLicense => {}
        QuoteKind::AddSeats { license_id } => {
            let license = super::existing(state, license_id).await?;
            let seats = license.seats.saturating_add(quote.price.seats);
            return apply_paid_change(state, &quote, &license, seats, license.expires_at, now).await;
        }
        QuoteKind::Renewal { license_id, .. } => {
            let license = super::existing(state, license_id).await?;
            let expires_at = term_end(license.expires_at.max(now), quote.price.term_months);
            return apply_paid_change(state, &quote, &license, license.seats, expires_at, now).await;
        }
    }
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

/// Re-keys `license` with the seats and expiry a paid quote bought, in one transaction with the
/// quote moving to paid: a payment applies once. A license changed meanwhile (an admin's renewal)
/// is read again by the retry of the event.
async fn apply_paid_change(
    state: &AppState,
    quote: &Quote,
    license: &License,
    seats: u32,
    expires_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<PaidOutcome, LicenseError> {
    if license.status == LicenseStatus::Revoked {
        return Err(Fault::broken(format!("quote {} paid for the revoked license {}", quote.id, license.id)).into());
    }
    let renewed = super::licenses::rekeyed(state, license, seats, expires_at, now)?;
    let renewal = super::licenses::renewal(license, &renewed, now);
    match state.store.renew_license_paid(&license.id, &renewal, quote).await? {
        None | Some(RenewalOutcome::Renewed) => Ok(PaidOutcome::Issued(license.id.clone())),
        Some(RenewalOutcome::SeatsBelowUse { .. } | RenewalOutcome::Conflict) => Err(LicenseError::Changed),
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
        "kind": quote.kind.as_str(),
        "targetLicenseId": quote.kind.license(),
        "invoice": quote.invoice.as_ref().map(|i| json!({
            "invoiceId": i.invoice_id,
            "hostedInvoiceUrl": i.hosted_url,
            "dueAt": i.due_at.to_string(),
        })),
        "licenseId": quote.license_id,
    })
}

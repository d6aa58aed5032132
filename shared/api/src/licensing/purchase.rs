//! Self-serve enterprise purchase, its first step: a quote for N seats and a term, priced from the
//! one seat price (`azora_domain::plans::enterprise_seat_price`) by `license_purchase::quote`,
//! exact in minor units and fixed when written.
//!
//! **Who may ask.** Anyone signed in: a company buys seats without talking to sales. An
//! organisation's enterprise admin (role `enterprise` with an `org` claim) asks for the
//! organisation, and every enterprise admin of that org sees its quotes; anyone else asks for
//! themselves (owner `user:<id>`; the license would mint an organisation for them). Another owner's
//! quote answers 404, as if it did not exist; admins see every quote.

use super::LicenseError;
use crate::auth::Principal;
use crate::state::AppState;
use azora_domain::Role;
use azora_domain::license_purchase::{QUOTE_VALID_DAYS, Quote, QuoteStatus, org_owner, quote, user_owner};
use azora_domain::notification::EmailAddress;
use azora_store::cursor::Page;
use jiff::SignedDuration;
use serde_json::{Value, json};

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
        "status": if now >= quote.valid_until { "expired" } else { quote.status.as_str() },
        "createdAt": quote.created_at.to_string(),
        "validUntil": quote.valid_until.to_string(),
    })
}

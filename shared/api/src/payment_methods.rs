//! The caller's saved cards: add one (a SetupIntent on their own Stripe customer), list them with
//! the default, choose the default (the customer's and the live subscription's, so the next
//! renewal is charged to it), remove one. Only cards attached to the caller's own Stripe
//! customer are ever shown or changed: another user's card, or one that does not exist, is
//! [`PaymentMethodError::NotFound`] alike.
//!
//! Also the billing cycle's card check: a card that expires before the next renewal is emailed
//! about once per card and renewal period.

use crate::auth::Principal;
use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::notification::{Notification, NotificationKind};
use azora_domain::subscription::SubscriptionStatus;
use azora_store::claims::{ClaimOutcome, ClaimRequest};
use azora_store::subscriptions::SubscriptionRecord;
use azora_stripe::GatewayError;
use azora_stripe::payment_methods::{CardSummary, SetupOutcome};

#[derive(Debug, thiserror::Error)]
pub enum PaymentMethodError {
    /// Not a card of the caller's own customer (another user's, unknown, or malformed): 404.
    #[error("no such payment method")]
    NotFound,
    /// The default card of a live subscription is the only card: it cannot be removed (409).
    #[error("the only card of a live subscription")]
    DefaultCardRequired,
    /// The card was declined while being set up (402).
    #[error("card declined: {message}")]
    Declined { code: String, decline_code: Option<String>, message: String },
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<GatewayError> for PaymentMethodError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::CardDeclined { code, decline_code, message, .. } => {
                PaymentMethodError::Declined { code, decline_code, message }
            }
            other => PaymentMethodError::Fault(other.into()),
        }
    }
}

impl From<azora_store::StoreError> for PaymentMethodError {
    fn from(e: azora_store::StoreError) -> Self {
        PaymentMethodError::Fault(e.into())
    }
}

impl From<crate::needs::UndeclaredPart> for PaymentMethodError {
    fn from(e: crate::needs::UndeclaredPart) -> Self {
        PaymentMethodError::Fault(e.into())
    }
}

/// A saved card and whether it is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub card: CardSummary,
    pub is_default: bool,
}

/// The caller's cards, newest first, and the default's id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wallet {
    pub cards: Vec<Card>,
    pub default: Option<String>,
}

/// A new card's SetupIntent, and whether the card became the default (the first card does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub intent: SetupOutcome,
    pub made_default: bool,
}

/// Stripe's payment method ids: `pm_` and letters, digits or underscores.
pub fn valid_payment_method_id(raw: &str) -> bool {
    raw.len() <= 255
        && raw
            .strip_prefix("pm_")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// The caller's live subscription (anything but canceled) with its Stripe id.
async fn live_subscription(state: &AppState, user: &UserId) -> Result<Option<(SubscriptionRecord, String)>, Fault> {
    Ok(state
        .store
        .get_subscription_record(user)
        .await?
        .filter(|r| r.subscription.status != SubscriptionStatus::Canceled)
        .and_then(|r| r.stripe_subscription_id.clone().map(|id| (r, id))))
}

/// The caller's cards (none without a Stripe customer).
pub async fn wallet(state: &AppState, user: &UserId) -> Result<Wallet, PaymentMethodError> {
    let Some(customer) = state.store.get_stripe_customer(user).await? else { return Ok(Wallet::default()) };
    wallet_of(state, &customer).await
}

async fn wallet_of(state: &AppState, customer: &str) -> Result<Wallet, PaymentMethodError> {
    let stripe = state.stripe()?;
    let (cards, default) =
        tokio::try_join!(stripe.list_cards(customer), stripe.customer_default_payment_method(customer))?;
    let cards =
        cards.into_iter().map(|card| Card { is_default: default.as_deref() == Some(card.id.as_str()), card }).collect();
    Ok(Wallet { cards, default })
}

/// Starts adding a card: a SetupIntent on the caller's Stripe customer (created if needed),
/// confirmed now with `payment_method` when given. `key` (from the request's Idempotency-Key)
/// makes a retry find the same SetupIntent. A card set up at once becomes the default when the
/// customer has none.
pub async fn setup(
    state: &AppState,
    principal: &Principal,
    payment_method: Option<&str>,
    key: &str,
) -> Result<Setup, PaymentMethodError> {
    let customer = crate::payments::customer_of(state, principal).await?;
    let stripe = state.stripe()?;
    let intent = stripe.create_setup_intent(&customer, payment_method, &format!("setup-{key}")).await?;
    let mut made_default = false;
    if intent.status == "succeeded"
        && let Some(pm) = &intent.payment_method
        && stripe.customer_default_payment_method(&customer).await?.is_none()
    {
        choose_default(state, &principal.user_id, &customer, pm).await?;
        made_default = true;
    }
    Ok(Setup { intent, made_default })
}

/// The caller's customer and the card `pm` attached to it, or `NotFound`.
async fn owned_card(state: &AppState, user: &UserId, pm: &str) -> Result<(String, CardSummary), PaymentMethodError> {
    if !valid_payment_method_id(pm) {
        return Err(PaymentMethodError::NotFound);
    }
    let customer = state.store.get_stripe_customer(user).await?.ok_or(PaymentMethodError::NotFound)?;
    let card = state.stripe()?.retrieve_card(pm).await?.ok_or(PaymentMethodError::NotFound)?;
    if card.customer.as_deref() != Some(customer.as_str()) {
        return Err(PaymentMethodError::NotFound);
    }
    Ok((customer, card))
}

/// Makes `pm` the default of the customer and of the live subscription.
async fn choose_default(state: &AppState, user: &UserId, customer: &str, pm: &str) -> Result<(), PaymentMethodError> {
    let stripe = state.stripe()?;
    stripe.set_customer_default(customer, pm).await?;
    if let Some((_, subscription)) = live_subscription(state, user).await? {
        stripe.set_subscription_default(&subscription, pm).await?;
    }
    Ok(())
}

/// Makes one of the caller's cards the default: for the customer's invoices and for the live
/// subscription, so the next renewal (or the retry of a failed one) is charged to it.
pub async fn make_default(state: &AppState, user: &UserId, pm: &str) -> Result<Wallet, PaymentMethodError> {
    let (customer, _) = owned_card(state, user, pm).await?;
    choose_default(state, user, &customer, pm).await?;
    wallet_of(state, &customer).await
}

/// Removes one of the caller's cards. The default card of a live subscription is removed only
/// when another card exists, which becomes the default first (the newest one); alone it is
/// [`PaymentMethodError::DefaultCardRequired`], so a subscription is never left without a card.
pub async fn remove(state: &AppState, user: &UserId, pm: &str) -> Result<Wallet, PaymentMethodError> {
    let (customer, _) = owned_card(state, user, pm).await?;
    let before = wallet_of(state, &customer).await?;
    if before.default.as_deref() == Some(pm) && live_subscription(state, user).await?.is_some() {
        let other = before.cards.iter().find(|c| c.card.id != pm).ok_or(PaymentMethodError::DefaultCardRequired)?;
        choose_default(state, user, &customer, &other.card.id).await?;
    }
    state.stripe()?.detach_payment_method(pm).await?;
    wallet_of(state, &customer).await
}

/// The last moment a card can be used: the end of its expiry month (UTC), as Unix seconds.
pub fn card_expires_at(exp_month: i64, exp_year: i64) -> Option<i64> {
    let (year, month) = if exp_month >= 12 { (exp_year + 1, 1) } else { (exp_year, exp_month + 1) };
    let first_of_next = jiff::civil::Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, 1).ok()?;
    Some(first_of_next.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_second() - 1)
}

const EXPIRY_SCOPE: &str = "card-expiry";

/// The billing cycle's card check for one live subscription renewing at `renews_at`: when the
/// card its renewal will be charged to (the subscription's default, else the customer's) expires
/// before then, emails the user once per card and renewal period (a claim
/// `CLAIM#card-expiry#<user>:<pm>:<renewsAt>`, taken with a conditional write before the email
/// is queued). Whether an email was queued.
pub async fn warn_if_card_expires(
    state: &AppState,
    record: &SubscriptionRecord,
    renews_at: jiff::Timestamp,
    plan: String,
) -> Result<bool, Fault> {
    let Some(subscription) = &record.stripe_subscription_id else { return Ok(false) };
    let stripe = state.stripe()?;
    let customer = match &record.stripe_customer_id {
        Some(c) => Some(c.clone()),
        None => state.store.get_stripe_customer(&record.user_id).await?,
    };
    let pm = match stripe.subscription_default_payment_method(subscription).await? {
        Some(pm) => Some(pm),
        None => match &customer {
            Some(c) => stripe.customer_default_payment_method(c).await?,
            None => None,
        },
    };
    let Some(pm) = pm else { return Ok(false) };
    let Some(card) = stripe.retrieve_card(&pm).await? else { return Ok(false) };
    let Some(expires_at) = card_expires_at(card.exp_month, card.exp_year) else { return Ok(false) };
    if expires_at >= renews_at.as_second() {
        return Ok(false);
    }
    let now = state.clock.now().as_second();
    let key = format!("{}:{}:{}", record.user_id, card.id, renews_at.as_second());
    let attempt = azora_domain::ids::new_id("att");
    let claim = ClaimRequest {
        scope: EXPIRY_SCOPE,
        key: &key,
        fingerprint: "card-expiry",
        attempt: &attempt,
        now,
        lease_seconds: 300,
        // Kept past the renewal, so the warning is never repeated for this period.
        ttl_seconds: (renews_at.as_second() - now).max(0) + 40 * 86_400,
    };
    match state.store.claim(&claim).await? {
        ClaimOutcome::Acquired => {}
        ClaimOutcome::Completed { .. } | ClaimOutcome::InProgress | ClaimOutcome::Mismatch => return Ok(false),
    }
    let to = crate::subscriptions::email_for(
        &record.user_id,
        state.store.subscription_email(&record.user_id).await?.as_deref(),
    )?;
    let notification = Notification {
        id: format!("card-expiring-{}-{}-{}", record.user_id, card.id, renews_at.as_second()),
        to,
        kind: NotificationKind::CardExpiring {
            plan,
            card: format!("{} ending in {}", card.brand, card.last4),
            expires: format!("{:02}/{}", card.exp_month, card.exp_year),
            renews_on: renews_at.strftime("%Y-%m-%d").to_string(),
            update_card_url: format!("{}/billing/payment-method", state.config.app_base_url.get()?),
        },
    };
    if let Err(e) = state.notifier()?.send(&notification).await {
        let _ = state.store.release_claim(EXPIRY_SCOPE, &key, &attempt).await;
        return Err(e);
    }
    state.store.complete_claim(EXPIRY_SCOPE, &key, &attempt, "sent").await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_good_to_the_end_of_its_month() {
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_second();
        assert_eq!(card_expires_at(12, 2026), Some(at("2026-12-31T23:59:59Z")));
        assert_eq!(card_expires_at(2, 2028), Some(at("2028-02-29T23:59:59Z")));
        assert_eq!(card_expires_at(1, 99_999), None);
    }

    #[test]
    fn payment_method_ids() {
        assert!(valid_payment_method_id("pm_1AbC_x"));
        for bad in ["", "pm_", "card_1", "pm_a/b", "pm_a#b"] {
            assert!(!valid_payment_method_id(bad), "{bad}");
        }
    }
}

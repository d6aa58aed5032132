//! The billing screens' services: which change of plan a request asks for (the one rule for
//! `PUT /api/subscriptions/update` and its preview), what that change would invoice now (Stripe's
//! invoice preview, prorated exactly as the update then charges), making that change, and the
//! caller's invoices.
//! Plain async functions over [`AppState`] with their own error, mapped to the API's at the edge.

use crate::fault::Fault;
use crate::state::AppState;
use crate::subscriptions::pro_price_id;
use azora_domain::money::{Currency, Money};
use azora_domain::subscription::{BillingInterval, PlanChange, classify_change};
use azora_domain::{Tier, UserId};
use azora_store::subscriptions::SubscriptionRecord;
use azora_stripe::GatewayError;
use azora_stripe::billing::InvoiceSummary;
use jiff::{SignedDuration, Timestamp};

/// How long a preview's proration date may be used to confirm the change it quoted.
pub const QUOTE_VALID_FOR: SignedDuration = SignedDuration::from_hours(1);

#[derive(Debug)]
pub enum BillingError {
    /// No live subscription (404, as for another user's).
    NoSubscription,
    /// A parameter is not valid (400 `validation_failed` naming the field).
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    /// Enterprise is sold through licenses (422).
    EnterpriseViaLicense,
    /// The requested plan is the current one and nothing is pending (422 `no_change`).
    NoChange,
    /// A quote's proration date is too old or in the future (422 `quote_expired`).
    QuoteExpired,
    Gateway(GatewayError),
    /// The table, a part or Stripe failed beneath the rules.
    Fault(Fault),
}

impl From<Fault> for BillingError {
    fn from(f: Fault) -> Self {
        BillingError::Fault(f)
    }
}

impl From<crate::needs::UndeclaredPart> for BillingError {
    fn from(e: crate::needs::UndeclaredPart) -> Self {
        BillingError::Fault(e.into())
    }
}

impl From<azora_store::StoreError> for BillingError {
    fn from(e: azora_store::StoreError) -> Self {
        BillingError::Fault(e.into())
    }
}

impl From<GatewayError> for BillingError {
    fn from(e: GatewayError) -> Self {
        BillingError::Gateway(e)
    }
}

/// The caller's subscription that can still change (anything but canceled).
pub async fn live_subscription(state: &AppState, user: &UserId) -> Result<SubscriptionRecord, BillingError> {
    state
        .store
        .get_subscription_record(user)
        .await?
        .filter(crate::subscriptions::is_live)
        .ok_or(BillingError::NoSubscription)
}

/// A change of plan as asked: the target and how it relates to the current plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedChange {
    pub tier: Tier,
    pub interval: Option<BillingInterval>,
    pub kind: PlanChange,
}

/// The change `tier`/`interval` ask for (each defaulting to the current plan's): Enterprise is
/// refused, Free has no interval, and asking for the current plan with nothing pending is
/// `NoChange` (with a pending change, it is a resume).
pub fn requested_change(
    record: &SubscriptionRecord,
    tier: Option<&str>,
    interval: Option<&str>,
) -> Result<RequestedChange, BillingError> {
    let current = (record.subscription.tier, record.subscription.interval);
    let tier = match tier {
        None => current.0,
        Some(raw) => {
            Tier::parse(raw).ok_or(BillingError::Invalid { field: "tier", message: "tier must be free or pro" })?
        }
    };
    if tier == Tier::Enterprise {
        return Err(BillingError::EnterpriseViaLicense);
    }
    // A malformed interval is refused even where it would not matter (moving to Free).
    let asked = interval
        .map(|raw| {
            BillingInterval::parse(raw)
                .ok_or(BillingError::Invalid { field: "interval", message: "interval must be month or year" })
        })
        .transpose()?;
    let interval = match (tier, asked) {
        (Tier::Free, _) => None,
        (_, Some(asked)) => Some(asked),
        (_, None) => current.1,
    };
    let kind = classify_change(current, (tier, interval));
    if kind == PlanChange::Same && record.pending_change.is_none() {
        return Err(BillingError::NoChange);
    }
    Ok(RequestedChange { tier, interval, kind })
}

/// The proration date a confirmation may carry: one a preview quoted within [`QUOTE_VALID_FOR`].
pub fn check_quote(proration_date: Timestamp, now: Timestamp) -> Result<i64, BillingError> {
    if proration_date > now || now.duration_since(proration_date) > QUOTE_VALID_FOR {
        return Err(BillingError::QuoteExpired);
    }
    Ok(proration_date.as_second())
}

/// What a change would invoice now and when it takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePreview {
    pub change: RequestedChange,
    /// When the new plan starts: now for an upgrade or a resume, the period end for a downgrade.
    pub effective_at: Timestamp,
    /// Charged now (the invoice total less any credit balance).
    pub amount_due: Money,
    pub total: Money,
    pub lines: Vec<(String, Money)>,
    /// The time the proration is computed at; confirming with it charges exactly `amount_due`.
    pub proration_date: Option<Timestamp>,
}

/// Previews the change `tier`/`interval` ask for, with the update's rules: an upgrade (monthly →
/// yearly) is Stripe's preview of the update with `always_invoice` at a proration date of now;
/// a downgrade or a resume invoices nothing now.
pub async fn preview_change(
    state: &AppState,
    user: &UserId,
    tier: Option<&str>,
    interval: Option<&str>,
) -> Result<ChangePreview, BillingError> {
    let record = live_subscription(state, user).await?;
    let change = requested_change(&record, tier, interval)?;
    let sub_id = record.stripe_subscription_id.clone().ok_or(BillingError::NoSubscription)?;
    let now = state.clock.now();
    let nothing = |effective_at: Timestamp| {
        let zero = Money::new(0, Currency::Usd);
        ChangePreview { change, effective_at, amount_due: zero, total: zero, lines: vec![], proration_date: None }
    };
    match change.kind {
        PlanChange::Same => Ok(nothing(now)),
        PlanChange::Downgrade => Ok(nothing(record.subscription.current_period_end.unwrap_or(now))),
        PlanChange::Upgrade => {
            let interval = change.interval.ok_or_else(|| Fault::broken("upgrade without interval"))?;
            let price = pro_price_id(state, interval).await?;
            let stripe = state.stripe()?;
            let current = stripe.retrieve_subscription(&sub_id).await?;
            let item = current.item_id.clone().ok_or_else(|| Fault::broken("subscription without item"))?;
            let customer = match record.stripe_customer_id.clone() {
                Some(c) => c,
                None => state.store.get_stripe_customer(user).await?.ok_or(BillingError::NoSubscription)?,
            };
            // Within the period Stripe bills (Stripe refuses a proration date outside it).
            let (start, end) = (current.current_period_start.unwrap_or(i64::MIN), current.current_period_end);
            let at = now.as_second().clamp(start, end.unwrap_or(i64::MAX).max(start));
            let quote = stripe.preview_price_change(&customer, &sub_id, &item, &price, at).await?;
            let currency = Currency::parse(&quote.currency).map_err(Fault::broken)?;
            let money = |amount: i64| Money::new(amount, currency);
            Ok(ChangePreview {
                change,
                effective_at: now,
                amount_due: money(quote.amount_due),
                total: money(quote.total),
                lines: quote.lines.iter().map(|l| (l.description.clone(), money(l.amount))).collect(),
                proration_date: Some(Timestamp::from_second(at).map_err(Fault::broken)?),
            })
        }
    }
}

/// One of the caller's invoices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: String,
    pub number: Option<String>,
    pub created: Timestamp,
    pub total: Money,
    pub amount_paid: Money,
    pub status: String,
    pub billing_reason: Option<String>,
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
}

/// A page of the caller's invoices, newest first; `next` continues after the last one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvoicePage {
    pub invoices: Vec<Invoice>,
    pub next: Option<String>,
}

/// Stripe's invoice ids: `in_` and letters or digits.
pub fn valid_invoice_id(raw: &str) -> bool {
    raw.len() <= 64
        && raw
            .strip_prefix("in_")
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The invoices of the caller's own Stripe customer (none without one), `limit` per page, after
/// the invoice `starting_after`. Only invoices of that customer are ever listed or returned.
pub async fn invoices_of(
    state: &AppState,
    user: &UserId,
    limit: i64,
    starting_after: Option<&str>,
) -> Result<InvoicePage, BillingError> {
    if starting_after.is_some_and(|id| !valid_invoice_id(id)) {
        return Err(BillingError::Invalid { field: "startingAfter", message: "startingAfter must be an invoice id" });
    }
    let Some(customer) = state.store.get_stripe_customer(user).await? else { return Ok(InvoicePage::default()) };
    let page = match state.stripe()?.list_customer_invoices(&customer, limit, starting_after).await {
        Ok(page) => page,
        // Another customer's invoice as the cursor: Stripe does not find it in this list.
        Err(GatewayError::Rejected { .. }) if starting_after.is_some() => {
            return Err(BillingError::Invalid {
                field: "startingAfter",
                message: "startingAfter must be one of your invoices",
            });
        }
        Err(e) => return Err(e.into()),
    };
    let invoices = page
        .invoices
        .iter()
        .filter(|inv| inv.customer.as_deref() == Some(customer.as_str()))
        .map(invoice_of)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if page.has_more { invoices.last().map(|i| i.id.clone()) } else { None };
    Ok(InvoicePage { invoices, next })
}

fn invoice_of(inv: &InvoiceSummary) -> Result<Invoice, BillingError> {
    let currency = Currency::parse(&inv.currency).map_err(Fault::broken)?;
    Ok(Invoice {
        id: inv.id.clone().unwrap_or_default(),
        number: inv.number.clone(),
        created: Timestamp::from_second(inv.created).map_err(Fault::broken)?,
        total: Money::new(inv.total, currency),
        amount_paid: Money::new(inv.amount_paid, currency),
        status: inv.status.clone().unwrap_or_else(|| "draft".into()),
        billing_reason: inv.billing_reason.clone(),
        hosted_invoice_url: inv.hosted_invoice_url.clone(),
        invoice_pdf: inv.invoice_pdf.clone(),
    })
}

/// What a change of plan did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanChangeDone {
    /// The plan the user has now, cancelling a scheduled downgrade.
    Resumed,
    /// Monthly → yearly, now; the proration was invoiced at once (`proration_amount`, USD).
    Upgraded { proration_amount: Option<i64>, record: Option<SubscriptionRecord> },
    /// Scheduled for the period end (the record's `pending_change`).
    Downgraded,
}

/// Makes the change of plan `tier`/`interval` asks for (see [`requested_change`]): an upgrade
/// takes effect now, charging exactly what the preview quoted at `quoted_at` (at most
/// [`QUOTE_VALID_FOR`] old); a downgrade is scheduled for the period end; asking for the plan the
/// user will have resumes it.
pub async fn change_plan(
    state: &AppState,
    user: &UserId,
    tier: Option<&str>,
    interval: Option<&str>,
    quoted_at: Option<Timestamp>,
) -> Result<PlanChangeDone, BillingError> {
    use azora_domain::subscription::PendingChange;
    let record = live_subscription(state, user).await?;
    let requested = requested_change(&record, tier, interval)?;
    let sub_id = record.stripe_subscription_id.clone().ok_or(BillingError::NoSubscription)?;
    let scheduled = record.pending_change.is_some();
    let now = state.clock.now();
    let proration_date = quoted_at.map(|at| check_quote(at, now)).transpose()?;
    let stripe = state.stripe()?;
    match requested.kind {
        PlanChange::Same => {
            stripe.set_cancel_at_period_end(&sub_id, false).await?;
            state.store.set_pending_change(user, None).await?;
            Ok(PlanChangeDone::Resumed)
        }
        PlanChange::Upgrade => {
            let new_interval = requested.interval.ok_or_else(|| Fault::broken("upgrade without interval"))?;
            let price = pro_price_id(state, new_interval).await?;
            let item = stripe.retrieve_subscription(&sub_id).await?.item_id.unwrap_or_default();
            // A new quote is a new attempt (a declined one is not replayed for it).
            let key = match proration_date {
                Some(at) => format!("upgrade-{sub_id}-{}-{at}", new_interval.as_str()),
                None => format!("upgrade-{sub_id}-{}", new_interval.as_str()),
            };
            let updated = stripe.change_subscription_price(&sub_id, &item, &price, true, proration_date, &key).await?;
            if scheduled {
                stripe.set_cancel_at_period_end(&sub_id, false).await?;
                state.store.set_pending_change(user, None).await?;
            }
            let observed = crate::subscriptions::observed_now(state);
            let applied = crate::subscriptions::state_of(&updated, Some(new_interval), observed);
            state.store.apply_stripe_state(user, &applied, now).await?;
            let record = state.store.get_subscription_record(user).await?;
            Ok(PlanChangeDone::Upgraded { proration_amount: updated.latest_invoice_amount, record })
        }
        PlanChange::Downgrade => {
            let effective_at = record.subscription.current_period_end.unwrap_or(now);
            stripe.set_cancel_at_period_end(&sub_id, true).await?;
            let pending = PendingChange { tier: requested.tier, interval: requested.interval, effective_at };
            state.store.set_pending_change(user, Some(&pending)).await?;
            Ok(PlanChangeDone::Downgraded)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azora_domain::subscription::SubscriptionStatus;
    use azora_domain::subscription::{PendingChange, Subscription};

    fn record(interval: BillingInterval, pending: bool) -> SubscriptionRecord {
        SubscriptionRecord {
            user_id: UserId::parse("u").unwrap(),
            subscription: Subscription {
                tier: Tier::Pro,
                status: SubscriptionStatus::Active,
                interval: Some(interval),
                ..Subscription::free()
            },
            stripe_subscription_id: Some("sub_1".into()),
            stripe_customer_id: Some("cus_1".into()),
            pending_change: pending.then(|| PendingChange {
                tier: Tier::Free,
                interval: None,
                effective_at: "2027-01-01T00:00:00Z".parse().unwrap(),
            }),
            past_due_since: None,
            reminded_period_end: None,
        }
    }

    #[test]
    fn the_update_rules() {
        let monthly = record(BillingInterval::Month, false);
        let up = requested_change(&monthly, Some("pro"), Some("year")).unwrap();
        assert_eq!((up.kind, up.interval), (PlanChange::Upgrade, Some(BillingInterval::Year)));
        assert_eq!(requested_change(&monthly, None, Some("year")).unwrap().kind, PlanChange::Upgrade);
        let down = requested_change(&monthly, Some("free"), Some("year")).unwrap();
        assert_eq!((down.kind, down.tier, down.interval), (PlanChange::Downgrade, Tier::Free, None));
        assert!(matches!(requested_change(&monthly, Some("pro"), Some("month")), Err(BillingError::NoChange)));
        assert!(matches!(requested_change(&monthly, None, None), Err(BillingError::NoChange)));
        let pending = record(BillingInterval::Month, true);
        assert_eq!(requested_change(&pending, None, None).unwrap().kind, PlanChange::Same, "a resume");
        assert!(matches!(
            requested_change(&monthly, Some("enterprise"), None),
            Err(BillingError::EnterpriseViaLicense)
        ));
        assert!(matches!(
            requested_change(&monthly, Some("gold"), None),
            Err(BillingError::Invalid { field: "tier", .. })
        ));
        assert!(matches!(
            requested_change(&monthly, None, Some("week")),
            Err(BillingError::Invalid { field: "interval", .. })
        ));
        assert!(
            matches!(
                requested_change(&monthly, Some("free"), Some("week")),
                Err(BillingError::Invalid { field: "interval", .. })
            ),
            "found by the API fuzzing: moving to Free ignored a malformed interval"
        );
        let yearly = record(BillingInterval::Year, false);
        assert_eq!(requested_change(&yearly, None, Some("month")).unwrap().kind, PlanChange::Downgrade);
    }

    #[test]
    fn quotes_are_good_for_an_hour_and_never_from_the_future() {
        let now: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
        assert_eq!(check_quote(now, now).unwrap(), now.as_second());
        assert!(check_quote(now - SignedDuration::from_mins(59), now).is_ok());
        assert!(matches!(check_quote(now - SignedDuration::from_mins(61), now), Err(BillingError::QuoteExpired)));
        assert!(matches!(check_quote(now + SignedDuration::from_secs(1), now), Err(BillingError::QuoteExpired)));
    }

    #[test]
    fn invoice_ids() {
        assert!(valid_invoice_id("in_1AbC"));
        for bad in ["", "in_", "in_a-b", "cus_1", "in_1 2", format!("in_{}", "a".repeat(70)).as_str()] {
            assert!(!valid_invoice_id(bad), "{bad}");
        }
    }
}

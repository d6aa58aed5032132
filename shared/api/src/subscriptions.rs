//! Subscription lifecycle shared by the handlers, the stripe-events worker and the billing-cycle
//! job: mapping Stripe's subscription to our record and the emails that go with changes.

use crate::fault::Fault;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind};
use azora_domain::reports::ReportCounters;
use azora_domain::subscription::{BillingInterval, SubscriptionStatus, pro_lookup_key, pro_price};
use azora_domain::{Currency, Money, UserId};
use azora_store::subscriptions::{SlotOutcome, StripeSubscriptionState, SubscriptionRecord};
use azora_stripe::billing::{PriceSpec, SubscriptionOutcome};

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// A live subscription exists (409 `subscription_exists`).
    #[error("a live subscription exists")]
    Exists,
    /// Another request holds the user's subscription slot (409 `subscription_in_progress`).
    #[error("another request is creating the subscription")]
    InProgress { retry_after_seconds: u64 },
    /// No live subscription (404, as for another user's).
    #[error("no live subscription")]
    NotFound,
    /// The slot kept changing under us (503: retry).
    #[error("the subscription slot kept changing")]
    Contended,
    /// Stripe refused or failed where the caller should hear why (a declined card is 402).
    #[error("payment provider: {0}")]
    Gateway(azora_stripe::GatewayError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<azora_store::StoreError> for SubscriptionError {
    fn from(e: azora_store::StoreError) -> Self {
        SubscriptionError::Fault(e.into())
    }
}

impl From<crate::needs::UndeclaredPart> for SubscriptionError {
    fn from(e: crate::needs::UndeclaredPart) -> Self {
        SubscriptionError::Fault(e.into())
    }
}

/// The Stripe price of Pro for `interval` (found by lookup key, created once if missing).
pub async fn pro_price_id(state: &AppState, interval: BillingInterval) -> Result<String, Fault> {
    let spec = PriceSpec {
        lookup_key: pro_lookup_key(interval),
        product_name: "Azora Pro",
        unit_amount: pro_price(interval),
        currency: "usd",
        yearly: interval == BillingInterval::Year,
    };
    Ok(state.stripe()?.ensure_price(&spec).await?)
}

pub fn status_from_stripe(raw: &str) -> SubscriptionStatus {
    match raw {
        "active" => SubscriptionStatus::Active,
        "trialing" => SubscriptionStatus::Trialing,
        "past_due" | "unpaid" => SubscriptionStatus::PastDue,
        "incomplete" => SubscriptionStatus::Incomplete,
        // canceled, incomplete_expired, paused
        _ => SubscriptionStatus::Canceled,
    }
}

/// The subscription's billing interval: its price's, as Stripe bills it (an upgrade changes the
/// price, not the metadata), else the `interval` metadata written at create.
pub fn interval_of(outcome: &SubscriptionOutcome) -> Option<BillingInterval> {
    outcome
        .price_interval
        .as_deref()
        .and_then(BillingInterval::parse)
        .or_else(|| outcome.metadata.get("interval").and_then(|i| BillingInterval::parse(i)))
}

/// Our view of a Stripe subscription as observed at `as_of_ms` (Unix milliseconds): for a fetch,
/// the moment just before it was sent; for an answer to our own change, the moment after it
/// came back. Milliseconds, so that a fetch that started before our change and is applied after
/// it (same second) is older and refused, instead of undoing the change.
pub fn state_of(
    outcome: &SubscriptionOutcome,
    interval: Option<BillingInterval>,
    as_of_ms: i64,
) -> StripeSubscriptionState {
    StripeSubscriptionState {
        stripe_subscription_id: outcome.id.clone(),
        status: status_from_stripe(&outcome.status),
        interval,
        current_period_end: outcome.current_period_end.and_then(|t| jiff::Timestamp::from_second(t).ok()),
        cancel_at_period_end: outcome.cancel_at_period_end,
        as_of: as_of_ms,
    }
}

/// Now, in Unix milliseconds, on the app's clock: when a fetch starts or our own change returns.
pub fn observed_now(state: &AppState) -> i64 {
    state.clock.now().as_millisecond()
}

/// Where subscription emails go: the address recorded at subscribe time, or the documented
/// fallback `<userId>@users.azora.local`.
pub fn email_for(user: &UserId, recorded: Option<&str>) -> Result<EmailAddress, Fault> {
    recorded
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(Ok)
        .unwrap_or_else(|| EmailAddress::parse(format!("{}@users.azora.local", user.as_str().replace(['|', '@'], "."))))
        .map_err(Fault::broken)
}

pub fn plan_name(record: &SubscriptionRecord) -> String {
    match record.subscription.interval {
        Some(BillingInterval::Year) => "Pro (yearly)".into(),
        Some(BillingInterval::Month) => "Pro (monthly)".into(),
        None => "Pro".into(),
    }
}

pub async fn notify(state: &AppState, id: String, to: EmailAddress, kind: NotificationKind) -> Result<(), Fault> {
    state.notifier()?.send(&Notification { id, to, kind }).await
}

/// After Stripe ended a subscription: resume on a pending downgrade (yearly → monthly), or drop
/// to Free and tell the user.
pub async fn after_subscription_ended(
    state: &AppState,
    record: &SubscriptionRecord,
    reason: &str,
) -> Result<(), SubscriptionError> {
    if let Some(change) = record.pending_change.as_ref().filter(|c| c.tier == azora_domain::Tier::Pro) {
        let interval = change.interval.unwrap_or(BillingInterval::Month);
        let customer =
            record.stripe_customer_id.clone().ok_or_else(|| Fault::broken("subscription without customer"))?;
        let old = record.stripe_subscription_id.clone().unwrap_or_default();
        let user = &record.user_id;
        // Like a create from the API, the renewal takes the user's slot first (one claim per
        // ended subscription), so it cannot race a create into two live subscriptions.
        let claim_id = crate::idempotency::fingerprint(format!("renew:{user}:{old}").as_bytes());
        let key = format!("renew-{user}-{old}");
        let email = state.store.subscription_email(user).await?;
        match take_slot(state, user, &claim_id, &key).await {
            Ok(Slot::Held) => {}
            Ok(Slot::Adopted(_)) => return Ok(()),
            Err(SubscriptionError::Exists) => {
                tracing::info!(user_id = %user, "a live subscription exists; the pending plan is not started");
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let created = async {
            let price = pro_price_id(state, interval).await.map_err(|e| (SubscriptionError::from(e), true))?;
            let metadata = std::collections::HashMap::from([
                ("userId".to_string(), user.to_string()),
                ("tier".to_string(), "pro".to_string()),
                ("interval".to_string(), interval.as_str().to_string()),
                ("claimId".to_string(), claim_id.clone()),
            ]);
            let stripe = state.stripe().map_err(|e| (e.into(), true))?;
            stripe.create_subscription(&customer, &price, true, metadata, &key).await.map_err(|e| {
                let nothing = certainly_nothing_created(&e);
                (SubscriptionError::Gateway(e), nothing)
            })
        }
        .await;
        let created = match created {
            Ok(created) => created,
            Err((e, nothing_created)) => {
                if nothing_created {
                    release_slot(state, user, &claim_id).await;
                }
                return Err(e);
            }
        };
        match finish_created(state, user, &customer, &claim_id, &created).await {
            Ok(_) => {}
            Err(SubscriptionError::Exists) => return Ok(()),
            Err(e) => return Err(e),
        }
        if let Some(email) = email {
            state.store.set_subscription_email(user, &email).await?;
        }
        telemetry::count("SubscriptionDowngradesApplied", 1);
        return Ok(());
    }
    telemetry::count("SubscriptionsEnded", 1);
    let to = email_for(&record.user_id, state.store.subscription_email(&record.user_id).await?.as_deref())?;
    let id = format!("subscription-ended-{}", record.stripe_subscription_id.clone().unwrap_or_default());
    Ok(notify(
        state,
        id,
        to,
        NotificationKind::SubscriptionEnded { plan: plan_name(record), reason: reason.to_string() },
    )
    .await?)
}

/// Pro's price for display in reminders.
pub fn renewal_amount(interval: BillingInterval) -> Money {
    Money::new(pro_price(interval), Currency::Usd)
}

fn json_state(sub: &serde_json::Value, as_of: i64) -> Option<(UserId, StripeSubscriptionState)> {
    let user = UserId::parse(sub.pointer("/metadata/userId")?.as_str()?).ok()?;
    let state = StripeSubscriptionState {
        stripe_subscription_id: sub.pointer("/id")?.as_str()?.to_string(),
        status: status_from_stripe(sub.pointer("/status")?.as_str()?),
        interval: sub.pointer("/metadata/interval").and_then(|v| v.as_str()).and_then(BillingInterval::parse),
        current_period_end: sub
            .pointer("/items/data/0/current_period_end")
            .and_then(serde_json::Value::as_i64)
            .and_then(|t| jiff::Timestamp::from_second(t).ok()),
        cancel_at_period_end: sub
            .pointer("/cancel_at_period_end")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        as_of,
    };
    Some((user, state))
}

/// `customer.subscription.*`: events may arrive late, twice or out of order (and several in one
/// second), so the event only says *which* subscription changed: its current state is re-read
/// from Stripe and applied unless a newer one was applied already. An ended subscription drops the
/// user to Free (or starts the pending monthly plan).
///
/// States are ordered by when *we* observed them (the fetch's start on the app's clock), never by
/// the event's `created`: that is Stripe's clock, which may run ahead of ours (a test clock, skew),
/// and a "future" stamp would outrank our own later change.
pub async fn apply_subscription_event(state: &AppState, sub: &serde_json::Value) -> Result<(), SubscriptionError> {
    let read_at = observed_now(state);
    let Some((user, from_event)) = json_state(sub, read_at) else {
        tracing::info!("subscription event without our metadata; ignored");
        return Ok(());
    };
    let next = match state.stripe()?.retrieve_subscription(&from_event.stripe_subscription_id).await {
        Ok(fresh) => state_of(&fresh, interval_of(&fresh).or(from_event.interval), read_at),
        // Stripe no longer shows it to us. Only an end is taken from the event itself (nothing
        // undoes an end, so its age does not matter); any other state in it may be stale.
        Err(azora_stripe::GatewayError::Rejected { .. }) if from_event.status == SubscriptionStatus::Canceled => {
            from_event
        }
        Err(azora_stripe::GatewayError::Rejected { .. }) => {
            tracing::warn!(subscription = %from_event.stripe_subscription_id, "subscription event Stripe cannot confirm; ignored");
            return Ok(());
        }
        Err(e) => return Err(SubscriptionError::Gateway(e)),
    };
    let applied = state.store.apply_stripe_state(&user, &next, state.clock.now()).await?;
    if applied
        && next.status == SubscriptionStatus::Canceled
        && let Some(record) = state.store.get_subscription_record(&user).await?
        && record.stripe_subscription_id.as_deref() == Some(next.stripe_subscription_id.as_str())
    {
        after_subscription_ended(state, &record, "canceled").await?;
    }
    Ok(())
}

/// What an invoice event says that the emails need; the subscription's state itself is always
/// re-read from Stripe.
#[derive(Debug, Default)]
pub struct InvoiceEvent<'a> {
    pub id: &'a str,
    pub failed: bool,
    /// `subscription_cycle` for a renewal.
    pub billing_reason: Option<&'a str>,
    pub attempt_count: u32,
    /// Unix seconds of Stripe's next automatic retry, if one is scheduled.
    pub next_payment_attempt: Option<i64>,
    pub amount_paid: i64,
    pub currency: Option<&'a str>,
    pub number: Option<&'a str>,
}

fn day(unix_seconds: i64) -> String {
    jiff::Timestamp::from_second(unix_seconds).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// `invoice.paid` / `invoice.payment_failed`: re-read the subscription from Stripe (the invoice
/// does not carry its state) and apply it. Each failed attempt emails the next retry date and a
/// link to update the card (once per attempt); a paid renewal emails its receipt (once per
/// invoice).
pub async fn apply_invoice_event(
    state: &AppState,
    sub_id: &str,
    invoice: &InvoiceEvent<'_>,
    created: i64,
) -> Result<(), SubscriptionError> {
    // Our clock, not the event's `created` (see `apply_subscription_event`).
    let read_at = observed_now(state);
    let fresh = state.stripe()?.retrieve_subscription(sub_id).await.map_err(SubscriptionError::Gateway)?;
    let Some(user) = fresh.metadata.get("userId").and_then(|u| UserId::parse(u.clone()).ok()) else { return Ok(()) };
    state.store.apply_stripe_state(&user, &state_of(&fresh, interval_of(&fresh), read_at), state.clock.now()).await?;
    count_invoice_attempt(state, invoice, created).await?;
    let renewal_paid =
        !invoice.failed && invoice.billing_reason == Some("subscription_cycle") && invoice.amount_paid > 0;
    if invoice.failed {
        telemetry::count("SubscriptionPaymentsFailed", 1);
    }
    if !invoice.failed && !renewal_paid {
        return Ok(());
    }
    let Some(record) = state
        .store
        .get_subscription_record(&user)
        .await?
        .filter(|r| r.stripe_subscription_id.as_deref() == Some(sub_id))
    else {
        return Ok(());
    };
    let to = email_for(&user, state.store.subscription_email(&user).await?.as_deref())?;
    if invoice.failed {
        let kind = NotificationKind::SubscriptionPaymentFailed {
            plan: plan_name(&record),
            update_card_url: format!("{}/billing/payment-method", state.config.app_base_url.get()?),
            grace_days: *state.config.subscription_grace_days.get()?,
            attempt: invoice.attempt_count.max(1),
            next_attempt: invoice.next_payment_attempt.map(day),
        };
        let id = format!("invoice-failed-{}-{}", invoice.id, invoice.attempt_count.max(1));
        return Ok(notify(state, id, to, kind).await?);
    }
    let currency = invoice.currency.map(str::to_ascii_uppercase).unwrap_or_default();
    let Ok(currency) = azora_domain::Currency::parse(&currency) else {
        tracing::warn!(invoice = invoice.id, "renewal receipt not sent: the invoice has no known currency");
        return Ok(());
    };
    let kind = NotificationKind::SubscriptionRenewed {
        plan: plan_name(&record),
        amount: azora_domain::Money::new(invoice.amount_paid, currency),
        invoice_number: invoice.number.unwrap_or(invoice.id).to_string(),
        paid_on: day(created),
        period_end: fresh.current_period_end.map(day).unwrap_or_default(),
    };
    Ok(notify(state, format!("invoice-paid-{}", invoice.id), to, kind).await?)
}

/// A subscription invoice's payment attempt in the business reports, once: a paid invoice (with
/// money taken) once per invoice, a failed attempt once per invoice and attempt, in the month of
/// the event. An invoice without a known currency is not counted.
async fn count_invoice_attempt(state: &AppState, invoice: &InvoiceEvent<'_>, created: i64) -> Result<(), Fault> {
    let currency = invoice.currency.map(str::to_ascii_uppercase).unwrap_or_default();
    let Ok(currency) = azora_domain::Currency::parse(&currency) else { return Ok(()) };
    let at = jiff::Timestamp::from_second(created).unwrap_or(state.clock.now());
    let (key, counters) = if invoice.failed {
        let attempt = invoice.attempt_count.max(1);
        let failed = ReportCounters { payments_failed: 1, ..ReportCounters::default() };
        (format!("invoice-failed#{}#{attempt}", invoice.id), failed)
    } else if invoice.amount_paid > 0 {
        let paid = ReportCounters {
            payments_succeeded: 1,
            subscription_revenue: invoice.amount_paid,
            ..ReportCounters::default()
        };
        (format!("invoice-paid#{}", invoice.id), paid)
    } else {
        return Ok(());
    };
    state.store.record_report_event(&key, at, currency, &counters).await?;
    Ok(())
}

/// Lease of a subscription slot claim, in real seconds: longer than the create function's timeout
/// (10 s, template.yaml) and the stripe-events worker's (30 s), so the holder of an expired claim
/// is certainly no longer running and cannot create anything any more.
pub const SLOT_LEASE_SECONDS: i64 = 60;

/// What taking the user's subscription slot gave.
#[derive(Debug)]
pub enum Slot {
    /// This claim holds the slot: create under it (with its Stripe idempotency key), then
    /// `finish_created`, or `release_slot` if Stripe certainly created nothing.
    Held,
    /// An earlier attempt of this same claim had created this subscription; it is now recorded.
    Adopted(Box<SubscriptionOutcome>),
}

/// Stripe statuses that no longer bill or grant anything.
fn ended(status: &str) -> bool {
    matches!(status, "canceled" | "incomplete_expired")
}

/// The live Stripe subscriptions created under `claim_id` (found by the `claimId` metadata every
/// create writes), on the user's Stripe customer.
async fn created_under(
    state: &AppState,
    user: &UserId,
    claim_id: &str,
) -> Result<Vec<SubscriptionOutcome>, SubscriptionError> {
    let Some(customer) = state.store.get_stripe_customer(user).await? else { return Ok(Vec::new()) };
    let all = state.stripe()?.list_customer_subscriptions(&customer).await.map_err(SubscriptionError::Gateway)?;
    Ok(all
        .into_iter()
        .filter(|s| s.metadata.get("claimId").map(String::as_str) == Some(claim_id) && !ended(&s.status))
        .collect())
}

fn record_of(user: &UserId, customer: Option<String>, created: &SubscriptionOutcome) -> SubscriptionRecord {
    SubscriptionRecord {
        user_id: user.clone(),
        subscription: azora_domain::subscription::Subscription {
            tier: azora_domain::Tier::Pro,
            status: status_from_stripe(&created.status),
            interval: interval_of(created),
            current_period_end: created.current_period_end.and_then(|t| jiff::Timestamp::from_second(t).ok()),
            cancel_at_period_end: created.cancel_at_period_end,
        },
        stripe_subscription_id: Some(created.id.clone()),
        stripe_customer_id: customer,
        pending_change: None,
        past_due_since: None,
        reminded_period_end: None,
    }
}

/// Records what a (possibly crashed) holder of `claim_id` created, freeing the slot; more than one
/// live subscription under one claim cannot happen with one idempotency key, but would be
/// canceled but for the first.
async fn adopt(
    state: &AppState,
    user: &UserId,
    claim_id: &str,
    found: &[SubscriptionOutcome],
) -> Result<Option<SubscriptionOutcome>, SubscriptionError> {
    let Some(first) = found.first() else { return Ok(None) };
    for extra in &found[1..] {
        tracing::error!(user_id = %user, subscription = %extra.id, "second live subscription under one claim; canceling");
        state.stripe()?.cancel_subscription_now(&extra.id).await.map_err(SubscriptionError::Gateway)?;
    }
    let customer = state.store.get_stripe_customer(user).await?;
    match state.store.finish_subscription_claim(&record_of(user, customer, first), claim_id, state.clock.now()).await {
        Ok(()) => {}
        Err(azora_store::StoreError::ConditionFailed) => {
            let recorded = state.store.get_subscription_record(user).await?;
            if recorded.as_ref().and_then(|r| r.stripe_subscription_id.as_deref()) != Some(first.id.as_str()) {
                // Another live subscription is recorded: this one would bill the customer for
                // nothing.
                tracing::error!(user_id = %user, subscription = %first.id, "orphan under an old claim; canceling");
                state.stripe()?.cancel_subscription_now(&first.id).await.map_err(SubscriptionError::Gateway)?;
                state.store.release_subscription_claim(user, claim_id).await?;
                return Ok(None);
            }
            // Someone adopted it first.
        }
        Err(e) => return Err(e.into()),
    }
    tracing::warn!(user_id = %user, subscription = %first.id, claim_id, "adopted a subscription left by a crashed create");
    telemetry::count("SubscriptionsAdopted", 1);
    Ok(Some(first.clone()))
}

/// Takes the user's one live-subscription slot for `claim_id` before anything is created in
/// Stripe. Refused with 409 `subscription_exists` when a live subscription exists and 409
/// `subscription_in_progress` while another attempt holds the slot. A claim whose lease ran out
/// is taken over only after Stripe shows it created nothing live (what it did create is adopted:
/// the user then has a subscription). A retry of the same claim first looks for what its earlier
/// attempt created, so that it never creates twice, even after Stripe's idempotency window.
pub async fn take_slot(
    state: &AppState,
    user: &UserId,
    claim_id: &str,
    stripe_key: &str,
) -> Result<Slot, SubscriptionError> {
    let now = state.clock.now().as_second();
    let claim = azora_store::subscriptions::SlotClaim {
        claim_id: claim_id.to_string(),
        stripe_key: stripe_key.to_string(),
        lease_until: now + SLOT_LEASE_SECONDS,
        created_at: now,
    };
    let mut replacing: Option<String> = None;
    for _ in 0..3 {
        match state.store.claim_subscription_slot(user, &claim, replacing.as_deref(), now).await? {
            SlotOutcome::Acquired { fresh: true } => return Ok(Slot::Held),
            SlotOutcome::Acquired { fresh: false } => {
                let found = created_under(state, user, claim_id).await?;
                return Ok(match adopt(state, user, claim_id, &found).await? {
                    Some(adopted) => Slot::Adopted(Box::new(adopted)),
                    None => Slot::Held,
                });
            }
            SlotOutcome::Live => return Err(SubscriptionError::Exists),
            SlotOutcome::Held(other) => {
                let retry_after_seconds = u64::try_from(other.lease_until - now).unwrap_or(1).max(1);
                return Err(SubscriptionError::InProgress { retry_after_seconds });
            }
            SlotOutcome::Expired(old) => {
                let found = created_under(state, user, &old.claim_id).await?;
                if adopt(state, user, &old.claim_id, &found).await?.is_some() {
                    return Err(SubscriptionError::Exists);
                }
                replacing = Some(old.claim_id);
            }
        }
    }
    Err(SubscriptionError::Contended)
}

/// Gives the slot back after Stripe certainly created nothing under `claim_id`.
pub async fn release_slot(state: &AppState, user: &UserId, claim_id: &str) {
    if let Err(e) = state.store.release_subscription_claim(user, claim_id).await {
        // The lease runs out in a minute; a takeover then finds nothing and proceeds.
        tracing::warn!(error = %e, user_id = %user, "could not release the subscription slot");
    }
}

/// Whether a failed Stripe call certainly created nothing (Stripe refused it), so the slot may be
/// given back at once; after an outage or timeout the claim stays until its lease runs out.
pub fn certainly_nothing_created(e: &azora_stripe::GatewayError) -> bool {
    match e {
        azora_stripe::GatewayError::Unavailable(_) => false,
        // The key was used before (with other parameters): that request may have created one.
        azora_stripe::GatewayError::Rejected { code, .. } => code != "idempotency_error",
        azora_stripe::GatewayError::CardDeclined { .. } => true,
    }
}

/// Records the subscription created under `claim_id` and frees the slot. If the slot is no longer
/// ours (a live subscription was recorded meanwhile), the new Stripe subscription is an orphan
/// that would bill the customer: it is canceled at once and the caller gets 409.
pub async fn finish_created(
    state: &AppState,
    user: &UserId,
    customer: &str,
    claim_id: &str,
    created: &SubscriptionOutcome,
) -> Result<SubscriptionRecord, SubscriptionError> {
    let record = record_of(user, Some(customer.to_string()), created);
    match state.store.finish_subscription_claim(&record, claim_id, state.clock.now()).await {
        Ok(()) => Ok(record),
        Err(azora_store::StoreError::ConditionFailed) => {
            tracing::error!(user_id = %user, subscription = %created.id, "slot lost after create; canceling the orphan");
            if let Err(e) = state.stripe()?.cancel_subscription_now(&created.id).await {
                telemetry::count("SubscriptionOrphans", 1);
                tracing::error!(error = %e, subscription = %created.id, "could not cancel an orphaned subscription");
            }
            Err(SubscriptionError::Exists)
        }
        Err(e) => Err(e.into()),
    }
}

/// What the billing cycle did with an open slot claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimSettled {
    /// Its lease is running: its holder may still be at work.
    Running,
    /// Its holder crashed after creating in Stripe: the subscription is now recorded.
    Adopted,
    /// Its holder crashed before creating anything live: the slot is free again.
    Released,
    /// It changed meanwhile (finished, retried or taken over): nothing to do.
    Unchanged,
}

/// Settles a claim left by a crashed create that nobody retried, so that a subscription it created
/// in Stripe does not bill the customer unrecorded, and the slot does not stay taken.
pub async fn settle_claim(
    state: &AppState,
    user: &UserId,
    claim: &azora_store::subscriptions::SlotClaim,
) -> Result<ClaimSettled, SubscriptionError> {
    let now = state.clock.now().as_second();
    if claim.lease_until >= now {
        return Ok(ClaimSettled::Running);
    }
    let found = created_under(state, user, &claim.claim_id).await?;
    if adopt(state, user, &claim.claim_id, &found).await?.is_some() {
        return Ok(ClaimSettled::Adopted);
    }
    if state.store.release_expired_subscription_claim(user, &claim.claim_id, now).await? {
        tracing::info!(user_id = %user, claim_id = %claim.claim_id, "released a crashed create's slot claim");
        return Ok(ClaimSettled::Released);
    }
    Ok(ClaimSettled::Unchanged)
}

/// Whether the record is a subscription that still bills or grants (anything but canceled).
pub fn is_live(record: &SubscriptionRecord) -> bool {
    record.subscription.status != SubscriptionStatus::Canceled
}

/// A Pro subscription to create for a user, once per idempotency key.
pub struct NewSubscription<'a> {
    pub interval: BillingInterval,
    /// Charged at once when given (it becomes the customer's default), else the client confirms.
    pub payment_method_id: Option<&'a str>,
    pub idempotency_key: &'a str,
}

/// Creates the user's one live subscription; incomplete until its first invoice is paid.
///
/// Invariant: concurrent creates leave at most one live Stripe subscription. The user's slot is
/// claimed in DynamoDB (conditional on no live subscription and no other running claim) before
/// Stripe is called, so only the claim holder touches Stripe; the others are refused at once. See
/// [`take_slot`] for crashed claims.
pub async fn create(
    state: &AppState,
    subscriber: &crate::auth::Principal,
    new: NewSubscription<'_>,
) -> Result<SubscriptionOutcome, SubscriptionError> {
    let user = &subscriber.user_id;
    if state.store.get_subscription_record(user).await?.as_ref().is_some_and(is_live) {
        return Err(SubscriptionError::Exists);
    }
    // One claim per (user, Idempotency-Key): a retry of this request is the same claim and uses
    // the same Stripe idempotency key.
    let claim_id = crate::idempotency::fingerprint(format!("{user}:{}", new.idempotency_key).as_bytes());
    let key = format!("subscription-{claim_id}");
    if let Slot::Adopted(found) = take_slot(state, user, &claim_id, &key).await? {
        return Ok(*found);
    }
    let (created, customer) = match create_in_stripe(state, subscriber, &new, &claim_id, &key).await {
        Ok(done) => done,
        Err((e, nothing_created)) => {
            if nothing_created {
                release_slot(state, user, &claim_id).await;
            }
            return Err(e);
        }
    };
    finish_created(state, user, &customer, &claim_id, &created).await?;
    if let Some(email) = &subscriber.email {
        state.store.set_subscription_email(user, email.as_str()).await?;
    }
    Ok(created)
}

/// The Stripe side of a create, by the slot's holder: the customer, its default payment method,
/// the price and the subscription (with the claim in its metadata). On failure, also whether
/// Stripe certainly created no subscription.
async fn create_in_stripe(
    state: &AppState,
    subscriber: &crate::auth::Principal,
    new: &NewSubscription<'_>,
    claim_id: &str,
    key: &str,
) -> Result<(SubscriptionOutcome, String), (SubscriptionError, bool)> {
    // Nothing before the create call can create a subscription.
    let customer = crate::payments::customer_of(state, subscriber).await.map_err(|e| (e.into(), true))?;
    let stripe = state.stripe().map_err(|e| (e.into(), true))?;
    if let Some(pm) = new.payment_method_id {
        stripe.set_default_payment_method(&customer, pm).await.map_err(|e| (SubscriptionError::Gateway(e), true))?;
    }
    let price = pro_price_id(state, new.interval).await.map_err(|e| (e.into(), true))?;
    let metadata = std::collections::HashMap::from([
        ("userId".to_string(), subscriber.user_id.to_string()),
        ("tier".to_string(), "pro".to_string()),
        ("interval".to_string(), new.interval.as_str().to_string()),
        ("claimId".to_string(), claim_id.to_string()),
    ]);
    let created = stripe
        .create_subscription(&customer, &price, new.payment_method_id.is_some(), metadata, key)
        .await
        .map_err(|e| {
        let nothing = certainly_nothing_created(&e);
        (SubscriptionError::Gateway(e), nothing)
    })?;
    Ok((created, customer))
}

/// Cancels `user`'s live subscription: at the period end (access until then; shown as a pending
/// change to Free), or at once. Who may ask which is the caller's question.
pub async fn cancel(state: &AppState, user: &UserId, at_period_end: bool) -> Result<String, SubscriptionError> {
    let record = state.store.get_subscription_record(user).await?.filter(is_live).ok_or(SubscriptionError::NotFound)?;
    let sub_id = record.stripe_subscription_id.clone().ok_or(SubscriptionError::NotFound)?;
    let now = state.clock.now();
    let stripe = state.stripe()?;
    let (updated, pending) = if at_period_end {
        let updated = stripe.set_cancel_at_period_end(&sub_id, true).await.map_err(SubscriptionError::Gateway)?;
        let effective_at = record.subscription.current_period_end.unwrap_or(now);
        (
            updated,
            Some(azora_domain::subscription::PendingChange {
                tier: azora_domain::Tier::Free,
                interval: None,
                effective_at,
            }),
        )
    } else {
        (stripe.cancel_subscription_now(&sub_id).await.map_err(SubscriptionError::Gateway)?, None)
    };
    state.store.set_pending_change(user, pending.as_ref()).await?;
    let observed = state_of(&updated, record.subscription.interval, observed_now(state));
    state.store.apply_stripe_state(user, &observed, now).await?;
    Ok(sub_id)
}

//! The payout job (daily): releases earnings whose refund window has passed, then pays each
//! instructor's available balance to their connected account, once per instructor, currency and
//! run (the run is the UTC date unless the input names one).
//!
//! Record before transfer (see `azora_store::payouts`): the payout is reserved in DynamoDB with
//! the exact entries and amount it covers, then transferred with the payout id as Stripe
//! idempotency key, then marked paid. A payout left pending (crash, Stripe down,
//! `balance_insufficient`) is completed by the next run with the same key and amount; it is never
//! reserved twice, so no entry is paid twice, whatever runs overlap or repeat.
//!
//! One instructor's failure does not stop the run: it is logged, counted (`PayoutFailures`) and
//! listed under `failed`; the others are paid. Stripe's `balance_insufficient` (the platform's
//! funds are still pending) leaves the payout pending for the next run (`PayoutsAwaitingFunds`).

use crate::jobs::JobError;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::{Currency, UserId};
use azora_store::payouts::{Payout, PayoutStatus, Reservation};
use azora_stripe::GatewayError;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// What the run did, reported as the job's result.
#[derive(Default)]
struct Report {
    released: u32,
    paid: Vec<Value>,
    skipped: Vec<Value>,
    /// Payouts left pending for the next run (awaiting platform funds).
    awaiting_funds: Vec<Value>,
    failed: Vec<Value>,
}

/// `input.run` names the run (default: today's UTC date), so an operator can run an extra payout.
pub async fn run(input: Value, state: Arc<AppState>) -> Result<Value, JobError> {
    let now = state.clock.now();
    let run_id = match input.get("run").and_then(Value::as_str) {
        Some(run)
            if !run.is_empty() && run.len() <= 40 && run.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            run.to_string()
        }
        Some(_) => {
            return Err(JobError::BadInput("run must be 1 to 40 letters, digits or dashes".into()));
        }
        None => now.strftime("%Y-%m-%d").to_string(),
    };
    let mut report = Report::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = state.store.balances_page(100, cursor.as_deref()).await?;
        for balance in &page.items {
            let (Ok(instructor), Ok(currency)) =
                (UserId::parse(&balance.instructor_id), Currency::parse(&balance.currency))
            else {
                continue;
            };
            let who = json!({ "instructorId": instructor, "currency": currency });
            if let Err(e) = pay_instructor(&state, &instructor, currency, &run_id, now, &mut report).await {
                tracing::error!(
                    instructor = %instructor, currency = currency.code(), run = %run_id, code = e.code(), error = %e,
                    "payout failed; the run goes on"
                );
                telemetry::count("PayoutFailures", 1);
                report.failed.push(json!({ "who": who, "code": e.code(), "error": e.to_string() }));
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if !report.failed.is_empty() || !report.awaiting_funds.is_empty() {
        tracing::warn!(
            run = %run_id, failures = report.failed.len(), awaiting_funds = report.awaiting_funds.len(),
            paid = report.paid.len(), "payout run finished with unpaid instructors"
        );
    }
    Ok(json!({
        "job": "instructor-payouts",
        "run": run_id,
        "released": report.released,
        "paid": report.paid,
        "skipped": report.skipped,
        "awaitingFunds": report.awaiting_funds,
        "failed": report.failed,
        "failures": report.failed.len(),
    }))
}

/// One instructor and currency: release what is due, finish pending payouts, then this run's.
async fn pay_instructor(
    state: &AppState,
    instructor: &UserId,
    currency: Currency,
    run_id: &str,
    now: Timestamp,
    report: &mut Report,
) -> Result<(), JobError> {
    let who = json!({ "instructorId": instructor, "currency": currency });
    report.released += state.store.release_due(instructor, currency, now).await?;

    // Earlier runs' payouts first, with their own keys and amounts; none is ever reserved again.
    for pending in state.store.pending_payouts(instructor, currency).await? {
        if !complete(state, &pending, true, now, report).await? {
            // The platform's funds are still pending: nothing more for this instructor today.
            return Ok(());
        }
    }

    let current = state.store.balance(instructor, currency).await?;
    if current.available <= 0 {
        report.skipped.push(json!({ "who": who, "reason": "nothing available", "available": current.available }));
        return Ok(());
    }
    if state.store.get_payout(instructor, currency, run_id).await?.is_some_and(|p| p.status == PayoutStatus::Paid) {
        report.skipped.push(json!({ "who": who, "reason": "already paid in this run" }));
        return Ok(());
    }
    let Some(account) = state.store.payout_account(instructor).await?.filter(|a| a.payouts_enabled) else {
        report.skipped.push(json!({ "who": who, "reason": "payouts not enabled" }));
        return Ok(());
    };
    match state.store.reserve_payout(instructor, currency, run_id, &account.account_id, now).await? {
        Reservation::Created(payout) => {
            complete(state, &payout, false, now, report).await?;
        }
        Reservation::Exists(payout) if payout.status == PayoutStatus::Pending => {
            // A concurrent run reserved it a moment ago: finish it with the same key.
            complete(state, &payout, true, now, report).await?;
        }
        Reservation::Exists(_) => report.skipped.push(json!({ "who": who, "reason": "already paid in this run" })),
        Reservation::Nothing { available } => {
            report.skipped.push(json!({ "who": who, "reason": "nothing available", "available": available }))
        }
    }
    Ok(())
}

/// Transfers a reserved payout (idempotently) and records it paid. `retry`: an earlier attempt may
/// have reached Stripe, so look for its transfer first (Stripe forgets idempotency keys after
/// about a day). `Ok(false)` when the platform's balance cannot fund it yet.
async fn complete(
    state: &AppState,
    payout: &Payout,
    retry: bool,
    now: Timestamp,
    report: &mut Report,
) -> Result<bool, JobError> {
    let who = json!({ "instructorId": payout.instructor_id, "currency": payout.amount.currency });
    match transfer(state, payout, retry).await {
        Ok(transfer_id) => {
            if state.store.complete_payout(payout, &transfer_id, now).await? {
                telemetry::count("PayoutsSent", 1);
                report.paid.push(json!({
                    "who": who, "payoutId": payout.id, "run": payout.run,
                    "amount": payout.amount.amount, "transferId": transfer_id
                }));
            } else {
                report.skipped.push(json!({ "who": who, "reason": "already paid", "payoutId": payout.id }));
            }
            Ok(true)
        }
        Err(e) => {
            let awaiting = matches!(&e, GatewayError::Rejected { code, .. } if code == "balance_insufficient");
            if let Err(note) = state.store.note_payout_failure(payout, &e.to_string(), now).await {
                tracing::warn!(payout = %payout.id, error = %note, "could not note the failed attempt");
            }
            if awaiting {
                tracing::warn!(
                    payout = %payout.id, amount = payout.amount.amount, error = %e,
                    "platform balance insufficient; the payout stays pending for the next run"
                );
                telemetry::count("PayoutsAwaitingFunds", 1);
                report.awaiting_funds.push(json!({
                    "who": who, "payoutId": payout.id, "run": payout.run, "amount": payout.amount.amount
                }));
                return Ok(false);
            }
            Err(e.into())
        }
    }
}

async fn transfer(state: &AppState, payout: &Payout, retry: bool) -> Result<String, GatewayError> {
    let stripe = state.stripe().map_err(|e| GatewayError::Unavailable(e.to_string()))?;
    if retry && let Some(found) = stripe.find_transfer(&payout.id, &payout.account_id, payout.amount).await? {
        return Ok(found);
    }
    let metadata = HashMap::from([
        ("instructorId".to_string(), payout.instructor_id.to_string()),
        ("run".to_string(), payout.run.clone()),
        ("payoutId".to_string(), payout.id.clone()),
    ]);
    stripe.create_transfer(payout.amount, &payout.account_id, &payout.id, metadata, &payout.id).await
}

//! The payout job (daily): releases earnings whose refund window has passed, then transfers each
//! instructor's available balance to their connected account, once per instructor, currency and
//! run (the run is the UTC date unless the input names one; a second run finds the payout recorded and the
//! transfer's idempotency key makes even a crashed run safe to repeat).

use crate::error::ApiError;
use crate::handlers::payments::gateway_error;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::{Currency, Money, UserId};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// `input.run` names the run (default: today's UTC date), so an operator can run an extra payout.
pub async fn run(input: Value, state: Arc<AppState>) -> Result<Value, ApiError> {
    let now = jiff::Timestamp::now();
    let run_id = match input.get("run").and_then(Value::as_str) {
        Some(run)
            if !run.is_empty() && run.len() <= 40 && run.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            run.to_string()
        }
        Some(_) => {
            return Err(ApiError::bad_request("validation_failed", "run must be 1 to 40 letters, digits or dashes"));
        }
        None => now.strftime("%Y-%m-%d").to_string(),
    };
    let mut released = 0;
    let mut paid = Vec::new();
    let mut skipped = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = state.store.balances_page(100, cursor.as_deref()).await?;
        for balance in &page.items {
            let (Ok(instructor), Ok(currency)) =
                (UserId::parse(&balance.instructor_id), Currency::parse(&balance.currency))
            else {
                continue;
            };
            released += state.store.release_due(&instructor, currency, now).await?;
            let current = state.store.balance(&instructor, currency).await?;
            let who = json!({ "instructorId": instructor, "currency": currency });
            if current.available <= 0 {
                skipped.push(json!({ "who": who, "reason": "nothing available", "available": current.available }));
                continue;
            }
            if state.store.payout_exists(&instructor, currency, &run_id).await? {
                skipped.push(json!({ "who": who, "reason": "already paid in this run" }));
                continue;
            }
            let Some(account) = state.store.payout_account(&instructor).await?.filter(|a| a.payouts_enabled) else {
                skipped.push(json!({ "who": who, "reason": "payouts not enabled" }));
                continue;
            };
            let amount = Money::new(current.available, currency);
            let metadata = HashMap::from([
                ("instructorId".to_string(), instructor.to_string()),
                ("run".to_string(), run_id.clone()),
            ]);
            let key = format!("payout-{instructor}-{}-{run_id}", currency.code());
            let transfer = state
                .stripe
                .create_transfer(amount, &account.account_id, &format!("payout-{run_id}"), metadata, &key)
                .await
                .map_err(gateway_error)?;
            if state.store.record_payout(&instructor, amount, &run_id, &transfer, now).await? {
                telemetry::count("PayoutsSent", 1);
                paid.push(json!({ "who": who, "amount": amount.amount, "transferId": transfer }));
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(json!({ "job": "instructor-payouts", "run": run_id, "released": released, "paid": paid, "skipped": skipped }))
}

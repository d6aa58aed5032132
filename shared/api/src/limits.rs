//! Abuse limits on endpoints that cost money or reach people: card testing (declined payment
//! attempts) and ticket floods (each ticket emails support). Each budget is a fixed window counted
//! in DynamoDB (`Store::hit_rate_limit`), per user and per source IP, so neither many addresses
//! against one account nor one address cycling through accounts gets past it. Over a budget the
//! API answers 429 `rate_limited` with `Retry-After` (`catalogue.rs`).

use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::UserId;
use azora_store::rate_limit::RateDecision;

/// One budget: how many per user and per source IP in each window.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// The counters' key prefix.
    pub scope: &'static str,
    /// What is counted, for the error message.
    pub what: &'static str,
    pub per_user: u32,
    pub per_ip: u32,
    pub window_seconds: i64,
}

/// Declined card payments: a buyer mistyping a card declines a few times, a card tester hundreds.
pub const DECLINED_PAYMENTS: Limit = Limit {
    scope: "declined-payments",
    what: "declined payment attempts",
    per_user: 5,
    per_ip: 20,
    window_seconds: 3600,
};

/// Support tickets an organisation's users file (each is emailed to support).
pub const SUPPORT_TICKETS: Limit =
    Limit { scope: "support-tickets", what: "support tickets", per_user: 10, per_ip: 30, window_seconds: 3600 };

/// Who is counted: the signed-in user and the address the request came from.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user: &'a UserId,
    pub ip: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("at most {limit} {what} per {per} in {window_minutes} minutes; retry after {retry_after_seconds} s")]
    Exceeded { what: &'static str, limit: u32, per: &'static str, window_minutes: i64, retry_after_seconds: u64 },
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<azora_store::StoreError> for LimitError {
    fn from(e: azora_store::StoreError) -> Self {
        LimitError::Fault(e.into())
    }
}

/// The two counters of a caller: (counter id, its limit, what it is per).
fn counters(limit: &Limit, caller: Caller<'_>) -> [(String, u32, &'static str); 2] {
    [(format!("user:{}", caller.user), limit.per_user, "user"), (format!("ip:{}", caller.ip), limit.per_ip, "address")]
}

fn exceeded(limit: &Limit, max: u32, per: &'static str, retry_after_seconds: u64) -> LimitError {
    LimitError::Exceeded {
        what: limit.what,
        limit: max,
        per,
        window_minutes: limit.window_seconds / 60,
        retry_after_seconds,
    }
}

/// Spends one unit of the caller's budget (user, then address); refused when either is spent.
/// In order: an exhausted user budget spends nothing of the address's.
pub async fn spend(state: &AppState, limit: &Limit, caller: Caller<'_>) -> Result<(), LimitError> {
    let now = state.clock.now().as_second();
    for (counter, max, per) in counters(limit, caller) {
        let decision = state.store.hit_rate_limit(limit.scope, &counter, max, limit.window_seconds, now).await?;
        if let RateDecision::Limited { retry_after_seconds } = decision {
            return Err(exceeded(limit, max, per, retry_after_seconds));
        }
    }
    Ok(())
}

/// For a budget of failures, which are known only after the attempt: refused when the caller's
/// budget is spent, counting nothing. Both budgets are read at once (nothing is written).
pub async fn ensure_left(state: &AppState, limit: &Limit, caller: Caller<'_>) -> Result<(), LimitError> {
    let now = state.clock.now().as_second();
    let [user, address] = counters(limit, caller);
    let (scope, window) = (limit.scope, limit.window_seconds);
    let (by_user, by_address) = futures::try_join!(
        state.store.peek_rate_limit(scope, &user.0, user.1, window, now),
        state.store.peek_rate_limit(scope, &address.0, address.1, window, now)
    )?;
    for ((_, max, per), decision) in [(user, by_user), (address, by_address)] {
        if let RateDecision::Limited { retry_after_seconds } = decision {
            return Err(exceeded(limit, max, per, retry_after_seconds));
        }
    }
    Ok(())
}

/// Counts one failure against both of the caller's budgets.
pub async fn record_failure(state: &AppState, limit: &Limit, caller: Caller<'_>) -> Result<(), Fault> {
    let now = state.clock.now().as_second();
    for (counter, max, _) in counters(limit, caller) {
        state.store.hit_rate_limit(limit.scope, &counter, max, limit.window_seconds, now).await?;
    }
    Ok(())
}

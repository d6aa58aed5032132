//! Business reports (issue #14 item 8): read back the aggregates that the money and subscription
//! transactions maintain (`azora_store::reports`; definitions in `azora_domain::reports`). Every
//! read is by key (`BatchGetItem`) or one partition of per-instructor items; nothing scans events.

use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::Currency;
use azora_domain::audit::month_of;
use azora_domain::reports::{
    InstructorCounters, MAX_REPORT_MONTHS, ReportCounters, month_at, month_index, month_range, success_rate,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// How far after the range the months are read to work out each month's closing MRR (the running
/// MRR less the changes of the months after it). Past that the closing MRR is not given (`null`).
pub const MRR_LOOKBACK_MONTHS: i64 = 120;

/// Why a range cannot be reported.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("`to` is before `from`, or the range is longer than {MAX_REPORT_MONTHS} months")]
    InvalidRange,
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<azora_store::StoreError> for ReportError {
    fn from(e: azora_store::StoreError) -> Self {
        ReportError::Fault(e.into())
    }
}

/// One month in one currency.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyMonth {
    pub currency: Currency,
    #[serde(flatten)]
    pub counters: ReportCounters,
    /// `paymentsSucceeded / (paymentsSucceeded + paymentsFailed)`, `null` without attempts.
    pub payment_success_rate: Option<f64>,
    /// MRR at the end of the month (minor units), `null` when not worked out (see
    /// [`MRR_LOOKBACK_MONTHS`]); present in the MRR currency only.
    pub mrr: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Month {
    pub month: String,
    pub currencies: Vec<CurrencyMonth>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mrr {
    pub currency: Currency,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyReport {
    pub from: String,
    pub to: String,
    /// The running MRR now, per currency.
    pub mrr_now: Vec<Mrr>,
    pub months: Vec<Month>,
}

/// The months `from`..=`to` (each `yyyy-mm`, at most [`MAX_REPORT_MONTHS`]).
pub async fn monthly(state: &AppState, from: &str, to: &str) -> Result<MonthlyReport, ReportError> {
    let months = month_range(from, to, MAX_REPORT_MONTHS).ok_or(ReportError::InvalidRange)?;
    let (first, last) = (month_index(from).unwrap_or(0), month_index(to).unwrap_or(0));
    // The months after the range up to next month (an event stamped a little ahead of our clock),
    // for the closing MRR.
    let current = month_index(&month_of(state.clock.now())).unwrap_or(last);
    let after_end = (current + 1).max(last);
    let closing_known = after_end - last <= MRR_LOOKBACK_MONTHS;
    let mut wanted = months.clone();
    if closing_known {
        wanted.extend((last + 1..=after_end).map(month_at));
    }
    let (found, mrr_now) = tokio::try_join!(state.store.report_months(&wanted), state.store.mrr_now())?;
    let mut by_month: BTreeMap<String, Vec<(Currency, ReportCounters)>> = BTreeMap::new();
    for (month, currency, counters) in found {
        by_month.entry(month).or_default().push((currency, counters));
    }
    // Closing MRR per currency, newest month first: running MRR less the later months' changes.
    let mut closing: BTreeMap<(String, Currency), i64> = BTreeMap::new();
    if closing_known {
        for (currency, now) in &mrr_now {
            let mut running = *now;
            for index in (first..=after_end).rev() {
                let month = month_at(index);
                closing.insert((month.clone(), *currency), running);
                let change: i64 = by_month
                    .get(&month)
                    .into_iter()
                    .flatten()
                    .filter(|(c, _)| c == currency)
                    .map(|(_, counters)| counters.mrr_change)
                    .sum();
                running -= change;
            }
        }
    }
    let report_months = months
        .iter()
        .map(|month| {
            let mut rows: BTreeMap<&'static str, (Currency, ReportCounters)> = BTreeMap::new();
            for (currency, counters) in by_month.get(month).into_iter().flatten() {
                rows.insert(currency.code(), (*currency, *counters));
            }
            for ((m, currency), value) in &closing {
                if m == month && *value != 0 {
                    rows.entry(currency.code()).or_insert((*currency, ReportCounters::default()));
                }
            }
            let currencies = rows
                .into_values()
                .map(|(currency, counters)| CurrencyMonth {
                    currency,
                    counters,
                    payment_success_rate: success_rate(counters.payments_succeeded, counters.payments_failed),
                    mrr: closing.get(&(month.clone(), currency)).copied().or(closing_known.then_some(0)),
                })
                .collect();
            Month { month: month.clone(), currencies }
        })
        .collect();
    Ok(MonthlyReport {
        from: from.to_string(),
        to: to.to_string(),
        mrr_now: mrr_now.into_iter().map(|(currency, amount)| Mrr { currency, amount }).collect(),
        months: report_months,
    })
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstructorMonth {
    pub instructor_id: String,
    pub currency: Currency,
    #[serde(flatten)]
    pub counters: InstructorCounters,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstructorsReport {
    pub month: String,
    pub items: Vec<InstructorMonth>,
    pub next_cursor: Option<String>,
}

/// Revenue and payouts by instructor in `month`, a page at a time (by instructor id).
pub async fn instructors(
    state: &AppState,
    month: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<InstructorsReport, ReportError> {
    let page = state.store.instructor_reports(month, limit, cursor).await?;
    Ok(InstructorsReport {
        month: month.to_string(),
        items: page
            .items
            .into_iter()
            .map(|r| InstructorMonth { instructor_id: r.instructor_id, currency: r.currency, counters: r.counters })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

//! Business reports: per month (UTC) and currency, counted in the same transactions as the events
//! they count (never recomputed by scanning), and read back by key.
//!
//! Definitions:
//! - **payments succeeded / failed**: payment attempts — a course payment fulfilled (once per
//!   payment), a declined or failed course payment attempt (once per transition to `failed`), a paid
//!   subscription invoice (once per invoice) and a failed subscription invoice attempt (once per
//!   invoice and attempt). The success rate is `succeeded / (succeeded + failed)`, computed when
//!   read.
//! - **revenue**: course sales when fulfilled, gross (the cash received), the instructors' share
//!   (`floor(70 %)` per item) and the platform's (the rest); subscription invoices paid add to
//!   `subscriptionRevenue`.
//! - **refunds**: refunds counted (ours and those made in Stripe's dashboard), count and amount; a
//!   refund that fails afterwards subtracts itself in the month the failure is learned (net figures).
//! - **disputes**: opened (count) and lost (count and amount; a lost dispute is money given back
//!   like a refund, but counted here, not under refunds).
//! - **payouts**: transfers to instructors recorded paid, count and amount.
//! - **MRR** (monthly recurring revenue): the sum of every subscription's
//!   [`monthly_contribution`]. Like Stripe's billing analytics, `active` and `past_due`
//!   subscriptions count; `trialing`, `incomplete` and `canceled` do not. A change of a
//!   subscription's contribution is a movement: **new** (from nothing), **expansion** (up),
//!   **contraction** (down, still paying) or **churn** (to nothing). A subscription moving from
//!   nothing to something counts as a new subscription, from something to nothing as churned.

use crate::audit::parse_month;
use crate::money::Currency;
use crate::subscription::{BillingInterval, SubscriptionStatus, pro_price};
use crate::tiers::Tier;
use serde::Serialize;

/// The currency subscriptions are sold in (Pro's prices), so the currency of MRR.
pub const MRR_CURRENCY: Currency = Currency::Usd;

/// The widest range one report request may ask for.
pub const MAX_REPORT_MONTHS: i64 = 24;

/// A yearly price as a monthly amount in minor units: `yearly / 12`, rounded to the nearest minor
/// unit, halves up (`(yearly + 6) / 12` for non-negative prices; negative ones mirror it). So
/// twelve months are within 6 minor units of the yearly price, and exact whenever it divides by 12.
pub fn monthly_of_yearly(yearly: i64) -> i64 {
    if yearly >= 0 { (yearly + 6) / 12 } else { -((-yearly + 6) / 12) }
}

/// What a price billed every `interval` contributes to MRR per month.
pub fn monthly_amount(price: i64, interval: BillingInterval) -> i64 {
    match interval {
        BillingInterval::Month => price,
        BillingInterval::Year => monthly_of_yearly(price),
    }
}

/// Whether a subscription in this status counts toward MRR (Stripe's rule: active and past due).
pub fn counts_toward_mrr(status: SubscriptionStatus) -> bool {
    matches!(status, SubscriptionStatus::Active | SubscriptionStatus::PastDue)
}

/// A subscription's contribution to MRR in minor units of USD (the currency Pro is sold in).
/// Only Pro is sold as a subscription; Enterprise is sold per seat through licenses (invoiced, not
/// recurring revenue here), and Free pays nothing.
pub fn monthly_contribution(tier: Tier, interval: Option<BillingInterval>, status: SubscriptionStatus) -> i64 {
    match (tier, interval) {
        (Tier::Pro, Some(interval)) if counts_toward_mrr(status) => monthly_amount(pro_price(interval), interval),
        _ => 0,
    }
}

/// How a change of one subscription's contribution moves MRR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrrMovement {
    None,
    New(i64),
    Expansion(i64),
    Contraction(i64),
    Churn(i64),
}

impl MrrMovement {
    pub fn between(before: i64, after: i64) -> Self {
        match (before, after) {
            (b, a) if b == a => MrrMovement::None,
            (0, a) => MrrMovement::New(a),
            (b, 0) => MrrMovement::Churn(b),
            (b, a) if a > b => MrrMovement::Expansion(a - b),
            (b, a) => MrrMovement::Contraction(b - a),
        }
    }

    /// The counters this movement adds to its month (the running MRR moves by `mrr_change`).
    pub fn counters(self) -> ReportCounters {
        let mut c = ReportCounters::default();
        match self {
            MrrMovement::None => {}
            MrrMovement::New(a) => {
                c.subscriptions_new = 1;
                c.mrr_new = a;
                c.mrr_change = a;
            }
            MrrMovement::Expansion(a) => {
                c.mrr_expansion = a;
                c.mrr_change = a;
            }
            MrrMovement::Contraction(a) => {
                c.mrr_contraction = a;
                c.mrr_change = -a;
            }
            MrrMovement::Churn(a) => {
                c.subscriptions_churned = 1;
                c.mrr_churned = a;
                c.mrr_change = -a;
            }
        }
        c
    }
}

macro_rules! counters {
    ($(#[$meta:meta])* $name:ident { $($field:ident => $attr:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(pub $field: i64,)*
        }

        impl $name {
            /// The counter attribute names and values, for an atomic `ADD` of the non-zero ones.
            pub fn fields(&self) -> Vec<(&'static str, i64)> {
                vec![$(($attr, self.$field),)*]
            }

            pub fn from_fields(mut get: impl FnMut(&str) -> i64) -> Self {
                Self { $($field: get($attr),)* }
            }

            pub fn add(&mut self, o: &Self) {
                $(self.$field += o.$field;)*
            }

            pub fn is_zero(&self) -> bool {
                self.fields().iter().all(|(_, v)| *v == 0)
            }
        }
    };
}

counters! {
    /// One month's counters in one currency (or deltas to add to them).
    ReportCounters {
        payments_succeeded => "paymentsSucceeded",
        payments_failed => "paymentsFailed",
        revenue_gross => "revenueGross",
        revenue_instructor => "revenueInstructor",
        revenue_platform => "revenuePlatform",
        subscription_revenue => "subscriptionRevenue",
        refunds_count => "refundsCount",
        refunds_amount => "refundsAmount",
        disputes_opened => "disputesOpened",
        disputes_lost => "disputesLost",
        disputes_lost_amount => "disputesLostAmount",
        payouts_count => "payoutsCount",
        payouts_amount => "payoutsAmount",
        subscriptions_new => "subscriptionsNew",
        subscriptions_churned => "subscriptionsChurned",
        mrr_new => "mrrNew",
        mrr_expansion => "mrrExpansion",
        mrr_contraction => "mrrContraction",
        mrr_churned => "mrrChurned",
        mrr_change => "mrrChange",
    }
}

counters! {
    /// One instructor's month in one currency (or deltas to add to it).
    InstructorCounters {
        sales_count => "salesCount",
        revenue_gross => "revenueGross",
        revenue_instructor => "revenueInstructor",
        revenue_platform => "revenuePlatform",
        refunds_gross => "refundsGross",
        refunds_instructor => "refundsInstructor",
        payouts_count => "payoutsCount",
        payouts_amount => "payoutsAmount",
    }
}

/// The months from `from` to `to` (`yyyy-mm`, inclusive), oldest first; `None` when either is
/// not a month, `to` is before `from`, or the range is longer than `max` months.
pub fn month_range(from: &str, to: &str, max: i64) -> Option<Vec<String>> {
    let (from, to) = (parse_month(from)?, parse_month(to)?);
    let (a, b) = (month_index(&from)?, month_index(&to)?);
    if b < a || b - a + 1 > max {
        return None;
    }
    Some((a..=b).map(month_at).collect())
}

/// Months since year 0 (`yyyy-mm` → `12 × yyyy + mm − 1`).
pub fn month_index(month: &str) -> Option<i64> {
    let (y, m) = month.split_once('-')?;
    Some(y.parse::<i64>().ok()? * 12 + m.parse::<i64>().ok()? - 1)
}

/// The month of a [`month_index`].
pub fn month_at(index: i64) -> String {
    format!("{:04}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

/// `succeeded / (succeeded + failed)`, or `None` when nothing was attempted.
pub fn success_rate(succeeded: i64, failed: i64) -> Option<f64> {
    let attempts = succeeded + failed;
    (attempts > 0).then(|| succeeded as f64 / attempts as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pro_contributes_its_monthly_price_while_active_or_past_due() {
        use SubscriptionStatus::*;
        let month = Some(BillingInterval::Month);
        let year = Some(BillingInterval::Year);
        assert_eq!(monthly_contribution(Tier::Pro, month, Active), 1_200);
        assert_eq!(monthly_contribution(Tier::Pro, year, Active), 1_000);
        assert_eq!(monthly_contribution(Tier::Pro, year, PastDue), 1_000);
        for status in [Trialing, Incomplete, Canceled] {
            assert_eq!(monthly_contribution(Tier::Pro, month, status), 0);
        }
        assert_eq!(monthly_contribution(Tier::Free, month, Active), 0);
        assert_eq!(monthly_contribution(Tier::Enterprise, month, Active), 0);
        assert_eq!(monthly_contribution(Tier::Pro, None, Active), 0);
    }

    #[test]
    fn yearly_prices_round_half_up() {
        assert_eq!(monthly_of_yearly(12_000), 1_000);
        assert_eq!(monthly_of_yearly(11_999), 1_000); // 999.92
        assert_eq!(monthly_of_yearly(11_994), 1_000); // 999.5: halves up
        assert_eq!(monthly_of_yearly(11_993), 999); // 999.42
        assert_eq!(monthly_of_yearly(5), 0);
        assert_eq!(monthly_of_yearly(6), 1);
        assert_eq!(monthly_of_yearly(-6), -1);
    }

    #[test]
    fn movements_classify_changes_of_contribution() {
        assert_eq!(MrrMovement::between(0, 1_200), MrrMovement::New(1_200));
        assert_eq!(MrrMovement::between(1_000, 1_200), MrrMovement::Expansion(200));
        assert_eq!(MrrMovement::between(1_200, 1_000), MrrMovement::Contraction(200));
        assert_eq!(MrrMovement::between(1_200, 0), MrrMovement::Churn(1_200));
        assert_eq!(MrrMovement::between(1_200, 1_200), MrrMovement::None);
        let c = MrrMovement::between(1_200, 0).counters();
        assert_eq!((c.subscriptions_churned, c.mrr_churned, c.mrr_change), (1, 1_200, -1_200));
        assert!(MrrMovement::None.counters().is_zero());
    }

    #[test]
    fn month_ranges_are_bounded_and_ordered() {
        assert_eq!(month_range("2026-11", "2027-02", 24).unwrap(), ["2026-11", "2026-12", "2027-01", "2027-02"]);
        assert_eq!(month_range("2026-11", "2026-11", 24).unwrap(), ["2026-11"]);
        assert!(month_range("2026-12", "2026-11", 24).is_none());
        assert!(month_range("2025-01", "2026-12", 24).is_some());
        assert!(month_range("2024-12", "2026-12", 24).is_none());
        assert!(month_range("2026-13", "2026-12", 24).is_none());
        assert_eq!(success_rate(3, 1), Some(0.75));
        assert_eq!(success_rate(0, 0), None);
    }

    proptest! {
        #[test]
        fn monthly_of_yearly_is_the_nearest_minor_unit(yearly in 0i64..1_000_000_000_000) {
            let m = monthly_of_yearly(yearly);
            // Twelve months differ from the year by at most half a month's rounding (6 units).
            prop_assert!((12 * m - yearly).abs() <= 6);
            // Nearest, halves up: 12m − 6 ≤ yearly < 12m + 6.
            prop_assert!(12 * m - 6 <= yearly && yearly < 12 * m + 6);
            if yearly % 12 == 0 {
                prop_assert_eq!(m * 12, yearly);
            }
            prop_assert_eq!(monthly_of_yearly(-yearly), -m);
            prop_assert!(monthly_of_yearly(yearly + 1) >= m);
        }

        #[test]
        fn movements_add_up_to_the_change(before in 0i64..100_000, after in 0i64..100_000) {
            let c = MrrMovement::between(before, after).counters();
            prop_assert_eq!(c.mrr_change, after - before);
            prop_assert_eq!(c.mrr_new + c.mrr_expansion - c.mrr_contraction - c.mrr_churned, after - before);
        }

        #[test]
        fn month_index_round_trips(index in 0i64..120_000) {
            let month = month_at(index);
            prop_assert_eq!(month_index(&month), Some(index));
            prop_assert!(parse_month(&month).is_some());
        }
    }
}

//! Tokens: the ledger's rules, completion awards, the redemption catalog and vouchers.
//!
//! **Ledger**: every change of a balance is one immutable entry (`award` | `redeem` | `reversal` |
//! `adjust`) carrying the balance after it. Entries are numbered per user (1, 2, 3, …): entry `n`
//! is written together with the account at version `n`, so `balanceAfter` is exact and the
//! balance always equals the sum of the deltas. A `sourceKey` (e.g. `completion#<courseId>`,
//! `redeem#<idempotency key>`, `voucher-refund#<paymentId>`) can be used once per user, ever.
//!
//! **Completion award** (integers only, every division floors):
//! ```text
//! tiered = floor(base × tierMultiplierPercent / 100)       free 100, pro 150, enterprise 200
//! bonus  = floor(tiered × streakBonusPercent / 100)         min(10 × (streakDays − 1), 50)
//! amount = tiered + bonus
//! ```
//! e.g. base 100 on Pro on the 3rd day of a streak: tiered 150, bonus 20 % = 30, amount 180.
//!
//! **Vouchers** (see [`apply_voucher`]): the discount is `min(voucher value, order total − the
//! Stripe minimum charge of the currency)`, so the card is always charged at least the minimum;
//! the currency must match; the voucher is used whole, once.

use crate::error::ValidationError;
use crate::ids::UserId;
use crate::leaderboard::week_id;
use crate::money::{Currency, Money};
use crate::streak::{Streak, bonus_percent};
use crate::tiers::Tier;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The largest single award or adjustment an admin may make.
pub const MAX_MANUAL_AMOUNT: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// Tokens earned (course completions, manual awards). Counts on leaderboards.
    Award,
    /// Tokens spent on a reward.
    Redeem,
    /// Tokens returned because what they bought was undone (a refunded voucher purchase).
    Reversal,
    /// An operator's correction (a negative manual award).
    Adjust,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Award => "award",
            LedgerKind::Redeem => "redeem",
            LedgerKind::Reversal => "reversal",
            LedgerKind::Adjust => "adjust",
        }
    }

    pub fn parse(raw: &str) -> Option<LedgerKind> {
        [LedgerKind::Award, LedgerKind::Redeem, LedgerKind::Reversal, LedgerKind::Adjust]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// One ledger entry as stored. Never updated or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: String,
    pub user_id: UserId,
    /// The entry's number in the user's ledger (= the account version it produced).
    pub seq: u64,
    pub delta: i64,
    pub kind: LedgerKind,
    pub reason: String,
    pub source_key: String,
    pub balance_after: i64,
    pub created_at: Timestamp,
    /// Facts about the entry (course, multiplier, streak, reward, voucher...).
    pub details: serde_json::Value,
}

/// A user's token account: the balance and what the ledger implies about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenAccount {
    /// The number of entries applied (0 for a new account).
    pub version: u64,
    pub balance: i64,
    /// Sum of `award` entries.
    pub lifetime_earned: i64,
    /// Tokens spent on rewards and not returned: `redeem` debits minus `reversal` credits.
    pub lifetime_redeemed: i64,
    pub streak: Streak,
    /// The ISO week of the latest award and what was earned in it (the weekly board's score).
    pub week_id: Option<String>,
    pub week_earned: i64,
    /// The last IANA time zone a completion event carried.
    pub time_zone: Option<String>,
    /// The last email address an award event carried (digests go there).
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LedgerRefusal {
    #[error("the balance of {balance} tokens does not cover {needed}")]
    InsufficientBalance { balance: i64, needed: i64 },
    #[error("a {kind} entry cannot have a delta of {delta}")]
    InvalidDelta { kind: &'static str, delta: i64 },
    #[error("the amount is out of range")]
    Overflow,
}

impl TokenAccount {
    /// The account after one entry at `at`, or why the entry is refused. The balance never goes
    /// below zero.
    pub fn apply(&self, kind: LedgerKind, delta: i64, at: Timestamp) -> Result<TokenAccount, LedgerRefusal> {
        let sign_ok = match kind {
            LedgerKind::Award | LedgerKind::Reversal => delta > 0,
            LedgerKind::Redeem => delta < 0,
            LedgerKind::Adjust => delta != 0,
        };
        if !sign_ok {
            return Err(LedgerRefusal::InvalidDelta { kind: kind.as_str(), delta });
        }
        let balance = self.balance.checked_add(delta).ok_or(LedgerRefusal::Overflow)?;
        if balance < 0 {
            return Err(LedgerRefusal::InsufficientBalance { balance: self.balance, needed: -delta });
        }
        let mut next = self.clone();
        next.version += 1;
        next.balance = balance;
        match kind {
            LedgerKind::Award => {
                next.lifetime_earned = self.lifetime_earned.checked_add(delta).ok_or(LedgerRefusal::Overflow)?;
                let week = week_id(at);
                let before = if self.week_id.as_deref() == Some(week.as_str()) { self.week_earned } else { 0 };
                next.week_earned = before.checked_add(delta).ok_or(LedgerRefusal::Overflow)?;
                next.week_id = Some(week);
            }
            LedgerKind::Redeem | LedgerKind::Reversal => {
                next.lifetime_redeemed = self.lifetime_redeemed.checked_sub(delta).ok_or(LedgerRefusal::Overflow)?;
            }
            LedgerKind::Adjust => {}
        }
        Ok(next)
    }

    /// What the weekly board shows for this account at `at` (0 once the week is over).
    pub fn earned_in_week_of(&self, at: Timestamp) -> i64 {
        if self.week_id.as_deref() == Some(week_id(at).as_str()) { self.week_earned } else { 0 }
    }
}

/// How a completion award was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionAward {
    pub base: i64,
    pub tier: Tier,
    pub multiplier_percent: u32,
    pub streak_days: u32,
    pub bonus_percent: u32,
    pub tiered: i64,
    pub bonus: i64,
    pub amount: i64,
}

/// The award for a course completion on the `streak_days`-th day of a streak (see module docs).
pub fn completion_award(base: i64, tier: Tier, streak_days: u32) -> CompletionAward {
    let multiplier_percent = tier.token_multiplier_percent();
    let bonus_percent = bonus_percent(streak_days);
    let tiered = floor_percent(base, multiplier_percent);
    let bonus = floor_percent(tiered, bonus_percent);
    CompletionAward {
        base,
        tier,
        multiplier_percent,
        streak_days,
        bonus_percent,
        tiered,
        bonus,
        amount: tiered.saturating_add(bonus),
    }
}

fn floor_percent(amount: i64, percent: u32) -> i64 {
    let v = (i128::from(amount) * i128::from(percent)).div_euclid(100);
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Source keys: what makes an entry unique per user.
pub fn completion_source(course_id: &str) -> String {
    format!("completion#{course_id}")
}

pub fn redeem_source(idempotency_key: &str) -> String {
    format!("redeem#{idempotency_key}")
}

pub fn voucher_refund_source(payment_id: &str) -> String {
    format!("voucher-refund#{payment_id}")
}

/// A caller-chosen source key: 1 to 200 visible ASCII characters.
pub fn validate_source_key(raw: &str) -> Result<(), ValidationError> {
    if raw.is_empty() || raw.len() > 200 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new("sourceKey", "must be 1 to 200 visible ASCII characters"));
    }
    Ok(())
}

/// What a reward gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RewardKind {
    /// A discount of `discount` on one course purchase (`/api/payments/process`, `voucherId`).
    CourseVoucher { discount: Money },
    /// `days` of Pro features (`/api/subscriptions/current`), added to any credit still running.
    ProCredit { days: u32 },
}

/// One entry of the redemption catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reward {
    pub id: String,
    pub title: String,
    /// Tokens it costs.
    pub cost: i64,
    #[serde(flatten)]
    pub kind: RewardKind,
}

/// The built-in catalog, used unless `TOKEN_REWARDS_CATALOG` sets another.
pub fn default_catalog() -> Vec<Reward> {
    vec![
        Reward {
            id: "course_voucher_500".into(),
            title: "USD 5.00 off one course purchase".into(),
            cost: 500,
            kind: RewardKind::CourseVoucher { discount: Money::new(500, Currency::Usd) },
        },
        Reward {
            id: "pro_month".into(),
            title: "One month (30 days) of Pro".into(),
            cost: 2000,
            kind: RewardKind::ProCredit { days: 30 },
        },
    ]
}

/// Parses and checks a catalog (a JSON array of rewards).
pub fn parse_catalog(json: &str) -> Result<Vec<Reward>, ValidationError> {
    let catalog: Vec<Reward> =
        serde_json::from_str(json).map_err(|e| ValidationError::new("catalog", format!("not a valid catalog: {e}")))?;
    validate_catalog(&catalog)?;
    Ok(catalog)
}

pub fn validate_catalog(catalog: &[Reward]) -> Result<(), ValidationError> {
    let bad = |m: String| Err(ValidationError::new("catalog", m));
    if catalog.is_empty() || catalog.len() > 100 {
        return bad("must list 1 to 100 rewards".into());
    }
    for (i, r) in catalog.iter().enumerate() {
        let id_ok = !r.id.is_empty()
            && r.id.len() <= 64
            && r.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return bad(format!("reward id '{}' must be 1 to 64 letters, digits, _ or -", r.id));
        }
        if catalog[..i].iter().any(|o| o.id == r.id) {
            return bad(format!("reward id '{}' appears twice", r.id));
        }
        if r.title.trim().is_empty() || r.title.len() > 200 {
            return bad(format!("reward '{}' needs a title of at most 200 characters", r.id));
        }
        if !(1..=1_000_000_000).contains(&r.cost) {
            return bad(format!("reward '{}' must cost 1 to 1,000,000,000 tokens", r.id));
        }
        match &r.kind {
            RewardKind::CourseVoucher { discount } if discount.amount <= 0 || discount.amount > 100_000_000 => {
                return bad(format!("reward '{}' needs a positive discount", r.id));
            }
            RewardKind::ProCredit { days } if !(1..=366).contains(days) => {
                return bad(format!("reward '{}' must give 1 to 366 days", r.id));
            }
            _ => {}
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherStatus {
    Available,
    Used,
}

impl VoucherStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherStatus::Available => "available",
            VoucherStatus::Used => "used",
        }
    }

    pub fn parse(raw: &str) -> Option<VoucherStatus> {
        match raw {
            "available" => Some(VoucherStatus::Available),
            "used" => Some(VoucherStatus::Used),
            _ => None,
        }
    }
}

/// A course voucher bought with tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub id: String,
    pub user_id: UserId,
    pub reward_id: String,
    pub discount: Money,
    /// Tokens it cost (returned as a `reversal` if its purchase is fully refunded).
    pub cost: i64,
    pub status: VoucherStatus,
    pub payment_id: Option<String>,
    pub created_at: Timestamp,
}

/// The smallest amount Stripe charges per currency, in minor units (Stripe's documented minimums:
/// 0.50 USD/EUR/CAD/AUD/BRL/INR, 0.30 GBP, 50 JPY).
pub fn stripe_minimum_charge(currency: Currency) -> i64 {
    match currency {
        Currency::Gbp => 30,
        Currency::Usd
        | Currency::Eur
        | Currency::Cad
        | Currency::Aud
        | Currency::Brl
        | Currency::Inr
        | Currency::Jpy => 50,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VoucherRefusal {
    #[error("the voucher is in {voucher} but the order is in {order}")]
    CurrencyMismatch { voucher: Currency, order: Currency },
    #[error("the order total is already at the minimum charge; a voucher cannot lower it")]
    NothingToDiscount,
}

/// Applies a voucher of `discount` to an order of `total`: returns (discount applied, amount to
/// charge). The discount is capped so that the charge stays at least the Stripe minimum.
pub fn apply_voucher(total: Money, discount: Money) -> Result<(Money, Money), VoucherRefusal> {
    if total.currency != discount.currency {
        return Err(VoucherRefusal::CurrencyMismatch { voucher: discount.currency, order: total.currency });
    }
    let room = total.amount - stripe_minimum_charge(total.currency);
    let applied = discount.amount.min(room);
    if applied <= 0 {
        return Err(VoucherRefusal::NothingToDiscount);
    }
    Ok((Money::new(applied, total.currency), Money::new(total.amount - applied, total.currency)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at() -> Timestamp {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn award_formula_examples() {
        let a = completion_award(100, Tier::Free, 1);
        assert_eq!((a.tiered, a.bonus, a.amount), (100, 0, 100));
        let a = completion_award(100, Tier::Pro, 3);
        assert_eq!((a.multiplier_percent, a.bonus_percent, a.tiered, a.bonus, a.amount), (150, 20, 150, 30, 180));
        let a = completion_award(100, Tier::Enterprise, 9);
        assert_eq!((a.tiered, a.bonus, a.amount), (200, 100, 300));
        // Floors at each step: 33 × 1.5 = 49.5 → 49; 49 × 10 % = 4.9 → 4.
        let a = completion_award(33, Tier::Pro, 2);
        assert_eq!((a.tiered, a.bonus, a.amount), (49, 4, 53));
    }

    #[test]
    fn the_balance_never_goes_negative() {
        let acc = TokenAccount::default().apply(LedgerKind::Award, 100, at()).unwrap();
        assert_eq!(acc.version, 1);
        let acc = acc.apply(LedgerKind::Redeem, -60, at()).unwrap();
        assert_eq!((acc.balance, acc.lifetime_earned, acc.lifetime_redeemed), (40, 100, 60));
        assert_eq!(
            acc.apply(LedgerKind::Redeem, -41, at()),
            Err(LedgerRefusal::InsufficientBalance { balance: 40, needed: 41 })
        );
        assert!(acc.apply(LedgerKind::Adjust, -41, at()).is_err());
        let acc = acc.apply(LedgerKind::Reversal, 60, at()).unwrap();
        assert_eq!((acc.balance, acc.lifetime_redeemed, acc.version), (100, 0, 3));
        assert!(acc.apply(LedgerKind::Award, 0, at()).is_err());
        assert!(acc.apply(LedgerKind::Redeem, 5, at()).is_err());
        assert!(acc.apply(LedgerKind::Reversal, -5, at()).is_err());
    }

    #[test]
    fn weekly_earnings_restart_each_week() {
        let mon: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        let acc = TokenAccount::default().apply(LedgerKind::Award, 100, at()).unwrap();
        let acc = acc.apply(LedgerKind::Award, 50, at()).unwrap();
        assert_eq!(acc.earned_in_week_of(at()), 150);
        assert_eq!(acc.earned_in_week_of(mon), 0);
        let acc = acc.apply(LedgerKind::Award, 10, mon).unwrap();
        assert_eq!((acc.week_id.as_deref(), acc.week_earned, acc.lifetime_earned), (Some("2026-W49"), 10, 160));
    }

    #[test]
    fn the_default_catalog_is_valid_and_round_trips() {
        let catalog = default_catalog();
        validate_catalog(&catalog).unwrap();
        let json = serde_json::to_string(&catalog).unwrap();
        assert!(json.contains(r#""kind":"course_voucher","discount":{"amount":500,"currency":"USD"}"#), "{json}");
        assert_eq!(parse_catalog(&json).unwrap(), catalog);
    }

    #[test]
    fn bad_catalogs_are_refused() {
        for bad in [
            "[]",
            "not json",
            r#"[{"id":"a b","title":"t","cost":1,"kind":"pro_credit","days":1}]"#,
            r#"[{"id":"a","title":"t","cost":0,"kind":"pro_credit","days":1}]"#,
            r#"[{"id":"a","title":"t","cost":1,"kind":"pro_credit","days":0}]"#,
            r#"[{"id":"a","title":"t","cost":1,"kind":"course_voucher","discount":{"amount":0,"currency":"USD"}}]"#,
            r#"[{"id":"a","title":"t","cost":1,"kind":"pro_credit","days":1},{"id":"a","title":"t","cost":1,"kind":"pro_credit","days":1}]"#,
            r#"[{"id":"a","title":"t","cost":1,"kind":"gift"}]"#,
        ] {
            assert!(parse_catalog(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vouchers_keep_the_charge_at_the_stripe_minimum() {
        let usd = |a| Money::new(a, Currency::Usd);
        assert_eq!(apply_voucher(usd(1999), usd(500)), Ok((usd(500), usd(1499))));
        assert_eq!(apply_voucher(usd(400), usd(500)), Ok((usd(350), usd(50))));
        assert_eq!(apply_voucher(usd(50), usd(500)), Err(VoucherRefusal::NothingToDiscount));
        assert_eq!(
            apply_voucher(Money::new(1000, Currency::Eur), usd(500)),
            Err(VoucherRefusal::CurrencyMismatch { voucher: Currency::Usd, order: Currency::Eur })
        );
        let gbp = |a| Money::new(a, Currency::Gbp);
        assert_eq!(apply_voucher(gbp(100), gbp(500)), Ok((gbp(70), gbp(30))));
    }

    proptest! {
        #[test]
        fn balance_is_the_sum_of_accepted_deltas(ops in proptest::collection::vec((0u8..4, 1i64..500), 1..60)) {
            let mut acc = TokenAccount::default();
            let mut sum = 0i64;
            let mut entries = 0u64;
            for (k, amount) in ops {
                let (kind, delta) = match k {
                    0 => (LedgerKind::Award, amount),
                    1 => (LedgerKind::Redeem, -amount),
                    2 => (LedgerKind::Reversal, amount),
                    _ => (LedgerKind::Adjust, -amount),
                };
                match acc.apply(kind, delta, at()) {
                    Ok(next) => { sum += delta; entries += 1; acc = next; }
                    Err(LedgerRefusal::InsufficientBalance { balance, .. }) => prop_assert!(balance + delta < 0),
                    Err(e) => prop_assert!(false, "unexpected refusal {e}"),
                }
                prop_assert!(acc.balance >= 0);
                prop_assert_eq!(acc.balance, sum);
                prop_assert_eq!(acc.version, entries);
            }
        }

        #[test]
        fn voucher_charge_is_never_below_the_minimum(total in 1i64..100_000, discount in 1i64..100_000) {
            let t = Money::new(total, Currency::Usd);
            match apply_voucher(t, Money::new(discount, Currency::Usd)) {
                Ok((applied, charged)) => {
                    prop_assert!(applied.amount > 0 && applied.amount <= discount);
                    prop_assert_eq!(applied.amount + charged.amount, total);
                    prop_assert!(charged.amount >= 50);
                }
                Err(VoucherRefusal::NothingToDiscount) => prop_assert!(total <= 50),
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        #[test]
        fn awards_are_monotonic_in_streak_and_tier(base in 1i64..10_000, days in 1u32..20) {
            let a = completion_award(base, Tier::Free, days);
            let b = completion_award(base, Tier::Free, days + 1);
            let c = completion_award(base, Tier::Pro, days);
            prop_assert!(b.amount >= a.amount);
            prop_assert!(c.amount >= a.amount);
            prop_assert!(a.amount <= base * 3 / 2);
            prop_assert_eq!(a.amount, a.tiered + a.bonus);
        }
    }
}

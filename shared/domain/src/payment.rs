//! Payments: orders priced on the server, the payment state machine, refunds and the revenue split.
//!
//! Rounding rules (exact to the minor unit, checked by property tests):
//! - Split: the instructor gets `floor(amount × 70 / 100)`, the platform the rest, so the two
//!   always add up to the amount.
//! - Item cash: what the buyer actually paid is allocated over the order's items in proportion
//!   to their list prices, `floor(charged × price / list_total)`, and the cents left over go to the
//!   first items, one each ([`item_cash`]). Without a voucher an item's cash is its list price.
//! - Split: the instructor gets `floor(item cash × 70 / 100)`, the platform the rest, so the two
//!   always add up. A token voucher therefore costs the instructor 70 % of the discount and the
//!   platform 30 %: the cash paid to an instructor for a sale never exceeds the cash received.
//! - Refunds fill an order's items in order, first item first ([`allocate_refunds`] over the item
//!   cash). An item whose allocated refunds cover its whole cash is refunded: its access goes.
//! - Refund reversal: after refunds totalling `R`, each item's instructor has given back
//!   `floor(refunded part × 70 / 100)` in total; each change of `R` (a refund, a lost dispute, or a
//!   refund that failed after all) moves the ledger by the difference ([`reversal_plan`]). A full
//!   refund therefore reverses exactly the instructor's share, never a cent more.

use crate::course::{CourseOffer, CourseStatus};
use crate::ids::UserId;
use crate::money::{Currency, Money, MoneyError};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub const INSTRUCTOR_SHARE_PERCENT: i64 = 70;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Created; waiting for the client to confirm with a payment method.
    RequiresPaymentMethod,
    /// The bank wants the customer to authenticate (3-D Secure).
    RequiresAction,
    Processing,
    Succeeded,
    /// The last attempt was declined; the customer may retry with another method.
    Failed,
    Canceled,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 8] = [
        Self::RequiresPaymentMethod,
        Self::RequiresAction,
        Self::Processing,
        Self::Succeeded,
        Self::Failed,
        Self::Canceled,
        Self::PartiallyRefunded,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Money was captured (refunds possible, access granted).
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Succeeded | Self::PartiallyRefunded | Self::Refunded)
    }

    /// Whether an event may move a payment from `self` to `next`. Late or duplicated events that
    /// would move it backwards (a refunded payment "succeeding" again) are refused.
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        match self {
            RequiresPaymentMethod | RequiresAction | Failed => {
                matches!(next, RequiresPaymentMethod | RequiresAction | Processing | Succeeded | Failed | Canceled)
                    && next != self
            }
            Processing => matches!(next, Succeeded | Failed | Canceled | RequiresAction),
            Succeeded => matches!(next, PartiallyRefunded | Refunded),
            PartiallyRefunded => matches!(next, PartiallyRefunded | Refunded),
            Canceled | Refunded => false,
        }
    }
}

/// One line of an order, priced from the catalog at order time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderItem {
    #[serde(rename_all = "camelCase")]
    Course { course_id: String, title: String, instructor_id: UserId, price: Money },
}

impl OrderItem {
    pub fn price(&self) -> Money {
        match self {
            OrderItem::Course { price, .. } => *price,
        }
    }

    pub fn title(&self) -> &str {
        match self {
            OrderItem::Course { title, .. } => title,
        }
    }
}

/// Why an order cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderRefusal {
    #[error("the order has no items")]
    Empty,
    #[error("an order holds at most {0} items")]
    TooManyItems(usize),
    #[error("course {0} appears twice in the order")]
    Duplicate(String),
    #[error("course {0} is not for sale")]
    NotPurchasable(String),
    #[error("course {0} is free: enroll without paying")]
    Free(String),
    #[error("you cannot buy your own course {0}")]
    OwnCourse(String),
    #[error("you already own course {0}")]
    AlreadyOwned(String),
    #[error("all items must be priced in one currency")]
    MixedCurrencies,
    #[error("the total is out of range")]
    Overflow,
}

pub const MAX_ORDER_ITEMS: usize = 20;

/// Validates an order for `buyer` and prices it. `owned(course_id)` says whether the buyer
/// already has access.
pub fn price_order(
    buyer: &UserId,
    courses: &[CourseOffer],
    owned: impl Fn(&str) -> bool,
) -> Result<(Vec<OrderItem>, Money), OrderRefusal> {
    if courses.is_empty() {
        return Err(OrderRefusal::Empty);
    }
    if courses.len() > MAX_ORDER_ITEMS {
        return Err(OrderRefusal::TooManyItems(MAX_ORDER_ITEMS));
    }
    let mut items = Vec::with_capacity(courses.len());
    for (i, c) in courses.iter().enumerate() {
        if courses[..i].iter().any(|o| o.id == c.id) {
            return Err(OrderRefusal::Duplicate(c.id.clone()));
        }
        if c.status != CourseStatus::Published {
            return Err(OrderRefusal::NotPurchasable(c.id.clone()));
        }
        if c.price.is_zero() {
            return Err(OrderRefusal::Free(c.id.clone()));
        }
        if &c.instructor_id == buyer {
            return Err(OrderRefusal::OwnCourse(c.id.clone()));
        }
        if owned(&c.id) {
            return Err(OrderRefusal::AlreadyOwned(c.id.clone()));
        }
        items.push(OrderItem::Course {
            course_id: c.id.clone(),
            title: c.title.clone(),
            instructor_id: c.instructor_id.clone(),
            price: c.price,
        });
    }
    let currency = courses[0].price.currency;
    let total = Money::checked_sum(currency, items.iter().map(OrderItem::price)).map_err(|e| match e {
        MoneyError::CurrencyMismatch(..) => OrderRefusal::MixedCurrencies,
        _ => OrderRefusal::Overflow,
    })?;
    Ok((items, total))
}

/// The instructor's share of `amount` minor units: floor(70 %).
pub fn instructor_share(amount: i64) -> i64 {
    // i128 so that no amount can overflow the multiplication.
    let share = i128::from(amount) * i128::from(INSTRUCTOR_SHARE_PERCENT) / 100;
    share as i64
}

/// Splits a charge into (instructor, platform); the parts always add up to the amount.
pub fn split(amount: Money) -> (Money, Money) {
    let instructor = instructor_share(amount.amount);
    (Money::new(instructor, amount.currency), Money::new(amount.amount - instructor, amount.currency))
}

/// How much of the instructor's share a refund reverses, given what was refunded before.
pub fn instructor_reversal(refunded_before: i64, refund: i64) -> i64 {
    instructor_share(refunded_before + refund) - instructor_share(refunded_before)
}

/// How much of a multi-item order's refunds falls on each item after `refunded` in total:
/// refunds fill the items in order (the first item first). Monotonic and exact: the parts always
/// add up to `refunded` (capped at the prices).
pub fn allocate_refunds(prices: &[i64], refunded: i64) -> Vec<i64> {
    let mut left = refunded.max(0);
    prices
        .iter()
        .map(|p| {
            let part = left.min(*p);
            left -= part;
            part
        })
        .collect()
}

/// Per item: (gross refunded by this change, instructor share it reverses), for a change that
/// takes the order's refunded total from `before` to `after` (`after < before` when a counted
/// refund is taken back: the parts are then negative, a credit to the instructor).
pub fn reversal_plan(prices: &[i64], before: i64, after: i64) -> Vec<(i64, i64)> {
    allocate_refunds(prices, before)
        .into_iter()
        .zip(allocate_refunds(prices, after))
        .map(|(b, a)| (a - b, instructor_share(a) - instructor_share(b)))
        .collect()
}

/// The cash actually received for each item of an order charged `charged` for items listed at
/// `prices`: proportional to the list prices, floored, with the leftover cents given to the first
/// items one each. The parts add up to `charged` exactly (for `0 <= charged <= sum(prices)`).
pub fn item_cash(prices: &[i64], charged: i64) -> Vec<i64> {
    let list_total: i128 = prices.iter().map(|p| i128::from(*p)).sum();
    if list_total <= 0 || i128::from(charged) >= list_total {
        return prices.to_vec();
    }
    let charged = i128::from(charged.max(0));
    let mut parts: Vec<i64> =
        prices.iter().map(|p| i64::try_from(charged * i128::from(*p) / list_total).unwrap_or(0)).collect();
    let mut left = charged - parts.iter().map(|p| i128::from(*p)).sum::<i128>();
    for (part, price) in parts.iter_mut().zip(prices) {
        if left == 0 {
            break;
        }
        if *part < *price {
            *part += 1;
            left -= 1;
        }
    }
    parts
}

/// The cash of each item of a payment (see [`item_cash`]).
pub fn payment_item_cash(payment: &Payment) -> Vec<i64> {
    let prices: Vec<i64> = payment.items.iter().map(|i| i.price().amount).collect();
    item_cash(&prices, payment.amount.amount)
}

/// Which items of a payment are refunded after `refunded` in total: all of them once the whole
/// charge is refunded, otherwise those whose allocated refunds cover their whole cash.
pub fn refunded_items(cash: &[i64], refunded: i64) -> Vec<bool> {
    let total: i64 = cash.iter().sum();
    allocate_refunds(cash, refunded)
        .into_iter()
        .zip(cash)
        .map(|(part, item)| refunded >= total || (*item > 0 && part >= *item))
        .collect()
}

/// Why a refund request is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefundRefusal {
    #[error("only succeeded payments can be refunded")]
    NotPaid,
    #[error("the refund amount must be positive")]
    NotPositive,
    #[error("at most {remaining} minor units remain refundable")]
    ExceedsRemaining { remaining: i64 },
    #[error("the refund window of {days} days has passed")]
    WindowClosed { days: i64 },
    #[error("the payment is still being fulfilled; try again in a moment")]
    NotFulfilled,
    #[error("buyers refund the whole remaining amount ({remaining}); partial refunds are made by support")]
    PartialNotAllowed { remaining: i64 },
}

/// Who asks for a refund, and when.
#[derive(Debug, Clone, Copy)]
pub struct RefundContext {
    pub by_admin: bool,
    pub window_days: i64,
    pub now: Timestamp,
}

/// What a refund request may take: the requested amount (default: all that remains) within what
/// remains refundable; buyers only within the window after payment and only all that remains,
/// admins any time and any part. Nothing is refunded before the payment was fulfilled: a refund
/// must never race the fulfilment of the same payment (the fulfilment would grant access and
/// credit the instructor for money already given back).
pub fn plan_refund(payment: &Payment, requested: Option<i64>, ctx: &RefundContext) -> Result<Money, RefundRefusal> {
    if !matches!(payment.status, PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded) {
        return Err(RefundRefusal::NotPaid);
    }
    if payment.fulfilled_at.is_none() {
        return Err(RefundRefusal::NotFulfilled);
    }
    if !ctx.by_admin {
        let paid_at = payment.paid_at.ok_or(RefundRefusal::NotPaid)?;
        if ctx.now > paid_at + SignedDuration::from_hours(24 * ctx.window_days) {
            return Err(RefundRefusal::WindowClosed { days: ctx.window_days });
        }
    }
    let remaining = payment.refundable;
    let want = requested.unwrap_or(remaining);
    if remaining <= 0 {
        return Err(RefundRefusal::ExceedsRemaining { remaining: 0 });
    }
    if want <= 0 {
        return Err(RefundRefusal::NotPositive);
    }
    if want > remaining {
        return Err(RefundRefusal::ExceedsRemaining { remaining });
    }
    if !ctx.by_admin && want != remaining {
        return Err(RefundRefusal::PartialNotAllowed { remaining });
    }
    Ok(Money::new(want, payment.amount.currency))
}

/// The status after `refunded` of `amount` has been refunded.
pub fn status_after_refund(amount: i64, refunded: i64) -> PaymentStatus {
    if refunded >= amount { PaymentStatus::Refunded } else { PaymentStatus::PartiallyRefunded }
}

/// Receipt numbers are sequential and gap-free per year: `R-2026-000001`.
pub fn receipt_number(year: i16, sequence: u64) -> String {
    format!("R-{year}-{sequence:06}")
}

/// Stripe wants lower-case ISO codes.
pub fn stripe_currency(c: Currency) -> String {
    c.code().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn offer(id: &str, instructor: &str, amount: i64, currency: Currency) -> CourseOffer {
        CourseOffer {
            id: id.into(),
            instructor_id: UserId::parse(instructor).unwrap(),
            title: format!("Course {id}"),
            price: Money::new(amount, currency),
            status: CourseStatus::Published,
        }
    }

    #[test]
    fn prices_an_order_from_the_catalog() {
        let buyer = UserId::parse("buyer").unwrap();
        let (items, total) = price_order(
            &buyer,
            &[offer("c1", "i1", 1999, Currency::Usd), offer("c2", "i2", 501, Currency::Usd)],
            |_| false,
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(total, Money::new(2500, Currency::Usd));
    }

    #[test]
    fn refuses_bad_orders() {
        let buyer = UserId::parse("buyer").unwrap();
        let ok = offer("c1", "i1", 1000, Currency::Usd);
        assert_eq!(price_order(&buyer, &[], |_| false), Err(OrderRefusal::Empty));
        assert_eq!(
            price_order(&buyer, &[ok.clone(), ok.clone()], |_| false),
            Err(OrderRefusal::Duplicate("c1".into()))
        );
        assert_eq!(
            price_order(&buyer, &[offer("c1", "buyer", 1000, Currency::Usd)], |_| false),
            Err(OrderRefusal::OwnCourse("c1".into()))
        );
        assert_eq!(
            price_order(&buyer, std::slice::from_ref(&ok), |id| id == "c1"),
            Err(OrderRefusal::AlreadyOwned("c1".into()))
        );
        assert_eq!(
            price_order(&buyer, &[offer("c1", "i1", 0, Currency::Usd)], |_| false),
            Err(OrderRefusal::Free("c1".into()))
        );
        let mut draft = ok.clone();
        draft.status = CourseStatus::Draft;
        assert_eq!(price_order(&buyer, &[draft], |_| false), Err(OrderRefusal::NotPurchasable("c1".into())));
        assert_eq!(
            price_order(&buyer, &[ok, offer("c2", "i1", 1000, Currency::Eur)], |_| false),
            Err(OrderRefusal::MixedCurrencies)
        );
    }

    #[test]
    fn state_machine_refuses_going_backwards() {
        use PaymentStatus::*;
        assert!(RequiresPaymentMethod.can_become(Succeeded));
        assert!(Failed.can_become(Succeeded), "a retry after a decline may succeed");
        assert!(Succeeded.can_become(Refunded));
        assert!(!Refunded.can_become(Succeeded));
        assert!(!PartiallyRefunded.can_become(Succeeded));
        assert!(!Succeeded.can_become(Failed));
        assert!(!Succeeded.can_become(Succeeded));
        assert!(!Canceled.can_become(Succeeded));
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
    }

    fn paid(amount: i64, refundable: i64, status: PaymentStatus, paid_at: Timestamp) -> Payment {
        Payment {
            id: "pay_1".into(),
            user_id: UserId::parse("buyer").unwrap(),
            buyer_email: None,
            buyer_name: None,
            tax_rate_bps: None,
            card: None,
            items: vec![],
            amount: Money::new(amount, Currency::Usd),
            status,
            stripe_payment_intent_id: None,
            refunded: amount - refundable,
            refundable,
            receipt_number: None,
            created_at: paid_at,
            updated_at: paid_at,
            paid_at: Some(paid_at),
            fulfilled_at: Some(paid_at),
        }
    }

    fn admin_at(now: Timestamp) -> RefundContext {
        RefundContext { by_admin: true, window_days: 14, now }
    }

    #[test]
    fn item_cash_spreads_a_discount_and_keeps_list_prices_without_one() {
        assert_eq!(item_cash(&[1999, 501], 2500), vec![1999, 501]);
        assert_eq!(item_cash(&[550], 50), vec![50]);
        // 1000 of 3000: a third each, exactly.
        assert_eq!(item_cash(&[1000, 1000, 1000], 1000), vec![334, 333, 333]);
    }

    #[test]
    fn an_item_is_refunded_when_its_cash_is_covered() {
        assert_eq!(refunded_items(&[1000, 500], 999), vec![false, false]);
        assert_eq!(refunded_items(&[1000, 500], 1000), vec![true, false]);
        assert_eq!(refunded_items(&[1000, 500], 1500), vec![true, true]);
        assert_eq!(refunded_items(&[0, 50], 50), vec![true, true], "a full refund takes every item");
        assert_eq!(refunded_items(&[0, 50], 0), vec![false, false]);
    }

    #[test]
    fn refund_window_applies_to_buyers_only() {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let late = RefundContext { by_admin: false, window_days: 14, now: at + SignedDuration::from_hours(24 * 15) };
        let admin = RefundContext { by_admin: true, ..late };
        let p = paid(1000, 1000, PaymentStatus::Succeeded, at);
        let early = RefundContext { now: at, ..late };
        assert_eq!(plan_refund(&p, Some(999), &early), Err(RefundRefusal::PartialNotAllowed { remaining: 1000 }));
        assert_eq!(plan_refund(&p, Some(1000), &early), Ok(Money::new(1000, Currency::Usd)));
        let unfulfilled = Payment { fulfilled_at: None, ..p.clone() };
        assert_eq!(plan_refund(&unfulfilled, None, &admin_at(at)), Err(RefundRefusal::NotFulfilled));
        assert_eq!(plan_refund(&p, None, &late), Err(RefundRefusal::WindowClosed { days: 14 }));
        assert_eq!(plan_refund(&p, None, &admin), Ok(Money::new(1000, Currency::Usd)));
        assert_eq!(plan_refund(&paid(1000, 0, PaymentStatus::Refunded, at), None, &admin), Err(RefundRefusal::NotPaid));
        assert_eq!(plan_refund(&p, Some(0), &admin), Err(RefundRefusal::NotPositive));
        assert_eq!(plan_refund(&p, Some(1001), &admin), Err(RefundRefusal::ExceedsRemaining { remaining: 1000 }));
        let partly = paid(1000, 400, PaymentStatus::PartiallyRefunded, at);
        assert_eq!(plan_refund(&partly, None, &admin), Ok(Money::new(400, Currency::Usd)));
    }

    #[test]
    fn receipt_numbers_are_zero_padded() {
        assert_eq!(receipt_number(2026, 7), "R-2026-000007");
    }

    proptest! {
        #[test]
        fn split_parts_add_up_and_instructor_gets_floor_70(amount in 0i64..=i64::MAX) {
            let (i, p) = split(Money::new(amount, Currency::Usd));
            prop_assert_eq!(i128::from(i.amount) + i128::from(p.amount), i128::from(amount));
            prop_assert_eq!(i128::from(i.amount), i128::from(amount) * 70 / 100);
            prop_assert!(p.amount >= 0);
        }

        #[test]
        fn refunds_never_exceed_the_charge(amount in 1i64..10_000_000, requests in proptest::collection::vec(proptest::option::of(1i64..5_000_000), 1..12)) {
            let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
            let ctx = RefundContext { by_admin: true, window_days: 14, now };
            let mut p = paid(amount, amount, PaymentStatus::Succeeded, now);
            for req in requests {
                if let Ok(r) = plan_refund(&p, req, &ctx) {
                    prop_assert!(r.amount > 0);
                    p.refunded += r.amount;
                    p.refundable -= r.amount;
                    p.status = status_after_refund(amount, p.refunded);
                }
                prop_assert!(p.refunded <= amount);
                prop_assert_eq!(p.refunded + p.refundable, amount);
            }
        }

        #[test]
        fn multi_item_reversals_add_up_to_each_items_share(prices in proptest::collection::vec(1i64..100_000, 1..5), cuts in proptest::collection::vec(1i64..50_000, 1..8)) {
            let total: i64 = prices.iter().sum();
            let mut refunded = 0i64;
            let mut reversed = vec![0i64; prices.len()];
            for cut in cuts {
                let after = (refunded + cut).min(total);
                for (i, (gross, rev)) in reversal_plan(&prices, refunded, after).into_iter().enumerate() {
                    prop_assert!(gross >= 0 && rev >= 0);
                    reversed[i] += rev;
                }
                refunded = after;
            }
            let alloc = allocate_refunds(&prices, refunded);
            prop_assert_eq!(alloc.iter().sum::<i64>(), refunded);
            for i in 0..prices.len() {
                prop_assert_eq!(reversed[i], instructor_share(alloc[i]));
                prop_assert!(reversed[i] <= instructor_share(prices[i]));
            }
        }

        #[test]
        fn item_cash_adds_up_and_never_exceeds_a_price(prices in proptest::collection::vec(1i64..1_000_000, 1..20), cut in 0i64..=100) {
            let total: i64 = prices.iter().sum();
            let charged = total * cut / 100;
            let cash = item_cash(&prices, charged);
            prop_assert_eq!(cash.iter().sum::<i64>(), charged);
            for (c, p) in cash.iter().zip(&prices) {
                prop_assert!(*c >= 0 && c <= p);
                // Within one cent of the exact proportional part.
                prop_assert!(i128::from(*c) * i128::from(total) >= i128::from(charged) * i128::from(*p) - i128::from(total));
            }
            // The instructors' shares never exceed the cash received.
            let shares: i64 = cash.iter().map(|c| instructor_share(*c)).sum();
            prop_assert!(shares <= charged);
        }

        #[test]
        fn reversals_round_trip_when_a_refund_is_taken_back(prices in proptest::collection::vec(1i64..100_000, 1..5), a in 0i64..500_000, b in 0i64..500_000) {
            let total: i64 = prices.iter().sum();
            let (a, b) = (a.min(total), b.min(total));
            let there = reversal_plan(&prices, a, b);
            let back = reversal_plan(&prices, b, a);
            for ((g1, r1), (g2, r2)) in there.into_iter().zip(back) {
                prop_assert_eq!(g1, -g2);
                prop_assert_eq!(r1, -r2);
            }
        }

        #[test]
        fn reversals_sum_to_the_instructor_share_of_what_was_refunded(amount in 1i64..10_000_000, cuts in proptest::collection::vec(1i64..1_000_000, 1..10)) {
            let mut refunded = 0i64;
            let mut reversed = 0i64;
            for cut in cuts {
                let r = cut.min(amount - refunded);
                if r <= 0 { break; }
                reversed += instructor_reversal(refunded, r);
                refunded += r;
                prop_assert!(reversed <= instructor_share(amount));
            }
            prop_assert_eq!(reversed, instructor_share(refunded));
            if refunded == amount {
                prop_assert_eq!(reversed, instructor_share(amount));
            }
        }
    }
}

/// A payment as stored: an order, its amount and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub user_id: UserId,
    /// Where receipts go (the buyer's token `email` claim at purchase time).
    pub buyer_email: Option<String>,
    /// The buyer's name for the receipt (the token's `name` claim at purchase time).
    pub buyer_name: Option<String>,
    /// The tax rate in force when the order was placed (basis points, prices tax-inclusive);
    /// `None` for payments from before rates were recorded (their receipts use the configured rate).
    pub tax_rate_bps: Option<u32>,
    /// The card charged, from the charge's `payment_method_details`, recorded at fulfilment.
    pub card: Option<crate::receipt::PaymentCard>,
    pub items: Vec<OrderItem>,
    pub amount: Money,
    pub status: PaymentStatus,
    pub stripe_payment_intent_id: Option<String>,
    /// Refunded so far, in minor units of `amount.currency`.
    pub refunded: i64,
    /// What may still be refunded: the amount less refunds done and refunds in flight.
    pub refundable: i64,
    pub receipt_number: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    /// Set once access was granted and the receipt issued (exactly once).
    pub fulfilled_at: Option<Timestamp>,
}

/// A refund as stored under its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount: Money,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub stripe_refund_id: Option<String>,
    pub requested_by: String,
    pub created_at: Timestamp,
    /// Its effects (ledger, access, tokens, email) were all applied.
    pub effects_applied: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|s| s.as_str() == raw)
    }
}

//! Token vouchers (`USER#<id>` / `VOUCHER#<voucherId>`): bought with tokens by a ledger entry
//! (`tokens`), used once by a payment, given back if that payment is canceled.

use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, attrs, from_item, n, s, ts};
use crate::table::{Expr, Key, Outcome, Query, key};
use crate::{Store, keys};
use azora_domain::payment::Payment;
use azora_domain::tokens::{Voucher, VoucherStatus};
use azora_domain::{Money, UserId};

/// A voucher's use on a payment, as recorded on the payment item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentVoucher {
    pub voucher_id: String,
    pub discount: Money,
    /// The items' list total before the discount.
    pub list_amount: i64,
}

fn voucher_key(user: &UserId, voucher_id: &str) -> Key {
    key(keys::user(user.as_str()), keys::voucher(voucher_id))
}

impl ToItem for Voucher {
    fn to_item(&self) -> Result<Item, StoreError> {
        Ok(voucher_key(&self.user_id, &self.id).item(attrs! {
            "voucherId" => s(&self.id), "userId" => s(self.user_id.as_str()), "rewardId" => s(&self.reward_id),
            "discountAmount" => n(self.discount.amount), "currency" => s(self.discount.currency.code()),
            "cost" => n(self.cost), "status" => s(self.status.as_str()), "createdAt" => ts(self.created_at),
        }))
    }
}

from_item! { Voucher as "voucher", |f| {
    id: f.string("voucherId")?, user_id: f.user("userId")?, reward_id: f.string("rewardId")?,
    discount: f.money("discountAmount", "currency")?, cost: f.i64("cost")?,
    status: f.named("status", VoucherStatus::parse)?, payment_id: f.opt("paymentId"), created_at: f.ts("createdAt")?,
} }

/// The voucher fields of a payment item; absent when the payment used none.
struct UsedVoucher(Option<PaymentVoucher>);

impl FromItem for UsedVoucher {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "payment");
        let Some(voucher_id) = f.opt("voucherId") else { return Ok(UsedVoucher(None)) };
        Ok(UsedVoucher(Some(PaymentVoucher {
            voucher_id,
            discount: f.money("voucherDiscount", "currency")?,
            list_amount: f.i64("listAmount")?,
        })))
    }
}

impl Store {
    pub async fn get_voucher(&self, user: &UserId, voucher_id: &str) -> Result<Option<Voucher>, StoreError> {
        self.get(&voucher_key(user, voucher_id), true).await
    }

    /// The user's vouchers (at most 100, newest ids last).
    pub async fn list_vouchers(&self, user: &UserId) -> Result<Vec<Voucher>, StoreError> {
        let q = Query::prefix(keys::user(user.as_str()), "VOUCHER#").limit(100);
        let (items, _) = self.query_page(&q, None).await?;
        items.iter().map(Voucher::from_item).collect()
    }

    /// Creates a payment that uses `voucher`, and marks the voucher used by it, atomically: the
    /// voucher moves `available → used` at most once. `ConditionFailed` when the payment exists
    /// (a retried request); `TransactionCanceled` with item 1 failed when the voucher is not
    /// available (used, or not the buyer's).
    pub async fn create_payment_with_voucher(
        &self,
        payment: &Payment,
        voucher: &Voucher,
        discount: Money,
        list_amount: i64,
    ) -> Result<(), StoreError> {
        let mut item = payment.to_item()?;
        item.insert("voucherId".into(), s(&voucher.id));
        item.insert("voucherDiscount".into(), n(discount.amount));
        item.insert("listAmount".into(), n(list_amount));
        let use_voucher = Expr::update("SET #status = :used, paymentId = :pid, usedAt = :now")
            .only_if("#status = :available AND currency = :cur")
            .status()
            .value(":used", s(VoucherStatus::Used.as_str()))
            .value(":available", s(VoucherStatus::Available.as_str()))
            .value(":cur", s(payment.amount.currency.code()))
            .value(":pid", s(&payment.id))
            .value(":now", ts(payment.created_at));
        let writes =
            vec![self.tx_new(item)?, self.tx_update(&voucher_key(&payment.user_id, &voucher.id), use_voucher)?];
        match self.transact(writes).await {
            Err(e) if e.failed_condition_at(0) => Err(StoreError::ConditionFailed),
            other => other,
        }
    }

    /// Makes a voucher available again if `payment_id` still holds it (that payment was canceled
    /// and can never be charged). `false` when it does not.
    pub async fn release_voucher(&self, user: &UserId, voucher_id: &str, payment_id: &str) -> Result<bool, StoreError> {
        let expr = Expr::update("SET #status = :available REMOVE paymentId, usedAt")
            .only_if("#status = :used AND paymentId = :pid")
            .status()
            .value(":used", s(VoucherStatus::Used.as_str()))
            .value(":available", s(VoucherStatus::Available.as_str()))
            .value(":pid", s(payment_id));
        self.update(&voucher_key(user, voucher_id), expr).await.applied()
    }

    /// The voucher a payment used, if any.
    /// A payment and the voucher fields of its item, from one read of that item.
    pub async fn payment_and_voucher(
        &self,
        payment_id: &str,
    ) -> Result<Option<(Payment, Option<PaymentVoucher>)>, StoreError> {
        let Some(item) = self.get_item(&key(keys::payment(payment_id), keys::PAYMENT), true).await? else {
            return Ok(None);
        };
        Ok(Some((Payment::from_item(&item)?, UsedVoucher::from_item(&item)?.0)))
    }

    pub async fn payment_voucher(&self, payment_id: &str) -> Result<Option<PaymentVoucher>, StoreError> {
        let used: Option<UsedVoucher> = self.get(&key(keys::payment(payment_id), keys::PAYMENT), true).await?;
        Ok(used.and_then(|UsedVoucher(v)| v))
    }
}

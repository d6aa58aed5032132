//! The instructor's Stripe Connect account that payouts go to: `USER#<id>` / `PAYOUT_ACCOUNT`.

use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, b, s};
use crate::table::{Expr, Key, Outcome, key};
use crate::{Store, keys};
use azora_domain::UserId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutAccount {
    pub account_id: String,
    pub payouts_enabled: bool,
}

fn account_key(instructor: &UserId) -> Key {
    key(keys::user(instructor.as_str()), "PAYOUT_ACCOUNT")
}

impl FromItem for PayoutAccount {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "payoutAccount");
        Ok(PayoutAccount { account_id: f.string("accountId")?, payouts_enabled: f.bool("payoutsEnabled") })
    }
}

impl Store {
    pub async fn payout_account(&self, instructor: &UserId) -> Result<Option<PayoutAccount>, StoreError> {
        self.get(&account_key(instructor), true).await
    }

    /// Records the instructor's connected account unless one exists; returns the one kept.
    pub async fn keep_payout_account(
        &self,
        instructor: &UserId,
        account_id: &str,
    ) -> Result<PayoutAccount, StoreError> {
        let item = account_key(instructor).item([("accountId", s(account_id)), ("payoutsEnabled", b(false))]);
        match self.put_new(item).await {
            Ok(()) => Ok(PayoutAccount { account_id: account_id.to_string(), payouts_enabled: false }),
            Err(StoreError::ConditionFailed) => self
                .payout_account(instructor)
                .await?
                .ok_or_else(|| StoreError::Malformed("payout account vanished".into())),
            Err(e) => Err(e),
        }
    }

    /// `account.updated`: follow Stripe's `payouts_enabled` for the instructor's own account.
    pub async fn set_payouts_enabled(
        &self,
        instructor: &UserId,
        account_id: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        let expr = Expr::update("SET payoutsEnabled = :on")
            .only_if("accountId = :acc")
            .value(":on", b(enabled))
            .value(":acc", s(account_id));
        self.update(&account_key(instructor), expr).await.applied()
    }
}

//! What a learner holds (balance, streaks, vouchers, Pro credit) and redeeming tokens for a reward.

use super::{RewardsError, redeem};
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::streak::{local_day, parse_time_zone};
use azora_domain::tokens::{LedgerEntry, Reward, TokenAccount, Voucher, VoucherStatus};
use azora_store::Page;
use azora_store::tokens::{Applied, Effect};
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub struct Wallet {
    pub account: TokenAccount,
    /// The streak as of today in the learner's time zone (a missed day ends it).
    pub current_streak: u32,
    /// The learner's IANA zone (UTC when unknown).
    pub time_zone: String,
    pub earned_this_week: i64,
    /// Vouchers not yet used.
    pub vouchers: Vec<Voucher>,
    pub pro_credit_until: Option<Timestamp>,
}

pub async fn wallet(state: &AppState, user: &UserId) -> Result<Wallet, RewardsError> {
    let ((account, credit), vouchers) =
        futures::try_join!(state.store.account_and_pro_credit(user), state.store.list_vouchers(user))?;
    let now = state.clock.now();
    let zone = account.time_zone.as_deref().and_then(|z| parse_time_zone(z).ok()).unwrap_or(TimeZone::UTC);
    let today = local_day(now, &zone);
    Ok(Wallet {
        current_streak: account.streak.current_as_of(today),
        time_zone: zone.iana_name().unwrap_or("UTC").to_string(),
        earned_this_week: account.earned_in_week_of(now),
        vouchers: vouchers.into_iter().filter(|v| v.status == VoucherStatus::Available).collect(),
        pro_credit_until: credit.map(|c| c.until).filter(|until| *until > now),
        account,
    })
}

/// The learner's ledger, newest first, a page at a time.
pub async fn history(
    state: &AppState,
    user: &UserId,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<LedgerEntry>, RewardsError> {
    Ok(state.store.token_history(user, limit, cursor).await?)
}

/// The rewards tokens can buy.
pub fn catalog(state: &AppState) -> Result<&[Reward], RewardsError> {
    Ok(&state.config.tokens.get()?.catalog)
}

/// A redemption as its buyer sees it: the ledger entry, and the voucher or the Pro credit it bought.
pub struct Redemption {
    pub entry: LedgerEntry,
    /// False when the key had redeemed already (the first redemption is answered).
    pub new: bool,
    pub voucher: Option<Voucher>,
    pub pro_credit_until: Option<Timestamp>,
}

/// The reward of the catalog with this id.
pub fn reward(state: &AppState, reward_id: &str) -> Result<Reward, RewardsError> {
    state
        .config
        .tokens
        .get()?
        .reward(reward_id)
        .cloned()
        .ok_or_else(|| RewardsError::NoSuchReward(reward_id.to_string()))
}

/// Redeems `reward` for `user` once per `key` (see [`redeem`]); `voucher_id` names the course
/// voucher it creates.
pub async fn redeem_reward(
    state: &AppState,
    user: &UserId,
    reward: &Reward,
    key: &str,
    voucher_id: &str,
) -> Result<Redemption, RewardsError> {
    let (entry, applied) = redeem(state, user, reward, key, voucher_id).await?;
    let new = matches!(applied, Applied::Written { .. });
    let mut redemption = Redemption { entry, new, voucher: None, pro_credit_until: None };
    if let Some(voucher_id) = redemption.entry.details["voucherId"].as_str() {
        // A voucher written now is the one the transaction wrote; a repeat's is read (it may
        // have been used since).
        redemption.voucher = match &applied {
            Applied::Written { effect, .. } if let Effect::Voucher(voucher) = effect.as_ref() => Some(voucher.clone()),
            _ => state.store.get_voucher(user, voucher_id).await?,
        };
    } else {
        redemption.pro_credit_until = match applied {
            Applied::Written { pro_credit_until: Some(until), .. } => Some(until),
            _ => state.store.pro_credit(user).await?.map(|c| c.until),
        };
    }
    Ok(redemption)
}

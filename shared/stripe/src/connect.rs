//! Stripe Connect: instructors' connected accounts, onboarding links, transfers and reversals.

use crate::gateway::{GatewayError, StripeGateway, all_pages, stripe_currency};
use crate::wire;
use azora_domain::Money;
use std::collections::HashMap;
use stripe_connect::account::{
    CreateAccount, CreateAccountCapabilities, CreateAccountCapabilitiesTransfers, CreateAccountType,
};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::transfer::{CreateTransfer, ListTransfer};
use stripe_connect::transfer_reversal::CreateIdTransferReversal;

/// A transfer as the reconcile job compares it with our payouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSummary {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub destination: Option<String>,
    pub metadata: HashMap<String, String>,
}

impl StripeGateway {
    /// The platform's transfers created since `since` (unix seconds), at most `max`.
    pub async fn transfers_since(&self, since: i64, max: usize) -> Result<Vec<TransferSummary>, GatewayError> {
        all_pages(max, |after| async move {
            let mut list = ListTransfer::new().created(stripe_types::RangeQueryTs::gte(since)).limit(100);
            if let Some(last) = &after {
                list = list.starting_after(last.as_str());
            }
            let page: wire::List<wire::Transfer> = self.send(&list, None).await?;
            let last = page.data.last().map(|x| x.id.as_str().to_string());
            Ok((
                page.data
                    .iter()
                    .map(|t| TransferSummary {
                        id: t.id.as_str().to_string(),
                        amount: t.amount,
                        currency: t.currency.clone(),
                        destination: t.destination.as_ref().map(|d| d.id().to_string()),
                        metadata: t.metadata.clone(),
                    })
                    .collect(),
                page.has_more,
                last,
            ))
        })
        .await
    }

    /// An Express account able to receive transfers, for one instructor.
    pub async fn create_connected_account(
        &self,
        instructor_id: &str,
        email: Option<&str>,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let mut transfers = CreateAccountCapabilitiesTransfers::new();
        transfers.requested = Some(true);
        let mut capabilities = CreateAccountCapabilities::new();
        capabilities.transfers = Some(transfers);
        let mut req = CreateAccount::new()
            .type_(CreateAccountType::Express)
            .capabilities(capabilities)
            .metadata(HashMap::from([("instructorId".to_string(), instructor_id.to_string())]));
        if let Some(email) = email {
            req = req.email(email);
        }
        let account: wire::Object = self.send(&req, Some(idempotency_key)).await?;
        Ok(account.id.as_str().to_string())
    }

    /// A one-time onboarding URL for the connected account.
    pub async fn onboarding_link(
        &self,
        account_id: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<String, GatewayError> {
        let link: wire::AccountLink = self
            .send(
                &CreateAccountLink::new(account_id, CreateAccountLinkType::AccountOnboarding)
                    .refresh_url(refresh_url)
                    .return_url(return_url),
                None,
            )
            .await?;
        Ok(link.url)
    }

    pub async fn create_transfer(
        &self,
        amount: Money,
        destination: &str,
        transfer_group: &str,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let transfer: wire::Object = self
            .send(
                &CreateTransfer::new(stripe_currency(&amount), destination)
                    .amount(amount.amount)
                    .transfer_group(transfer_group)
                    .metadata(metadata),
                Some(idempotency_key),
            )
            .await?;
        Ok(transfer.id.as_str().to_string())
    }

    /// The transfer made in `transfer_group` to `destination` for exactly `amount`, if any: a
    /// payout retried after Stripe forgot its idempotency key (about 24 h) finds the transfer its
    /// earlier attempt made instead of paying again.
    pub async fn find_transfer(
        &self,
        transfer_group: &str,
        destination: &str,
        amount: Money,
    ) -> Result<Option<String>, GatewayError> {
        let list: wire::List<wire::Transfer> = self
            .send(&ListTransfer::new().transfer_group(transfer_group).destination(destination).limit(100), None)
            .await?;
        Ok(list
            .data
            .iter()
            .find(|t| t.amount == amount.amount && t.currency.eq_ignore_ascii_case(amount.currency.code()))
            .map(|t| t.id.as_str().to_string()))
    }

    /// Takes `amount` back from a transfer; refused (`Rejected`) when the connected account's
    /// balance cannot cover it.
    pub async fn reverse_transfer(
        &self,
        transfer_id: &str,
        amount: i64,
        metadata: HashMap<String, String>,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let reversal: wire::Object = self
            .send(&CreateIdTransferReversal::new(transfer_id).amount(amount).metadata(metadata), Some(idempotency_key))
            .await?;
        Ok(reversal.id.as_str().to_string())
    }
}

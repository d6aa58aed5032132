//! White-label themes: an organisation's brand, served on its custom domain while its license
//! grants access. A domain maps to one license (a claim item written in the same transaction as
//! the settings); revoking the license releases it.
//!
//! **Proof of control.** Claiming a new domain (`PUT`) stores the theme as *pending* with a random
//! token and answers the DNS record to create: `TXT _azora-verify.<domain>` with the value
//! `azora-verify=<token>`. `verify` looks the record up through a [`TxtResolver`] and only then
//! takes the domain, in one transaction that also consumes the pending claim (conditional on its
//! token, so a claim replaced meanwhile is not applied) and fails with `domain_taken` when another
//! license holds the domain: a verified domain stays its license's until that license lets it go
//! (another domain, or revoke). Changing the theme of the domain already verified for this license
//! applies at once. Claiming the same domain again keeps the token, so a record already created
//! stays valid.

use super::dns::{DnsError, TxtResolver};
use super::{LicenseError, inactive};
use crate::licensing::licenses::Actor;
use crate::state::AppState;
use azora_domain::license::{License, WhiteLabel};
use azora_domain::tiers::Feature;
use azora_store::StoreError;
use azora_store::licenses::{PendingWhiteLabel, WhiteLabelOutcome};
use serde::Serialize;
use serde_json::json;

/// The label under the custom domain whose TXT record proves control.
pub const VERIFY_LABEL: &str = "_azora-verify";
/// The TXT value's prefix (`azora-verify=<token>`).
pub const VERIFY_PREFIX: &str = "azora-verify=";

/// The DNS record that proves control of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
}

impl DnsRecord {
    pub fn for_claim(domain: &str, token: &str) -> Self {
        DnsRecord { kind: "TXT", name: format!("{VERIFY_LABEL}.{domain}"), value: format!("{VERIFY_PREFIX}{token}") }
    }
}

/// Where a theme stands after a `PUT` or a `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The theme is live on its (already verified) domain.
    Active,
    /// The domain waits for its proof: create `record`, then verify.
    Pending { record: DnsRecord },
}

/// A new random verification token: 160 bits from the operating system's generator (two ULIDs'
/// random parts).
fn new_token() -> String {
    format!("{:020x}{:020x}", ulid::Ulid::new().random(), ulid::Ulid::new().random())
}

fn check_license(state: &AppState, license: &License) -> Result<(), LicenseError> {
    if !license.has_feature(Feature::WhiteLabel) {
        return Err(LicenseError::FeatureNotLicensed(Feature::WhiteLabel));
    }
    let now = state.clock.now();
    if !license.grants_access(now) {
        return Err(inactive(license, now));
    }
    Ok(())
}

async fn audit(
    state: &AppState,
    actor: &Actor<'_>,
    action: &str,
    license: &License,
    details: serde_json::Value,
) -> Result<(), LicenseError> {
    crate::audit::record(state, actor.principal, actor.request_id, action, &format!("license:{}", license.id), details)
        .await?;
    Ok(())
}

/// Saves the theme of a license the caller manages (it needs the `white_label` feature and must
/// grant access). On the domain already verified for this license it applies at once; another
/// domain is claimed pending its DNS proof (see the module's documentation). A domain verified
/// for another license is refused (`domain_taken`).
pub async fn claim(
    state: &AppState,
    actor: &Actor<'_>,
    license: &License,
    settings: &WhiteLabel,
) -> Result<Claim, LicenseError> {
    check_license(state, license)?;
    let now = state.clock.now();
    let verified = license.white_label.as_ref().map(|w| w.custom_domain.as_str());
    if verified == Some(settings.custom_domain.as_str()) {
        match state.store.set_white_label(license, settings, now).await? {
            WhiteLabelOutcome::Saved => {}
            WhiteLabelOutcome::DomainTaken => return Err(LicenseError::DomainTaken(settings.custom_domain.clone())),
        }
        audit(state, actor, "license.white_label", license, json!({ "whiteLabel": settings })).await?;
        return Ok(Claim::Active);
    }
    if let Some(holder) = state.store.license_for_domain(&settings.custom_domain).await?
        && holder != license.id
    {
        return Err(LicenseError::DomainTaken(settings.custom_domain.clone()));
    }
    let previous = state.store.get_pending_white_label(&license.id).await?;
    let token = previous
        .filter(|p| p.settings.custom_domain == settings.custom_domain)
        .map(|p| p.token)
        .unwrap_or_else(new_token);
    let pending =
        PendingWhiteLabel { license_id: license.id.clone(), settings: settings.clone(), token, claimed_at: now };
    state.store.put_pending_white_label(&pending).await?;
    audit(
        state,
        actor,
        "license.white_label.claim",
        license,
        json!({ "whiteLabel": settings, "status": "pending_verification" }),
    )
    .await?;
    Ok(Claim::Pending { record: DnsRecord::for_claim(&settings.custom_domain, &pending.token) })
}

/// What a verification found.
pub enum Verified {
    /// The record is there: the theme is live on its domain.
    Active(WhiteLabel),
}

/// Checks the pending claim's TXT record and, when it shows the token, makes the theme live.
/// Refusals: nothing pending (`NothingToVerify`), the record missing or different
/// (`DomainNotVerified` with what was found), the domain verified for another license meanwhile
/// (`DomainTaken`).
pub async fn verify(
    state: &AppState,
    actor: &Actor<'_>,
    license: &License,
    resolver: &impl TxtResolver,
) -> Result<Verified, LicenseError> {
    check_license(state, license)?;
    let pending = state.store.get_pending_white_label(&license.id).await?.ok_or(LicenseError::NothingToVerify)?;
    let record = DnsRecord::for_claim(&pending.settings.custom_domain, &pending.token);
    let found = resolver.txt(&record.name).await.map_err(|DnsError(cause)| LicenseError::DnsUnavailable(cause))?;
    if !found.iter().any(|text| text.trim() == record.value) {
        let found: Vec<String> = found.into_iter().filter(|t| t.starts_with(VERIFY_PREFIX)).collect();
        return Err(LicenseError::DomainNotVerified { record, found });
    }
    let now = state.clock.now();
    match state.store.verify_white_label(license, &pending, now).await {
        Ok(WhiteLabelOutcome::Saved) => {}
        Ok(WhiteLabelOutcome::DomainTaken) => {
            return Err(LicenseError::DomainTaken(pending.settings.custom_domain.clone()));
        }
        // Another PUT replaced the claim, or the license changed, meanwhile.
        Err(StoreError::ConditionFailed) => return Err(LicenseError::Changed),
        Err(e) => return Err(e.into()),
    }
    audit(
        state,
        actor,
        "license.white_label.verify",
        license,
        json!({ "whiteLabel": pending.settings, "record": record }),
    )
    .await?;
    Ok(Verified::Active(pending.settings))
}

/// A claimed domain still waiting for its proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingClaim {
    pub settings: WhiteLabel,
    pub record: DnsRecord,
    pub claimed_at: jiff::Timestamp,
}

/// Where a license's white label stands: the theme live on its verified domain, and a claim
/// waiting for its DNS proof (either, both or neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub live: Option<WhiteLabel>,
    pub pending: Option<PendingClaim>,
}

/// The white-label settings of a license the caller manages, so a claim made on one visit (or
/// device) can be proven on the next. Readable whatever the license's standing: it changes nothing.
pub async fn settings(state: &AppState, license: &License) -> Result<Settings, LicenseError> {
    let pending = state.store.get_pending_white_label(&license.id).await?.map(|p| PendingClaim {
        record: DnsRecord::for_claim(&p.settings.custom_domain, &p.token),
        settings: p.settings,
        claimed_at: p.claimed_at,
    });
    Ok(Settings { live: license.white_label.clone(), pending })
}

/// The theme served on `domain`, while its license grants access and has the feature.
pub async fn theme(state: &AppState, domain: &str) -> Result<WhiteLabel, LicenseError> {
    let not_found = || LicenseError::NotFound("white-label theme");
    let license_id = state.store.license_for_domain(domain).await?.ok_or_else(not_found)?;
    let license = state.store.get_license(&license_id).await?;
    license
        .as_ref()
        .filter(|l| l.grants_access(state.clock.now()) && l.has_feature(Feature::WhiteLabel))
        .and_then(|l| l.white_label.clone())
        .filter(|wl| wl.custom_domain == domain)
        .ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_to_create_names_the_domain_and_token() {
        let r = DnsRecord::for_claim("learn.acme.com", "abc");
        assert_eq!(
            (r.kind, r.name.as_str(), r.value.as_str()),
            ("TXT", "_azora-verify.learn.acme.com", "azora-verify=abc")
        );
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
    }
}

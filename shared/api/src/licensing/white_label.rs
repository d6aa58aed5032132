//! White-label themes: an organisation's brand, served on its custom domain while its license
//! grants access. A domain maps to one license (a claim item written in the same transaction as
//! the settings); revoking the license releases it.

use super::{LicenseError, inactive};
use crate::licensing::licenses::Actor;
use crate::state::AppState;
use azora_domain::license::{License, WhiteLabel};
use azora_domain::tiers::Feature;
use azora_store::licenses::WhiteLabelOutcome;
use serde_json::json;

/// Saves the theme of a license the caller manages (it needs the `white_label` feature and must
/// grant access) and claims its custom domain.
pub async fn save(
    state: &AppState,
    actor: &Actor<'_>,
    license: &License,
    settings: &WhiteLabel,
) -> Result<(), LicenseError> {
    if !license.has_feature(Feature::WhiteLabel) {
        return Err(LicenseError::FeatureNotLicensed(Feature::WhiteLabel));
    }
    let now = state.clock.now();
    if !license.grants_access(now) {
        return Err(inactive(license, now));
    }
    match state.store.set_white_label(license, settings, now).await? {
        WhiteLabelOutcome::Saved => {}
        WhiteLabelOutcome::DomainTaken => return Err(LicenseError::DomainTaken(settings.custom_domain.clone())),
    }
    crate::audit::record(
        state,
        actor.principal,
        actor.request_id,
        "license.white_label",
        &format!("license:{}", license.id),
        json!({ "whiteLabel": settings }),
    )
    .await?;
    Ok(())
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

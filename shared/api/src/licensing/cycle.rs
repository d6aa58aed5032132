//! The billing cycle's licensing step: renewal notices 30, 7 and 1 days before expiry (each once)
//! and expiry after the grace days. Idempotent: a second run the same day finds nothing to do.
//!
//! Licenses are found through GSI1 by expiry month (`LICENSE_EXPIRY#<yyyy-mm>`, sorted by expiry),
//! never by scanning: the months from (now − the longest grace − a year, so that runs missed for
//! months still catch up) to (now + 31 days), each read up to now + 30 days. Expired and revoked
//! licenses leave the index, so the work per run stays proportional to the licenses near expiry.

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::audit::month_of;
use azora_domain::license::{License, LicenseStatus, MAX_GRACE_DAYS, Standing, renewal_notice_due};
use azora_domain::notification::{Notification, NotificationKind};
use azora_domain::usage::months;
use azora_store::claims::{ClaimOutcome, ClaimRequest};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

const NOTICE_SCOPE: &str = "license-notice";
const DAY: SignedDuration = SignedDuration::from_hours(24);

#[derive(Default)]
struct Report {
    scanned: u64,
    notices_sent: u64,
    expired: u64,
}

pub async fn run(state: &AppState, now: Timestamp) -> Result<Value, ApiError> {
    let earliest = now - DAY * (MAX_GRACE_DAYS as i32 + 366);
    let until = now + DAY * 30;
    let mut report = Report::default();
    for month in months(&month_of(earliest), &month_of(now + DAY * 31)) {
        let mut cursor: Option<String> = None;
        loop {
            let page = state.store.licenses_expiring(&month, until, cursor.as_deref()).await?;
            for license in &page.items {
                report.scanned += 1;
                process(state, license, now, &mut report).await?;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    telemetry::count("LicenseRenewalNoticesSent", report.notices_sent);
    telemetry::count("LicensesExpired", report.expired);
    Ok(json!({
        "step": "licenses",
        "scanned": report.scanned,
        "noticesSent": report.notices_sent,
        "expired": report.expired,
    }))
}

async fn process(state: &AppState, license: &License, now: Timestamp, report: &mut Report) -> Result<(), ApiError> {
    let live = matches!(license.status, LicenseStatus::Active | LicenseStatus::Suspended);
    if live && now >= license.grace_until() {
        let expired = state.store.expire_license(license, now).await?;
        if expired {
            tracing::info!(license_id = %license.id, "license expired after its grace days");
            report.expired += 1;
        }
        return Ok(());
    }
    // Notices go to active licenses before their expiry (not to suspended ones).
    if license.standing(now) == Standing::Active
        && let Some(days) = renewal_notice_due(license.expires_at, now)
        && send_notice_once(state, license, days, now).await?
    {
        report.notices_sent += 1;
    }
    Ok(())
}

/// Sends the `days`-before notice for this license and expiry unless it was sent: a claim per
/// (license, expiry, threshold) with a lease, completed once queued. A renewal changes the
/// expiry, so the next term gets its own notices. The notification id is deterministic too, so the
/// email worker drops a duplicate if a crash makes a later run queue it again.
async fn send_notice_once(state: &AppState, license: &License, days: u32, now: Timestamp) -> Result<bool, ApiError> {
    let expiry = license.expires_at.as_second();
    let key = format!("{}:{expiry}:{days}", license.id);
    let attempt = azora_domain::ids::new_id("att");
    let claim = ClaimRequest {
        scope: NOTICE_SCOPE,
        key: &key,
        fingerprint: "renewal-notice",
        attempt: &attempt,
        now: now.as_second(),
        lease_seconds: 300,
        // Kept until well after the expiry, so the notice is never repeated for this term.
        ttl_seconds: (expiry - now.as_second()).max(0) + 400 * 86_400,
    };
    match state.store.claim(&claim).await? {
        ClaimOutcome::Acquired => {}
        ClaimOutcome::Completed { .. } | ClaimOutcome::InProgress | ClaimOutcome::Mismatch => return Ok(false),
    }
    let notification = Notification {
        id: format!("license-renewal-{}-{expiry}-{days}", license.id),
        to: license.contact_email.clone(),
        kind: NotificationKind::LicenseRenewalNotice {
            license_id: license.id.clone(),
            org_name: license.org_name.clone(),
            expires_at: license.expires_at,
            days_left: azora_domain::license::days_left(license.expires_at, now).unwrap_or(days),
            grace_days: license.grace_days,
        },
    };
    if let Err(e) = state.notifier.send(&notification).await {
        let _ = state.store.release_claim(NOTICE_SCOPE, &key, &attempt).await;
        return Err(e);
    }
    state.store.complete_claim(NOTICE_SCOPE, &key, &attempt, &notification.id).await?;
    tracing::info!(license_id = %license.id, days, "renewal notice queued");
    Ok(true)
}

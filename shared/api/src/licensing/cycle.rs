//! The billing cycle's licensing step: renewal notices 30, 7 and 1 days before expiry (each once),
//! the renewal invoice of a license bought self-serve 30 days before expiry (once per term,
//! `purchase::invoice_renewal`) and expiry after the grace days. Idempotent: a second run the same day finds nothing to do.
//! Resumable: it checkpoints a cursor (month and position) and stops when its time budget runs out.
//!
//! Licenses are found through GSI1 by expiry month (`LICENSE_EXPIRY#<yyyy-mm>`, sorted by expiry),
//! never by scanning: the months from (now − the longest grace − a year, so that runs missed for
//! months still catch up) to (now + 31 days), each read up to now + 30 days. Expired and revoked
//! licenses leave the index, so the work per run stays proportional to the licenses near expiry.

use crate::jobs::JobError;
use crate::jobs::{Budget, Checkpoint};
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

#[derive(Default, Clone)]
struct Report {
    scanned: u64,
    notices_sent: u64,
    renewal_invoices: u64,
    expired: u64,
}

/// The step's name in the billing cycle's checkpoint.
pub const STEP: &str = "licenses";

/// The licensing step of one billing-cycle invocation: resumes at the checkpoint's cursor
/// (`<yyyy-mm>|<cursor within that month>`), works until `budget` runs out (always at least one
/// license, so that every invocation makes progress) and records where it stopped. Every action
/// is idempotent, so work redone after a crash between checkpoints sends nothing twice. Returns
/// this invocation's report and whether the step is done.
pub async fn run_step(
    state: &AppState,
    now: Timestamp,
    checkpoint: &mut Checkpoint<'_>,
    budget: &Budget,
    worked: &mut bool,
) -> Result<(Value, bool), JobError> {
    let earliest = now - DAY * (MAX_GRACE_DAYS as i32 + 366);
    let until = now + DAY * 30;
    let mut report = Report::default();
    let mut saved = Report::default();
    let (resume_month, resume_cursor) = match checkpoint.cursor(STEP).and_then(|c| c.split_once('|')) {
        Some((month, c)) => (Some(month.to_string()), Some(c.to_string()).filter(|c| !c.is_empty())),
        None => (None, None),
    };
    for month in months(&month_of(earliest), &month_of(now + DAY * 31)) {
        if resume_month.as_deref().is_some_and(|m| month.as_str() < m) {
            continue;
        }
        let mut cursor = if resume_month.as_deref() == Some(month.as_str()) { resume_cursor.clone() } else { None };
        loop {
            let page = state.store.licenses_expiring(&month, until, cursor.as_deref()).await?;
            for license in &page.items {
                report.scanned += 1;
                if let Err(e) = process(state, license, now, &mut report).await {
                    save(checkpoint, &month, cursor.as_deref(), &report, &mut saved).await?;
                    return Err(e);
                }
                cursor = azora_store::Store::license_cursor_after(license);
                *worked = true;
                if budget.expired() {
                    save(checkpoint, &month, cursor.as_deref(), &report, &mut saved).await?;
                    return Ok((report.to_json(false), false));
                }
            }
            match page.next_cursor {
                Some(next) => {
                    if !page.items.is_empty() {
                        save(checkpoint, &month, Some(&next), &report, &mut saved).await?;
                    }
                    cursor = Some(next);
                }
                None => break,
            }
        }
    }
    checkpoint.save(STEP, None, true, &report.increments(&saved)).await?;
    Ok((report.to_json(true), true))
}

async fn save(
    checkpoint: &mut Checkpoint<'_>,
    month: &str,
    cursor: Option<&str>,
    report: &Report,
    saved: &mut Report,
) -> Result<(), JobError> {
    let at = format!("{month}|{}", cursor.unwrap_or_default());
    checkpoint.save(STEP, Some(&at), false, &report.increments(saved)).await?;
    *saved = report.clone();
    Ok(())
}

impl Report {
    fn increments(&self, since: &Report) -> [(&'static str, i64); 4] {
        let d = |a: u64, b: u64| a.saturating_sub(b) as i64;
        [
            ("scanned", d(self.scanned, since.scanned)),
            ("noticesSent", d(self.notices_sent, since.notices_sent)),
            ("renewalInvoices", d(self.renewal_invoices, since.renewal_invoices)),
            ("expired", d(self.expired, since.expired)),
        ]
    }

    fn to_json(&self, done: bool) -> Value {
        telemetry::count("LicenseRenewalNoticesSent", self.notices_sent);
        telemetry::count("LicensesExpired", self.expired);
        json!({
            "step": STEP,
            "done": done,
            "scanned": self.scanned,
            "noticesSent": self.notices_sent,
            "renewalInvoices": self.renewal_invoices,
            "expired": self.expired,
        })
    }
}

/// This step's entry in the report of an invocation that did not run it.
pub fn skipped(done: bool) -> Value {
    json!({ "step": STEP, "done": done, "scanned": 0, "noticesSent": 0, "renewalInvoices": 0, "expired": 0 })
}
async fn process(state: &AppState, license: &License, now: Timestamp, report: &mut Report) -> Result<(), JobError> {
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
    if license.standing(now) == Standing::Active && super::purchase::invoice_renewal(state, license).await? {
        report.renewal_invoices += 1;
    }
    Ok(())
}

/// Sends the `days`-before notice for this license and expiry unless it was sent: a claim per
/// (license, expiry, threshold) with a lease, completed once queued. A renewal changes the
/// expiry, so the next term gets its own notices. The notification id is deterministic too, so the
/// email worker drops a duplicate if a crash makes a later run queue it again.
async fn send_notice_once(state: &AppState, license: &License, days: u32, now: Timestamp) -> Result<bool, JobError> {
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
    if let Err(e) = state.notifier()?.send(&notification).await {
        let _ = state.store.release_claim(NOTICE_SCOPE, &key, &attempt).await;
        return Err(e.into());
    }
    state.store.complete_claim(NOTICE_SCOPE, &key, &attempt, &notification.id).await?;
    tracing::info!(license_id = %license.id, days, "renewal notice queued");
    Ok(true)
}

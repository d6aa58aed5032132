//! Demo data for `make dev`. Idempotent: running it again overwrites the same items.

use azora_api::AppState;
use azora_domain::course::{CourseOffer, CourseStatus};
use azora_domain::license::{DEFAULT_GRACE_DAYS, License, LicenseStatus, parse_expiry};
use azora_domain::notification::EmailAddress;
use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::{Currency, Money, OrgId, Tier, UserId};
use azora_store::StoreError;

pub async fn seed(state: &AppState) -> Result<Vec<String>, StoreError> {
    let mut done = Vec::new();
    let pro = Subscription {
        tier: Tier::Pro,
        status: SubscriptionStatus::Active,
        interval: Some(BillingInterval::Month),
        current_period_end: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)),
        cancel_at_period_end: false,
    };
    let user = UserId::parse("demo-pro").map_err(|e| StoreError::Malformed(e.to_string()))?;
    state.store.put_subscription(&user, &pro).await?;
    done.push("demo-pro: active Pro subscription (make token ROLE=student SUB=demo-pro)".to_string());
    let instructor = UserId::parse("demo-instructor").map_err(|e| StoreError::Malformed(e.to_string()))?;
    for (id, title, amount) in [
        ("demo-rust-basics", "Rust Basics", 1999),
        ("demo-serverless-aws", "Serverless on AWS", 4900),
        ("demo-stripe-billing", "Stripe Billing in Practice", 2999),
    ] {
        let offer = CourseOffer {
            id: id.to_string(),
            instructor_id: instructor.clone(),
            title: title.to_string(),
            price: Money::new(amount, Currency::Usd),
            status: CourseStatus::Published,
        };
        state.store.put_course_offer(&offer).await?;
        done.push(format!("course {id}: {title}, {}", offer.price.display()));
    }
    done.push(seed_license(state).await?);
    Ok(done)
}

/// An enterprise license for `demo-org` (the org of `make token ROLE=enterprise`), written once.
async fn seed_license(state: &AppState) -> Result<String, StoreError> {
    let invalid = |e: azora_domain::ValidationError| StoreError::Malformed(e.to_string());
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map_err(|e| StoreError::Malformed(e.to_string()))?;
    if let Some(existing) = state.store.get_license("lic_demo").await? {
        return Ok(format!("license lic_demo (exists) for demo-org, key {}", existing.key));
    }
    let mut license = License {
        id: "lic_demo".into(),
        org_id: OrgId::parse("demo-org").map_err(invalid)?,
        org_name: "Demo Org".into(),
        contact_email: EmailAddress::parse("it@demo-org.example").map_err(invalid)?,
        seats: 10,
        seats_used: 0,
        features: Tier::Enterprise.features().to_vec(),
        status: LicenseStatus::Active,
        issued_at: now,
        expires_at: parse_expiry(now, Some(12), None).map_err(invalid)?,
        grace_days: DEFAULT_GRACE_DAYS,
        self_activation: true,
        key_version: 1,
        key: String::new(),
        white_label: None,
        updated_at: now,
    };
    license.key = state.config.licensing.signer.issue(&license.key_payload());
    state.store.create_license(&license).await?;
    Ok(format!("license lic_demo: 10 seats for demo-org (make token ROLE=enterprise), key {}", license.key))
}

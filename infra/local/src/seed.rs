//! Demo data for `make dev`. Idempotent: running it again overwrites the same items.

use azora_api::AppState;
use azora_domain::course::{CourseOffer, CourseStatus};
use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::{Currency, Money, Tier, UserId};
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
    Ok(done)
}

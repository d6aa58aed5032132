//! The entitlement loader against DynamoDB Local: the subscription, the Pro credit and the seats'
//! licenses come back together, and nothing else in the user's partition leaks in.

mod common;

use azora_domain::license::{License, LicenseStatus};
use azora_domain::notification::EmailAddress;
use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::tokens::LedgerKind;
use azora_domain::{Feature, OrgId, Tier, UserId};
use azora_store::entitlements::EntitlementSources;
use azora_store::tokens::{Effect, EntryPlan};
use common::fresh_store;
use jiff::{SignedDuration, Timestamp};

fn second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap()
}

fn license(id: &str, features: &[Feature]) -> License {
    let now = second(Timestamp::now());
    License {
        id: id.into(),
        org_id: OrgId::parse("org-e").unwrap(),
        org_name: "Org E".into(),
        contact_email: EmailAddress::parse("it@example.com").unwrap(),
        seats: 3,
        seats_used: 0,
        features: features.to_vec(),
        status: LicenseStatus::Active,
        issued_at: now,
        expires_at: now + SignedDuration::from_hours(24 * 30),
        grace_days: 14,
        self_activation: false,
        key_version: 1,
        key: "AZL1.x.y".into(),
        white_label: None,
        updated_at: now,
    }
}

#[tokio::test]
async fn the_three_grants_load_together() {
    let store = fresh_store("entitlements-test").await;
    let u = UserId::parse(format!("ent-{}", ulid::Ulid::new().to_string().to_lowercase())).unwrap();
    assert_eq!(store.entitlement_sources(&u).await.unwrap(), EntitlementSources::default());

    let now = Timestamp::now();
    let sub = Subscription {
        tier: Tier::Pro,
        status: SubscriptionStatus::PastDue,
        interval: Some(BillingInterval::Month),
        current_period_end: Some(second(now)),
        cancel_at_period_end: false,
    };
    store.put_subscription(&u, &sub).await.unwrap();
    // Ledger items (SOURCE#, LEDGER#, TOKENS) share the partition; a Pro credit comes with one.
    store
        .apply_entry(&u, "seed", now, |acc| EntryPlan::simple(acc, LedgerKind::Award, 100, "test", now))
        .await
        .unwrap();
    store
        .apply_entry(&u, "redeem#p", now, |acc| {
            let mut plan = EntryPlan::simple(acc, LedgerKind::Redeem, -10, "redeem:pro_month", now)?;
            plan.effect = Effect::ProCredit { days: 30 };
            Ok(plan)
        })
        .await
        .unwrap();
    let mut seated = Vec::new();
    for (id, features) in [("lic_b", vec![Feature::Certificates]), ("lic_a", Tier::Enterprise.features().to_vec())] {
        let l = license(id, &features);
        store.create_license(&l).await.unwrap();
        let l = store.get_license(id).await.unwrap().unwrap();
        store.activate_seat(&l, &u, "admin", now).await.unwrap();
        seated.push(store.get_license(id).await.unwrap().unwrap());
    }

    let sources = store.entitlement_sources(&u).await.unwrap();
    let record = sources.subscription.expect("the subscription");
    assert_eq!(record.subscription, sub);
    assert_eq!(sources.pro_credit, store.pro_credit(&u).await.unwrap());
    assert!(sources.pro_credit.is_some());
    seated.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(sources.seat_licenses, seated, "every seat's license, sorted by id");

    // Another user's grants are not theirs.
    let other = UserId::parse("someone-else").unwrap();
    assert_eq!(store.entitlement_sources(&other).await.unwrap(), EntitlementSources::default());
}

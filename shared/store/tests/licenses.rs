//! Licensing store tests against DynamoDB Local: seats under concurrency, usage counting, white-label
//! domains, renewals, the expiry index and rate limiting. Each test gets its own table.

mod common;

use azora_domain::license::{License, LicenseStatus, WhiteLabel};
use azora_domain::notification::EmailAddress;
use azora_domain::usage::UsageCounters;
use azora_domain::{OrgId, Tier, UserId};
use azora_store::Store;
use azora_store::licenses::{Activation, Renewal, RenewalOutcome, WhiteLabelOutcome};
use azora_store::rate_limit::RateDecision;
use common::fresh_store;
use jiff::{SignedDuration, Timestamp};

fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * d)
}

fn license(id: &str, org: &str, seats: u32, expires_at: Timestamp) -> License {
    let now = Timestamp::now();
    License {
        id: id.into(),
        org_id: OrgId::parse(org).unwrap(),
        org_name: format!("Org {org}"),
        contact_email: EmailAddress::parse("it@example.com").unwrap(),
        seats,
        seats_used: 0,
        features: Tier::Enterprise.features().to_vec(),
        status: LicenseStatus::Active,
        issued_at: Timestamp::from_second(now.as_second()).unwrap(),
        expires_at: Timestamp::from_second(expires_at.as_second()).unwrap(),
        grace_days: 14,
        self_activation: false,
        key_version: 1,
        key: "AZL1.x.y".into(),
        white_label: None,
        updated_at: now,
    }
}

async fn created(store: &Store, l: License) -> License {
    store.create_license(&l).await.unwrap();
    store.get_license(&l.id).await.unwrap().unwrap()
}

fn user(i: usize) -> UserId {
    UserId::parse(format!("member-{i}")).unwrap()
}

#[tokio::test]
async fn n_plus_one_concurrent_activations_leave_exactly_n_seats() {
    let store = fresh_store("store-test").await;
    for (round, seats) in [(0, 1u32), (1, 5), (2, 12)] {
        let l =
            created(&store, license(&format!("lic_race{round}"), "org-race", seats, Timestamp::now() + days(30))).await;
        let mut handles = Vec::new();
        for i in 0..=seats as usize {
            let (store, l) = (store.clone(), l.clone());
            handles.push(tokio::spawn(async move {
                store.activate_seat(&l, &user(round * 100 + i), "admin", Timestamp::now()).await.unwrap()
            }));
        }
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(h.await.unwrap());
        }
        let won = outcomes.iter().filter(|o| matches!(o, Activation::Activated { .. })).count();
        let refused = outcomes.iter().filter(|o| **o == Activation::NoSeatsLeft).count();
        assert_eq!((won, refused), (seats as usize, 1), "{outcomes:?}");
        let after = store.get_license(&l.id).await.unwrap().unwrap();
        assert_eq!(after.seats_used, seats);
        assert_eq!(store.list_seats(&l.id, 100, None).await.unwrap().items.len(), seats as usize);
    }
    let month = azora_domain::audit::month_of(Timestamp::now());
    let usage = store.usage_months("org-race", &month).await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].1.seats_activated, 1 + 5 + 12);
}

#[tokio::test]
async fn activating_twice_is_a_no_op_and_releasing_frees_the_seat() {
    let store = fresh_store("store-test").await;
    let l = created(&store, license("lic_1", "org-1", 1, Timestamp::now() + days(30))).await;
    let now = Timestamp::now();
    assert_eq!(store.activate_seat(&l, &user(1), "admin", now).await.unwrap(), Activation::Activated { seats_used: 1 });
    // Same member again, even though the license is now full: nothing changes.
    assert_eq!(store.activate_seat(&l, &user(1), "admin", now).await.unwrap(), Activation::AlreadyActive);
    assert_eq!(store.activate_seat(&l, &user(2), "admin", now).await.unwrap(), Activation::NoSeatsLeft);
    assert_eq!(store.seat_licenses_of(&user(1)).await.unwrap(), vec!["lic_1".to_string()]);
    assert_eq!(store.granting_licenses_of(&user(1), now).await.unwrap().len(), 1);

    assert!(store.deactivate_seat(&l, &user(1), now).await.unwrap());
    assert!(!store.deactivate_seat(&l, &user(1), now).await.unwrap(), "releasing twice changes nothing");
    assert!(store.seat_licenses_of(&user(1)).await.unwrap().is_empty());
    assert_eq!(store.get_license("lic_1").await.unwrap().unwrap().seats_used, 0);
    assert_eq!(store.activate_seat(&l, &user(2), "admin", now).await.unwrap(), Activation::Activated { seats_used: 1 });
    let month = azora_domain::audit::month_of(now);
    let usage = &store.usage_months("org-1", &month).await.unwrap()[0].1;
    assert_eq!((usage.seats_activated, usage.seats_released), (2, 1));
}

#[tokio::test]
async fn licenses_that_do_not_grant_access_refuse_seats() {
    let store = fresh_store("store-test").await;
    let now = Timestamp::now();
    let suspended = created(&store, license("lic_s", "org-1", 5, now + days(30))).await;
    assert!(store.set_license_status("lic_s", &[LicenseStatus::Active], LicenseStatus::Suspended, now).await.unwrap());
    assert!(
        matches!(store.activate_seat(&suspended, &user(1), "a", now).await.unwrap(), Activation::Inactive(l) if l.status == LicenseStatus::Suspended)
    );
    // Past expiry and the 14 grace days, not yet marked expired by the job.
    let lapsed = created(&store, license("lic_l", "org-1", 5, now - days(15))).await;
    assert!(matches!(store.activate_seat(&lapsed, &user(1), "a", now).await.unwrap(), Activation::Inactive(_)));
    // Within grace a seat can still be taken.
    let grace = created(&store, license("lic_g", "org-1", 5, now - days(3))).await;
    assert!(matches!(store.activate_seat(&grace, &user(1), "a", now).await.unwrap(), Activation::Activated { .. }));
    assert_eq!(store.granting_licenses_of(&user(1), now).await.unwrap().len(), 1);
    assert!(store.get_seat("lic_s", &user(1)).await.unwrap().is_none());
}

#[tokio::test]
async fn usage_events_count_once_and_learners_distinctly() {
    let store = fresh_store("store-test").await;
    let at: Timestamp = "2026-11-10T12:00:00Z".parse().unwrap();
    let started = UsageCounters { courses_started: 1, ..Default::default() };
    let mut handles = Vec::new();
    // Two members, three events each, every event delivered three times concurrently.
    for (u, e) in [(1, "a"), (1, "b"), (1, "c"), (2, "d"), (2, "e"), (2, "f")] {
        for _ in 0..3 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                store.record_usage("org-u", &format!("evt-{e}"), &started, Some(&user(u)), at).await.unwrap()
            }));
        }
    }
    let mut counted = 0;
    for h in handles {
        counted += usize::from(h.await.unwrap());
    }
    assert_eq!(counted, 6, "each event counted once");
    let tokens = UsageCounters { tokens_earned: 250, ..Default::default() };
    assert!(store.record_usage("org-u", "evt-t", &tokens, Some(&user(3)), at).await.unwrap());
    let next_month: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    assert!(store.record_usage("org-u", "evt-g", &started, Some(&user(1)), next_month).await.unwrap());

    let months = store.usage_months("org-u", "2026-12").await.unwrap();
    assert_eq!(months.len(), 2);
    assert_eq!(months[0].0, "2026-11");
    assert_eq!(
        months[0].1,
        UsageCounters { courses_started: 6, active_learners: 3, tokens_earned: 250, ..Default::default() }
    );
    assert_eq!(months[1].1, UsageCounters { courses_started: 1, active_learners: 1, ..Default::default() });
    assert_eq!(store.usage_months("org-u", "2026-11").await.unwrap().len(), 1, "`to` bounds the months");
    assert!(store.usage_months("org-other", "2026-12").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_custom_domain_belongs_to_one_license() {
    let store = fresh_store("store-test").await;
    let now = Timestamp::now();
    let a = created(&store, license("lic_a", "org-a", 5, now + days(30))).await;
    let b = created(&store, license("lic_b", "org-b", 5, now + days(30))).await;
    let wl = |domain: &str| WhiteLabel::parse("Brand", "https://cdn.example.com/l.png", "#112233", domain).unwrap();
    assert_eq!(store.set_white_label(&a, &wl("learn.a.com"), now).await.unwrap(), WhiteLabelOutcome::Saved);
    assert_eq!(store.set_white_label(&b, &wl("learn.a.com"), now).await.unwrap(), WhiteLabelOutcome::DomainTaken);
    assert_eq!(store.license_for_domain("learn.a.com").await.unwrap().as_deref(), Some("lic_a"));
    // Moving a's domain releases the old one, which b can then take.
    let a = store.get_license("lic_a").await.unwrap().unwrap();
    assert_eq!(store.set_white_label(&a, &wl("academy.a.com"), now).await.unwrap(), WhiteLabelOutcome::Saved);
    assert_eq!(store.license_for_domain("learn.a.com").await.unwrap(), None);
    assert_eq!(store.set_white_label(&b, &wl("learn.a.com"), now).await.unwrap(), WhiteLabelOutcome::Saved);
    // A stale read of a (its old domain) cannot overwrite the newer settings.
    assert!(store.set_white_label(&a_stale(&a), &wl("x.a.com"), now).await.unwrap_err().is_condition());
    let saved = store.get_license("lic_a").await.unwrap().unwrap().white_label.unwrap();
    assert_eq!(saved.custom_domain, "academy.a.com");

    // Revoking a releases its domain in the same transaction; a stale read cannot revoke twice.
    let a = store.get_license("lic_a").await.unwrap().unwrap();
    let from = [LicenseStatus::Active, LicenseStatus::Suspended];
    assert!(store.revoke_license(&a, &from, now).await.unwrap());
    assert!(!store.revoke_license(&a, &from, now).await.unwrap(), "already revoked");
    assert_eq!(store.get_license("lic_a").await.unwrap().unwrap().status, LicenseStatus::Revoked);
    assert_eq!(store.license_for_domain("academy.a.com").await.unwrap(), None);
    let b = store.get_license("lic_b").await.unwrap().unwrap();
    assert_eq!(store.set_white_label(&b, &wl("academy.a.com"), now).await.unwrap(), WhiteLabelOutcome::Saved);
}

fn a_stale(current: &License) -> License {
    License { white_label: None, ..current.clone() }
}

#[tokio::test]
async fn renewals_never_go_below_seats_in_use_and_refuse_stale_reads() {
    let store = fresh_store("store-test").await;
    let now = Timestamp::now();
    let l = created(&store, license("lic_r", "org-r", 3, now + days(5))).await;
    for i in 0..2 {
        store.activate_seat(&l, &user(i), "a", now).await.unwrap();
    }
    let renewal = |seats: u32, kv: u32| Renewal {
        expected_key_version: kv,
        expected_status: LicenseStatus::Active,
        new_status: LicenseStatus::Active,
        expires_at: now + days(400),
        grace_ends: now + days(414),
        seats,
        key_version: kv + 1,
        key: "AZL1.new.key",
        now,
    };
    assert_eq!(
        store.renew_license("lic_r", &renewal(1, 1)).await.unwrap(),
        RenewalOutcome::SeatsBelowUse { seats_used: 2 }
    );
    assert_eq!(store.renew_license("lic_r", &renewal(2, 1)).await.unwrap(), RenewalOutcome::Renewed);
    assert_eq!(store.renew_license("lic_r", &renewal(10, 1)).await.unwrap(), RenewalOutcome::Conflict);
    let after = store.get_license("lic_r").await.unwrap().unwrap();
    assert_eq!((after.seats, after.key_version, after.key.as_str()), (2, 2, "AZL1.new.key"));
    assert_eq!(after.expires_at.as_second(), (now + days(400)).as_second());
}

#[tokio::test]
async fn the_expiry_index_pages_by_month_and_expiring_is_idempotent() {
    let store = fresh_store("store-test").await;
    let now: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let lapsed = created(&store, license("lic_old", "org-x", 5, now - days(20))).await;
    created(&store, license("lic_soon", "org-x", 5, now + days(5))).await;
    created(&store, license("lic_later", "org-x", 5, now + days(60))).await;
    let revoked = created(&store, license("lic_rev", "org-x", 5, now + days(6))).await;
    assert!(
        store.set_license_status(&revoked.id, &[LicenseStatus::Active], LicenseStatus::Revoked, now).await.unwrap()
    );

    let ids = |page: azora_store::Page<License>| page.items.into_iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(ids(store.licenses_expiring("2026-10", now, None).await.unwrap()), ["lic_old"]);
    assert_eq!(ids(store.licenses_expiring("2026-11", now + days(31), None).await.unwrap()), ["lic_soon"]);
    assert!(ids(store.licenses_expiring("2026-11", now, None).await.unwrap()).is_empty());

    assert!(store.expire_license(&lapsed, now).await.unwrap());
    assert!(!store.expire_license(&lapsed, now).await.unwrap(), "second run changes nothing");
    assert_eq!(store.get_license("lic_old").await.unwrap().unwrap().status, LicenseStatus::Expired);
    assert!(ids(store.licenses_expiring("2026-10", now, None).await.unwrap()).is_empty(), "left the index");
    // Not past its grace: refused.
    let soon = store.get_license("lic_soon").await.unwrap().unwrap();
    assert!(!store.expire_license(&soon, now).await.unwrap());
}

#[tokio::test]
async fn the_rate_limit_counts_per_caller_and_window() {
    let store = fresh_store("store-test").await;
    let t = 1_800_000_010;
    for i in 0..3 {
        assert_eq!(
            store.hit_rate_limit("validate", "10.0.0.1", 3, 60, t).await.unwrap(),
            RateDecision::Allowed { remaining: 2 - i }
        );
    }
    assert_eq!(
        store.hit_rate_limit("validate", "10.0.0.1", 3, 60, t + 5).await.unwrap(),
        RateDecision::Limited { retry_after_seconds: 45 }
    );
    assert!(matches!(
        store.hit_rate_limit("validate", "10.0.0.2", 3, 60, t).await.unwrap(),
        RateDecision::Allowed { .. }
    ));
    assert!(matches!(
        store.hit_rate_limit("validate", "10.0.0.1", 3, 60, t + 50).await.unwrap(),
        RateDecision::Allowed { .. }
    ));
}

/// An empty list of allowed statuses matches no license: `false` and nothing written (it used to
/// send `#status IN ()`, which DynamoDB refuses as an invalid expression: a 503, not an answer).
#[tokio::test]
async fn a_status_change_from_no_status_changes_nothing() {
    let store = fresh_store("store-test").await;
    let now = Timestamp::now();
    created(&store, license("lic_empty", "org_e", 2, now + days(30))).await;
    assert!(!store.set_license_status("lic_empty", &[], LicenseStatus::Suspended, now).await.unwrap());
    assert_eq!(store.get_license("lic_empty").await.unwrap().unwrap().status, LicenseStatus::Active);
    assert!(!store.set_license_status("lic_missing", &[], LicenseStatus::Revoked, now).await.unwrap());
}

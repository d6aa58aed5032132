//! What a user may do at a moment: the one answer to "which plan does this user have".
//!
//! A user can hold up to three grants at once, and [`entitlements`] combines them:
//!
//! - a **subscription** (Stripe billed): grants its tier while `active` or `trialing`, and while
//!   `past_due` within the grace period (`SUBSCRIPTION_GRACE_DAYS` counted from when it went past
//!   due; when that moment is unknown, the billing-cycle job decides and the plan is kept);
//!   `canceled` and `incomplete` grant nothing;
//! - **license seats** (Enterprise, per seat): each seat on a license that grants access at the
//!   moment (active, or past its expiry but within its grace days) grants Enterprise with the
//!   license's own feature list;
//! - a **Pro credit** (a Pro month redeemed with tokens): grants Pro until its `until` (exclusive).
//!
//! **Precedence.** The highest tier in force wins and sets the tier and the token multiplier:
//! Enterprise seat > paid subscription in good standing or in grace > Pro credit > Free. On equal
//! tiers the user's own paid subscription is the source reported (then a seat, then the credit).
//! Among several seats, the license with the most features wins, then the one expiring last.
//!
//! **Features** are the union of what every grant in force includes, so that holding a second grant
//! never takes a feature away (e.g. a Pro subscriber seated on a license that lists only
//! `white_label` keeps the Pro features). The token multiplier is always the winning tier's.

use crate::OrgId;
use crate::license::License;
use crate::subscription::{Subscription, SubscriptionStatus, grace_over};
use crate::tiers::{Feature, FeatureNotInPlan, Tier};
use jiff::Timestamp;

/// The user's subscription as the entitlement rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionGrant {
    pub subscription: Subscription,
    /// When it went `past_due` (recorded by the billing code), if known.
    pub past_due_since: Option<Timestamp>,
}

/// Everything that can grant a plan, as loaded for one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub subscription: Option<SubscriptionGrant>,
    /// The licenses on which the user holds a seat (whatever their status; the rules check it).
    pub seats: Vec<License>,
    /// The end of the user's Pro credit, if they ever redeemed one.
    pub pro_credit_until: Option<Timestamp>,
}

/// Which grant decided the tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The user's own subscription (also a Free subscription record, or none: see `Free`).
    Subscription,
    /// A seat on this license.
    License { license_id: String, org_id: OrgId, expires_at: Timestamp },
    /// A Pro month redeemed with tokens.
    ProCredit { until: Timestamp },
    /// Nothing in force.
    Free,
}

/// The answer: the tier, what it allows, the token multiplier and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlements {
    pub tier: Tier,
    /// In [`Feature::ALL`] order, without duplicates.
    pub features: Vec<Feature>,
    /// Token award multiplier in percent (100 = ×1.0): the tier's.
    pub token_multiplier_percent: u32,
    pub source: Source,
    /// The Pro credit's end when it is in force, even when another grant decided the tier.
    pub pro_credit_until: Option<Timestamp>,
}

impl Entitlements {
    pub fn free() -> Self {
        Self {
            tier: Tier::Free,
            features: Vec::new(),
            token_multiplier_percent: Tier::Free.token_multiplier_percent(),
            source: Source::Free,
            pro_credit_until: None,
        }
    }

    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    /// The feature gate: `FeatureNotInPlan` names the cheapest tier that includes the feature.
    pub fn require(&self, feature: Feature) -> Result<(), FeatureNotInPlan> {
        if self.has(feature) {
            Ok(())
        } else {
            Err(FeatureNotInPlan { feature, current: self.tier, required: feature.minimum_tier() })
        }
    }
}

/// Whether a subscription grants its tier at `now`, given the grace days of a past-due one.
pub fn subscription_in_force(grant: &SubscriptionGrant, grace_days: i64, now: Timestamp) -> bool {
    match grant.subscription.status {
        SubscriptionStatus::Active | SubscriptionStatus::Trialing => true,
        SubscriptionStatus::PastDue => grant.past_due_since.is_none_or(|since| !grace_over(since, grace_days, now)),
        SubscriptionStatus::Canceled | SubscriptionStatus::Incomplete => false,
    }
}

/// The user's entitlements at `now` (see the module documentation for the rules).
pub fn entitlements(grants: &Grants, subscription_grace_days: i64, now: Timestamp) -> Entitlements {
    // Candidates in tie-break order: subscription, then seat, then Pro credit.
    let mut candidates: Vec<(Tier, &[Feature], Source)> = Vec::with_capacity(3);
    if let Some(sub) = grants.subscription.as_ref().filter(|s| subscription_in_force(s, subscription_grace_days, now))
        && sub.subscription.tier > Tier::Free
    {
        let tier = sub.subscription.tier;
        candidates.push((tier, tier.features(), Source::Subscription));
    }
    if let Some(best) = grants
        .seats
        .iter()
        .filter(|l| l.grants_access(now))
        .max_by_key(|l| (l.features.len(), l.expires_at, std::cmp::Reverse(l.id.clone())))
    {
        let source =
            Source::License { license_id: best.id.clone(), org_id: best.org_id.clone(), expires_at: best.expires_at };
        candidates.push((Tier::Enterprise, &best.features, source));
    }
    let pro_credit_until = grants.pro_credit_until.filter(|until| now < *until);
    if let Some(until) = pro_credit_until {
        candidates.push((Tier::Pro, Tier::Pro.features(), Source::ProCredit { until }));
    }

    let features: Vec<Feature> =
        Feature::ALL.into_iter().filter(|f| candidates.iter().any(|(_, granted, _)| granted.contains(f))).collect();
    // The first candidate with the highest tier (max_by_key keeps the last of equals, so search
    // from the end).
    let winner = candidates.into_iter().rev().max_by_key(|(tier, _, _)| *tier);
    let (tier, source) = match winner {
        Some((tier, _, source)) => (tier, source),
        None => (Tier::Free, Source::Free),
    };
    Entitlements { tier, features, token_multiplier_percent: tier.token_multiplier_percent(), source, pro_credit_until }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::license::LicenseStatus;
    use crate::notification::EmailAddress;
    use crate::subscription::BillingInterval;
    use jiff::SignedDuration;
    use proptest::prelude::*;

    const GRACE: i64 = 7;

    fn now() -> Timestamp {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    fn days(d: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * d)
    }

    fn sub(tier: Tier, status: SubscriptionStatus, past_due_since: Option<Timestamp>) -> SubscriptionGrant {
        SubscriptionGrant {
            subscription: Subscription {
                tier,
                status,
                interval: Some(BillingInterval::Month),
                current_period_end: Some(now() + days(10)),
                cancel_at_period_end: false,
            },
            past_due_since,
        }
    }

    fn license(id: &str, status: LicenseStatus, expires_at: Timestamp, features: &[Feature]) -> License {
        License {
            id: id.into(),
            org_id: OrgId::parse("acme").unwrap(),
            org_name: "Acme".into(),
            contact_email: EmailAddress::parse("it@acme.example").unwrap(),
            seats: 5,
            seats_used: 1,
            features: features.to_vec(),
            status,
            issued_at: now() - days(300),
            expires_at,
            grace_days: 14,
            self_activation: false,
            key_version: 1,
            key: String::new(),
            white_label: None,
            updated_at: now(),
        }
    }

    fn at(grants: &Grants, t: Timestamp) -> Entitlements {
        entitlements(grants, GRACE, t)
    }

    #[test]
    fn nothing_is_free() {
        assert_eq!(at(&Grants::default(), now()), Entitlements::free());
        let e = at(&Grants::default(), now());
        assert_eq!(e.require(Feature::Certificates).unwrap_err().required, Tier::Pro);
    }

    #[test]
    fn a_subscription_grants_while_in_good_standing_or_in_grace() {
        use SubscriptionStatus::*;
        for (status, since, tier) in [
            (Active, None, Tier::Pro),
            (Trialing, None, Tier::Pro),
            (PastDue, None, Tier::Pro),
            (PastDue, Some(now() - days(GRACE) + SignedDuration::from_secs(1)), Tier::Pro),
            (PastDue, Some(now() - days(GRACE)), Tier::Free),
            (Canceled, None, Tier::Free),
            (Incomplete, None, Tier::Free),
        ] {
            let g = Grants { subscription: Some(sub(Tier::Pro, status, since)), ..Default::default() };
            let e = at(&g, now());
            assert_eq!(e.tier, tier, "{status:?} since {since:?}");
            assert_eq!(e.features, tier.features(), "{status:?}");
            let expected = if tier == Tier::Free { Source::Free } else { Source::Subscription };
            assert_eq!(e.source, expected);
        }
    }

    #[test]
    fn a_seat_grants_enterprise_with_the_licenses_features_and_the_enterprise_multiplier() {
        let l =
            license("lic_1", LicenseStatus::Active, now() + days(30), &[Feature::Certificates, Feature::WhiteLabel]);
        let g = Grants { seats: vec![l], ..Default::default() };
        let e = at(&g, now());
        assert_eq!(e.tier, Tier::Enterprise);
        assert_eq!(e.token_multiplier_percent, 200);
        assert_eq!(e.features, vec![Feature::Certificates, Feature::WhiteLabel]);
        assert!(e.require(Feature::Certificates).is_ok());
        assert_eq!(e.require(Feature::AiTutor).unwrap_err().current, Tier::Enterprise);
        assert!(matches!(e.source, Source::License { ref license_id, .. } if license_id == "lic_1"));
    }

    #[test]
    fn seats_follow_the_license_standing() {
        let all = Tier::Enterprise.features();
        let cases = [
            (LicenseStatus::Active, now() + days(1), Tier::Enterprise),
            (LicenseStatus::Active, now() - days(13), Tier::Enterprise), // in its 14 grace days
            (LicenseStatus::Active, now() - days(14), Tier::Free),       // lapsed
            (LicenseStatus::Suspended, now() + days(30), Tier::Free),
            (LicenseStatus::Revoked, now() + days(30), Tier::Free),
            (LicenseStatus::Expired, now() + days(30), Tier::Free),
        ];
        for (status, expires, tier) in cases {
            let g = Grants { seats: vec![license("l", status, expires, all)], ..Default::default() };
            assert_eq!(at(&g, now()).tier, tier, "{status:?} expiring {expires}");
        }
    }

    #[test]
    fn a_pro_credit_grants_pro_until_it_ends() {
        let until = now() + days(3);
        let g = Grants { pro_credit_until: Some(until), ..Default::default() };
        let e = at(&g, now());
        assert_eq!((e.tier, e.token_multiplier_percent, e.pro_credit_until), (Tier::Pro, 150, Some(until)));
        assert_eq!(e.source, Source::ProCredit { until });
        assert_eq!(at(&g, until).tier, Tier::Free);
        assert_eq!(at(&g, until).pro_credit_until, None);
    }

    #[test]
    fn precedence_seat_over_subscription_over_credit() {
        let seat = license("lic", LicenseStatus::Active, now() + days(30), &[Feature::WhiteLabel]);
        let g = Grants {
            subscription: Some(sub(Tier::Pro, SubscriptionStatus::Active, None)),
            seats: vec![seat],
            pro_credit_until: Some(now() + days(3)),
        };
        let e = at(&g, now());
        assert_eq!(e.tier, Tier::Enterprise);
        assert!(matches!(e.source, Source::License { .. }));
        // The union: the Pro features stay, the license adds white_label.
        let mut want = Tier::Pro.features().to_vec();
        want.push(Feature::WhiteLabel);
        assert_eq!(e.features, want);
        assert_eq!(e.pro_credit_until, Some(now() + days(3)));

        let no_seat = Grants { seats: vec![], ..g.clone() };
        assert_eq!(at(&no_seat, now()).source, Source::Subscription, "equal tiers: the paid plan is reported");
        let lapsed = Grants {
            subscription: Some(sub(Tier::Pro, SubscriptionStatus::Canceled, None)),
            seats: vec![],
            ..g.clone()
        };
        assert!(matches!(at(&lapsed, now()).source, Source::ProCredit { .. }));
        // An Enterprise subscription and a seat: the subscription is reported.
        let ent = Grants { subscription: Some(sub(Tier::Enterprise, SubscriptionStatus::Active, None)), ..g };
        assert_eq!(at(&ent, now()).source, Source::Subscription);
    }

    #[test]
    fn the_richest_seat_wins() {
        let small = license("small", LicenseStatus::Active, now() + days(300), &[Feature::Certificates]);
        let big = license("big", LicenseStatus::Active, now() + days(30), Tier::Enterprise.features());
        let g = Grants { seats: vec![small, big], ..Default::default() };
        assert!(matches!(at(&g, now()).source, Source::License { ref license_id, .. } if license_id == "big"));
    }

    fn arb_status() -> impl Strategy<Value = SubscriptionStatus> {
        prop_oneof![
            Just(SubscriptionStatus::Active),
            Just(SubscriptionStatus::Trialing),
            Just(SubscriptionStatus::PastDue),
            Just(SubscriptionStatus::Canceled),
            Just(SubscriptionStatus::Incomplete),
        ]
    }

    fn arb_license_status() -> impl Strategy<Value = LicenseStatus> {
        prop_oneof![
            Just(LicenseStatus::Active),
            Just(LicenseStatus::Suspended),
            Just(LicenseStatus::Expired),
            Just(LicenseStatus::Revoked),
        ]
    }

    fn arb_grants() -> impl Strategy<Value = Grants> {
        let subscription = proptest::option::of((
            prop_oneof![Just(Tier::Free), Just(Tier::Pro), Just(Tier::Enterprise)],
            arb_status(),
            proptest::option::of(-20i64..20),
        ));
        let seats = proptest::collection::vec(
            (arb_license_status(), -40i64..40, proptest::sample::subsequence(Feature::ALL.to_vec(), 0..=7)),
            0..3,
        );
        let credit = proptest::option::of(-10i64..40);
        (subscription, seats, credit).prop_map(|(subscription, seats, credit)| Grants {
            subscription: subscription.map(|(tier, status, since)| sub(tier, status, since.map(|d| now() + days(d)))),
            seats: seats
                .into_iter()
                .enumerate()
                .map(|(i, (status, exp, features))| license(&format!("l{i}"), status, now() + days(exp), &features))
                .collect(),
            pro_credit_until: credit.map(|d| now() + days(d)),
        })
    }

    proptest! {
        #[test]
        fn the_answer_is_consistent(grants in arb_grants(), offset in -5i64..60) {
            let t = now() + days(offset);
            let e = at(&grants, t);
            // The multiplier is always the tier's.
            prop_assert_eq!(e.token_multiplier_percent, e.tier.token_multiplier_percent());
            // Free exactly when nothing is in force.
            prop_assert_eq!(e.tier == Tier::Free, e.source == Source::Free);
            // Features come without duplicates, in canonical order.
            let canonical: Vec<Feature> = Feature::ALL.into_iter().filter(|f| e.features.contains(f)).collect();
            prop_assert_eq!(&canonical, &e.features);
            // The tier is at least what each grant alone would give, and each grant's features stay.
            for alone in [
                Grants { subscription: grants.subscription.clone(), ..Default::default() },
                Grants { seats: grants.seats.clone(), ..Default::default() },
                Grants { pro_credit_until: grants.pro_credit_until, ..Default::default() },
            ] {
                let part = at(&alone, t);
                prop_assert!(part.tier <= e.tier);
                for f in &part.features {
                    prop_assert!(e.has(*f), "{:?} lost", f);
                }
            }
            // A Pro credit in force means at least Pro; a seat in force means Enterprise.
            if grants.pro_credit_until.is_some_and(|u| t < u) {
                prop_assert!(e.tier >= Tier::Pro);
            }
            if grants.seats.iter().any(|l| l.grants_access(t)) {
                prop_assert_eq!(e.tier, Tier::Enterprise);
            }
            // The gate agrees with the feature list.
            for f in Feature::ALL {
                prop_assert_eq!(e.require(f).is_ok(), e.has(f));
            }
        }
    }
}

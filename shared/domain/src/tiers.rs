//! Plans and what they entitle. Defined once here; what a *user* may do (their subscription, seats
//! and Pro credit together) is `crate::entitlements`, which every gate in the API asks.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Free,
    Pro,
    Enterprise,
}

/// A switchable capability of a plan. The token multiplier is numeric and lives on [`Tier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Certificates,
    OfflineDownloads,
    AiTutor,
    ProCourses,
    TeamManagement,
    WhiteLabel,
    PrioritySupport,
}

impl Feature {
    pub const ALL: [Feature; 7] = [
        Feature::Certificates,
        Feature::OfflineDownloads,
        Feature::AiTutor,
        Feature::ProCourses,
        Feature::TeamManagement,
        Feature::WhiteLabel,
        Feature::PrioritySupport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Certificates => "certificates",
            Feature::OfflineDownloads => "offline_downloads",
            Feature::AiTutor => "ai_tutor",
            Feature::ProCourses => "pro_courses",
            Feature::TeamManagement => "team_management",
            Feature::WhiteLabel => "white_label",
            Feature::PrioritySupport => "priority_support",
        }
    }

    pub fn parse(raw: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.as_str() == raw)
    }

    /// The cheapest tier that includes this feature.
    pub fn minimum_tier(self) -> Tier {
        Tier::ALL.into_iter().find(|t| t.has(self)).unwrap_or(Tier::Enterprise)
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const PRO_FEATURES: &[Feature] =
    &[Feature::Certificates, Feature::OfflineDownloads, Feature::AiTutor, Feature::ProCourses];

const ENTERPRISE_FEATURES: &[Feature] = &[
    Feature::Certificates,
    Feature::OfflineDownloads,
    Feature::AiTutor,
    Feature::ProCourses,
    Feature::TeamManagement,
    Feature::WhiteLabel,
    Feature::PrioritySupport,
];

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Pro, Tier::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }

    pub fn parse(raw: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    pub fn features(self) -> &'static [Feature] {
        match self {
            Tier::Free => &[],
            Tier::Pro => PRO_FEATURES,
            Tier::Enterprise => ENTERPRISE_FEATURES,
        }
    }

    pub fn has(self, feature: Feature) -> bool {
        self.features().contains(&feature)
    }

    /// Token award multiplier in percent (100 = ×1.0), an integer so awards stay exact.
    pub fn token_multiplier_percent(self) -> u32 {
        match self {
            Tier::Free => 100,
            Tier::Pro => 150,
            Tier::Enterprise => 200,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a feature check (`Entitlements::require`) failed: the caller's plan lacks it; `required` is the cheapest tier that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureNotInPlan {
    pub feature: Feature,
    pub current: Tier,
    pub required: Tier,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_tiers_include_lower_tiers_features() {
        for f in Tier::Pro.features() {
            assert!(Tier::Enterprise.has(*f), "{f} missing from enterprise");
        }
        assert!(Tier::Free.features().is_empty());
    }

    #[test]
    fn every_feature_belongs_to_some_tier() {
        for f in Feature::ALL {
            assert!(f.minimum_tier().has(f));
        }
    }

    #[test]
    fn the_cheapest_tier_of_a_feature() {
        assert_eq!(Feature::AiTutor.minimum_tier(), Tier::Pro);
        assert_eq!(Feature::Certificates.minimum_tier(), Tier::Pro);
        assert_eq!(Feature::WhiteLabel.minimum_tier(), Tier::Enterprise);
    }

    #[test]
    fn names_round_trip() {
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Some(t));
        }
        for f in Feature::ALL {
            assert_eq!(Feature::parse(f.as_str()), Some(f));
        }
    }
}

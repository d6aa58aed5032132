//! The Azora monetization domain: values, rules and decisions, with no AWS, HTTP or storage types.
//!
//! Adapters (the store and API crates) translate between these types and the outside world.

pub mod audit;
pub mod catalog;
pub mod course;
pub mod entitlements;
pub mod error;
pub mod ids;
pub mod json_integer;
pub mod leaderboard;
pub mod license;
pub mod license_key;
pub mod license_purchase;
pub mod money;
pub mod notification;
pub mod payment;
pub mod pdf;
pub mod plans;
pub mod receipt;
pub mod reports;
pub mod roles;
pub mod streak;
pub mod subscription;
pub mod support;
pub mod tiers;
pub mod tokens;
pub mod usage;

pub use error::ValidationError;
pub use ids::{OrgId, UserId};
pub use money::{Currency, Money, MoneyError};
pub use roles::{Role, Roles};
pub use tiers::{Feature, Tier};

#[cfg(test)]
mod fuzz;

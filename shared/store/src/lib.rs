//! The DynamoDB adapter. One table, designed around the access patterns (see `keys`).
//!
//! Every write that must not happen twice is a conditional write or a transaction; a failed
//! condition surfaces as [`StoreError::ConditionFailed`] so callers map it to 409/422, never 500.

pub mod audit;
pub mod catalog;
pub mod claims;
pub mod courses;
pub mod cursor;
pub mod customers;
pub mod earnings;
pub mod enrollments;
pub mod entitlements;
pub mod error;
pub mod item;
pub mod job_runs;
pub mod keys;
pub mod leaderboard;
pub mod license_quotes;
pub mod licenses;
pub mod orders;
pub mod payments;
pub mod payout_accounts;
pub mod payouts;
pub mod rate_limit;
pub mod reconciliation;
pub mod refunds;
pub mod reports;
pub mod reviews;
pub mod stripe_events;
pub mod subscriptions;
mod table;
pub mod tickets;
pub mod tokens;
pub mod usage;
pub mod vouchers;

pub use cursor::Page;
pub use error::StoreError;

pub use aws_sdk_dynamodb::Client as DynamoClient;
use aws_sdk_dynamodb::Client;
use table::key;

/// The table and the client that reaches it; cheap to clone, built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Store {
    /// A cheap read that proves the table answers (health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.get_item(&key("HEALTH", "HEALTH"), false).await.map(|_| ())
    }
}

#[cfg(test)]
mod fuzz;

//! End-to-end tests through the local HTTP API (in-process local server, real DynamoDB Local and
//! moto). Run with `make test`.

mod auth;
mod contract;
mod idempotency;
mod invariants;
mod licenses;
mod marketplace;
mod notifications;
mod payments;
mod platform;
mod rewards;
mod subscriptions;
mod subscriptions_billing;

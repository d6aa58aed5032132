//! End-to-end tests through the local HTTP API (in-process local server, real DynamoDB Local and
//! moto). Run with `make test`.

mod abuse_limits;
mod api_fuzz;
mod auth;
mod authz_matrix;
mod billing_cycle_resume;
mod billing_screens;
mod console;
mod contract;
mod dunning;
mod enterprise_purchase;
mod entitlements;
mod iam;
mod idempotency;
mod invariants;
mod licenses;
mod marketplace;
mod money_integrity;
mod notifications;
mod payment_methods;
mod payments;
mod payouts;
mod plans;
mod platform;
mod receipts;
mod reports;
mod rewards;
mod subscription_races;
mod subscriptions;
mod subscriptions_billing;
mod support_tickets;
mod webhook_edge;

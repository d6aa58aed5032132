//! The API: every HTTP handler, SQS consumer and scheduled job, plus the glue they share
//! (configuration, authentication, errors, idempotency, audit, notifications, telemetry).
//!
//! Handlers are thin: parse → authorize → call the domain and store → map the result. Each Lambda
//! crate under `functions/` wires one entry point from [`registry`] through [`lambda`]; the local
//! server serves them all, routed by template.yaml.

pub mod audit;
pub mod auth;
pub mod checkout;
pub mod config;
pub mod entitlements;
pub mod error;
pub mod handlers;
pub mod http;
pub mod idempotency;
pub mod jobs;
pub mod lambda;
pub mod licensing;
pub mod notify;
pub mod payments;
pub mod registry;
pub mod rewards;
pub mod state;
pub mod subscriptions;
pub mod telemetry;
pub mod workers;

pub use error::ApiError;
pub use state::AppState;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod source_rules;

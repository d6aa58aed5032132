//! The API: every HTTP handler, SQS consumer and scheduled job, plus the glue they share
//! (configuration, authentication, errors, idempotency, audit, notifications, telemetry).
//!
//! Handlers are thin: parse → authorize → call the domain and store → map the result. Each Lambda
//! crate under `functions/` runs one constant of [`functions`] through [`lambda`], so it links
//! only its own handler and builds only the clients its [`needs`] name; the local server serves
//! them all, routed by template.yaml.

pub mod audit;
pub mod auth;
pub mod aws;
pub mod billing;
pub mod catalogue;
pub mod checkout;
pub mod classes;
pub mod cognito;
pub mod config;
pub mod courses;
pub mod entitlements;
pub mod error;
pub mod fault;
pub mod functions;
pub mod handlers;
pub mod http;
pub mod idempotency;
pub mod jobs;
pub mod lambda;
pub mod leaderboards;
pub mod licensing;
pub mod limits;
pub mod needs;
pub mod notify;
pub mod panic_report;
pub mod payment_methods;
pub mod payments;
pub mod plans;
pub mod refunds;
pub mod reports;
pub mod rewards;
pub mod state;
pub mod subscriptions;
pub mod support;
pub mod telemetry;
pub mod workers;

pub use error::ApiError;
pub use state::AppState;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod source_rules;

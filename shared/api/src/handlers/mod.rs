//! HTTP handlers, one module per area. Each: parse → authorize → domain/store → response.

pub mod admin;
pub mod courses;
pub mod docs;
pub mod fallback;
pub mod health;
pub mod instructors;
pub mod leaderboard;
pub mod licenses;
pub mod payment_methods;
pub mod payments;
pub mod plans;
pub mod reviews;
pub mod subscriptions;
pub mod support;
pub mod tokens;
pub mod webhooks;

//! A stateful local stand-in for the part of the Stripe API Azora uses, answering with Stripe's
//! real object shapes at the API version async-stripe 1.0.0-rc.10 pins ([`API_VERSION`]), and
//! delivering signed webhooks.
//!
//! ```ignore
//! let sandbox = Sandbox::start(SandboxOptions::default()).await?;
//! let client = stripe::ClientBuilder::new("sk_test_123").url(sandbox.base_url()).build()?;
//! sandbox.set_webhook_url(format!("http://{app_addr}/webhooks/stripe"));
//! ```
//!
//! Layout: `server` (HTTP, auth, idempotency, request log) dispatches `/v1/...` through the
//! route table of `resources` (one module per Stripe resource) and `/_sandbox/...` to
//! `control`; every object and event lives in the `store`; `billing` runs subscriptions,
//! invoices and the passage of time (test clocks and the sandbox clock); `webhooks` signs and
//! delivers.
//! The README (`infra/stripe-sandbox/README.md`) lists the endpoints.

#![recursion_limit = "256"]

mod billing;
mod control;
mod dns;
mod error;
mod expand;
mod fixtures;
mod ids;
mod listing;
mod money;
mod params;
mod records;
mod resources;
mod router;
mod sandbox;
mod server;
mod store;
mod time;
mod webhooks;

pub use records::{
    DEFAULT_INVOICE_RETRY_DAYS, DEFAULT_INVOICE_RETRY_END, DeliverOptions, DeliveryAttempt, INVOICE_RETRY_ENDS,
    RecordedRequest, SandboxConfig,
};
pub use resources::payment_methods::{Behavior as TestCardBehavior, TEST_CARDS, TestCard};
pub use sandbox::{DEFAULT_PORT, DEFAULT_WEBHOOK_SECRET, Sandbox, SandboxError, SandboxHandle, SandboxOptions};
pub use store::API_VERSION;
pub use webhooks::signature_header;

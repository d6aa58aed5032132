//! The Stripe adapter. The rest of the code sees only these small types; every call goes through
//! async-stripe over HTTP to `STRIPE_API_BASE` (api.stripe.com in AWS, the sandbox locally).
//!
//! Every mutating call carries an idempotency key derived from our own ids, so a retry after a
//! crash or timeout never creates a second PaymentIntent or refund.

pub mod billing;
mod connect;
mod gateway;
mod http;
pub mod invoicing;
pub mod payment_methods;
pub mod webhook;
mod wire;

pub use connect::TransferSummary;
pub use gateway::{
    DisputeSummary, GatewayError, PaymentIntentOutcome, PaymentIntentRequest, PaymentIntentState, RefundOutcome,
    RefundRequest, StripeGateway,
};

#[cfg(test)]
mod fuzz;

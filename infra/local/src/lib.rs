//! The local stack's server: every function of template.yaml behind one port, the same request
//! shape API Gateway HTTP API v2 produces, the SQS consumers polling the local queues, and
//! `POST /_local/jobs/<name>` to run a scheduled job now.

pub mod consumers;
pub mod dev;
pub mod gateway;
pub mod iam;
pub mod router;
pub mod seed;
pub mod server;
pub mod tokens;

pub use server::{LocalServer, ServerOptions};

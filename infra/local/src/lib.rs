//! The local stack's server: every function of template.yaml behind one port, the same request
//! shape API Gateway HTTP API v2 produces, the SQS consumers polling the local queues, and
//! `POST /_local/jobs/<name>` to run a scheduled job now.
//!
//! Every AWS call made while serving a function is recorded for that function ([`iam`]): the
//! IAM conformance check (`make test`) compares them with the function's policy in template.yaml.
//! `GET /_local/iam` lists them with the verdict; set `AZORA_IAM_CALLS_DIR` to have them written
//! to `calls-<pid>.tsv` there.

pub mod console;
pub mod consumers;
pub mod dev;
pub mod functions;
pub mod gateway;
pub mod iam;
pub mod router;
pub mod seed;
pub mod server;
pub mod tokens;

pub use server::{LocalServer, ServerOptions};

//! template.yaml is the one definition of the table, the queues, the routes and the functions.
//! This crate reads it ([`template`]) and creates the same resources on the local services
//! ([`provision`]), so the local stack cannot drift from what `sam deploy` creates.

pub mod iam;
pub mod provision;
pub mod template;

pub use provision::{LocalStack, StackError};
pub use template::{FunctionDef, Template, TemplateError};

/// Loads the shared AWS SDK configuration; endpoints come from `AWS_ENDPOINT_URL_*` locally.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client()).load().await
}

/// The SDK's HTTPS client on ring, the same one the deployed functions use.
pub use azora_https::https_client;

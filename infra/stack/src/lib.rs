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

/// The SDK's default HTTPS client on ring (the workspace's one crypto library; the SDK's own
/// default is on aws-lc and is not compiled in). The same client as `azora_api::aws::https_client`,
/// which the deployed functions use; this crate does not depend on azora-api.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, runtime_components| {
        let mut connector =
            aws_smithy_http_client::ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

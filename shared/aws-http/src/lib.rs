//! The AWS SDK's HTTPS client (hyper 1, rustls, the system's root certificates, proxy settings from
//! the environment), as the SDK's `default-https-client` builds it but on ring, the workspace's one
//! crypto library (the SDK's own default is on aws-lc, which is not compiled in). The deployed
//! functions (`azora_api::aws`) and the local tooling (`azora_stack::sdk_config`) both use it.

use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub fn https_client() -> SharedHttpClient {
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

//! The AWS SDK configuration of a deployed function, read from Lambda's environment without
//! aws-config: its provider chains (profiles, web identity through STS, IMDS, ECS) are code a
//! function never runs, since Lambda hands every function its region and credentials as variables.
//! The local server and the tests load theirs through aws-config (`azora_stack::sdk_config`).

use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::{RetryConfig, SharedCredentialsProvider, TimeoutConfig};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use std::time::Duration;

pub use azora_https::https_client;

/// What `aws_config::defaults(BehaviorVersion::latest()).load()` yields in a Lambda function:
/// region from `AWS_REGION` (or `AWS_DEFAULT_REGION`), the credentials Lambda sets
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), endpoint overrides from
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (the local stack's), standard retries and
/// the 3.1 s connect timeout. A variable that is missing leaves its part unset, as aws-config
/// would: the client is built, and its first call fails naming what is missing.
pub fn sdk_config_from_env() -> SdkConfig {
    let mut sdk = SdkConfig::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(RetryConfig::standard())
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_millis(3100)).build())
        .service_config(EnvServiceConfig);
    sdk.set_region(var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).map(Region::new));
    if let (Some(key_id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let credentials =
            aws_sdk_dynamodb::config::Credentials::new(key_id, secret, var("AWS_SESSION_TOKEN"), None, "Environment");
        sdk.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
    }
    sdk.build()
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Service-specific settings from the environment only (`AWS_ENDPOINT_URL_DYNAMODB`...).
#[derive(Debug)]
struct EnvServiceConfig;

impl LoadServiceConfig for EnvServiceConfig {
    /// The service's own variable first (`AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB's
    /// `AWS_ENDPOINT_URL`), then the global one, as aws-config reads them.
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace(' ', "_");
        var(&format!("{}_{service}", key.env())).or_else(|| var(key.env()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(service_id: &'a str, env: &'a str) -> ServiceConfigKey<'a> {
        ServiceConfigKey::builder().service_id(service_id).env(env).profile("endpoint_url").build().unwrap()
    }

    #[test]
    fn an_endpoint_comes_from_the_service_variable_then_the_global_one() {
        assert_eq!(EnvServiceConfig.load_config(key("DynamoDB", "AZORA_TEST_NOT_SET")), None);
        // `PATH_DYNAMODB` is not set, so the global variable (here `PATH`, which is) answers.
        assert_eq!(EnvServiceConfig.load_config(key("DynamoDB", "PATH")), std::env::var("PATH").ok());
    }
}

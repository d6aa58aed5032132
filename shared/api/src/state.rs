//! What every handler shares: configuration and clients, built once per cold start.

use crate::auth::JwtVerifier;
use crate::config::{Config, ConfigError};
use crate::notify::{Notifier, QueueSender};
use aws_sdk_dynamodb::config::SharedInterceptor;
use azora_store::Store;
use azora_stripe::StripeGateway;
use std::sync::Arc;

/// The application's clock: real time, plus an offset that only tests and the local server move
/// (to line up with the Stripe sandbox's advanced clock). Always zero in AWS.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: std::sync::atomic::AtomicI64,
}

impl Clock {
    /// The time every rule of the app goes by (windows, leases, periods, records' timestamps).
    pub fn now(&self) -> jiff::Timestamp {
        let offset = self.offset_seconds.load(std::sync::atomic::Ordering::Relaxed);
        Self::wall_time() + jiff::SignedDuration::from_secs(offset)
    }

    /// Real time, without the offset: only for what is measured against the world's clock rather
    /// than the app's (the Lambda runtime's invocation deadline, CloudWatch metric timestamps).
    /// The one place that reads the system clock (a source scan test holds it to that).
    pub fn wall_time() -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    pub fn advance(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, std::sync::atomic::Ordering::Relaxed);
    }
}

pub struct AppState {
    pub config: Config,
    pub clock: Clock,
    pub store: Store,
    pub auth: JwtVerifier,
    pub notifier: Notifier,
    pub stripe_events: QueueSender,
    /// Course completions for the rewards worker.
    pub rewards: QueueSender,
    pub stripe: StripeGateway,
    pub ses: aws_sdk_sesv2::Client,
}

impl AppState {
    /// Builds the clients from one SDK configuration (endpoints from `AWS_ENDPOINT_URL_*` locally).
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> Result<Arc<Self>, ConfigError> {
        Self::with_interceptors(config, sdk, &[])
    }

    /// Like [`AppState::new`], with extra SDK interceptors on every AWS client. Only the local
    /// server passes any (it records each function's AWS calls for the IAM conformance test);
    /// with none, the clients are exactly those of `new`.
    pub fn with_interceptors(
        config: Config,
        sdk: &aws_config::SdkConfig,
        interceptors: &[SharedInterceptor],
    ) -> Result<Arc<Self>, ConfigError> {
        let auth = JwtVerifier::new(&config.jwt)
            .map_err(|e| ConfigError::Invalid { name: "JWT_PUBLIC_KEY", reason: e.to_string() })?;
        let stripe = StripeGateway::new(&config.stripe.secret_key, &config.stripe.api_base)
            .map_err(|e| ConfigError::Invalid { name: "STRIPE_API_BASE", reason: e.to_string() })?;
        let dynamodb = {
            let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk);
            interceptors.iter().for_each(|i| _ = conf.push_interceptor(i.clone()));
            aws_sdk_dynamodb::Client::from_conf(conf.build())
        };
        let sqs = {
            let mut conf = aws_sdk_sqs::config::Builder::from(sdk);
            interceptors.iter().for_each(|i| _ = conf.push_interceptor(i.clone()));
            aws_sdk_sqs::Client::from_conf(conf.build())
        };
        let ses = {
            let mut conf = aws_sdk_sesv2::config::Builder::from(sdk);
            interceptors.iter().for_each(|i| _ = conf.push_interceptor(i.clone()));
            aws_sdk_sesv2::Client::from_conf(conf.build())
        };
        Ok(Arc::new(Self {
            store: Store::new(dynamodb, &config.table_name),
            notifier: Notifier::new(QueueSender::new(sqs.clone(), &config.email_queue_url)),
            stripe_events: QueueSender::new(sqs.clone(), &config.stripe_events_queue_url),
            rewards: QueueSender::new(sqs, &config.tokens.rewards_queue_url),
            ses,
            stripe,
            auth,
            config,
            clock: Clock::default(),
        }))
    }

    /// Loads configuration from the environment and builds the clients; fails fast on bad config.
    pub async fn from_env() -> Result<Arc<Self>, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        Self::new(config, &sdk)
    }
}

//! What every handler shares: configuration and clients, built once per cold start.

use crate::auth::{JwtVerifier, Principal};
use crate::config::{Config, ConfigError};
use crate::error::ApiError;
use crate::needs::{Needs, UndeclaredPart};
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

/// One function's configuration and clients, built once per cold start from its [`Needs`]: a part
/// it did not declare is neither read from the environment nor built, and reaching for it is a 500
/// naming the part (see [`crate::needs`]).
pub struct AppState {
    pub config: Config,
    /// Shared by every function the local server serves, so tests move all of their time at once.
    pub clock: Arc<Clock>,
    pub store: Store,
    auth: Option<JwtVerifier>,
    stripe: Option<StripeGateway>,
    notifier: Option<Notifier>,
    stripe_events: Option<QueueSender>,
    /// Course completions for the rewards worker.
    rewards: Option<QueueSender>,
    ses: Option<aws_sdk_sesv2::Client>,
}

impl AppState {
    /// Builds the clients `config.needs` names from one SDK configuration (endpoints from
    /// `AWS_ENDPOINT_URL_*` locally). The local server's path: every part's construction is
    /// linked, and `config.needs` picks at run time.
    pub fn new(config: Config, sdk: &aws_types::SdkConfig) -> Result<Arc<Self>, ConfigError> {
        Self::with_interceptors(config, sdk, &[], Arc::default())
    }

    /// Like [`AppState::new`], with extra SDK interceptors on every AWS client and a given clock.
    /// Only the local server passes any interceptor (it records each function's AWS calls for the
    /// IAM conformance test) or a shared clock; with none, the clients are exactly those of `new`.
    pub fn with_interceptors(
        config: Config,
        sdk: &aws_types::SdkConfig,
        interceptors: &[SharedInterceptor],
        clock: Arc<Clock>,
    ) -> Result<Arc<Self>, ConfigError> {
        Self::build::<{ Needs::EVERYTHING.bits() }>(config, sdk, interceptors, clock)
    }

    /// Loads the configuration of the parts `NEEDS` (the bits of a [`Needs`]) names from the
    /// environment and builds their clients; fails fast naming a missing or invalid variable.
    /// What a deployed function runs: with its needs a constant, the code that builds the clients
    /// of other parts is compiled out, so its binary does not link them (Stripe's HTTP stack, SES,
    /// the JWT verifier...).
    pub async fn from_env_for<const NEEDS: u32>() -> Result<Arc<Self>, ConfigError> {
        let config = Config::from_env_for::<NEEDS>()?;
        let sdk = crate::aws::sdk_config_from_env();
        Self::build::<NEEDS>(config, &sdk, &[], Arc::default())
    }

    /// Builds the clients `config.needs` names, among those of the parts `GATE` names (all of
    /// them at run time; one function's at compile time, see [`AppState::from_env_for`]).
    fn build<const GATE: u32>(
        config: Config,
        sdk: &aws_types::SdkConfig,
        interceptors: &[SharedInterceptor],
        clock: Arc<Clock>,
    ) -> Result<Arc<Self>, ConfigError> {
        let needs = config.needs;
        let auth = match config.jwt.get() {
            Ok(jwt) if const { Needs::from_bits(GATE).has(Needs::AUTH) } => Some(
                JwtVerifier::new(jwt)
                    .map_err(|e| ConfigError::Invalid { name: "JWT_PUBLIC_KEY", reason: e.to_string() })?,
            ),
            _ => None,
        };
        let stripe = match config.stripe.get() {
            Ok(stripe) if const { Needs::from_bits(GATE).has(Needs::STRIPE) } => Some(
                StripeGateway::new(&stripe.secret_key, &stripe.api_base)
                    .map_err(|e| ConfigError::Invalid { name: "STRIPE_API_BASE", reason: e.to_string() })?,
            ),
            _ => None,
        };
        let dynamodb = {
            let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk);
            interceptors.iter().for_each(|i| _ = conf.push_interceptor(i.clone()));
            aws_sdk_dynamodb::Client::from_conf(conf.build())
        };
        let queues = [config.email_queue_url.get(), config.webhook.get().map(|w| &w.events_queue_url), {
            config.tokens.get().map(|t| &t.rewards_queue_url)
        }];
        let any_queue =
            const { Needs::from_bits(GATE).has_any(Needs::MAIL.and(Needs::STRIPE_WEBHOOK).and(Needs::TOKENS)) };
        let sqs = (any_queue && queues.iter().any(Result::is_ok)).then(|| {
            let mut conf = aws_sdk_sqs::config::Builder::from(sdk);
            interceptors.iter().for_each(|i| _ = conf.push_interceptor(i.clone()));
            aws_sdk_sqs::Client::from_conf(conf.build())
        });
        let sender = |url: &Result<&String, UndeclaredPart>| match (&sqs, url) {
            (Some(sqs), Ok(url)) => Some(QueueSender::new(sqs.clone(), url)),
            _ => None,
        };
        let ses = (const { Needs::from_bits(GATE).has(Needs::SES) } && needs.has(Needs::SES)).then(|| {
            let mut conf = aws_sdk_sesv2::config::Builder::from(sdk);
            interceptors.iter().for_each(|i| _ = conf.push_interceptor(i.clone()));
            aws_sdk_sesv2::Client::from_conf(conf.build())
        });
        Ok(Arc::new(Self {
            store: Store::new(dynamodb, &config.table_name),
            notifier: sender(&queues[0]).map(Notifier::new),
            stripe_events: sender(&queues[1]),
            rewards: sender(&queues[2]),
            ses,
            stripe,
            auth,
            config,
            clock,
        }))
    }

    /// Reads `Authorization: Bearer <token>` and verifies it ([`JwtVerifier::authenticate`]).
    pub fn authenticate(&self, req: &lambda_http::Request) -> Result<Principal, ApiError> {
        self.auth.as_ref().ok_or_else(|| Needs::AUTH.undeclared())?.authenticate(req)
    }

    pub fn stripe(&self) -> Result<&StripeGateway, UndeclaredPart> {
        self.stripe.as_ref().ok_or_else(|| Needs::STRIPE.undeclared())
    }

    pub fn notifier(&self) -> Result<&Notifier, UndeclaredPart> {
        self.notifier.as_ref().ok_or_else(|| Needs::MAIL.undeclared())
    }

    pub fn stripe_events(&self) -> Result<&QueueSender, UndeclaredPart> {
        self.stripe_events.as_ref().ok_or_else(|| Needs::STRIPE_WEBHOOK.undeclared())
    }

    pub fn rewards(&self) -> Result<&QueueSender, UndeclaredPart> {
        self.rewards.as_ref().ok_or_else(|| Needs::TOKENS.undeclared())
    }

    pub fn ses(&self) -> Result<&aws_sdk_sesv2::Client, UndeclaredPart> {
        self.ses.as_ref().ok_or_else(|| Needs::SES.undeclared())
    }
}

//! Boots the whole local API: provisions template.yaml's resources on the local services, builds
//! the application state from the resolved environment and starts the server. Used by the
//! `local-server` binary (`make dev`) and by the end-to-end test harness.

use crate::iam;
use crate::router::{RouteError, Routes};
use crate::server::{LocalServer, ServerOptions};
use azora_api::AppState;
use azora_api::config::{Config, ConfigError};
use azora_api::needs::Needs;
use azora_api::state::Clock;
use azora_stack::provision::{Provisioned, resolve_env, resolve_function_env};
use azora_stack::{LocalStack, StackError, Template};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Documented defaults for `make dev`; any of them can be overridden from the environment.
pub const DEV_DEFAULTS: &[(&str, &str)] = &[
    ("TABLE_NAME", "azora-dev"),
    ("JWT_ALGORITHM", "HS256"),
    ("JWT_SECRET", "azora-local-development-secret-change-me"),
    ("JWT_ISSUER", "https://auth.azora.local/"),
    ("JWT_AUDIENCE", "azora-monetization"),
    ("EMAIL_FROM", "no-reply@azora.local"),
    ("STRIPE_SECRET_KEY", "sk_test_azora_local"),
    ("STRIPE_WEBHOOK_SECRET", "whsec_azora_local_development"),
    ("STRIPE_API_BASE", "http://127.0.0.1:12111/"),
    ("REFUND_WINDOW_DAYS", "14"),
    ("APP_BASE_URL", "http://127.0.0.1:3000"),
    // A fixed, public development key (base64 of a 32-byte Ed25519 seed); `make dev` replaces it
    // with one generated under .local/ (infra/scripts/dev.sh). Never use it outside local runs.
    ("LICENSE_SIGNING_KEY", "YXpvcmEtbG9jYWwtZGV2LWxpY2Vuc2Uta2V5LTAwMDE="),
    ("LICENSE_VALIDATE_RATE_LIMIT", "60"),
    ("SUPPORT_EMAIL", "support@azora.local"),
    // The Stripe sandbox also answers DNS-over-HTTPS JSON queries (records set by its control API).
    ("DNS_RESOLVER_URL", "http://127.0.0.1:12111/dns-query"),
    ("TOKEN_COMPLETION_BASE", "100"),
    // Award digests every minute locally (15 minutes in AWS), so they are quick to see.
    ("TOKEN_DIGEST_WINDOW_SECONDS", "60"),
    // The seller on receipts and the tax included in prices (template.yaml's defaults).
    ("SELLER_NAME", "Azora Learning Ltd"),
    ("SELLER_ADDRESS", "1 Example Street|London EC1A 1AA|United Kingdom"),
    ("TAX_RATE_BPS", "0"),
    ("PORT", "3000"),
];

/// Names a caller may override from the process environment.
const OVERRIDABLE: &[&str] = &[
    "TABLE_NAME",
    "JWT_ALGORITHM",
    "JWT_SECRET",
    "JWT_PUBLIC_KEY",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "EMAIL_FROM",
    "EMAIL_QUEUE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_EVENTS_QUEUE_URL",
    "REFUND_WINDOW_DAYS",
    "APP_BASE_URL",
    "SUBSCRIPTION_GRACE_DAYS",
    "LICENSE_SIGNING_KEY",
    "LICENSE_PUBLIC_KEY",
    "LICENSE_VALIDATE_RATE_LIMIT",
    "SUPPORT_EMAIL",
    "DNS_RESOLVER_URL",
    "REWARDS_QUEUE_URL",
    "TOKEN_COMPLETION_BASE",
    "TOKEN_DIGEST_WINDOW_SECONDS",
    "TOKEN_REWARDS_CATALOG",
    "SELLER_NAME",
    "SELLER_ADDRESS",
    "SELLER_TAX_ID",
    "TAX_RATE_BPS",
    "PORT",
];

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Template(#[from] azora_stack::TemplateError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Routes(#[from] RouteError),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// The public half of the settings' license signing key, unless set: locally both come from the
/// one generated key (in AWS they are two deploy parameters, checked against each other).
fn with_license_public_key(mut settings: BTreeMap<String, String>) -> BTreeMap<String, String> {
    if !settings.contains_key("LICENSE_PUBLIC_KEY")
        && let Some(public) = settings.get("LICENSE_SIGNING_KEY").and_then(|k| license_public_key(k).ok())
    {
        settings.insert("LICENSE_PUBLIC_KEY".into(), public);
    }
    settings
}

/// The base64url public key of a license signing key (`localctl license-public-key`).
pub fn license_public_key(signing_key: &str) -> Result<String, String> {
    azora_domain::license_key::LicenseSigner::parse(signing_key).map(|s| s.verifier().public_key_base64url())
}

/// The dev defaults with the process environment laid over them.
pub fn dev_settings() -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = DEV_DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for name in OVERRIDABLE {
        if let Ok(v) = std::env::var(name)
            && !v.is_empty()
        {
            vars.insert(name.to_string(), v);
        }
    }
    with_license_public_key(vars)
}

pub struct BootOptions {
    /// Settings laid over template.yaml's resolved environment (TABLE_NAME names the table).
    pub settings: BTreeMap<String, String>,
    /// Prefix for local queue names, so several stacks can share one moto.
    pub queue_prefix: String,
    pub bind: SocketAddr,
    pub run_consumers: bool,
    pub force_base64_bodies: bool,
}

pub struct Booted {
    pub server: LocalServer,
    pub state: Arc<AppState>,
    pub provisioned: Provisioned,
    pub env: BTreeMap<String, String>,
    pub routes: Routes,
}

pub async fn boot(mut options: BootOptions) -> Result<Booted, BootError> {
    options.settings = with_license_public_key(options.settings);
    let template = Template::load_default()?;
    let sdk = azora_stack::sdk_config().await;
    let stack = LocalStack::new(&sdk);
    let table_name = options.settings.get("TABLE_NAME").cloned().unwrap_or_else(|| "azora-dev".into());
    let email_from = options.settings.get("EMAIL_FROM").cloned().unwrap_or_default();
    let sender_domain = email_from.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    let provisioned = stack.provision(&template, &table_name, &options.queue_prefix, &sender_domain).await?;
    let env = resolve_env(&template, &provisioned, &options.settings);
    let recorder = iam::interceptor(iam::ResourceNames {
        tables: [(provisioned.table_name.clone(), template.table()?.logical_id.clone())].into(),
        queues: provisioned.queue_urls.iter().map(|(id, url)| (url.clone(), id.clone())).collect(),
        ses_identities: template
            .parameters
            .get("SenderDomain")
            .map(|canonical| (sender_domain.clone(), canonical.clone()))
            .into_iter()
            .collect(),
    });
    // One clock for every function, so tests that move time move all of it.
    let clock = Arc::new(Clock::default());
    // The harness's own state (seeding, test setup), with every part.
    let state = AppState::with_interceptors(
        Config::from_map(Needs::EVERYTHING, &env)?,
        &sdk,
        std::slice::from_ref(&recorder),
        clock.clone(),
    )?;
    // Each function from its own template environment and needs, as in AWS.
    let routes = Routes::from_template(&template, |f, needs| {
        let env = resolve_function_env(&template, &provisioned, &options.settings, f);
        AppState::with_interceptors(
            Config::from_map(needs, &env)?,
            &sdk,
            std::slice::from_ref(&recorder),
            clock.clone(),
        )
    })?;
    let server = LocalServer::start(
        routes.clone(),
        stack.sqs.clone(),
        ServerOptions {
            bind: options.bind,
            queue_urls: provisioned.queue_urls.clone(),
            run_consumers: options.run_consumers,
            force_base64_bodies: options.force_base64_bodies,
        },
    )
    .await?;
    Ok(Booted { server, state, provisioned, env, routes })
}

//! Configuration from environment variables, loaded once per cold start. A missing or invalid
//! variable fails start-up with a message naming it.

use azora_domain::license_key::LicenseSigner;
use azora_domain::notification::EmailAddress;
use jsonwebtoken::Algorithm;
use std::collections::BTreeMap;

/// Defined beside `ApiError` so that the config parts of other modules (`rewards::config`) need
/// not import this module, which imports them.
pub use crate::error::ConfigError;

/// How incoming JWTs are verified. Exactly one algorithm is accepted.
#[derive(Clone)]
pub enum JwtKey {
    /// HS256 shared secret (≥ 32 bytes).
    Secret(Vec<u8>),
    /// RS256 or EdDSA public key, PEM.
    PublicKeyPem { algorithm: Algorithm, pem: String },
}

impl std::fmt::Debug for JwtKey {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtKey::Secret(_) => f.write_str("JwtKey::Secret(<redacted>)"),
            JwtKey::PublicKeyPem { algorithm, .. } => {
                write!(f, "JwtKey::PublicKeyPem({algorithm:?})")
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub key: JwtKey,
    pub issuer: String,
    pub audience: String,
}

#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: String,
    /// `https://api.stripe.com/` in AWS; the sandbox locally.
    pub api_base: String,
    pub webhook_secret: String,
}

impl StripeConfig {
    /// Whether our key is a live one: events of the other mode are not ours to apply.
    pub fn livemode(&self) -> bool {
        self.secret_key.starts_with("sk_live_") || self.secret_key.starts_with("rk_live_")
    }
}

impl std::fmt::Debug for StripeConfig {
    // Never print the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StripeConfig {{ api_base: {:?}, keys: <redacted> }}", self.api_base)
    }
}

/// Enterprise licensing: the key that signs license keys, the validate endpoint's rate limit and
/// where support tickets are emailed.
#[derive(Clone, Debug)]
pub struct LicensingConfig {
    /// From `LICENSE_SIGNING_KEY`: base64 of a 32-byte Ed25519 seed, or a PKCS#8 PEM. Its Debug
    /// output shows only the public key.
    pub signer: LicenseSigner,
    /// `GET /api/enterprise/licenses/validate` requests per caller (source IP) per minute.
    pub validate_rate_limit: u32,
    pub support_email: EmailAddress,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    pub jwt: JwtConfig,
    pub email_queue_url: String,
    pub stripe_events_queue_url: String,
    pub email_from: EmailAddress,
    pub stripe: StripeConfig,
    /// How long after paying a buyer may ask for a refund (admins: any time).
    pub refund_window_days: i64,
    /// The web app, for links in emails and Stripe onboarding return URLs.
    pub app_base_url: String,
    /// Days a subscription may stay `past_due` before the user drops to Free.
    pub subscription_grace_days: i64,
    pub licensing: LicensingConfig,
    /// Token rewards: the rewards queue, award amounts, digest window and catalog.
    pub tokens: crate::rewards::config::TokensConfig,
}

pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com/";
pub const DEFAULT_REFUND_WINDOW_DAYS: i64 = 14;
pub const DEFAULT_APP_BASE_URL: &str = "https://app.azora.example";
pub const DEFAULT_LICENSE_VALIDATE_RATE_LIMIT: u32 = 60;

pub const MIN_HS256_SECRET_BYTES: usize = 32;

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_map(vars: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        Self::from_lookup(|name| vars.get(name).filter(|v| !v.is_empty()).cloned())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let algorithm = get("JWT_ALGORITHM").unwrap_or_else(|| "HS256".into());
        let key = match algorithm.as_str() {
            "HS256" => {
                let secret = required("JWT_SECRET")?;
                if secret.len() < MIN_HS256_SECRET_BYTES {
                    return Err(ConfigError::Invalid {
                        name: "JWT_SECRET",
                        reason: format!("must be at least {MIN_HS256_SECRET_BYTES} bytes"),
                    });
                }
                JwtKey::Secret(secret.into_bytes())
            }
            "RS256" => JwtKey::PublicKeyPem { algorithm: Algorithm::RS256, pem: required("JWT_PUBLIC_KEY")? },
            "EdDSA" => JwtKey::PublicKeyPem { algorithm: Algorithm::EdDSA, pem: required("JWT_PUBLIC_KEY")? },
            other => {
                return Err(ConfigError::Invalid {
                    name: "JWT_ALGORITHM",
                    reason: format!("'{other}' is not HS256, RS256 or EdDSA"),
                });
            }
        };
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            jwt: JwtConfig { key, issuer: required("JWT_ISSUER")?, audience: required("JWT_AUDIENCE")? },
            email_queue_url: required("EMAIL_QUEUE_URL")?,
            stripe_events_queue_url: required("STRIPE_EVENTS_QUEUE_URL")?,
            stripe: StripeConfig {
                secret_key: required("STRIPE_SECRET_KEY")?,
                api_base: get("STRIPE_API_BASE").unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.into()),
                webhook_secret: required("STRIPE_WEBHOOK_SECRET")?,
            },
            subscription_grace_days: match get("SUBSCRIPTION_GRACE_DAYS") {
                None => 7,
                Some(raw) => raw.parse().ok().filter(|d| (0..=60).contains(d)).ok_or(ConfigError::Invalid {
                    name: "SUBSCRIPTION_GRACE_DAYS",
                    reason: "must be a whole number of days from 0 to 60".into(),
                })?,
            },
            app_base_url: get("APP_BASE_URL")
                .unwrap_or_else(|| DEFAULT_APP_BASE_URL.into())
                .trim_end_matches('/')
                .to_string(),
            refund_window_days: match get("REFUND_WINDOW_DAYS") {
                None => DEFAULT_REFUND_WINDOW_DAYS,
                Some(raw) => raw.parse().ok().filter(|d| (0..=365).contains(d)).ok_or(ConfigError::Invalid {
                    name: "REFUND_WINDOW_DAYS",
                    reason: "must be a whole number of days from 0 to 365".into(),
                })?,
            },
            email_from: EmailAddress::parse(required("EMAIL_FROM")?)
                .map_err(|e| ConfigError::Invalid { name: "EMAIL_FROM", reason: e.message })?,
            licensing: LicensingConfig {
                signer: LicenseSigner::parse(&required("LICENSE_SIGNING_KEY")?)
                    .map_err(|reason| ConfigError::Invalid { name: "LICENSE_SIGNING_KEY", reason })?,
                validate_rate_limit: match get("LICENSE_VALIDATE_RATE_LIMIT") {
                    None => DEFAULT_LICENSE_VALIDATE_RATE_LIMIT,
                    Some(raw) => {
                        raw.parse().ok().filter(|n| (1..=100_000).contains(n)).ok_or(ConfigError::Invalid {
                            name: "LICENSE_VALIDATE_RATE_LIMIT",
                            reason: "must be a whole number of requests per minute from 1 to 100000".into(),
                        })?
                    }
                },
                support_email: EmailAddress::parse(required("SUPPORT_EMAIL")?)
                    .map_err(|e| ConfigError::Invalid { name: "SUPPORT_EMAIL", reason: e.message })?,
            },
            tokens: crate::rewards::config::TokensConfig::from_lookup(&get)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BTreeMap<String, String> {
        [
            ("TABLE_NAME", "t"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("JWT_ISSUER", "iss"),
            ("JWT_AUDIENCE", "aud"),
            ("EMAIL_QUEUE_URL", "http://q"),
            ("STRIPE_EVENTS_QUEUE_URL", "http://q2"),
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("EMAIL_FROM", "no-reply@azora.local"),
            ("LICENSE_SIGNING_KEY", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
            ("SUPPORT_EMAIL", "support@azora.local"),
            ("REWARDS_QUEUE_URL", "http://q3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn loads_a_complete_environment() {
        let c = Config::from_map(&base()).unwrap();
        assert_eq!(c.table_name, "t");
        assert!(matches!(c.jwt.key, JwtKey::Secret(_)));
    }

    #[test]
    fn names_the_missing_variable() {
        for name in [
            "TABLE_NAME",
            "JWT_SECRET",
            "JWT_ISSUER",
            "JWT_AUDIENCE",
            "EMAIL_QUEUE_URL",
            "EMAIL_FROM",
            "LICENSE_SIGNING_KEY",
            "SUPPORT_EMAIL",
        ] {
            let mut vars = base();
            vars.remove(name);
            let err = Config::from_map(&vars).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn refuses_short_secret_and_unknown_algorithm() {
        let mut vars = base();
        vars.insert("JWT_SECRET".into(), "short".into());
        assert!(matches!(Config::from_map(&vars), Err(ConfigError::Invalid { name: "JWT_SECRET", .. })));
        let mut vars = base();
        vars.insert("JWT_ALGORITHM".into(), "none".into());
        assert!(matches!(Config::from_map(&vars), Err(ConfigError::Invalid { name: "JWT_ALGORITHM", .. })));
    }

    #[test]
    fn public_key_algorithms_need_the_key() {
        let mut vars = base();
        vars.insert("JWT_ALGORITHM".into(), "RS256".into());
        assert_eq!(Config::from_map(&vars).unwrap_err(), ConfigError::Missing("JWT_PUBLIC_KEY"));
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let c = Config::from_map(&base()).unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("0123456789abcdef"));
        assert!(!printed.contains("sk_test_x"));
        assert!(!printed.contains("whsec_x"));
        assert!(!printed.contains("AQEBAQEBAQEBAQEB"));
    }

    #[test]
    fn licensing_settings_are_checked() {
        let c = Config::from_map(&base()).unwrap();
        assert_eq!(c.licensing.validate_rate_limit, DEFAULT_LICENSE_VALIDATE_RATE_LIMIT);
        for (name, bad) in
            [("LICENSE_SIGNING_KEY", "not-a-key"), ("LICENSE_VALIDATE_RATE_LIMIT", "0"), ("SUPPORT_EMAIL", "support")]
        {
            let mut vars = base();
            vars.insert(name.into(), bad.into());
            let err = Config::from_map(&vars).unwrap_err();
            assert!(matches!(&err, ConfigError::Invalid { name: n, .. } if *n == name), "{err}");
        }
    }

    #[test]
    fn stripe_base_and_refund_window_have_defaults() {
        let c = Config::from_map(&base()).unwrap();
        assert_eq!(c.stripe.api_base, DEFAULT_STRIPE_API_BASE);
        assert_eq!(c.refund_window_days, 14);
        let mut vars = base();
        vars.insert("REFUND_WINDOW_DAYS".into(), "-1".into());
        assert!(matches!(Config::from_map(&vars), Err(ConfigError::Invalid { name: "REFUND_WINDOW_DAYS", .. })));
    }
}

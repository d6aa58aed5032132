//! Configuration from environment variables, loaded once per cold start. A missing or invalid
//! variable fails start-up with a message naming it.

use crate::needs::{Needs, UndeclaredPart};
use azora_domain::license_key::{LicenseSigner, LicenseVerifier};
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
}

impl StripeConfig {
    /// Whether our key is a live one: events of the other mode are not ours to apply.
    pub fn livemode(&self) -> bool {
        self.secret_key.starts_with("sk_live_") || self.secret_key.starts_with("rk_live_")
    }
}

impl std::fmt::Debug for StripeConfig {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StripeConfig {{ api_base: {:?}, key: <redacted> }}", self.api_base)
    }
}

/// The webhook endpoint: the signing secret and the queue verified events go to.
#[derive(Clone)]
pub struct WebhookConfig {
    pub secret: String,
    pub events_queue_url: String,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookConfig {{ events_queue_url: {:?}, secret: <redacted> }}", self.events_queue_url)
    }
}

/// One part of the configuration: loaded when the function declares it in its [`Needs`], absent
/// otherwise. Reading an absent part is a bug in that function's `Needs` (a 500 naming the part,
/// which the end-to-end tests catch: the local server builds each function from its own needs).
#[derive(Clone)]
pub struct Part<T> {
    value: Option<T>,
    part: Needs,
}

impl<T> Part<T> {
    fn load(needs: Needs, part: Needs, load: impl FnOnce() -> Result<T, ConfigError>) -> Result<Self, ConfigError> {
        Ok(Part { value: if needs.has(part) { Some(load()?) } else { None }, part })
    }

    pub fn get(&self) -> Result<&T, UndeclaredPart> {
        self.value.as_ref().ok_or_else(|| self.part.undeclared())
    }

    pub fn is_loaded(&self) -> bool {
        self.value.is_some()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Part<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => v.fmt(f),
            None => write!(f, "<{} not declared>", self.part.names()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The parts this configuration was loaded for.
    pub needs: Needs,
    pub table_name: String,
    pub jwt: Part<JwtConfig>,
    pub stripe: Part<StripeConfig>,
    pub webhook: Part<WebhookConfig>,
    pub email_queue_url: Part<String>,
    pub email_from: Part<EmailAddress>,
    /// The web app, for links in emails and Stripe onboarding return URLs.
    pub app_base_url: Part<String>,
    /// How long after paying a buyer may ask for a refund (admins: any time).
    pub refund_window_days: Part<i64>,
    /// Days a subscription may stay `past_due` before the user drops to Free.
    pub subscription_grace_days: Part<i64>,
    /// From `LICENSE_SIGNING_KEY`: base64 of a 32-byte Ed25519 seed, or a PKCS#8 PEM. Its Debug
    /// output shows only the public key.
    pub license_signer: Part<LicenseSigner>,
    /// From `LICENSE_PUBLIC_KEY`: the signing key's public half (base64url or SPKI PEM), all that
    /// checking a key needs; loaded with the signer, the two must match.
    pub license_verifier: Part<LicenseVerifier>,
    /// `GET /api/enterprise/licenses/validate` requests per caller (source IP) per minute.
    pub license_validate_rate_limit: Part<u32>,
    /// Where support tickets are emailed.
    pub support_email: Part<EmailAddress>,
    /// Token rewards: the rewards queue, award amounts, digest window and catalog.
    pub tokens: Part<crate::rewards::config::TokensConfig>,
    /// `DNS_RESOLVER_URL`: a DNS-over-HTTPS JSON API (`?name=&type=TXT`), for white-label domain
    /// proofs; default Cloudflare's.
    pub dns_resolver_url: Part<String>,
    /// The seller named on receipts and the tax rate of new orders.
    pub receipts: Part<ReceiptsConfig>,
}

/// What receipts state besides the payment: the seller, from `SELLER_NAME`, `SELLER_ADDRESS`
/// (lines separated by `|`) and the optional `SELLER_TAX_ID`, and `TAX_RATE_BPS`, the tax rate
/// included in prices (basis points, 0 to 10000, default 0), recorded on each order when placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptsConfig {
    pub seller: azora_domain::receipt::Seller,
    pub tax_rate_bps: u32,
}

impl ReceiptsConfig {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<ReceiptsConfig, ConfigError> {
        let name = get("SELLER_NAME").map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        let name = name.ok_or(ConfigError::Missing("SELLER_NAME"))?;
        let address: Vec<String> = get("SELLER_ADDRESS")
            .ok_or(ConfigError::Missing("SELLER_ADDRESS"))?
            .split('|')
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        if address.is_empty() {
            return Err(ConfigError::Invalid { name: "SELLER_ADDRESS", reason: "must name at least one line".into() });
        }
        let tax_id = get("SELLER_TAX_ID").map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        let tax_rate_bps = match get("TAX_RATE_BPS") {
            None => 0,
            Some(raw) => raw.trim().parse().ok().filter(|r| *r <= azora_domain::receipt::MAX_TAX_RATE_BPS).ok_or(
                ConfigError::Invalid {
                    name: "TAX_RATE_BPS",
                    reason: "must be a whole number of basis points from 0 to 10000 (2000 = 20%)".into(),
                },
            )?,
        };
        Ok(ReceiptsConfig { seller: azora_domain::receipt::Seller { name, address, tax_id }, tax_rate_bps })
    }
}

pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com/";
pub const DEFAULT_REFUND_WINDOW_DAYS: i64 = 14;
/// Cloudflare's DNS-over-HTTPS JSON API (`accept: application/dns-json`).
pub const DEFAULT_DNS_RESOLVER_URL: &str = "https://cloudflare-dns.com/dns-query";
pub const DEFAULT_APP_BASE_URL: &str = "https://app.azora.example";
pub const DEFAULT_LICENSE_VALIDATE_RATE_LIMIT: u32 = 60;
pub const DEFAULT_SUBSCRIPTION_GRACE_DAYS: i64 = 7;

pub const MIN_HS256_SECRET_BYTES: usize = 32;

impl Config {
    pub fn from_env(needs: Needs) -> Result<Config, ConfigError> {
        Self::from_lookup(needs, env_var)
    }

    /// [`Config::from_env`] for the parts `NEEDS` (the bits of a [`Needs`]) names, a constant: the
    /// parsing of the other parts (license keys, JWT settings, the token catalog) is compiled out.
    pub fn from_env_for<const NEEDS: u32>() -> Result<Config, ConfigError> {
        Self::load::<NEEDS>(Needs::from_bits(NEEDS), env_var)
    }

    pub fn from_map(needs: Needs, vars: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        Self::from_lookup(needs, |name| vars.get(name).filter(|v| !v.is_empty()).cloned())
    }

    /// Reads the globals and the variables of the declared parts, and nothing else.
    pub fn from_lookup(needs: Needs, get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Self::load::<{ Needs::EVERYTHING.bits() }>(needs, get)
    }

    /// [`Config::from_lookup`] among the parts `GATE` names: a part outside it is never loaded,
    /// and with `GATE` a constant its loading code is not compiled in.
    fn load<const GATE: u32>(needs: Needs, get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let gate = const { Needs::from_bits(GATE) };
        let needs = Needs::from_bits(needs.bits() & gate.bits());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let days = |name: &'static str, default: i64, max: i64| match get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().ok().filter(|d| (0..=max).contains(d)).ok_or(ConfigError::Invalid {
                name,
                reason: format!("must be a whole number of days from 0 to {max}"),
            }),
        };
        let email = |name: &'static str| {
            EmailAddress::parse(required(name)?).map_err(|e| ConfigError::Invalid { name, reason: e.message })
        };
        let config = Config {
            needs,
            table_name: required("TABLE_NAME")?,
            jwt: Part::load(needs, Needs::AUTH, || jwt_config(&get))?,
            stripe: Part::load(needs, Needs::STRIPE, || {
                Ok(StripeConfig {
                    secret_key: required("STRIPE_SECRET_KEY")?,
                    api_base: get("STRIPE_API_BASE").unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.into()),
                })
            })?,
            webhook: Part::load(needs, Needs::STRIPE_WEBHOOK, || {
                Ok(WebhookConfig {
                    secret: required("STRIPE_WEBHOOK_SECRET")?,
                    events_queue_url: required("STRIPE_EVENTS_QUEUE_URL")?,
                })
            })?,
            email_queue_url: Part::load(needs, Needs::MAIL, || required("EMAIL_QUEUE_URL"))?,
            email_from: Part::load(needs, Needs::SES, || email("EMAIL_FROM"))?,
            app_base_url: Part::load(needs, Needs::APP_URL, || {
                Ok(get("APP_BASE_URL").unwrap_or_else(|| DEFAULT_APP_BASE_URL.into()).trim_end_matches('/').to_string())
            })?,
            refund_window_days: Part::load(needs, Needs::REFUND_POLICY, || {
                days("REFUND_WINDOW_DAYS", DEFAULT_REFUND_WINDOW_DAYS, 365)
            })?,
            subscription_grace_days: Part::load(needs, Needs::GRACE, || {
                days("SUBSCRIPTION_GRACE_DAYS", DEFAULT_SUBSCRIPTION_GRACE_DAYS, 60)
            })?,
            license_signer: Part::load(needs, Needs::LICENSE_SIGNER, || {
                LicenseSigner::parse(&required("LICENSE_SIGNING_KEY")?)
                    .map_err(|reason| ConfigError::Invalid { name: "LICENSE_SIGNING_KEY", reason })
            })?,
            license_verifier: Part::load(needs, Needs::LICENSE_VERIFIER, || {
                LicenseVerifier::parse(&required("LICENSE_PUBLIC_KEY")?)
                    .map_err(|reason| ConfigError::Invalid { name: "LICENSE_PUBLIC_KEY", reason })
            })?,
            license_validate_rate_limit: Part::load(needs, Needs::LICENSE_VALIDATE_LIMIT, || {
                match get("LICENSE_VALIDATE_RATE_LIMIT") {
                    None => Ok(DEFAULT_LICENSE_VALIDATE_RATE_LIMIT),
                    Some(raw) => raw.parse().ok().filter(|n| (1..=100_000).contains(n)).ok_or(ConfigError::Invalid {
                        name: "LICENSE_VALIDATE_RATE_LIMIT",
                        reason: "must be a whole number of requests per minute from 1 to 100000".into(),
                    }),
                }
            })?,
            support_email: Part::load(needs, Needs::SUPPORT, || email("SUPPORT_EMAIL"))?,
            tokens: Part::load(needs, Needs::TOKENS, || crate::rewards::config::TokensConfig::from_lookup(&get))?,
            dns_resolver_url: Part::load(needs, Needs::DNS, || {
                let url = get("DNS_RESOLVER_URL").unwrap_or_else(|| DEFAULT_DNS_RESOLVER_URL.into());
                if url.starts_with("https://") || url.starts_with("http://") {
                    Ok(url)
                } else {
                    Err(ConfigError::Invalid { name: "DNS_RESOLVER_URL", reason: "must be an http(s) URL".into() })
                }
            })?,
            receipts: Part::load(needs, Needs::RECEIPTS, || ReceiptsConfig::from_lookup(&get))?,
        };
        if const { Needs::from_bits(GATE).has(Needs::LICENSE_SIGNER.and(Needs::LICENSE_VERIFIER)) } {
            config.check_license_key_pair()?;
        }
        Ok(config)
    }

    /// Keys issued with a signing key that is not the published public key's would fail every
    /// check: a function that holds both refuses to start instead.
    fn check_license_key_pair(&self) -> Result<(), ConfigError> {
        if let (Some(signer), Some(published)) = (&self.license_signer.value, &self.license_verifier.value)
            && signer.verifier().public_key_base64url() != published.public_key_base64url()
        {
            return Err(ConfigError::Invalid {
                name: "LICENSE_PUBLIC_KEY",
                reason: "is not the public key of LICENSE_SIGNING_KEY".into(),
            });
        }
        Ok(())
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn jwt_config(get: &impl Fn(&str) -> Option<String>) -> Result<JwtConfig, ConfigError> {
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
    Ok(JwtConfig { key, issuer: required("JWT_ISSUER")?, audience: required("JWT_AUDIENCE")? })
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
            ("LICENSE_SIGNING_KEY", SEED),
            ("LICENSE_PUBLIC_KEY", public_key_of(SEED).as_str()),
            ("SUPPORT_EMAIL", "support@azora.local"),
            ("REWARDS_QUEUE_URL", "http://q3"),
            ("SELLER_NAME", "Azora Learning Ltd"),
            ("SELLER_ADDRESS", "1 Example Street | London EC1A 1AA"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const SEED: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    fn public_key_of(seed: &str) -> String {
        LicenseSigner::parse(seed).unwrap().verifier().public_key_base64url()
    }

    #[test]
    fn the_published_public_key_must_match_the_signing_key() {
        let mut vars = base();
        vars.insert("LICENSE_PUBLIC_KEY".into(), public_key_of("AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="));
        let both = Needs::LICENSE_SIGNER.and(Needs::LICENSE_VERIFIER);
        let err = Config::from_map(both, &vars).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { name: "LICENSE_PUBLIC_KEY", .. }), "{err}");
        // A function that only checks keys cannot tell, and needs no private key at all.
        vars.remove("LICENSE_SIGNING_KEY");
        let verifier_only = Config::from_map(Needs::LICENSE_VERIFIER, &vars).unwrap();
        assert!(verifier_only.license_verifier.is_loaded() && !verifier_only.license_signer.is_loaded());
        assert!(Config::from_map(both, &base()).is_ok());
    }

    #[test]
    fn loads_a_complete_environment() {
        let c = Config::from_map(Needs::EVERYTHING, &base()).unwrap();
        assert_eq!(c.table_name, "t");
        assert!(matches!(c.jwt.get().unwrap().key, JwtKey::Secret(_)));
    }

    /// A deployed function loads with its needs as a constant (`Config::from_env_for`): the same
    /// configuration as the run-time path, and a part outside the constant is never loaded.
    #[test]
    fn the_compile_time_path_loads_the_same_parts_and_no_other() {
        let vars = base();
        let get = |name: &str| vars.get(name).filter(|v| !v.is_empty()).cloned();
        const TOKEN_WRITES: Needs = Needs::AUTH.and(Needs::TOKENS).and(Needs::MAIL).and(Needs::GRACE);
        let fixed = Config::load::<{ TOKEN_WRITES.bits() }>(TOKEN_WRITES, get).unwrap();
        let dynamic = Config::from_map(TOKEN_WRITES, &vars).unwrap();
        assert_eq!(format!("{fixed:?}"), format!("{dynamic:?}"));
        assert_eq!(fixed.needs, TOKEN_WRITES);
        let gated = Config::load::<{ Needs::AUTH.bits() }>(Needs::EVERYTHING, get).unwrap();
        assert_eq!(gated.needs, Needs::AUTH);
        assert!(gated.jwt.is_loaded() && !gated.stripe.is_loaded() && !gated.license_signer.is_loaded());
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
            "LICENSE_PUBLIC_KEY",
            "SUPPORT_EMAIL",
        ] {
            let mut vars = base();
            vars.remove(name);
            let err = Config::from_map(Needs::EVERYTHING, &vars).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn refuses_short_secret_and_unknown_algorithm() {
        let mut vars = base();
        vars.insert("JWT_SECRET".into(), "short".into());
        assert!(matches!(
            Config::from_map(Needs::EVERYTHING, &vars),
            Err(ConfigError::Invalid { name: "JWT_SECRET", .. })
        ));
        let mut vars = base();
        vars.insert("JWT_ALGORITHM".into(), "none".into());
        assert!(matches!(
            Config::from_map(Needs::EVERYTHING, &vars),
            Err(ConfigError::Invalid { name: "JWT_ALGORITHM", .. })
        ));
    }

    #[test]
    fn receipts_read_the_seller_and_a_bounded_tax_rate() {
        let c = Config::from_map(Needs::RECEIPTS, &base()).unwrap();
        let r = c.receipts.get().unwrap();
        assert_eq!(r.seller.address, ["1 Example Street", "London EC1A 1AA"]);
        assert_eq!((r.seller.tax_id.as_deref(), r.tax_rate_bps), (None, 0));
        let mut vars = base();
        vars.insert("TAX_RATE_BPS".into(), "2000".into());
        vars.insert("SELLER_TAX_ID".into(), "GB123456789".into());
        let r = Config::from_map(Needs::RECEIPTS, &vars).unwrap().receipts.get().unwrap().clone();
        assert_eq!((r.seller.tax_id.as_deref(), r.tax_rate_bps), (Some("GB123456789"), 2000));
        for bad in ["-1", "10001", "20%", "0.2"] {
            vars.insert("TAX_RATE_BPS".into(), bad.into());
            let err = Config::from_map(Needs::RECEIPTS, &vars).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { name: "TAX_RATE_BPS", .. }), "{bad}: {err}");
        }
        let mut vars = base();
        vars.remove("SELLER_NAME");
        assert_eq!(Config::from_map(Needs::RECEIPTS, &vars).unwrap_err(), ConfigError::Missing("SELLER_NAME"));
    }

    #[test]
    fn public_key_algorithms_need_the_key() {
        let mut vars = base();
        vars.insert("JWT_ALGORITHM".into(), "RS256".into());
        assert_eq!(Config::from_map(Needs::EVERYTHING, &vars).unwrap_err(), ConfigError::Missing("JWT_PUBLIC_KEY"));
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let c = Config::from_map(Needs::EVERYTHING, &base()).unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("0123456789abcdef"));
        assert!(!printed.contains("sk_test_x"));
        assert!(!printed.contains("whsec_x"));
        assert!(!printed.contains("AQEBAQEBAQEBAQEB"));
    }

    #[test]
    fn licensing_settings_are_checked() {
        let c = Config::from_map(Needs::EVERYTHING, &base()).unwrap();
        assert_eq!(*c.license_validate_rate_limit.get().unwrap(), DEFAULT_LICENSE_VALIDATE_RATE_LIMIT);
        for (name, bad) in [
            ("LICENSE_SIGNING_KEY", "not-a-key"),
            ("LICENSE_PUBLIC_KEY", "not-a-key"),
            ("LICENSE_VALIDATE_RATE_LIMIT", "0"),
            ("SUPPORT_EMAIL", "support"),
        ] {
            let mut vars = base();
            vars.insert(name.into(), bad.into());
            let err = Config::from_map(Needs::EVERYTHING, &vars).unwrap_err();
            assert!(matches!(&err, ConfigError::Invalid { name: n, .. } if *n == name), "{err}");
        }
    }

    #[test]
    fn stripe_base_and_refund_window_have_defaults() {
        let c = Config::from_map(Needs::EVERYTHING, &base()).unwrap();
        assert_eq!(c.stripe.get().unwrap().api_base, DEFAULT_STRIPE_API_BASE);
        assert_eq!(*c.refund_window_days.get().unwrap(), 14);
        let mut vars = base();
        vars.insert("REFUND_WINDOW_DAYS".into(), "-1".into());
        assert!(matches!(
            Config::from_map(Needs::EVERYTHING, &vars),
            Err(ConfigError::Invalid { name: "REFUND_WINDOW_DAYS", .. })
        ));
    }

    #[test]
    fn reads_only_the_declared_parts() {
        let mut vars = base();
        vars.remove("STRIPE_SECRET_KEY");
        vars.remove("LICENSE_SIGNING_KEY");
        let c = Config::from_map(Needs::AUTH.and(Needs::MAIL), &vars).unwrap();
        assert!(c.jwt.is_loaded() && c.email_queue_url.is_loaded());
        assert!(!c.stripe.is_loaded() && !c.license_signer.is_loaded());
        let err = c.stripe.get().unwrap_err();
        assert_eq!(err, UndeclaredPart(Needs::STRIPE));
        assert_eq!(crate::error::ApiError::from(err).status, 500);
        assert_eq!(Config::from_map(Needs::STRIPE, &vars).unwrap_err(), ConfigError::Missing("STRIPE_SECRET_KEY"));
        let none = Config::from_map(Needs::NOTHING, &[("TABLE_NAME".to_string(), "t".to_string())].into()).unwrap();
        assert_eq!(none.table_name, "t");
    }
}

//! Mints HS256 tokens for local use (`make token`) and tests. Production tokens come from the
//! identity provider.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Serialize;

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    roles: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<&'a str>,
    iss: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
}

pub struct TokenSpec<'a> {
    pub sub: &'a str,
    pub roles: &'a [&'a str],
    pub org: Option<&'a str>,
    pub ttl_seconds: i64,
}

pub fn mint_hs256(
    secret: &[u8],
    issuer: &str,
    audience: &str,
    spec: &TokenSpec<'_>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = jiff::Timestamp::now().as_second();
    let claims = Claims {
        sub: spec.sub,
        roles: spec.roles,
        org: spec.org,
        iss: issuer,
        aud: audience,
        exp: now + spec.ttl_seconds,
        iat: now,
    };
    encode(&Header::default(), &claims, &EncodingKey::from_secret(secret))
}

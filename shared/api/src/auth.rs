//! Bearer JWT authentication. One pinned algorithm; `exp`, `iss`, `aud` and `sub` are required;
//! `nbf` is enforced when present and an `iat` in the future is refused. Token times are judged by
//! wall time (the identity provider's clock), with 30 s of leeway, not by the app's movable clock.
//! The RS256 key is a PEM key, or the issuer's JWKS document (`{"keys": [...]}`, e.g. a Cognito
//! user pool's `/.well-known/jwks.json`), whose key is chosen by the token's `kid`.

use crate::config::{JwtConfig, JwtKey};
use crate::error::ApiError;
use azora_domain::notification::EmailAddress;
use azora_domain::{OrgId, Role, Roles, UserId};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use lambda_http::Request;
use serde::Deserialize;

/// Who is calling, established from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub roles: Roles,
    pub org: Option<OrgId>,
    /// The `email` claim, when the identity provider sends one (receipts go there).
    pub email: Option<EmailAddress>,
    /// The `name` claim, when sent (the buyer's name on receipts).
    pub name: Option<String>,
}

impl Principal {
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.roles.has_any(roles) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::forbidden("forbidden", format!("This action needs one of the roles: {}.", names.join(", "))))
    }

    pub fn is_admin(&self) -> bool {
        self.roles.is_admin()
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    iat: Option<u64>,
}

#[derive(Clone)]
pub struct JwtVerifier {
    keys: Keys,
    validation: Validation,
}

/// One verification key, or a JWKS document's keys by id.
#[derive(Clone)]
enum Keys {
    One(DecodingKey),
    ByKid(Vec<(String, DecodingKey)>),
}

/// The keys of a JWKS document that have an id (a token names its key by `kid`).
fn jwks(text: &str) -> Result<Keys, jsonwebtoken::errors::Error> {
    let set: JwkSet = serde_json::from_str(text)?;
    let keys = set
        .keys
        .iter()
        .filter_map(|jwk| Some((jwk.common.key_id.clone()?, jwk)))
        .map(|(kid, jwk)| Ok((kid, DecodingKey::from_jwk(jwk)?)))
        .collect::<Result<Vec<_>, jsonwebtoken::errors::Error>>()?;
    if keys.is_empty() {
        return Err(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Keys::ByKid(keys))
}

impl JwtVerifier {
    pub fn new(config: &JwtConfig) -> Result<Self, jsonwebtoken::errors::Error> {
        let (keys, algorithm) = match &config.key {
            JwtKey::Secret(secret) => (Keys::One(DecodingKey::from_secret(secret)), Algorithm::HS256),
            JwtKey::PublicKeyPem { algorithm: Algorithm::EdDSA, pem } => {
                (Keys::One(DecodingKey::from_ed_pem(pem.as_bytes())?), Algorithm::EdDSA)
            }
            JwtKey::PublicKeyPem { algorithm, pem } if pem.trim_start().starts_with('{') => (jwks(pem)?, *algorithm),
            JwtKey::PublicKeyPem { algorithm, pem } => {
                (Keys::One(DecodingKey::from_rsa_pem(pem.as_bytes())?), *algorithm)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self { keys, validation })
    }

    /// The key the token names (`kid`) among the issuer's, or the one key.
    fn key_for(&self, token: &str) -> Result<&DecodingKey, ApiError> {
        match &self.keys {
            Keys::One(key) => Ok(key),
            Keys::ByKid(keys) => {
                let kid = decode_header(token).ok().and_then(|h| h.kid);
                keys.iter().find(|(id, _)| Some(id) == kid.as_ref()).map(|(_, key)| key).ok_or_else(|| {
                    tracing::info!(reason = "unknown kid", "token rejected");
                    ApiError::unauthorized("The token is not signed by one of the issuer's keys (kid).")
                })
            }
        }
    }

    /// Verifies a raw token.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let data = decode::<Claims>(token, self.key_for(token)?, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            let why = match e.kind() {
                ErrorKind::ExpiredSignature => "The token has expired.",
                ErrorKind::ImmatureSignature => "The token is not valid yet (nbf).",
                ErrorKind::InvalidIssuer => "The token was issued by an unknown issuer.",
                ErrorKind::InvalidAudience => "The token is not meant for this API.",
                ErrorKind::InvalidSignature => "The token's signature is invalid.",
                ErrorKind::InvalidAlgorithm => "The token's algorithm is not accepted.",
                ErrorKind::MissingRequiredClaim(_) => "The token lacks a required claim (exp, iss, aud, sub).",
                _ => "The token is malformed.",
            };
            tracing::info!(reason = why, "token rejected");
            ApiError::unauthorized(why)
        })?;
        let claims = data.claims;
        if claims.iat.is_some_and(|iat| iat > jsonwebtoken::get_current_timestamp() + self.validation.leeway) {
            tracing::info!(reason = "iat in the future", "token rejected");
            return Err(ApiError::unauthorized("The token was issued in the future (iat)."));
        }
        let user_id = UserId::parse(claims.sub)
            .map_err(|_| ApiError::unauthorized("The token's subject is not a valid user id."))?;
        // Unknown role names are ignored so new roles can be issued before every function knows them.
        let roles = Roles::new(claims.roles.iter().filter_map(|r| Role::parse(r)).collect());
        let org = claims
            .org
            .map(OrgId::parse)
            .transpose()
            .map_err(|_| ApiError::unauthorized("The token's org is not a valid id."))?;
        // A malformed email claim is ignored rather than failing authentication.
        let email = claims.email.and_then(|e| EmailAddress::parse(e).ok());
        // The name is only printed (receipts): control characters dropped, at most 200 characters.
        let name = claims
            .name
            .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect::<String>().trim().to_string())
            .filter(|n| !n.is_empty());
        Ok(Principal { user_id, roles, org, email, name })
    }

    /// Reads `Authorization: Bearer <token>` and verifies it.
    pub fn authenticate(&self, req: &Request) -> Result<Principal, ApiError> {
        let header = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("An Authorization: Bearer token is required."))?;
        let value = header.to_str().map_err(|_| ApiError::unauthorized("The Authorization header is malformed."))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("The Authorization header must use the Bearer scheme."))?;
        let principal = self.verify(token.trim())?;
        tracing::Span::current().record("user_id", principal.user_id.as_str());
        Ok(principal)
    }
}

#[cfg(test)]
mod jwks_tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const KEY_A: &str = include_str!("../testdata/jwt-rs256-a.pem");
    const KEY_B: &str = include_str!("../testdata/jwt-rs256-b.pem");

    fn jwk(pem: &str, kid: &str) -> Jwk {
        let mut jwk =
            Jwk::from_encoding_key(&EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(), Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.into());
        jwk
    }

    fn verifier() -> JwtVerifier {
        let set = serde_json::json!({ "keys": [jwk(KEY_B, "old"), jwk(KEY_A, "current")] });
        JwtVerifier::new(&JwtConfig {
            key: JwtKey::PublicKeyPem { algorithm: Algorithm::RS256, pem: set.to_string() },
            issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool".into(),
            audience: "console-client".into(),
        })
        .unwrap()
    }

    fn token(pem: &str, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        let claims = serde_json::json!({
            "sub": "8f2b1c9e-1111-2222-3333-444455556666", "roles": ["instructor"], "org": "acme",
            "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool", "aud": "console-client",
            "exp": jsonwebtoken::get_current_timestamp() + 600, "token_use": "id",
        });
        encode(&header, &claims, &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn a_jwks_key_is_chosen_by_the_tokens_kid() {
        let v = verifier();
        let p = v.verify(&token(KEY_A, Some("current"))).unwrap();
        assert_eq!(
            (p.user_id.as_str(), p.org.as_ref().map(|o| o.as_str())),
            ("8f2b1c9e-1111-2222-3333-444455556666", Some("acme"))
        );
        assert!(p.roles.has_any(&[Role::Instructor]));
        assert!(v.verify(&token(KEY_B, Some("old"))).is_ok(), "any key of the set, by its id");
    }

    #[test]
    fn a_token_naming_another_key_no_key_or_an_unknown_key_is_refused() {
        let v = verifier();
        for bad in [token(KEY_A, Some("old")), token(KEY_A, None), token(KEY_A, Some("next"))] {
            assert_eq!(v.verify(&bad).unwrap_err().status, http::StatusCode::UNAUTHORIZED);
        }
    }

    #[test]
    fn a_jwks_without_usable_keys_is_a_configuration_error() {
        for text in [r#"{"keys": []}"#, r#"{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}"#, "{not json"] {
            let config = JwtConfig {
                key: JwtKey::PublicKeyPem { algorithm: Algorithm::RS256, pem: text.into() },
                issuer: "i".into(),
                audience: "a".into(),
            };
            assert!(JwtVerifier::new(&config).is_err(), "{text}");
        }
    }
}

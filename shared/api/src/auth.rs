//! Bearer JWT authentication. One pinned algorithm; `exp`, `iss`, `aud` and `sub` are required;
//! `nbf` is enforced when present and an `iat` in the future is refused. Token times are judged by
//! wall time (the identity provider's clock), with 30 s of leeway, not by the app's movable clock.

use crate::config::{JwtConfig, JwtKey};
use crate::error::ApiError;
use azora_domain::notification::EmailAddress;
use azora_domain::{OrgId, Role, Roles, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
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
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(config: &JwtConfig) -> Result<Self, jsonwebtoken::errors::Error> {
        let (key, algorithm) = match &config.key {
            JwtKey::Secret(secret) => (DecodingKey::from_secret(secret), Algorithm::HS256),
            JwtKey::PublicKeyPem { algorithm: Algorithm::EdDSA, pem } => {
                (DecodingKey::from_ed_pem(pem.as_bytes())?, Algorithm::EdDSA)
            }
            JwtKey::PublicKeyPem { algorithm, pem } => (DecodingKey::from_rsa_pem(pem.as_bytes())?, *algorithm),
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self { key, validation })
    }

    /// Verifies a raw token.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let data = decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
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

//! Parsers at the HTTP boundary never panic: JWT verification over arbitrary and shaped tokens
//! (and correctly signed tokens with arbitrary claims), the Authorization header, JSON bodies and
//! the `limit` parameter. `AZORA_FUZZ_CASES` sets the number of cases (64 by default, `make fuzz`
//! runs 20000).

use crate::auth::JwtVerifier;
use crate::config::{JwtConfig, JwtKey};
use crate::http::{MAX_BODY_BYTES, json_body, limit};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use lambda_http::{Body, Request, RequestExt};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::HashMap;

const SECRET: &str = "fuzz-secret-that-is-at-least-32-bytes-long";
const ISSUER: &str = "https://auth.fuzz/";
const AUDIENCE: &str = "azora-monetization";

fn config() -> ProptestConfig {
    let cases = std::env::var("AZORA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn verifier() -> JwtVerifier {
    let config =
        JwtConfig { key: JwtKey::Secret(SECRET.as_bytes().to_vec()), issuer: ISSUER.into(), audience: AUDIENCE.into() };
    JwtVerifier::new(&config).unwrap_or_else(|e| panic!("verifier: {e}"))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// JSON-ish header and claims segments, so the decoder gets past base64 often.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120).prop_map(|b| b64(&b)),
        any::<String>().prop_map(|s| b64(s.as_bytes())),
        (prop_oneof![Just("HS256"), Just("none"), Just("RS256"), Just("HS512"), Just("EdDSA")], any::<String>())
            .prop_map(|(alg, kid)| b64(json!({ "alg": alg, "typ": "JWT", "kid": kid }).to_string().as_bytes())),
        "[A-Za-z0-9_=+/.-]{0,60}",
    ]
}

fn request_with_auth(value: &[u8]) -> Option<Request> {
    let value = ::http::HeaderValue::from_bytes(value).ok()?;
    let mut req = Request::new(Body::Empty);
    req.headers_mut().insert(::http::header::AUTHORIZATION, value);
    Some(req)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_jwt_verify_never_panics(raw in any::<String>(), a in segment(), b in segment(), c in segment()) {
        let v = verifier();
        let (three, two, four) = (format!("{a}.{b}.{c}"), format!("{a}.{b}"), format!("{a}.{b}.{c}.{a}"));
        prop_assert!(v.verify(&raw).is_err());
        prop_assert_eq!(v.verify(&three).map_err(|e| e.status.as_u16()).err(), Some(401));
        prop_assert!(v.verify(&two).is_err());
        prop_assert!(v.verify(&four).is_err());
    }

    #[test]
    fn fuzz_correctly_signed_tokens_with_any_claims_never_panic(
        sub in prop_oneof![any::<String>(), "[a-z0-9@._-]{1,40}"],
        roles in proptest::collection::vec(prop_oneof![any::<String>(), Just("admin".to_string()), Just("student".to_string())], 0..4),
        org in proptest::option::of(any::<String>()),
        email in proptest::option::of(any::<String>()),
        exp_offset in -100_000i64..100_000,
        extra in any::<String>(),
    ) {
        // jsonwebtoken checks `exp` against the system clock, so the claims are set by it too.
        let now = crate::state::Clock::wall_time().as_second();
        let claims = json!({ "sub": sub, "roles": roles, "org": org, "email": email, "iss": ISSUER, "aud": AUDIENCE,
                             "exp": now + exp_offset, "x": extra });
        let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(SECRET.as_bytes()))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match verifier().verify(&token) {
            Ok(p) => {
                prop_assert_eq!(p.user_id.as_str(), sub.as_str());
                prop_assert!(exp_offset > -31);
            }
            Err(e) => prop_assert_eq!(e.status.as_u16(), 401),
        }
        // Claims of the wrong types are a 401, not a panic.
        let odd = json!({ "sub": roles, "roles": sub, "org": 7, "iss": ISSUER, "aud": [AUDIENCE], "exp": now + 600 });
        if let Ok(token) = encode(&Header::default(), &odd, &EncodingKey::from_secret(SECRET.as_bytes())) {
            let _ = verifier().verify(&token);
        }
    }

    #[test]
    fn fuzz_authorization_header_never_panics(value in proptest::collection::vec(any::<u8>(), 0..300), token in any::<String>()) {
        let v = verifier();
        if let Some(req) = request_with_auth(&value) {
            prop_assert!(v.authenticate(&req).is_err());
        }
        if let Some(req) = request_with_auth(format!("Bearer {token}").as_bytes()) {
            prop_assert!(v.authenticate(&req).is_err());
        }
    }

    #[test]
    fn fuzz_json_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), text in any::<String>()) {
        for body in [Body::Binary(bytes.clone()), Body::Text(text.clone())] {
            let req = Request::new(body);
            match json_body::<Value>(&req) {
                Ok(_) => {}
                Err(e) => prop_assert!(e.status.as_u16() == 400 || e.status.as_u16() == 413),
            }
            let _ = json_body::<azora_domain::Money>(&req);
            let _ = json_body::<HashMap<String, i64>>(&req);
        }
    }

    #[test]
    fn fuzz_limit_parameter_never_panics(raw in any::<String>(), max in 1i32..1000) {
        let req = Request::new(Body::Empty)
            .with_query_string_parameters(HashMap::from([("limit".to_string(), raw.clone())]));
        match limit(&req, 1, max) {
            Ok(n) => prop_assert!((1..=max).contains(&n)),
            Err(e) => prop_assert_eq!(e.status.as_u16(), 400),
        }
    }
}

#[test]
fn fuzz_oversized_bodies_are_413() {
    let req = Request::new(Body::Binary(vec![b' '; MAX_BODY_BYTES + 1]));
    assert_eq!(json_body::<Value>(&req).map_err(|e| e.status.as_u16()).err(), Some(413));
}

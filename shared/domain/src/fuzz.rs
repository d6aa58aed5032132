//! Parsers never panic: property tests over arbitrary input for everything in this crate that
//! reads outside data (license keys and public keys, currencies and money, ids, emails, white-label
//! settings, months, time zones, the rewards catalog). `AZORA_FUZZ_CASES` sets the number of cases
//! (64 by default, `make fuzz` runs 20000).

use crate::license_key::{KeyPayload, LicenseSigner, LicenseVerifier};
use crate::{Currency, Money, OrgId, UserId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

pub(crate) fn config() -> ProptestConfig {
    let cases = std::env::var("AZORA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Arbitrary bytes read as text the way a lossy boundary would.
fn bytes_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..400).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn signer() -> LicenseSigner {
    LicenseSigner::from_seed([7; 32])
}

fn payload() -> KeyPayload {
    KeyPayload {
        license_id: "lic_1".into(),
        org_id: "org-1".into(),
        seats: 3,
        features: vec![],
        issued_at: 1_800_000_000,
        expires_at: 1_830_000_000,
        grace_days: 7,
        key_version: 1,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_license_key_verify_never_panics(raw in any::<String>(), bytes in bytes_text()) {
        let verifier = signer().verifier();
        let _ = verifier.verify(&raw);
        let _ = verifier.verify(&bytes);
    }

    #[test]
    fn fuzz_license_key_shaped_input_is_refused_not_panicked(
        prefix in "(AZL1|AZL2|azl1|)",
        payload_b64 in "[A-Za-z0-9_=+/. -]{0,120}",
        sig in "[A-Za-z0-9_=+/. -]{0,120}",
    ) {
        let key = format!("{prefix}.{payload_b64}.{sig}");
        prop_assert!(signer().verifier().verify(&key).is_err());
    }

    #[test]
    fn fuzz_a_correctly_signed_key_with_any_payload_never_panics(json in proptest::collection::vec(any::<u8>(), 0..300)) {
        // Signed with the same seed, so the payload decoder faces arbitrary bytes.
        use ed25519_dalek::Signer;
        let signed = format!("AZL1.{}", URL_SAFE_NO_PAD.encode(&json));
        let signature = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).sign(signed.as_bytes());
        let key = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        let verified = signer().verifier().verify(&key);
        if verified.is_ok() {
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&json).is_ok());
        }
    }

    #[test]
    fn fuzz_a_genuine_key_with_one_character_changed_is_refused(index in any::<prop::sample::Index>(), c in any::<char>()) {
        let genuine = signer().issue(&payload());
        let chars: Vec<char> = genuine.chars().collect();
        let i = index.index(chars.len());
        if chars[i] != c && !c.is_whitespace() {
            let mut tampered = chars.clone();
            tampered[i] = c;
            let tampered: String = tampered.into_iter().collect();
            prop_assert!(signer().verifier().verify(&tampered).is_err(), "{tampered}");
        }
    }

    #[test]
    fn fuzz_public_keys_and_signing_seeds_never_panic(raw in any::<String>(), pem_body in "[A-Za-z0-9+/=\n]{0,200}") {
        let _ = LicenseVerifier::parse(&raw);
        let _ = LicenseSigner::parse(&raw);
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{pem_body}\n-----END PUBLIC KEY-----");
        let _ = LicenseVerifier::parse(&pem);
        let _ = LicenseSigner::parse(&pem.replace("PUBLIC", "PRIVATE"));
    }

    #[test]
    fn fuzz_currency_parse_never_panics_and_round_trips(raw in any::<String>(), code in "[A-Za-z]{0,4}") {
        for input in [raw.as_str(), code.as_str()] {
            if let Ok(c) = Currency::parse(input) {
                prop_assert_eq!(c.code(), input.to_ascii_uppercase());
                prop_assert_eq!(Currency::parse(c.code()), Ok(c));
            }
        }
    }

    #[test]
    fn fuzz_money_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), amount in "-?[0-9.eE+]{0,30}", currency in any::<String>()) {
        let _ = serde_json::from_slice::<Money>(&bytes);
        let doc = format!(r#"{{"amount":{amount},"currency":{}}}"#, serde_json::Value::String(currency));
        if let Ok(m) = serde_json::from_str::<Money>(&doc) {
            // Whatever was accepted is a whole number of minor units that displays and round-trips.
            let _ = m.display();
            let back: Money = serde_json::from_str(&serde_json::to_string(&m).unwrap_or_default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, m);
        }
    }

    #[test]
    fn fuzz_money_display_and_arithmetic_never_panic(a in any::<i64>(), b in any::<i64>(), which in 0usize..Currency::ALL.len()) {
        let currency = Currency::ALL[which];
        let (x, y) = (Money::new(a, currency), Money::new(b, currency));
        let _ = (x.display(), x.checked_add(y), x.checked_sub(y), Money::non_negative(a, currency));
    }

    #[test]
    fn fuzz_outside_strings_never_panic(raw in any::<String>(), bytes in bytes_text()) {
        for s in [raw.as_str(), bytes.as_str()] {
            let _ = UserId::parse(s);
            let _ = OrgId::parse(s);
            let _ = crate::notification::EmailAddress::parse(s);
            let _ = crate::license::parse_text("f", s, 200);
            let _ = crate::license::parse_color("f", s);
            let _ = crate::license::parse_hostname("f", s);
            let _ = crate::license::parse_https_url("f", s);
            let _ = crate::audit::parse_month(s);
            let _ = crate::streak::parse_time_zone(s);
            let _ = crate::tokens::parse_catalog(s);
            let _ = crate::catalog::parse_rating(s);
            let _ = crate::support::parse_subject(s);
            let _ = crate::support::parse_body(s);
            let _ = crate::support::TicketPriority::parse(s);
            let _ = (crate::Tier::parse(s), crate::Feature::parse(s), crate::Role::parse(s));
            let _ = crate::leaderboard::Period::parse(s);
        }
    }
}

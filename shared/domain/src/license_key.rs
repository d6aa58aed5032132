//! License keys: a signed token an organisation pastes into its deployment and can verify offline
//! with nothing but our public key.
//!
//! Format, version 1: `AZL1.<payload>.<signature>`
//! - `payload`: base64url (no padding) of the JSON [`KeyPayload`];
//! - `signature`: base64url (no padding) of the 64-byte Ed25519 signature over the ASCII bytes
//!   `AZL1.<payload>`. The prefix is signed too, so a key cannot be replayed as another version.
//!
//! Only `A–Z a–z 0–9 - _ .` appear in a key, so it survives copy-paste, URLs and shell quoting;
//! whitespace pasted in the middle (line wraps) is ignored when parsing.

use crate::tiers::Feature;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

pub const KEY_PREFIX: &str = "AZL1";
/// Longer input is refused before any decoding.
pub const MAX_KEY_LEN: usize = 4096;

/// PKCS#8 v1 DER of an Ed25519 private key is this prefix followed by the 32-byte seed
/// (what `openssl genpkey -algorithm ed25519` writes).
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// SubjectPublicKeyInfo DER of an Ed25519 public key is this prefix followed by the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// What a key asserts. Times are Unix seconds (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPayload {
    pub license_id: String,
    pub org_id: String,
    pub seats: u32,
    pub features: Vec<Feature>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub grace_days: u32,
    /// Incremented each time the license is re-keyed (renewal); the newest key carries the
    /// current terms, older ones stay authentic but show the terms they were issued with.
    pub key_version: u32,
}

/// Where a key stands in time, judged offline from its own payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTime {
    Valid,
    /// Past `expiresAt` but within the grace days.
    InGrace {
        until: Timestamp,
    },
    Expired,
}

impl KeyPayload {
    pub fn expires_at(&self) -> Timestamp {
        Timestamp::from_second(self.expires_at).unwrap_or(Timestamp::MIN)
    }

    pub fn grace_until(&self) -> Timestamp {
        self.expires_at()
            .checked_add(SignedDuration::from_hours(24 * i64::from(self.grace_days)))
            .unwrap_or(Timestamp::MAX)
    }

    pub fn time_standing(&self, now: Timestamp) -> KeyTime {
        if now < self.expires_at() {
            KeyTime::Valid
        } else if now < self.grace_until() {
            KeyTime::InGrace { until: self.grace_until() }
        } else {
            KeyTime::Expired
        }
    }
}

/// How long the key a re-key replaced keeps working (time to roll the new key out). Keys older
/// than the one replaced stop at once.
pub const REPLACED_KEY_OVERLAP: SignedDuration = SignedDuration::from_hours(72);

/// Whether a presented key is the license's current key, the one it replaced (still honoured
/// until the overlap ends), or superseded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRotation {
    Current,
    Replaced { until: Timestamp },
    Superseded,
}

impl KeyPayload {
    /// Where `self` stands against the license's `current` key at `now`. A re-key signs the new
    /// key with `issuedAt` = the time of the re-key, which starts the overlap.
    pub fn rotation(&self, current: &KeyPayload, now: Timestamp) -> KeyRotation {
        if self.key_version >= current.key_version {
            return KeyRotation::Current;
        }
        let rekeyed = Timestamp::from_second(current.issued_at).unwrap_or(Timestamp::MIN);
        let until = rekeyed.checked_add(REPLACED_KEY_OVERLAP).unwrap_or(Timestamp::MAX);
        if self.key_version + 1 == current.key_version && now < until {
            KeyRotation::Replaced { until }
        } else {
            KeyRotation::Superseded
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("the license key is malformed: {0}")]
    Malformed(&'static str),
    #[error("the license key has an unsupported version prefix (expected {KEY_PREFIX})")]
    UnsupportedVersion,
    #[error("the license key's signature does not verify")]
    BadSignature,
}

/// Signs license keys. Built once from `LICENSE_SIGNING_KEY`.
#[derive(Clone)]
pub struct LicenseSigner {
    key: SigningKey,
}

impl fmt::Debug for LicenseSigner {
    // Never print the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenseSigner(<redacted>, public {})", self.verifier().public_key_base64url())
    }
}

fn strip_pem(raw: &str) -> String {
    raw.lines().map(str::trim).filter(|l| !l.starts_with("-----")).collect()
}

impl LicenseSigner {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self { key: SigningKey::from_bytes(&seed) }
    }

    /// Accepts the 32-byte seed as base64 or base64url (with or without padding), or a PKCS#8 PEM
    /// (`openssl genpkey -algorithm ed25519`). The error never contains key material.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = if raw.starts_with("-----BEGIN") {
            let der = STANDARD.decode(strip_pem(raw)).map_err(|_| "the PEM body is not base64".to_string())?;
            match der.strip_prefix(&PKCS8_PREFIX[..]) {
                Some(seed) => seed.to_vec(),
                None => return Err("the PEM is not a PKCS#8 Ed25519 private key".into()),
            }
        } else {
            let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            let unpadded = compact.trim_end_matches('=');
            URL_SAFE_NO_PAD
                .decode(unpadded.replace('+', "-").replace('/', "_"))
                .map_err(|_| "expected base64 of a 32-byte Ed25519 seed, or a PKCS#8 PEM".to_string())?
        };
        let seed: [u8; 32] =
            bytes.try_into().map_err(|_| "an Ed25519 private key (seed) is exactly 32 bytes".to_string())?;
        Ok(Self::from_seed(seed))
    }

    pub fn verifier(&self) -> LicenseVerifier {
        LicenseVerifier { key: self.key.verifying_key() }
    }

    /// Encodes and signs `payload` as `AZL1.<payload>.<signature>`.
    pub fn issue(&self, payload: &KeyPayload) -> String {
        // Serializing plain strings and integers cannot fail.
        let json = serde_json::to_vec(payload).unwrap_or_default();
        let signed = format!("{KEY_PREFIX}.{}", URL_SAFE_NO_PAD.encode(json));
        let signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// Verifies license keys with the public key only; what an offline client needs.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenseVerifier {
    key: VerifyingKey,
}

impl fmt::Debug for LicenseVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenseVerifier({})", self.public_key_base64url())
    }
}

impl LicenseVerifier {
    /// Accepts the raw 32-byte key as base64url/base64, or an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = if raw.starts_with("-----BEGIN") {
            let der = STANDARD.decode(strip_pem(raw)).map_err(|_| "the PEM body is not base64".to_string())?;
            der.strip_prefix(&SPKI_PREFIX[..])
                .map(<[u8]>::to_vec)
                .ok_or_else(|| "the PEM is not an Ed25519 public key".to_string())?
        } else {
            URL_SAFE_NO_PAD
                .decode(raw.trim_end_matches('=').replace('+', "-").replace('/', "_"))
                .map_err(|_| "expected base64url of a 32-byte Ed25519 public key".to_string())?
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| "an Ed25519 public key is exactly 32 bytes".to_string())?;
        VerifyingKey::from_bytes(&bytes).map(|key| Self { key }).map_err(|_| "not a valid Ed25519 point".to_string())
    }

    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_bytes())
    }

    /// SubjectPublicKeyInfo PEM, for `openssl pkeyutl -verify -pubin`.
    pub fn public_key_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.key.as_bytes());
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der))
    }

    /// Checks the format and the signature, then decodes the payload. Pure: no clock, no I/O;
    /// judge the dates with [`KeyPayload::time_standing`].
    pub fn verify(&self, key: &str) -> Result<KeyPayload, KeyError> {
        if key.len() > MAX_KEY_LEN {
            return Err(KeyError::Malformed("too long"));
        }
        let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
        let mut parts = compact.split('.');
        let (Some(prefix), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Malformed("expected AZL1.<payload>.<signature>"));
        };
        if prefix != KEY_PREFIX {
            return Err(KeyError::UnsupportedVersion);
        }
        let signature_bytes: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| KeyError::Malformed("the signature is not base64url"))?
            .try_into()
            .map_err(|_| KeyError::Malformed("the signature is not 64 bytes"))?;
        let signature = Signature::from_bytes(&signature_bytes);
        let signed = &compact[..prefix.len() + 1 + payload_b64.len()];
        self.key.verify_strict(signed.as_bytes(), &signature).map_err(|_| KeyError::BadSignature)?;
        let json =
            URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| KeyError::Malformed("the payload is not base64url"))?;
        serde_json::from_slice(&json).map_err(|_| KeyError::Malformed("the payload is not a license payload"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_key_works_for_the_overlap_and_older_keys_not_at_all() {
        let at =
            |version: u32, issued_at: i64| KeyPayload { key_version: version, issued_at, ..payload(2_000_000_000) };
        let rekeyed = 1_800_000_000;
        let current = at(3, rekeyed);
        let now = |s: i64| Timestamp::from_second(s).unwrap();
        let until = now(rekeyed) + REPLACED_KEY_OVERLAP;
        assert_eq!(at(3, rekeyed).rotation(&current, now(rekeyed)), KeyRotation::Current);
        assert_eq!(at(2, 1).rotation(&current, now(rekeyed + 60)), KeyRotation::Replaced { until });
        assert_eq!(at(2, 1).rotation(&current, until - SignedDuration::from_secs(1)), KeyRotation::Replaced { until });
        assert_eq!(at(2, 1).rotation(&current, until), KeyRotation::Superseded);
        assert_eq!(at(1, 1).rotation(&current, now(rekeyed)), KeyRotation::Superseded, "two versions back");
    }

    fn signer(seed: u8) -> LicenseSigner {
        LicenseSigner::from_seed([seed; 32])
    }

    fn payload(expires_at: i64) -> KeyPayload {
        KeyPayload {
            license_id: "lic_1".into(),
            org_id: "org-acme".into(),
            seats: 25,
            features: vec![Feature::WhiteLabel, Feature::PrioritySupport],
            issued_at: 1_800_000_000,
            expires_at,
            grace_days: 14,
            key_version: 1,
        }
    }

    #[test]
    fn a_key_round_trips() {
        let s = signer(7);
        let p = payload(1_900_000_000);
        let key = s.issue(&p);
        assert!(key.starts_with("AZL1."));
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')), "{key}");
        assert_eq!(s.verifier().verify(&key).unwrap(), p);
        // A wrapped paste still verifies.
        let wrapped = format!("  {}\n{}  ", &key[..40], &key[40..]);
        assert_eq!(s.verifier().verify(&wrapped).unwrap(), p);
    }

    #[test]
    fn flipping_any_single_byte_invalidates_the_key() {
        let s = signer(7);
        let key = s.issue(&payload(1_900_000_000));
        let verifier = s.verifier();
        for i in 0..key.len() {
            let mut bytes = key.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(tampered) = String::from_utf8(bytes) else { continue };
            assert!(verifier.verify(&tampered).is_err(), "byte {i} flipped still verifies");
        }
    }

    #[test]
    fn a_tampered_payload_with_the_old_signature_is_a_bad_signature() {
        let s = signer(7);
        let key = s.issue(&payload(1_900_000_000));
        let (head, sig) = key.rsplit_once('.').unwrap();
        let (_, body) = head.split_once('.').unwrap();
        let mut json = URL_SAFE_NO_PAD.decode(body).unwrap();
        let pos = json.windows(2).position(|w| w == b"25").unwrap();
        json[pos] = b'9'; // 25 seats become 95
        let forged = format!("AZL1.{}.{sig}", URL_SAFE_NO_PAD.encode(json));
        assert_eq!(s.verifier().verify(&forged), Err(KeyError::BadSignature));
    }

    #[test]
    fn another_public_key_rejects_the_key() {
        let key = signer(7).issue(&payload(1_900_000_000));
        assert_eq!(signer(8).verifier().verify(&key), Err(KeyError::BadSignature));
    }

    #[test]
    fn malformed_and_other_versions_are_refused() {
        let v = signer(7).verifier();
        let key = signer(7).issue(&payload(1_900_000_000));
        assert_eq!(v.verify(&key.replacen("AZL1", "AZL2", 1)), Err(KeyError::UnsupportedVersion));
        for bad in ["", "AZL1", "AZL1..", "AZL1.a.b.c", "AZL1.!!.??", &"x".repeat(MAX_KEY_LEN + 1)] {
            assert!(matches!(v.verify(bad), Err(KeyError::Malformed(_))), "{bad:.20}");
        }
    }

    #[test]
    fn an_expired_key_verifies_but_reports_its_time() {
        let s = signer(7);
        let p = payload(1_800_000_000);
        let verified = s.verifier().verify(&s.issue(&p)).unwrap();
        let at = |secs: i64| Timestamp::from_second(secs).unwrap();
        assert_eq!(verified.time_standing(at(1_799_999_999)), KeyTime::Valid);
        let grace_end = at(1_800_000_000 + 14 * 86_400);
        assert_eq!(verified.time_standing(at(1_800_000_000)), KeyTime::InGrace { until: grace_end });
        assert_eq!(verified.time_standing(grace_end), KeyTime::Expired);
    }

    #[test]
    fn signing_keys_parse_from_base64_and_pkcs8_pem() {
        let seed = [9u8; 32];
        let b64 = STANDARD.encode(seed);
        let from_b64 = LicenseSigner::parse(&b64).unwrap();
        let from_url = LicenseSigner::parse(&URL_SAFE_NO_PAD.encode(seed)).unwrap();
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(der));
        let from_pem = LicenseSigner::parse(&pem).unwrap();
        assert_eq!(from_b64.verifier(), from_url.verifier());
        assert_eq!(from_b64.verifier(), from_pem.verifier());
        for bad in
            ["", "short", &STANDARD.encode([1u8; 31]), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"]
        {
            let err = LicenseSigner::parse(bad).unwrap_err();
            assert!(!err.contains(&b64), "error leaks the key");
        }
        assert!(!format!("{from_b64:?}").contains(&b64));
    }

    #[test]
    fn the_public_key_round_trips_as_base64url_and_pem() {
        let v = signer(3).verifier();
        assert_eq!(LicenseVerifier::parse(&v.public_key_base64url()).unwrap(), v);
        assert_eq!(LicenseVerifier::parse(&v.public_key_pem()).unwrap(), v);
        assert!(LicenseVerifier::parse("AAAA").is_err());
    }

    /// The README's offline check, verbatim: nothing but the published public key and ed25519-dalek.
    mod readme {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
        use ed25519_dalek::{Signature, VerifyingKey};

        /// The payload if `key` was issued by Azora; `public_key` is `publicKey` from /public-key.
        pub fn verify(key: &str, public_key: &str) -> Option<serde_json::Value> {
            let pk = VerifyingKey::from_bytes(&B64.decode(public_key).ok()?.try_into().ok()?).ok()?;
            let (signed, sig) = key.trim().rsplit_once('.')?; // signed = "AZL1.<payload>"
            let sig = Signature::from_bytes(&B64.decode(sig).ok()?.try_into().ok()?);
            pk.verify_strict(signed.as_bytes(), &sig).ok()?;
            let payload = B64.decode(signed.strip_prefix("AZL1.")?).ok()?;
            serde_json::from_slice(&payload).ok() // then compare payload["expiresAt"] (Unix seconds) with now
        }
    }

    #[test]
    fn offline_verification_as_documented() {
        let s = signer(5);
        let key = s.issue(&payload(1_900_000_000));
        let public_key = s.verifier().public_key_base64url();
        let payload = readme::verify(&key, &public_key).expect("verifies");
        assert_eq!(payload["seats"], 25);
        assert_eq!(payload["expiresAt"], 1_900_000_000);
        assert_eq!(payload["licenseId"], "lic_1");
        assert!(readme::verify(&key, &signer(6).verifier().public_key_base64url()).is_none());
        assert!(readme::verify(&key.replacen("AZL1", "AZL2", 1), &public_key).is_none());
    }

    /// Prints a key and the public key PEM for checking the README's openssl recipe by hand:
    /// `cargo test -p azora-domain print_sample_key -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn print_sample_key() {
        let s = signer(5);
        println!("{}", s.issue(&payload(1_900_000_000)));
        print!("{}", s.verifier().public_key_pem());
    }
}

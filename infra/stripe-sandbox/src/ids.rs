//! Stripe-looking ids (`cus_…`, `pi_…`, `evt_…`): a prefix and random base62 characters.

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base62 characters (from ULID randomness: 80 bits per 13 characters).
pub fn random_chars(n: usize) -> String {
    let mut out = String::with_capacity(n + 13);
    while out.len() < n {
        let mut bits = ulid::Ulid::new().random();
        for _ in 0..13 {
            out.push(char::from(ALPHABET[(bits % 62) as usize]));
            bits /= 62;
        }
    }
    out.truncate(n);
    out
}

/// A new id like Stripe's: customers get 14 characters, everything else 24.
pub fn new_id(prefix: &str) -> String {
    let len = match prefix {
        "cus" | "req" | "prod" | "si" => 14,
        "acct" => 16,
        _ => 24,
    };
    format!("{prefix}_{}", random_chars(len))
}

/// `pi_…_secret_…`, the client secret of a PaymentIntent.
pub fn client_secret(intent_id: &str) -> String {
    format!("{intent_id}_secret_{}", random_chars(25))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_stripe() {
        let id = new_id("pi");
        assert!(id.starts_with("pi_"));
        assert_eq!(id.len(), 27);
        assert!(id[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(new_id("cus"), new_id("cus"));
        assert!(client_secret(&id).starts_with(&format!("{id}_secret_")));
    }
}

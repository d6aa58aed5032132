//! What one function builds at cold start. Each function declares the parts of the configuration
//! and the clients its handler uses ([`Needs`]); it reads only their variables, builds only their
//! clients, and fails fast naming the first missing variable. template.yaml gives each function
//! exactly [`Needs::variables`] beside the globals, which a contract test checks, and the local
//! server builds every function from that environment alone, so a part a handler uses but its
//! function does not declare fails the end-to-end tests (500 `internal`, naming the part) instead
//! of working locally and failing in AWS.

/// Variables every function gets from template.yaml's `Globals`: the table and the log filter.
pub const GLOBAL_VARIABLES: &[&str] = &["TABLE_NAME", "RUST_LOG"];

/// A set of parts, combined with [`Needs::and`] (a `const fn`, so each function's needs is a
/// constant beside its handler).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Needs(u32);

/// One part: its bit, its name in error messages, and the variables it reads (required or
/// optional, as [`crate::config`] documents each).
struct Part {
    needs: Needs,
    name: &'static str,
    variables: &'static [&'static str],
}

const PARTS: &[Part] = &[
    Part {
        needs: Needs::AUTH,
        name: "AUTH",
        variables: &["JWT_ALGORITHM", "JWT_SECRET", "JWT_PUBLIC_KEY", "JWT_ISSUER", "JWT_AUDIENCE"],
    },
    Part { needs: Needs::STRIPE, name: "STRIPE", variables: &["STRIPE_SECRET_KEY", "STRIPE_API_BASE"] },
    Part {
        needs: Needs::STRIPE_WEBHOOK,
        name: "STRIPE_WEBHOOK",
        variables: &["STRIPE_WEBHOOK_SECRET", "STRIPE_EVENTS_QUEUE_URL"],
    },
    Part { needs: Needs::MAIL, name: "MAIL", variables: &["EMAIL_QUEUE_URL"] },
    Part { needs: Needs::SES, name: "SES", variables: &["EMAIL_FROM"] },
    Part { needs: Needs::APP_URL, name: "APP_URL", variables: &["APP_BASE_URL"] },
    Part { needs: Needs::REFUND_POLICY, name: "REFUND_POLICY", variables: &["REFUND_WINDOW_DAYS"] },
    Part { needs: Needs::GRACE, name: "GRACE", variables: &["SUBSCRIPTION_GRACE_DAYS"] },
    Part { needs: Needs::LICENSE_SIGNER, name: "LICENSE_SIGNER", variables: &["LICENSE_SIGNING_KEY"] },
    Part { needs: Needs::LICENSE_VERIFIER, name: "LICENSE_VERIFIER", variables: &["LICENSE_PUBLIC_KEY"] },
    Part {
        needs: Needs::LICENSE_VALIDATE_LIMIT,
        name: "LICENSE_VALIDATE_LIMIT",
        variables: &["LICENSE_VALIDATE_RATE_LIMIT"],
    },
    Part { needs: Needs::SUPPORT, name: "SUPPORT", variables: &["SUPPORT_EMAIL"] },
    Part {
        needs: Needs::TOKENS,
        name: "TOKENS",
        variables: &[
            "REWARDS_QUEUE_URL",
            "TOKEN_COMPLETION_BASE",
            "TOKEN_DIGEST_WINDOW_SECONDS",
            "TOKEN_REWARDS_CATALOG",
        ],
    },
    Part {
        needs: Needs::RECEIPTS,
        name: "RECEIPTS",
        variables: &["SELLER_NAME", "SELLER_ADDRESS", "SELLER_TAX_ID", "TAX_RATE_BPS"],
    },
    Part { needs: Needs::DNS, name: "DNS", variables: &["DNS_RESOLVER_URL"] },
];

impl Needs {
    /// The table only (every function has it).
    pub const NOTHING: Needs = Needs(0);
    /// Bearer-token authentication.
    pub const AUTH: Needs = Needs(1);
    /// Calls to the Stripe API (the secret key).
    pub const STRIPE: Needs = Needs(1 << 1);
    /// Verifying Stripe webhook signatures and queueing the verified events.
    pub const STRIPE_WEBHOOK: Needs = Needs(1 << 2);
    /// Queueing notifications for the email worker.
    pub const MAIL: Needs = Needs(1 << 3);
    /// Sending email through SES (the email worker and the admin test mail).
    pub const SES: Needs = Needs(1 << 4);
    /// Links into the web app (emails, Stripe Connect onboarding).
    pub const APP_URL: Needs = Needs(1 << 5);
    /// How long buyers may ask for a refund.
    pub const REFUND_POLICY: Needs = Needs(1 << 6);
    /// How long a past-due subscription keeps its tier (entitlements, dunning).
    pub const GRACE: Needs = Needs(1 << 7);
    /// The license signing (private) key: only the functions that issue keys. Declare it with
    /// [`Needs::LICENSE_VERIFIER`], so a signing key that does not match the published public key
    /// fails the cold start.
    pub const LICENSE_SIGNER: Needs = Needs(1 << 8);
    /// The public license validation endpoint's rate limit.
    pub const LICENSE_VALIDATE_LIMIT: Needs = Needs(1 << 9);
    /// Where support tickets are emailed.
    pub const SUPPORT: Needs = Needs(1 << 10);
    /// Token rewards: the rewards queue, award amounts, digest window and catalog.
    pub const TOKENS: Needs = Needs(1 << 11);
    /// The license public key: checking keys (activation, validation) and publishing it.
    pub const LICENSE_VERIFIER: Needs = Needs(1 << 12);
    /// What receipts state: the seller (name, address, tax id) and the tax rate of new orders.
    pub const RECEIPTS: Needs = Needs(1 << 13);
    /// A DNS-over-HTTPS resolver (JSON API): proving control of a white-label domain.
    pub const DNS: Needs = Needs(1 << 14);
    /// Every part: the local server's own state (seeding, tests) and nothing deployed.
    pub const EVERYTHING: Needs = Needs((1 << 15) - 1);

    pub const fn and(self, other: Needs) -> Needs {
        Needs(self.0 | other.0)
    }

    pub const fn has(self, part: Needs) -> bool {
        self.0 & part.0 == part.0
    }

    /// Whether any of `parts` is in the set.
    pub const fn has_any(self, parts: Needs) -> bool {
        self.0 & parts.0 != 0
    }

    /// The set as a const generic argument (`lambda::run_http::<{ NEEDS.bits() }>`): a deployed
    /// function's needs are a constant, so the construction of the parts it lacks is compiled out.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The set [`Needs::bits`] gave.
    pub const fn from_bits(bits: u32) -> Needs {
        Needs(bits & Needs::EVERYTHING.0)
    }

    /// Every variable the function reads: the globals and those of its parts.
    pub fn variables(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = GLOBAL_VARIABLES.to_vec();
        names.extend(PARTS.iter().filter(|p| self.has(p.needs)).flat_map(|p| p.variables.iter().copied()));
        names
    }

    /// The error for reaching a part the function did not declare: a bug in its `Needs`.
    pub fn undeclared(self) -> UndeclaredPart {
        UndeclaredPart(self)
    }

    /// The parts' names, for messages (`AUTH | STRIPE`).
    pub fn names(self) -> String {
        let names: Vec<&str> = PARTS.iter().filter(|p| self.has(p.needs)).map(|p| p.name).collect();
        if names.is_empty() { "NOTHING".into() } else { names.join(" | ") }
    }
}

/// A part reached for but not declared in the function's [`Needs`]: a bug, answered as a 500
/// naming the part (the end-to-end tests build each function from its own needs to catch it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this function does not declare {} in its Needs", .0.names())]
pub struct UndeclaredPart(pub Needs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bit_is_one_named_part_with_its_own_variables() {
        let mut all = Needs::NOTHING;
        let mut seen = std::collections::BTreeSet::new();
        for part in PARTS {
            assert_eq!(part.needs.0.count_ones(), 1, "{}", part.name);
            assert!(!all.has(part.needs), "{} reuses a bit", part.name);
            all = all.and(part.needs);
            for v in part.variables {
                assert!(seen.insert(*v), "{v} belongs to two parts");
                assert!(!GLOBAL_VARIABLES.contains(v), "{v} is global");
            }
        }
        assert_eq!(all, Needs::EVERYTHING);
    }

    #[test]
    fn variables_are_the_globals_and_the_declared_parts() {
        assert_eq!(Needs::NOTHING.variables(), GLOBAL_VARIABLES);
        let v = Needs::STRIPE.and(Needs::MAIL).variables();
        assert_eq!(v, ["TABLE_NAME", "RUST_LOG", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "EMAIL_QUEUE_URL"]);
        assert_eq!(Needs::AUTH.and(Needs::SES).names(), "AUTH | SES");
    }

    #[test]
    fn bits_round_trip_and_only_name_parts() {
        let needs = Needs::STRIPE.and(Needs::TOKENS);
        assert_eq!(Needs::from_bits(needs.bits()), needs);
        assert_eq!(Needs::from_bits(u32::MAX), Needs::EVERYTHING);
        assert!(needs.has_any(Needs::TOKENS.and(Needs::SES)) && !needs.has_any(Needs::SES));
    }
}

//! The local server's name table: each template.yaml function's binary → its
//! [`azora_api::functions`] constant. Deployed functions do not need it (each `main.rs` names its
//! constant); the local server serves them all from one process. A binary's name is its constant's
//! name in kebab case (`PAYMENTS_REFUND` → `payments-refund`), and the test in [`crate::router`]
//! checks that `functions/<binary>/src/main.rs` runs that same constant.

use azora_api::functions;
use azora_api::lambda::Function;

macro_rules! f {
    ($constant:ident) => {
        (stringify!($constant), functions::$constant)
    };
}

/// (constant name, function) for every function.
pub const ALL: &[(&str, Function)] = &[
    f!(ADMIN_AUDIT_LIST),
    f!(ADMIN_EMAIL_TEST),
    f!(ADMIN_RECONCILIATION_LIST),
    f!(ADMIN_REPORTS_INSTRUCTORS),
    f!(ADMIN_REPORTS_MONTHLY),
    f!(ADMIN_SUPPORT_QUEUE),
    f!(API_FALLBACK),
    f!(BILLING_CYCLE),
    f!(CLASSES_CREATE),
    f!(CLASSES_JOIN),
    f!(CLASSES_LIST),
    f!(COGNITO_PRE_TOKEN),
    f!(COURSES_ACCESS),
    f!(COURSES_CERTIFICATE),
    f!(COURSES_DELETE),
    f!(COURSES_GET),
    f!(COURSES_LIST),
    f!(COURSES_PURCHASE),
    f!(COURSES_STATUS),
    f!(COURSES_UPLOAD),
    f!(DOCS),
    f!(EMAIL_WORKER),
    f!(ENTERPRISE_LICENSE_ACTIVATE),
    f!(ENTERPRISE_LICENSE_ADMIN),
    f!(ENTERPRISE_LICENSE_CREATE),
    f!(ENTERPRISE_LICENSE_DEACTIVATE),
    f!(ENTERPRISE_LICENSE_GET),
    f!(ENTERPRISE_LICENSE_PUBLIC_KEY),
    f!(ENTERPRISE_LICENSE_SEATS),
    f!(ENTERPRISE_LICENSE_VALIDATE),
    f!(ENTERPRISE_QUOTES_ACCEPT),
    f!(ENTERPRISE_QUOTES_CREATE),
    f!(ENTERPRISE_QUOTES_GET),
    f!(ENTERPRISE_QUOTES_LIST),
    f!(ENTERPRISE_TICKETS_CREATE),
    f!(ENTERPRISE_TICKETS_GET),
    f!(ENTERPRISE_TICKETS_LIST),
    f!(ENTERPRISE_TICKETS_REPLY),
    f!(ENTERPRISE_TICKETS_STATUS),
    f!(ENTERPRISE_USAGE),
    f!(ENTERPRISE_WHITE_LABEL_GET),
    f!(ENTERPRISE_WHITE_LABEL_PUT),
    f!(ENTERPRISE_WHITE_LABEL_SETTINGS),
    f!(ENTERPRISE_WHITE_LABEL_VERIFY),
    f!(FRIENDS_FOLLOW),
    f!(FRIENDS_LIST),
    f!(FRIENDS_REQUESTS_LIST),
    f!(FRIENDS_REQUESTS_ACCEPT),
    f!(FRIENDS_REQUESTS_DECLINE),
    f!(FRIENDS_UNFOLLOW),
    f!(HEALTH),
    f!(INSTRUCTOR_PAYOUTS),
    f!(INSTRUCTORS_COURSES),
    f!(INSTRUCTORS_EARNINGS),
    f!(INSTRUCTORS_PAYOUT_ACCOUNT),
    f!(LEADERBOARD_CLASS),
    f!(LEADERBOARD_FRIENDS),
    f!(LEADERBOARD_GLOBAL),
    f!(LEADERBOARD_STATS),
    f!(PAYMENTS_GET),
    f!(PAYMENTS_HISTORY),
    f!(PAYMENTS_PROCESS),
    f!(PAYMENTS_RECEIPT),
    f!(PAYMENTS_REFUND),
    f!(PLANS_LIST),
    f!(RECONCILE),
    f!(REVIEWS_CREATE),
    f!(REVIEWS_LIST),
    f!(REWARDS_WORKER),
    f!(STRIPE_EVENTS_WORKER),
    f!(STRIPE_WEBHOOK),
    f!(SUBSCRIPTIONS_CANCEL),
    f!(SUBSCRIPTIONS_CREATE),
    f!(SUBSCRIPTIONS_CURRENT),
    f!(SUBSCRIPTIONS_INVOICES),
    f!(PAYMENT_METHODS_SETUP),
    f!(PAYMENT_METHODS_LIST),
    f!(PAYMENT_METHODS_DEFAULT),
    f!(PAYMENT_METHODS_DELETE),
    f!(SUBSCRIPTIONS_PREVIEW),
    f!(SUBSCRIPTIONS_UPDATE),
    f!(TOKENS_AWARD),
    f!(TOKENS_BALANCE),
    f!(TOKENS_HISTORY),
    f!(TOKENS_REDEEM),
    f!(TOKENS_REWARDS),
    f!(USERS_COURSES),
    f!(USERS_PRIVACY),
];

/// The binary a constant runs as.
pub fn binary_of(constant: &str) -> String {
    constant.to_ascii_lowercase().replace('_', "-")
}

/// The constant a binary runs.
pub fn constant_of(binary: &str) -> String {
    binary.to_ascii_uppercase().replace('-', "_")
}

pub fn find(binary: &str) -> Option<Function> {
    let constant = constant_of(binary);
    ALL.iter().find(|(name, _)| *name == constant).map(|(_, f)| *f)
}

//! Every Lambda function as a constant: its handler and what it builds at cold start. The crate
//! `functions/<name>/` runs exactly one of them (`azora_api::lambda::run(azora_api::functions::X)`),
//! so its binary links that handler, its kind of runtime and its own clients only (the macros
//! below write each constant's `start`). template.yaml gives each function the
//! variables of its [`Needs`] (checked by a contract test), and the local server serves them all
//! from its own name table (`infra/local/src/functions.rs`), each from its own environment.
//!
//! A part is declared where the handler, or a service it calls, uses it: `AUTH` for bearer tokens,
//! `STRIPE` for Stripe calls, `MAIL` for queued emails, and the settings their rules read.

use crate::lambda::{self, Entry, Function, HttpHandler, JobHandler, SqsHandler};
use crate::needs::Needs;
use crate::state::AppState;
use crate::{handlers, jobs, workers};
use std::sync::Arc;

// Each macro writes a [`Function`] whose `start` runs the handler's kind of runtime with the
// needs as a constant (see [`Function::start`]); `entry` and `needs` are for the local server.
macro_rules! http {
    ($handler:path, $needs:expr) => {{
        const NEEDS: Needs = $needs;
        const HANDLER: HttpHandler = |req, state| Box::pin($handler(req, state));
        Function {
            entry: Entry::Http(HANDLER),
            needs: NEEDS,
            start: || Box::pin(lambda::run_http::<{ NEEDS.bits() }>(HANDLER)),
        }
    }};
}

macro_rules! sqs {
    ($handler:path, $needs:expr) => {{
        const NEEDS: Needs = $needs;
        const HANDLER: SqsHandler = |event, state| Box::pin($handler(event, state));
        Function {
            entry: Entry::Sqs(HANDLER),
            needs: NEEDS,
            start: || Box::pin(lambda::run_sqs::<{ NEEDS.bits() }>(HANDLER)),
        }
    }};
}

macro_rules! job {
    ($handler:path, $needs:expr) => {{
        const NEEDS: Needs = $needs;
        const HANDLER: JobHandler = |input, state| Box::pin($handler(input, state));
        Function {
            entry: Entry::Job(HANDLER),
            needs: NEEDS,
            start: || Box::pin(lambda::run_job::<{ NEEDS.bits() }>(HANDLER)),
        }
    }};
}

const AUTH: Needs = Needs::AUTH;
/// Charging for courses: the PaymentIntent, the receipt email, the earnings hold of the
/// refund window when the payment is fulfilled at once, and the tax rate recorded on each order.
const CHECKOUT: Needs = Needs::AUTH.and(Needs::STRIPE).and(Needs::MAIL).and(Needs::REFUND_POLICY).and(Needs::RECEIPTS);
/// Subscription changes: Stripe, the emails (with links into the app) and the grace period.
const SUBSCRIPTION_WRITES: Needs =
    Needs::AUTH.and(Needs::STRIPE).and(Needs::MAIL).and(Needs::APP_URL).and(Needs::GRACE);
/// Token writes: the award pipeline's emails and the tier multiplier (entitlements).
const TOKEN_WRITES: Needs = Needs::AUTH.and(Needs::TOKENS).and(Needs::MAIL).and(Needs::GRACE);
/// License changes: the emails to the org's admins.
const LICENSE_WRITES: Needs = Needs::AUTH.and(Needs::MAIL);
/// Issuing keys (create, renew): the signing key, with the public key it must match.
const LICENSE_ISSUE: Needs = LICENSE_WRITES.and(Needs::LICENSE_SIGNER).and(Needs::LICENSE_VERIFIER);
/// Applying Stripe's news: fulfilment, refunds and subscription states.
const STRIPE_EFFECTS: Needs =
    Needs::STRIPE.and(Needs::MAIL).and(Needs::REFUND_POLICY).and(Needs::APP_URL).and(Needs::GRACE);

// Platform
pub const HEALTH: Function = http!(handlers::health::get, Needs::NOTHING);
pub const DOCS: Function = http!(handlers::docs::get, Needs::NOTHING);
pub const API_FALLBACK: Function = http!(handlers::fallback::answer, Needs::NOTHING);
pub const ADMIN_EMAIL_TEST: Function = http!(handlers::admin::email_test, AUTH.and(Needs::MAIL));
pub const ADMIN_AUDIT_LIST: Function = http!(handlers::admin::audit_list, AUTH);
pub const ADMIN_RECONCILIATION_LIST: Function = http!(handlers::admin::reconciliation_list, AUTH);
pub const ADMIN_REPORTS_MONTHLY: Function = http!(handlers::admin::reports_monthly, AUTH);
pub const ADMIN_REPORTS_INSTRUCTORS: Function = http!(handlers::admin::reports_instructors, AUTH);

// Plans and subscriptions
pub const PLANS_LIST: Function = http!(handlers::plans::list, Needs::STRIPE);
pub const SUBSCRIPTIONS_CURRENT: Function = http!(handlers::subscriptions::current, AUTH.and(Needs::GRACE));
pub const SUBSCRIPTIONS_CREATE: Function = http!(handlers::subscriptions::create, SUBSCRIPTION_WRITES);
pub const SUBSCRIPTIONS_UPDATE: Function = http!(handlers::subscriptions::update, SUBSCRIPTION_WRITES);
pub const SUBSCRIPTIONS_CANCEL: Function = http!(handlers::subscriptions::cancel, SUBSCRIPTION_WRITES);
pub const SUBSCRIPTIONS_PREVIEW: Function = http!(handlers::subscriptions::preview, AUTH.and(Needs::STRIPE));
pub const SUBSCRIPTIONS_INVOICES: Function = http!(handlers::subscriptions::invoices, AUTH.and(Needs::STRIPE));

// Payment methods (the caller's saved cards)
pub const PAYMENT_METHODS_SETUP: Function = http!(handlers::payment_methods::setup, AUTH.and(Needs::STRIPE));
pub const PAYMENT_METHODS_LIST: Function = http!(handlers::payment_methods::list, AUTH.and(Needs::STRIPE));
pub const PAYMENT_METHODS_DEFAULT: Function = http!(handlers::payment_methods::make_default, AUTH.and(Needs::STRIPE));
pub const PAYMENT_METHODS_DELETE: Function = http!(handlers::payment_methods::remove, AUTH.and(Needs::STRIPE));

// Payments
pub const PAYMENTS_PROCESS: Function = http!(handlers::payments::process, CHECKOUT);
pub const PAYMENTS_HISTORY: Function = http!(handlers::payments::history, AUTH);
pub const PAYMENTS_GET: Function = http!(handlers::payments::get, AUTH);
pub const PAYMENTS_RECEIPT: Function = http!(handlers::payments::receipt, AUTH.and(Needs::RECEIPTS));
pub const PAYMENTS_REFUND: Function = http!(handlers::payments::refund, CHECKOUT);
pub const STRIPE_WEBHOOK: Function = http!(handlers::webhooks::stripe, Needs::STRIPE_WEBHOOK);

// Courses and reviews
pub const COURSES_UPLOAD: Function = http!(handlers::courses::upload, AUTH);
pub const COURSES_LIST: Function = http!(handlers::courses::list, AUTH);
pub const COURSES_GET: Function = http!(handlers::courses::get, AUTH);
pub const COURSES_ACCESS: Function = http!(handlers::courses::access, AUTH);
pub const COURSES_PURCHASE: Function = http!(handlers::courses::purchase, CHECKOUT);
pub const COURSES_CERTIFICATE: Function = http!(handlers::courses::certificate, AUTH.and(Needs::GRACE));
pub const REVIEWS_CREATE: Function = http!(handlers::reviews::create, AUTH);
pub const REVIEWS_LIST: Function = http!(handlers::reviews::list, AUTH);

// Instructors
pub const INSTRUCTORS_COURSES: Function = http!(handlers::instructors::courses, AUTH);
pub const INSTRUCTORS_EARNINGS: Function = http!(handlers::instructors::earnings, AUTH);
pub const INSTRUCTORS_PAYOUT_ACCOUNT: Function =
    http!(handlers::instructors::payout_account, AUTH.and(Needs::STRIPE).and(Needs::APP_URL));
pub const INSTRUCTOR_PAYOUTS: Function = job!(jobs::payouts::run, Needs::STRIPE.and(Needs::MAIL));

// Enterprise
pub const ENTERPRISE_LICENSE_CREATE: Function = http!(handlers::licenses::create, LICENSE_ISSUE);
pub const ENTERPRISE_LICENSE_PUBLIC_KEY: Function = http!(handlers::licenses::public_key, Needs::LICENSE_VERIFIER);
pub const ENTERPRISE_LICENSE_GET: Function = http!(handlers::licenses::get, AUTH);
pub const ENTERPRISE_LICENSE_ACTIVATE: Function =
    http!(handlers::licenses::activate, LICENSE_WRITES.and(Needs::LICENSE_VERIFIER));
pub const ENTERPRISE_LICENSE_DEACTIVATE: Function = http!(handlers::licenses::deactivate, LICENSE_WRITES);
pub const ENTERPRISE_LICENSE_VALIDATE: Function =
    http!(handlers::licenses::validate, Needs::LICENSE_VERIFIER.and(Needs::LICENSE_VALIDATE_LIMIT));
/// Renewal re-issues the key.
pub const ENTERPRISE_LICENSE_ADMIN: Function = http!(handlers::licenses::admin_action, LICENSE_ISSUE);
pub const ENTERPRISE_WHITE_LABEL_PUT: Function = http!(handlers::licenses::white_label_put, AUTH);
pub const ENTERPRISE_WHITE_LABEL_VERIFY: Function = http!(handlers::licenses::white_label_verify, AUTH.and(Needs::DNS));
pub const ENTERPRISE_WHITE_LABEL_GET: Function = http!(handlers::licenses::white_label_get, AUTH);
pub const ENTERPRISE_WHITE_LABEL_SETTINGS: Function = http!(handlers::licenses::white_label_settings, AUTH);
pub const ENTERPRISE_QUOTES_CREATE: Function = http!(handlers::licenses::quote_create, AUTH);
pub const ENTERPRISE_QUOTES_GET: Function = http!(handlers::licenses::quote_get, AUTH);
pub const ENTERPRISE_QUOTES_LIST: Function = http!(handlers::licenses::quote_list, AUTH);
pub const ENTERPRISE_QUOTES_ACCEPT: Function = http!(handlers::licenses::quote_accept, AUTH.and(Needs::STRIPE));
pub const ENTERPRISE_LICENSE_SEATS: Function = http!(handlers::licenses::seats_add, AUTH.and(Needs::STRIPE));
pub const ENTERPRISE_USAGE: Function = http!(handlers::licenses::usage, AUTH);
pub const ENTERPRISE_TICKETS_CREATE: Function =
    http!(handlers::support::create, AUTH.and(Needs::MAIL).and(Needs::SUPPORT));
pub const ENTERPRISE_TICKETS_LIST: Function = http!(handlers::support::list, AUTH);
pub const ENTERPRISE_TICKETS_GET: Function = http!(handlers::support::get, AUTH);
pub const ENTERPRISE_TICKETS_REPLY: Function =
    http!(handlers::support::reply, AUTH.and(Needs::MAIL).and(Needs::SUPPORT));
pub const ENTERPRISE_TICKETS_STATUS: Function = http!(handlers::support::set_status, AUTH);
pub const ADMIN_SUPPORT_QUEUE: Function = http!(handlers::support::queue, AUTH);

// Tokens and leaderboards
pub const TOKENS_AWARD: Function = http!(handlers::tokens::award, TOKEN_WRITES);
pub const TOKENS_BALANCE: Function = http!(handlers::tokens::balance, AUTH);
pub const TOKENS_HISTORY: Function = http!(handlers::tokens::history, AUTH);
pub const TOKENS_REWARDS: Function = http!(handlers::tokens::rewards, AUTH.and(Needs::TOKENS));
pub const TOKENS_REDEEM: Function = http!(handlers::tokens::redeem, TOKEN_WRITES);
pub const LEADERBOARD_GLOBAL: Function = http!(handlers::leaderboard::global, AUTH);
pub const LEADERBOARD_FRIENDS: Function = http!(handlers::leaderboard::friends, AUTH);
pub const LEADERBOARD_CLASS: Function = http!(handlers::leaderboard::class, AUTH);
pub const FRIENDS_FOLLOW: Function = http!(handlers::leaderboard::follow, AUTH);
pub const FRIENDS_UNFOLLOW: Function = http!(handlers::leaderboard::unfollow, AUTH);
pub const FRIENDS_LIST: Function = http!(handlers::leaderboard::list_friends, AUTH);
pub const FRIENDS_REQUESTS_LIST: Function = http!(handlers::leaderboard::follow_requests, AUTH);
pub const FRIENDS_REQUESTS_ACCEPT: Function = http!(handlers::leaderboard::accept_follow, AUTH);
pub const FRIENDS_REQUESTS_DECLINE: Function = http!(handlers::leaderboard::decline_follow, AUTH);
pub const CLASSES_CREATE: Function = http!(handlers::leaderboard::create_class, AUTH);
pub const CLASSES_JOIN: Function = http!(handlers::leaderboard::join_class, AUTH);
pub const CLASSES_LIST: Function = http!(handlers::leaderboard::list_classes, AUTH);
pub const USERS_COURSES: Function = http!(handlers::courses::my_courses, AUTH);
pub const COURSES_STATUS: Function = http!(handlers::courses::set_status, AUTH);
pub const COURSES_DELETE: Function = http!(handlers::courses::delete_draft, AUTH);
pub const USERS_PRIVACY: Function = http!(handlers::leaderboard::privacy, AUTH);

// Consumers and scheduled jobs
/// Fulfilment sends the receipt (the seller's details); a paid enterprise quote issues a license
/// (the signing key).
pub const STRIPE_EVENTS_WORKER: Function =
    sqs!(workers::stripe_events::handle, STRIPE_EFFECTS.and(Needs::RECEIPTS).and(Needs::LICENSE_SIGNER));
pub const EMAIL_WORKER: Function = sqs!(workers::email::handle, Needs::SES);
pub const REWARDS_WORKER: Function = sqs!(workers::rewards::handle, Needs::TOKENS.and(Needs::MAIL).and(Needs::GRACE));
pub const BILLING_CYCLE: Function = job!(jobs::billing_cycle::run, STRIPE_EFFECTS);
pub const RECONCILE: Function = job!(jobs::reconcile::run, STRIPE_EFFECTS.and(Needs::RECEIPTS));
pub const LEADERBOARD_STATS: Function = job!(leaderboard_stats, Needs::NOTHING);
/// Invoked by the optional Cognito user pool (not scheduled): the event comes back with its claims.
pub const COGNITO_PRE_TOKEN: Function = job!(cognito_pre_token, Needs::NOTHING);

async fn cognito_pre_token(
    event: serde_json::Value,
    _state: Arc<AppState>,
) -> Result<serde_json::Value, jobs::JobError> {
    Ok(crate::cognito::pre_token_generation(event))
}

/// The stats job takes no input.
async fn leaderboard_stats(
    _input: serde_json::Value,
    state: Arc<AppState>,
) -> Result<serde_json::Value, jobs::JobError> {
    jobs::leaderboard_stats::run(state).await
}

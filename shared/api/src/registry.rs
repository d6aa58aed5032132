//! Every Lambda entry point, by the cargo binary name that template.yaml's
//! `Metadata.BuildProperties.Binary` and the crate under `functions/` both use.
//! A test checks that the three agree one to one.

use crate::http::HttpResult;
use crate::state::AppState;
use crate::{handlers, jobs, workers};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::future::BoxFuture;
use lambda_http::Request;
use std::sync::Arc;

pub type HttpHandler = fn(Request, Arc<AppState>) -> BoxFuture<'static, HttpResult>;
pub type SqsHandler = fn(SqsEvent, Arc<AppState>) -> BoxFuture<'static, SqsBatchResponse>;
/// A scheduled job gets the schedule's input (`{}` when none).
pub type JobHandler =
    fn(serde_json::Value, Arc<AppState>) -> BoxFuture<'static, Result<serde_json::Value, crate::ApiError>>;

#[derive(Clone, Copy)]
pub enum Entry {
    Http(HttpHandler),
    Sqs(SqsHandler),
    Job(JobHandler),
}

#[derive(Clone, Copy)]
pub struct Function {
    pub binary: &'static str,
    pub entry: Entry,
}

macro_rules! http {
    ($binary:literal, $handler:path) => {
        Function { binary: $binary, entry: Entry::Http(|req, state| Box::pin($handler(req, state))) }
    };
}

pub const FUNCTIONS: &[Function] = &[
    http!("health", handlers::health::get),
    http!("docs", handlers::docs::get),
    http!("admin-email-test", handlers::admin::email_test),
    http!("admin-audit-list", handlers::admin::audit_list),
    http!("admin-reconciliation-list", handlers::admin::reconciliation_list),
    http!("subscriptions-current", handlers::subscriptions::current),
    http!("subscriptions-create", handlers::subscriptions::create),
    http!("subscriptions-update", handlers::subscriptions::update),
    http!("subscriptions-cancel", handlers::subscriptions::cancel),
    http!("courses-certificate", handlers::courses::certificate),
    http!("payments-process", handlers::payments::process),
    http!("payments-history", handlers::payments::history),
    http!("payments-get", handlers::payments::get),
    http!("payments-receipt", handlers::payments::receipt),
    http!("payments-refund", handlers::payments::refund),
    http!("stripe-webhook", handlers::webhooks::stripe),
    http!("courses-upload", handlers::courses::upload),
    http!("courses-list", handlers::courses::list),
    http!("courses-get", handlers::courses::get),
    http!("courses-access", handlers::courses::access),
    http!("courses-purchase", handlers::courses::purchase),
    http!("reviews-create", handlers::reviews::create),
    http!("reviews-list", handlers::reviews::list),
    http!("instructors-courses", handlers::instructors::courses),
    http!("instructors-earnings", handlers::instructors::earnings),
    http!("instructors-payout-account", handlers::instructors::payout_account),
    Function {
        binary: "instructor-payouts",
        entry: Entry::Job(|input, state| Box::pin(jobs::payouts::run(input, state))),
    },
    http!("enterprise-license-create", handlers::licenses::create),
    http!("enterprise-license-public-key", handlers::licenses::public_key),
    http!("enterprise-license-get", handlers::licenses::get),
    http!("enterprise-license-activate", handlers::licenses::activate),
    http!("enterprise-license-deactivate", handlers::licenses::deactivate),
    http!("enterprise-license-validate", handlers::licenses::validate),
    http!("enterprise-license-admin", handlers::licenses::admin_action),
    http!("enterprise-white-label-put", handlers::licenses::white_label_put),
    http!("enterprise-white-label-get", handlers::licenses::white_label_get),
    http!("enterprise-usage", handlers::licenses::usage),
    http!("enterprise-tickets-create", handlers::support::create),
    http!("enterprise-tickets-list", handlers::support::list),
    http!("enterprise-tickets-get", handlers::support::get),
    http!("tokens-award", handlers::tokens::award),
    http!("tokens-balance", handlers::tokens::balance),
    http!("tokens-history", handlers::tokens::history),
    http!("tokens-rewards", handlers::tokens::rewards),
    http!("tokens-redeem", handlers::tokens::redeem),
    http!("leaderboard-global", handlers::leaderboard::global),
    http!("leaderboard-friends", handlers::leaderboard::friends),
    http!("leaderboard-class", handlers::leaderboard::class),
    http!("friends-follow", handlers::leaderboard::follow),
    http!("friends-unfollow", handlers::leaderboard::unfollow),
    http!("friends-list", handlers::leaderboard::list_friends),
    http!("classes-create", handlers::leaderboard::create_class),
    http!("users-privacy", handlers::leaderboard::privacy),
    Function {
        binary: "stripe-events-worker",
        entry: Entry::Sqs(|event, state| Box::pin(workers::stripe_events::handle(event, state))),
    },
    Function {
        binary: "email-worker",
        entry: Entry::Sqs(|event, state| Box::pin(workers::email::handle(event, state))),
    },
    Function {
        binary: "billing-cycle",
        entry: Entry::Job(|input, state| Box::pin(jobs::billing_cycle::run(input, state))),
    },
    Function {
        binary: "rewards-worker",
        entry: Entry::Sqs(|event, state| Box::pin(workers::rewards::handle(event, state))),
    },
    Function { binary: "reconcile", entry: Entry::Job(|input, state| Box::pin(jobs::reconcile::run(input, state))) },
    Function {
        binary: "leaderboard-stats",
        entry: Entry::Job(|_input, state| Box::pin(jobs::leaderboard_stats::run(state))),
    },
];

pub fn find(binary: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.binary == binary)
}

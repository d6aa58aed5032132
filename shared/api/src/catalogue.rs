//! The one catalogue of how the services' refusals reach a client: status, code, message and
//! details for each. Services return their own errors (no HTTP in them); handlers return them with
//! `?`, which converts through these.

use crate::billing::BillingError;
use crate::checkout::CheckoutError;
use crate::classes::ClassError;
use crate::courses::CourseError;
use crate::error::{ApiError, gateway_error};
use crate::jobs::JobError;
use crate::leaderboards::LeaderboardError;
use crate::licensing::LicenseError;
use crate::limits::LimitError;
use crate::payment_methods::PaymentMethodError;
use crate::refunds::RefundError;
use crate::reports::ReportError;
use crate::rewards::RewardsError;
use crate::subscriptions::SubscriptionError;
use crate::support::SupportError;
use azora_domain::leaderboard::MAX_CLASS_MEMBERS;
use azora_domain::payment::{OrderRefusal, RefundRefusal};
use azora_domain::tokens::{LedgerRefusal, VoucherRefusal};
use http::StatusCode;
use serde_json::json;

impl From<OrderRefusal> for ApiError {
    fn from(r: OrderRefusal) -> Self {
        let message = r.to_string();
        match r {
            OrderRefusal::Empty | OrderRefusal::TooManyItems(_) | OrderRefusal::Duplicate(_) => {
                ApiError::bad_request("validation_failed", message).with_details(json!({ "field": "items" }))
            }
            OrderRefusal::NotPurchasable(_) => ApiError::unprocessable("not_purchasable", message),
            OrderRefusal::Free(_) => ApiError::unprocessable("free_course", message),
            OrderRefusal::OwnCourse(_) => ApiError::unprocessable("own_course", message),
            OrderRefusal::AlreadyOwned(_) => ApiError::conflict("already_owned", message),
            OrderRefusal::MixedCurrencies => ApiError::unprocessable("mixed_currencies", message),
            OrderRefusal::Overflow => ApiError::unprocessable("amount_out_of_range", message),
        }
    }
}

impl From<CheckoutError> for ApiError {
    fn from(e: CheckoutError) -> Self {
        let voucher_field = json!({ "field": "voucherId" });
        match e {
            CheckoutError::Refused(r) => r.into(),
            CheckoutError::CourseNotFound(id) => ApiError::not_found(&format!("course {id}")),
            CheckoutError::VoucherNotFound(id) => {
                ApiError::not_found(&format!("voucher {id}")).with_details(voucher_field)
            }
            CheckoutError::VoucherUsed => {
                ApiError::conflict("voucher_used", "This voucher was already used for another payment.")
                    .with_details(voucher_field)
            }
            CheckoutError::Voucher(r @ VoucherRefusal::CurrencyMismatch { .. }) => {
                ApiError::unprocessable("voucher_currency_mismatch", r.to_string())
            }
            CheckoutError::Voucher(r @ VoucherRefusal::NothingToDiscount) => {
                ApiError::unprocessable("voucher_not_applicable", r.to_string())
            }
            CheckoutError::OrderInProgress { payment_id } => {
                let mut e = ApiError::conflict(
                    "order_in_progress",
                    "Another order of this course is being paid; finish or abandon it first, or try again shortly.",
                )
                .with_details(json!({ "paymentId": payment_id }));
                e.retry_after_seconds = Some(5);
                e
            }
            CheckoutError::AlreadyOwned(course_id) => {
                ApiError::conflict("already_owned", format!("you already own course {course_id}"))
            }
            CheckoutError::KeyReused => ApiError::unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another order; use a new key for a new order.",
            ),
            CheckoutError::Declined(d) => {
                let mut details = json!({
                    "paymentId": d.payment_id, "status": "failed",
                    "stripeCode": d.code, "declineCode": d.decline_code
                });
                if let Some(released) = d.voucher_released {
                    details["status"] = json!(if released { "canceled" } else { "failed" });
                    details["voucherReleased"] = json!(released);
                }
                ApiError::new(StatusCode::PAYMENT_REQUIRED, "card_declined", d.message).with_details(details)
            }
            CheckoutError::Limited(e) => e.into(),
            CheckoutError::Fault(f) => f.into(),
        }
    }
}

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        let message = e.to_string();
        match e {
            LimitError::Exceeded { limit, per, window_minutes, retry_after_seconds, .. } => {
                let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
                    .with_details(json!({ "limit": limit, "per": per, "windowMinutes": window_minutes }));
                e.retry_after_seconds = Some(retry_after_seconds);
                e
            }
            LimitError::Fault(f) => f.into(),
        }
    }
}

impl From<RefundRefusal> for ApiError {
    fn from(r: RefundRefusal) -> Self {
        let message = r.to_string();
        match r {
            RefundRefusal::NotPositive => {
                ApiError::bad_request("validation_failed", message).with_details(json!({ "field": "amount" }))
            }
            RefundRefusal::NotPaid => ApiError::unprocessable("not_refundable", message),
            RefundRefusal::ExceedsRemaining { remaining } => {
                ApiError::unprocessable("refund_exceeds_remaining", message)
                    .with_details(json!({ "remaining": remaining }))
            }
            RefundRefusal::WindowClosed { .. } => ApiError::unprocessable("refund_window_closed", message),
            RefundRefusal::NotFulfilled => {
                let mut e = ApiError::conflict("payment_not_fulfilled", message);
                e.retry_after_seconds = Some(2);
                e
            }
            RefundRefusal::PartialNotAllowed { remaining } => {
                ApiError::unprocessable("partial_refund_not_allowed", message)
                    .with_details(json!({ "field": "amount", "remaining": remaining }))
            }
        }
    }
}

impl From<RefundError> for ApiError {
    fn from(e: RefundError) -> Self {
        match e {
            RefundError::Refused(r) => r.into(),
            RefundError::Contended => ApiError::unprocessable(
                "refund_exceeds_remaining",
                "The refund exceeds what remains refundable (another refund may be in progress).",
            ),
            RefundError::Rejected(e) => gateway_error(e),
            RefundError::Fault(f) => f.into(),
        }
    }
}

impl From<RewardsError> for ApiError {
    fn from(e: RewardsError) -> Self {
        match e {
            RewardsError::Refused(LedgerRefusal::InsufficientBalance { balance, needed }) => ApiError::unprocessable(
                "insufficient_balance",
                format!("The balance of {balance} tokens does not cover {needed}."),
            )
            .with_details(json!({ "balance": balance, "needed": needed })),
            RewardsError::Refused(r) => ApiError::unprocessable("ledger_refused", r.to_string()),
            RewardsError::KeyReused => ApiError::unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key already redeemed another reward.",
            ),
            RewardsError::NoSuchReward(id) => {
                ApiError::not_found(&format!("reward {id}")).with_details(json!({ "field": "rewardId" }))
            }
            // A rule of the current time, not of the request's shape (422, like a license expiry).
            RewardsError::CompletedInFuture => {
                ApiError::unprocessable("completed_in_future", "completedAt is in the future")
                    .with_details(json!({ "field": "completedAt" }))
            }
            RewardsError::Fault(f) => f.into(),
        }
    }
}

impl From<PaymentMethodError> for ApiError {
    fn from(e: PaymentMethodError) -> Self {
        match e {
            PaymentMethodError::NotFound => ApiError::not_found("payment method"),
            PaymentMethodError::DefaultCardRequired => ApiError::conflict(
                "default_card_required",
                "This card pays for your subscription and is your only card; add another card first, or cancel the subscription.",
            ),
            PaymentMethodError::Declined { code, decline_code, message } => {
                ApiError::new(StatusCode::PAYMENT_REQUIRED, "card_declined", message)
                    .with_details(json!({ "stripeCode": code, "declineCode": decline_code }))
            }
            PaymentMethodError::Fault(f) => f.into(),
        }
    }
}

impl From<BillingError> for ApiError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::NoSubscription => ApiError::not_found("subscription"),
            BillingError::Invalid { field, message } => {
                ApiError::bad_request("validation_failed", message).with_details(json!({ "field": field }))
            }
            BillingError::EnterpriseViaLicense => {
                ApiError::unprocessable("enterprise_via_license", "Enterprise is sold per seat through licenses.")
            }
            BillingError::NoChange => ApiError::unprocessable("no_change", "That is already your plan."),
            BillingError::QuoteExpired => ApiError::unprocessable(
                "quote_expired",
                "That price quote has expired; preview the change again to see the current amount.",
            ),
            BillingError::Gateway(e) => gateway_error(e),
            BillingError::Fault(f) => f.into(),
        }
    }
}

impl From<SupportError> for ApiError {
    fn from(e: SupportError) -> Self {
        match e {
            SupportError::NotFound => ApiError::not_found("ticket"),
            SupportError::Closed(id) => {
                ApiError::conflict("ticket_closed", format!("Ticket {id} is closed; file a new one."))
            }
            SupportError::InvalidTransition { from, to } => ApiError::conflict(
                "invalid_transition",
                format!("A ticket that is {} cannot be moved to {} by you.", from.as_str(), to.as_str()),
            ),
            SupportError::ChangedMeanwhile => {
                ApiError::conflict("conflict", "The ticket changed meanwhile; read it again and retry.")
            }
            SupportError::Limited(e) => e.into(),
            SupportError::Fault(f) => f.into(),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::InvalidRange => ApiError::unprocessable(
                "invalid_range",
                format!(
                    "`to` must not be before `from`, and a report covers at most {} months.",
                    azora_domain::reports::MAX_REPORT_MONTHS
                ),
            ),
            ReportError::Fault(f) => f.into(),
        }
    }
}

impl From<SubscriptionError> for ApiError {
    fn from(e: SubscriptionError) -> Self {
        match e {
            SubscriptionError::Exists => {
                ApiError::conflict("subscription_exists", "You already have a subscription; change it with update.")
            }
            SubscriptionError::InProgress { retry_after_seconds } => {
                let mut e = ApiError::conflict(
                    "subscription_in_progress",
                    "Another request is creating your subscription; check it with GET /api/subscriptions/current.",
                );
                e.retry_after_seconds = Some(retry_after_seconds);
                e
            }
            SubscriptionError::NotFound => ApiError::not_found("subscription"),
            SubscriptionError::Contended => ApiError::unavailable("the subscription slot kept changing"),
            SubscriptionError::Gateway(e) => gateway_error(e),
            SubscriptionError::Fault(f) => f.into(),
        }
    }
}

impl From<LicenseError> for ApiError {
    fn from(e: LicenseError) -> Self {
        let message = e.to_string();
        match e {
            LicenseError::NotFound(what) => ApiError::not_found(what),
            LicenseError::Invalid(v) => v.into(),
            LicenseError::Missing { field, .. } => {
                ApiError::bad_request("validation_failed", message).with_details(json!({ "field": field }))
            }
            LicenseError::InvalidKey(_) => {
                ApiError::bad_request("invalid_license_key", message).with_details(json!({ "field": "key" }))
            }
            LicenseError::SeatForOthers => ApiError::forbidden("forbidden", message),
            LicenseError::SelfActivationDisabled => ApiError::forbidden("self_activation_disabled", message),
            LicenseError::OrgMismatch => ApiError::forbidden("org_mismatch", message),
            LicenseError::KeySuperseded => ApiError::forbidden("key_superseded", message),
            LicenseError::Inactive(status) => {
                ApiError::unprocessable("license_inactive", message).with_details(json!({ "status": status.as_str() }))
            }
            LicenseError::NoSeatsLeft { seats } => {
                ApiError::conflict("no_seats_left", message).with_details(json!({ "seats": seats }))
            }
            LicenseError::InvalidTransition { current, .. } => ApiError::conflict("invalid_status_transition", message)
                .with_details(json!({ "status": current.as_str() })),
            LicenseError::Revoked => ApiError::conflict("license_revoked", message),
            LicenseError::SeatsBelowUse { seats_used } => {
                ApiError::unprocessable("seats_below_use", message).with_details(json!({ "seatsUsed": seats_used }))
            }
            LicenseError::Changed => ApiError::conflict("conflict", message),
            LicenseError::FeatureNotLicensed(feature) => {
                ApiError::forbidden("feature_not_licensed", message).with_details(json!({ "feature": feature }))
            }
            LicenseError::DomainTaken(_) => {
                ApiError::conflict("domain_taken", message).with_details(json!({ "field": "customDomain" }))
            }
            LicenseError::NothingToVerify => ApiError::conflict("nothing_to_verify", message),
            LicenseError::DomainNotVerified { record, found } => {
                ApiError::unprocessable("domain_not_verified", message)
                    .with_details(json!({ "record": record, "found": found }))
            }
            LicenseError::DnsUnavailable(cause) => ApiError::unavailable(format!("DNS resolver: {cause}")),
            LicenseError::RateLimited { retry_after_seconds, .. } => {
                let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
                e.retry_after_seconds = Some(retry_after_seconds);
                e
            }
            LicenseError::InvalidMonth { field, .. } => {
                let e = ApiError::bad_request("invalid_month", message);
                match field {
                    Some(field) => e.with_details(json!({ "field": field })),
                    None => e,
                }
            }
            LicenseError::QuoteExpired => ApiError::unprocessable("quote_expired", message),
            LicenseError::NotSelfServe => ApiError::conflict("not_self_serve", message),
            LicenseError::QuoteNotOpen(_) => ApiError::conflict("quote_not_open", message),
            LicenseError::Fault(f) => f.into(),
        }
    }
}

/// A job run through the local server's `POST /_local/jobs/<name>` (in Lambda a job's error is the
/// invocation's error, with no status).
impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::BadInput(message) => ApiError::bad_request("validation_failed", message),
            JobError::TakenOver => ApiError::conflict("job_run_taken_over", "Another invocation took over this run."),
            JobError::Subscription(e) => e.into(),
            JobError::License(e) => e.into(),
            JobError::Fault(f) => f.into(),
        }
    }
}

/// Every broken rule of a request, by field (400 `validation_failed`; `field` is the first's).
pub fn validation_errors(errors: Vec<azora_domain::ValidationError>) -> ApiError {
    let list: Vec<serde_json::Value> =
        errors.iter().map(|e| json!({ "field": e.field, "message": e.message })).collect();
    let first = errors.first().map(|e| format!("{}: {}", e.field, e.message)).unwrap_or_default();
    ApiError::bad_request("validation_failed", first)
        .with_details(json!({ "field": errors.first().map(|e| e.field.clone()), "errors": list }))
}

impl From<CourseError> for ApiError {
    fn from(e: CourseError) -> Self {
        let message = e.to_string();
        match e {
            CourseError::NotFound => ApiError::not_found("course"),
            CourseError::Invalid(errors) => validation_errors(errors),
            // The stored course, not this request, lacks what publishing needs: a business rule.
            CourseError::Incomplete(missing) => {
                ApiError::unprocessable("course_incomplete", message).with_details(json!({ "field": missing.field }))
            }
            CourseError::Archived => ApiError::unprocessable("course_archived", "An archived course cannot be edited."),
            CourseError::StaysArchived => {
                ApiError::unprocessable("course_archived", "An archived course stays archived.")
            }
            CourseError::NotDeletable => ApiError::conflict(
                "course_not_deletable",
                "Only a draft that was never published can be deleted; archive this course instead.",
            ),
            CourseError::NotEnrolled => {
                ApiError::forbidden("not_enrolled", "Certificates are for students enrolled in the course.")
            }
            CourseError::NotInPlan(e) => e.into(),
            CourseError::Fault(f) => f.into(),
        }
    }
}

impl From<LeaderboardError> for ApiError {
    fn from(e: LeaderboardError) -> Self {
        let message = e.to_string();
        match e {
            LeaderboardError::CannotFollowSelf => {
                ApiError::bad_request("cannot_follow_self", "You are always on your own friends board.")
            }
            LeaderboardError::NoFollow => ApiError::not_found("follow"),
            LeaderboardError::NoFollowRequest => ApiError::not_found("follow request"),
            LeaderboardError::FollowLimit => ApiError::unprocessable("follow_limit_reached", format!("{message}.")),
            LeaderboardError::Fault(f) => f.into(),
        }
    }
}

impl From<ClassError> for ApiError {
    fn from(e: ClassError) -> Self {
        match e {
            ClassError::NotFound => ApiError::not_found("class"),
            ClassError::Full => ApiError::conflict(
                "class_full",
                format!("This class has its {MAX_CLASS_MEMBERS} members; ask its owner for another class."),
            ),
            ClassError::Fault(f) => f.into(),
        }
    }
}

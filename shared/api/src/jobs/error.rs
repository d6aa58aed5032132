//! Why a scheduled job, or a Stripe event, was not done. Nothing here is an HTTP answer: Lambda
//! reports a job's error as the invocation's (the schedule retries), the stripe-events worker
//! leaves the message for SQS to redeliver, and the local server's `POST /_local/jobs/<name>` maps
//! it to a status in one place (`catalogue.rs`).

use crate::fault::Fault;
use crate::needs::UndeclaredPart;
use azora_store::StoreError;
use azora_stripe::GatewayError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The input cannot run (the same input fails again).
    #[error("{0}")]
    BadInput(String),
    /// Another invocation took over this run (this one's lease ran out).
    #[error("another invocation took over this run")]
    TakenOver,
    /// A service's own refusal where the job expected none; the next run tries again.
    #[error(transparent)]
    Subscription(#[from] crate::subscriptions::SubscriptionError),
    #[error(transparent)]
    License(#[from] crate::licensing::LicenseError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl JobError {
    /// A short name for reports (a payout run's or a billing-cycle step's failures), in the
    /// words of the API's error catalogue where it has them.
    pub fn code(&self) -> &'static str {
        match self {
            JobError::BadInput(_) => "validation_failed",
            JobError::TakenOver => "job_run_taken_over",
            JobError::Subscription(_) => "subscription_refused",
            JobError::License(_) => "license_refused",
            JobError::Fault(fault) => match fault {
                Fault::Store(StoreError::Backend { .. }) | Fault::Queue(_) => "service_unavailable",
                Fault::Gateway(GatewayError::Unavailable(_)) => "service_unavailable",
                Fault::Store(StoreError::ConditionFailed | StoreError::TransactionCanceled { .. }) => "conflict",
                Fault::Gateway(GatewayError::CardDeclined { .. }) => "card_declined",
                Fault::Gateway(_) => "payment_rejected",
                Fault::Store(_) | Fault::Undeclared(_) | Fault::Broken(_) => "internal_error",
            },
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Fault(e.into())
    }
}

impl From<GatewayError> for JobError {
    fn from(e: GatewayError) -> Self {
        JobError::Fault(e.into())
    }
}

impl From<UndeclaredPart> for JobError {
    fn from(e: UndeclaredPart) -> Self {
        JobError::Fault(e.into())
    }
}

//! SQS consumer of StripeEventsQueue: applies Stripe events: runs `azora_api::functions::STRIPE_EVENTS_WORKER`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::STRIPE_EVENTS_WORKER).await
}

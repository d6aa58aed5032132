//! Daily reconciliation with Stripe and sweep of unfinished refunds: runs `azora_api::functions::RECONCILE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::RECONCILE).await
}

//! Daily reconciliation with Stripe and sweep of unfinished refunds. Wiring only: the handler is `azora_api::registry` entry "reconcile".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! GET /api/subscriptions/invoices: runs `azora_api::functions::SUBSCRIPTIONS_INVOICES`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::SUBSCRIPTIONS_INVOICES).await
}

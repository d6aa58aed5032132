//! GET /api/enterprise/quotes/{quoteId}: runs `azora_api::functions::ENTERPRISE_QUOTES_GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_QUOTES_GET).await
}

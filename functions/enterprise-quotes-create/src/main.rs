//! POST /api/enterprise/quotes: runs `azora_api::functions::ENTERPRISE_QUOTES_CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_QUOTES_CREATE).await
}

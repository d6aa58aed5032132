//! GET /api/enterprise/usage: an organisation's usage by month: runs `azora_api::functions::ENTERPRISE_USAGE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_USAGE).await
}

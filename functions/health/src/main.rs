//! GET /api/health: runs `azora_api::functions::HEALTH`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::HEALTH).await
}

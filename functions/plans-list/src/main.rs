//! GET /api/plans: runs `azora_api::functions::PLANS_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PLANS_LIST).await
}

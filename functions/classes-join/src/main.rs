//! POST /api/classes/join: runs `azora_api::functions::CLASSES_JOIN`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::CLASSES_JOIN).await
}

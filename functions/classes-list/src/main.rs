//! GET /api/classes: runs `azora_api::functions::CLASSES_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::CLASSES_LIST).await
}

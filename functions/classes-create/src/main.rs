//! POST /api/classes: an instructor or enterprise admin creates a class: runs `azora_api::functions::CLASSES_CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::CLASSES_CREATE).await
}

//! POST /api/courses/purchase: runs `azora_api::functions::COURSES_PURCHASE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COURSES_PURCHASE).await
}

//! POST /api/courses/{courseId}/reviews: runs `azora_api::functions::REVIEWS_CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::REVIEWS_CREATE).await
}

//! POST /api/courses/{courseId}/status: runs `azora_api::functions::COURSES_STATUS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COURSES_STATUS).await
}

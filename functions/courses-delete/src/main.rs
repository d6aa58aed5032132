//! DELETE /api/courses/{courseId}: runs `azora_api::functions::COURSES_DELETE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COURSES_DELETE).await
}

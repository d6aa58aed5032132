//! GET /api/courses/{courseId}/access: runs `azora_api::functions::COURSES_ACCESS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COURSES_ACCESS).await
}

//! GET /api/courses/{courseId}/certificate: runs `azora_api::functions::COURSES_CERTIFICATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COURSES_CERTIFICATE).await
}

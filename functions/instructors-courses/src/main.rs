//! GET /api/instructors/me/courses: runs `azora_api::functions::INSTRUCTORS_COURSES`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::INSTRUCTORS_COURSES).await
}

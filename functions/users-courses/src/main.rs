//! GET /api/users/me/courses: runs `azora_api::functions::USERS_COURSES`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::USERS_COURSES).await
}

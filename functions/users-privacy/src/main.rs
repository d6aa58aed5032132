//! PUT /api/users/me/privacy: hide from global leaderboards, set the display name: runs `azora_api::functions::USERS_PRIVACY`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::USERS_PRIVACY).await
}

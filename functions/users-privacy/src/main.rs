//! PUT /api/users/me/privacy: hide from global leaderboards, set the display name. Wiring only: the handler is `azora_api::registry` entry "users-privacy".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! DELETE /api/friends/{userId}: stop following a user. Wiring only: the handler is `azora_api::registry` entry "friends-unfollow".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

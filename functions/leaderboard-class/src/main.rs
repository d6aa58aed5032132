//! GET /api/leaderboard/class/{classId}: a class's members, for members and the owner. Wiring only: the handler is `azora_api::registry` entry "leaderboard-class".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

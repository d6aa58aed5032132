//! GET /api/instructors/me/earnings: runs `azora_api::functions::INSTRUCTORS_EARNINGS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::INSTRUCTORS_EARNINGS).await
}

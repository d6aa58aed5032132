//! POST /api/instructors/me/payout-account: runs `azora_api::functions::INSTRUCTORS_PAYOUT_ACCOUNT`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::INSTRUCTORS_PAYOUT_ACCOUNT).await
}

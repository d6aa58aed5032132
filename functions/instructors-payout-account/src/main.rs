//! POST /api/instructors/me/payout-account. Wiring only: the handler is `azora_api::registry` entry "instructors-payout-account".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

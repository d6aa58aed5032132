//! POST /api/subscriptions/cancel. Wiring only: the handler is `azora_api::registry` entry "subscriptions-cancel".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! GET /api/enterprise/usage: an organisation's usage by month. Wiring only: the handler is `azora_api::registry` entry "enterprise-usage".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

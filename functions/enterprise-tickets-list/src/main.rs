//! GET /api/enterprise/support/tickets: an organisation's support tickets. Wiring only: the handler is `azora_api::registry` entry "enterprise-tickets-list".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

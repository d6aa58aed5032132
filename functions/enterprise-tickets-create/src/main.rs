//! POST /api/enterprise/support/tickets: file a support ticket. Wiring only: the handler is `azora_api::registry` entry "enterprise-tickets-create".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

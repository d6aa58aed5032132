//! SQS consumer of EmailQueue: renders and sends email with SES. Wiring only: the handler is `azora_api::registry` entry "email-worker".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

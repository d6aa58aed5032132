//! SQS consumer of EmailQueue: renders and sends email with SES: runs `azora_api::functions::EMAIL_WORKER`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::EMAIL_WORKER).await
}

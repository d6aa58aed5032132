//! POST /api/enterprise/support/tickets: file a support ticket: runs `azora_api::functions::ENTERPRISE_TICKETS_CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_TICKETS_CREATE).await
}

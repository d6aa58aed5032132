//! GET /api/enterprise/support/tickets: an organisation's support tickets: runs `azora_api::functions::ENTERPRISE_TICKETS_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_TICKETS_LIST).await
}

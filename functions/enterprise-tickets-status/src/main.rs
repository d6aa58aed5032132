//! POST /api/enterprise/support/tickets/{ticketId}/status: runs `azora_api::functions::ENTERPRISE_TICKETS_STATUS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_TICKETS_STATUS).await
}

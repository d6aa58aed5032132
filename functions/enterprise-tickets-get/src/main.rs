//! GET /api/enterprise/support/tickets/{ticketId}: one support ticket: runs `azora_api::functions::ENTERPRISE_TICKETS_GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_TICKETS_GET).await
}

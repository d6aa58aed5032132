//! POST /api/enterprise/support/tickets/{ticketId}/replies: runs `azora_api::functions::ENTERPRISE_TICKETS_REPLY`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_TICKETS_REPLY).await
}

//! GET /api/admin/support/tickets: runs `azora_api::functions::ADMIN_SUPPORT_QUEUE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ADMIN_SUPPORT_QUEUE).await
}

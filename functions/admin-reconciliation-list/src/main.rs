//! GET /api/admin/reconciliation: runs `azora_api::functions::ADMIN_RECONCILIATION_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ADMIN_RECONCILIATION_LIST).await
}

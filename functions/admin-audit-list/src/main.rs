//! GET /api/admin/audit: runs `azora_api::functions::ADMIN_AUDIT_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ADMIN_AUDIT_LIST).await
}

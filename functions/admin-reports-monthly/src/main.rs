//! GET /api/admin/reports/monthly: runs `azora_api::functions::ADMIN_REPORTS_MONTHLY`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ADMIN_REPORTS_MONTHLY).await
}

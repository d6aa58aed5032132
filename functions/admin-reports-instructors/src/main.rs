//! GET /api/admin/reports/instructors: runs `azora_api::functions::ADMIN_REPORTS_INSTRUCTORS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ADMIN_REPORTS_INSTRUCTORS).await
}

//! GET /api/enterprise/licenses/{licenseId}: a license, for its org's enterprise admin or an admin: runs `azora_api::functions::ENTERPRISE_LICENSE_GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_GET).await
}

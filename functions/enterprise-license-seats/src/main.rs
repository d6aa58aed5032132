//! POST /api/enterprise/licenses/{licenseId}/seats: runs `azora_api::functions::ENTERPRISE_LICENSE_SEATS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_SEATS).await
}

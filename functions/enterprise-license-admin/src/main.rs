//! POST /api/enterprise/licenses/{licenseId}/suspend|reinstate|revoke|renew (admin): runs `azora_api::functions::ENTERPRISE_LICENSE_ADMIN`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_ADMIN).await
}

//! GET /api/enterprise/licenses/validate: check a license key (public, rate-limited): runs `azora_api::functions::ENTERPRISE_LICENSE_VALIDATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_VALIDATE).await
}

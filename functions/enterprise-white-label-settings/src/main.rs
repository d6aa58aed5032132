//! GET /api/enterprise/licenses/{licenseId}/white-label: runs `azora_api::functions::ENTERPRISE_WHITE_LABEL_SETTINGS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_WHITE_LABEL_SETTINGS).await
}

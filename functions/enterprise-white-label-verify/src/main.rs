//! POST /api/enterprise/licenses/{licenseId}/white-label/verify: runs `azora_api::functions::ENTERPRISE_WHITE_LABEL_VERIFY`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_WHITE_LABEL_VERIFY).await
}

//! PUT /api/enterprise/licenses/{licenseId}/white-label: set a license's white-label theme: runs `azora_api::functions::ENTERPRISE_WHITE_LABEL_PUT`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_WHITE_LABEL_PUT).await
}

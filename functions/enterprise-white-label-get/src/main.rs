//! GET /api/enterprise/white-label: the white-label theme of a custom domain (public): runs `azora_api::functions::ENTERPRISE_WHITE_LABEL_GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_WHITE_LABEL_GET).await
}

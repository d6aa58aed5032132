//! POST /api/enterprise/licenses/deactivate: free a seat: runs `azora_api::functions::ENTERPRISE_LICENSE_DEACTIVATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_DEACTIVATE).await
}

//! POST /api/enterprise/licenses/activate: give a member a seat on a license: runs `azora_api::functions::ENTERPRISE_LICENSE_ACTIVATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_ACTIVATE).await
}

//! POST /api/enterprise/licenses/create: issue an enterprise license and its signed key (admin): runs `azora_api::functions::ENTERPRISE_LICENSE_CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_CREATE).await
}

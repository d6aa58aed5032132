//! GET /api/enterprise/licenses/public-key: the Ed25519 public key for offline key verification: runs `azora_api::functions::ENTERPRISE_LICENSE_PUBLIC_KEY`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_LICENSE_PUBLIC_KEY).await
}

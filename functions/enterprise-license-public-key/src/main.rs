//! GET /api/enterprise/licenses/public-key: the Ed25519 public key for offline key verification. Wiring only: the handler is `azora_api::registry` entry "enterprise-license-public-key".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

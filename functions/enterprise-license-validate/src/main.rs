//! GET /api/enterprise/licenses/validate: check a license key (public, rate-limited). Wiring only: the handler is `azora_api::registry` entry "enterprise-license-validate".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

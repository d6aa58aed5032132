//! GET /api/enterprise/licenses/{licenseId}: a license, for its org's enterprise admin or an admin. Wiring only: the handler is `azora_api::registry` entry "enterprise-license-get".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

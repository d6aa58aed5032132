//! PUT /api/enterprise/licenses/{licenseId}/white-label: set a license's white-label theme. Wiring only: the handler is `azora_api::registry` entry "enterprise-white-label-put".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! POST /api/enterprise/licenses/{licenseId}/suspend|reinstate|revoke|renew (admin). Wiring only: the handler is `azora_api::registry` entry "enterprise-license-admin".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! POST /api/enterprise/licenses/deactivate: free a seat. Wiring only: the handler is `azora_api::registry` entry "enterprise-license-deactivate".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! POST /api/enterprise/licenses/create: issue an enterprise license and its signed key (admin). Wiring only: the handler is `azora_api::registry` entry "enterprise-license-create".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! POST /api/enterprise/licenses/activate: give a member a seat on a license. Wiring only: the handler is `azora_api::registry` entry "enterprise-license-activate".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

//! GET /api/enterprise/white-label: the white-label theme of a custom domain (public). Wiring only: the handler is `azora_api::registry` entry "enterprise-white-label-get".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

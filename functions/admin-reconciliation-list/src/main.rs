//! GET /api/admin/reconciliation. Wiring only: the handler is `azora_api::registry` entry "admin-reconciliation-list".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

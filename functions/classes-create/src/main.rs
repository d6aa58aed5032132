//! POST /api/classes: an instructor or enterprise admin creates a class. Wiring only: the handler is `azora_api::registry` entry "classes-create".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

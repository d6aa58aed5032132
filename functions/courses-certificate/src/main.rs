//! GET /api/courses/{courseId}/certificate. Wiring only: the handler is `azora_api::registry` entry "courses-certificate".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}

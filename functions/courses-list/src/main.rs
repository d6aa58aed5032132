//! GET /api/courses/list: runs `azora_api::functions::COURSES_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COURSES_LIST).await
}

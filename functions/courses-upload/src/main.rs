//! POST /api/courses/upload: runs `azora_api::functions::COURSES_UPLOAD`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COURSES_UPLOAD).await
}

//! A function whose handler panics, run by `bench functions` in the release build: the answer must
//! be our JSON 500 (the release profile aborts on panic; `azora_api::panic_report` answers first).

use azora_api::lambda::{HttpHandler, run_http};
use azora_api::needs::Needs;

const PANICS: HttpHandler = |_req, _state| Box::pin(async { panic!("panic probe: a handler bug") });

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_http::<{ Needs::NOTHING.bits() }>(PANICS).await
}

//! A function whose handler panics, run by `bench functions` in the release build: the answer must
//! be our JSON 500 (the release profile unwinds, so `lambda::dispatch_http` catches the panic).

use azora_api::lambda::{Entry, Function, run};
use azora_api::needs::Needs;

const PANICS: Function = Function {
    entry: Entry::Http(|_req, _state| Box::pin(async { panic!("panic probe: a handler bug") })),
    needs: Needs::NOTHING,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    run(PANICS).await
}

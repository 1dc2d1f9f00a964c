//! The Initializer Lambda: see `power_tuning_core::handlers::initializer`.

#![recursion_limit = "256"]

use power_tuning_core::handlers;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_functions::serve(|deps, inv| async move {
        handlers::initializer::handle(&deps, &inv).await
    })
    .await
}

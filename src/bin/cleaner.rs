//! The Cleaner Lambda: see `power_tuning_core::handlers::cleaner`.

#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_functions::cleaner().await
}

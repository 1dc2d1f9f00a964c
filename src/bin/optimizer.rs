//! The Optimizer Lambda: see `power_tuning_core::handlers::optimizer`.

#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_functions::optimizer().await
}

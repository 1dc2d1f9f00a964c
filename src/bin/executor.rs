//! The Executor Lambda: see `power_tuning_core::handlers::executor`.

#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_functions::executor().await
}

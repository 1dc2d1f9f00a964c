//! The Initializer Lambda: see `power_tuning_core::handlers::initializer`.

#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_functions::initializer().await
}

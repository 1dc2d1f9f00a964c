//! Example target: always fails with `IntentionalError`.
//!
//! The body is `power_tuning_examples::failing`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::failing::run().await
}

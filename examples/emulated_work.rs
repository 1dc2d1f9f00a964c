//! Example target: emulated work for benchmarks (sleeps, uses no CPU).
//!
//! The body is `power_tuning_examples::emulated_work`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::emulated_work::run().await
}

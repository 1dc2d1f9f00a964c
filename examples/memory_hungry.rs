//! Example target: allocates and touches a buffer (runs out of memory below a threshold).
//!
//! The body is `power_tuning_examples::memory_hungry`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::memory_hungry::run().await
}

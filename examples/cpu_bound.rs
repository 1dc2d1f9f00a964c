//! Example target: a fixed amount of CPU work (its duration falls as memory grows, up to one core).
//!
//! The body is `power_tuning_examples::cpu_bound`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::cpu_bound::run().await
}

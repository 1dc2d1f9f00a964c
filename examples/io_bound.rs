//! Example target: a fixed wait on I/O (its duration is flat across memory sizes).
//!
//! The body is `power_tuning_examples::io_bound`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::io_bound::run().await
}

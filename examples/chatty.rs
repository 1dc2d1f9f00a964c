//! Example target: emulated work that prints about 8 KB of plain-text lines per invocation.
//!
//! The body is `power_tuning_examples::chatty`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::chatty::run().await
}

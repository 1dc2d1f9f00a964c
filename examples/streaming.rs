//! Example target: a response-streaming function.
//!
//! The body is `power_tuning_examples::streaming`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::streaming::run().await
}

//! Example target: echoes its payload and records every invocation in `RECORD_FILE`.
//!
//! The body is `power_tuning_examples::recorder`, which the `power-tuning` command also serves from
//! its own binary for local runs.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    power_tuning_examples::recorder::run().await
}

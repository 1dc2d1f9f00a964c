//! Example target: emulated work (as `emulated_work`) that also prints about 8 KB of plain-text
//! lines per invocation, the way a function without a JSON logger does (`println!`, a Go
//! `fmt.Println`, a Python `print`).
//!
//! With Lambda's JSON log format those lines stay plain text between Lambda's JSON system
//! records, and the invocation's 4 KB log tail starts in the middle of them: the case the
//! original tool read as 0 ms. Payload: `{"lines": N}` (default 100 lines of 80 bytes).

use std::io::Write as _;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

const DEFAULT_LINES: u64 = 100;

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), Error> {
    let sleep = crate::emulated_work::sleep_from_env();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let lines = crate::number(&event.payload, "lines", DEFAULT_LINES);
        let mut out = std::io::stdout().lock();
        for n in 0..lines {
            // 80 bytes with the newline.
            writeln!(
                out,
                "processing record {n:>6} of the batch: parsed, validated, stored ok"
            )?;
        }
        out.flush()?;
        drop(out);
        if !sleep.is_zero() {
            tokio::time::sleep(sleep).await;
        }
        Ok::<_, Error>(json!({"lines": lines}))
    }))
    .await
}

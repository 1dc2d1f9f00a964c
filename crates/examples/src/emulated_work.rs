//! Example target for benchmarks: emulated work, so only the tuner's own overhead costs CPU.
//!
//! It sleeps `FIXED_MS + WORK_MS_AT_128 × 128 / memory` milliseconds (the shape of a function
//! with a fixed part, an I/O wait, and a CPU-bound part, without using the CPU the tuner is
//! measured on), plus a uniformly random `0..JITTER_MS` per invocation (the spread of real
//! work), and answers `{}`, or a JSON string of `RESPONSE_BYTES` bytes. All unset or 0 make it
//! a zero-work target that answers at once. The durations do not depend on the machine's load
//! or on cgroups, so tests can rely on them.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The emulated work's sleep: `FIXED_MS + WORK_MS_AT_128 × 128 / memory` from the environment.
pub(crate) fn sleep_from_env() -> Duration {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok());
    let work_ms = number("WORK_MS_AT_128").unwrap_or(0.0).max(0.0);
    let fixed_ms = number("FIXED_MS").unwrap_or(0.0).max(0.0);
    let memory = number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .unwrap_or(128.0)
        .max(1.0);
    Duration::from_secs_f64((fixed_ms + work_ms * 128.0 / memory) / 1000.0)
}

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), Error> {
    let sleep = sleep_from_env();
    let response_bytes = std::env::var("RESPONSE_BYTES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let jitter_ms = std::env::var("JITTER_MS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|j| j.is_finite() && *j > 0.0)
        .unwrap_or(0.0);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let sleep = sleep + Duration::from_secs_f64(fastrand::f64() * jitter_ms / 1000.0);
        if !sleep.is_zero() {
            tokio::time::sleep(sleep).await;
        }
        Ok::<_, Error>(if response_bytes >= 2 {
            Value::String("x".repeat(response_bytes - 2))
        } else {
            json!({})
        })
    }))
    .await
}

//! Example target: a fixed amount of CPU work, so its duration falls as memory (and with it the
//! CPU share) grows, up to one full core at 1769 MB.
//!
//! Payload: `{"iterations": N}` (default 6,000,000 rounds of a hash mix, ~40 ms on one core).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

const DEFAULT_ITERATIONS: u64 = 6_000_000;

fn work(iterations: u64) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..iterations {
        x ^= i;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 31;
    }
    x
}

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let iterations = crate::number(&event.payload, "iterations", DEFAULT_ITERATIONS);
        let result = std::hint::black_box(work(std::hint::black_box(iterations)));
        Ok::<_, Error>(json!({"iterations": iterations, "result": result}))
    }))
    .await
}

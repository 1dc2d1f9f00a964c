//! Example target: waits on I/O (a fixed sleep), so its duration is flat across memory sizes
//! and the smallest size is the cheapest.
//!
//! Payload: `{"sleepMs": N}` (default 100).

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let sleep_ms = crate::number(&event.payload, "sleepMs", 100);
        tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
        Ok::<_, Error>(json!({"sleptMs": sleep_ms}))
    }))
    .await
}

//! Example target: a response-streaming function, built with `lambda_runtime`'s streaming
//! response mode (as on Lambda with `InvokeWithResponseStream` or a function URL).
//!
//! It waits `DELAY_MS` (the first byte comes after it), then writes `RESPONSE_BYTES` in chunks
//! of `CHUNK_BYTES`, one every `CHUNK_INTERVAL_MS`. A payload `{"bytes": N, "delayMs": N,
//! "chunkBytes": N, "chunkIntervalMs": N}` overrides them. Defaults: 100 ms, 1 MB in 64 KB
//! chunks, no pause.

use std::time::Duration;

use bytes::Bytes;
use lambda_runtime::streaming::{Body, Response, channel};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), Error> {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let defaults = (
        env("DELAY_MS", 100),
        env("RESPONSE_BYTES", 1024 * 1024),
        env("CHUNK_BYTES", 64 * 1024).max(1),
        env("CHUNK_INTERVAL_MS", 0),
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let get = |key: &str, default: u64| crate::number(&event.payload, key, default);
        let delay = get("delayMs", defaults.0);
        let total = get("bytes", defaults.1);
        let chunk_size = get("chunkBytes", defaults.2).max(1);
        let interval = get("chunkIntervalMs", defaults.3);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let (mut sender, body) = channel();
        tokio::spawn(async move {
            let chunk = Bytes::from(vec![b'x'; chunk_size as usize]);
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk_size);
                if sender.send_data(chunk.slice(..n as usize)).await.is_err() {
                    return;
                }
                left -= n;
                if interval > 0 {
                    tokio::time::sleep(Duration::from_millis(interval)).await;
                }
            }
        });
        Ok::<Response<Body>, Error>(Response::from(body))
    }))
    .await
}

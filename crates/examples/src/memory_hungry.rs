//! Example target: allocates and touches a buffer, so it runs out of memory below a threshold.
//! It answers with its own peak RSS (VmHWM), to check the emulator's `Max Memory Used`.
//!
//! Payload: `{"megabytes": N}` (default 200).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let megabytes = crate::number(&event.payload, "megabytes", 200) as usize;
        let mut buffer = vec![0u8; megabytes * 1024 * 1024];
        // Touch every page so it is resident.
        for (i, byte) in buffer.iter_mut().enumerate().step_by(4096) {
            *byte = i as u8;
        }
        let checksum: u64 = buffer.iter().step_by(4096).map(|b| u64::from(*b)).sum();
        std::hint::black_box(&buffer);
        Ok::<_, Error>(
            json!({"megabytes": megabytes, "checksum": checksum, "peakRssMb": peak_rss_mb()}),
        )
    }))
    .await
}

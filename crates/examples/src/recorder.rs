//! Example target: echoes its payload and, when `RECORD_FILE` is set, appends one JSON line per
//! invocation (`{"version": ..., "memory": ..., "payload": ...}`), so tests can see exactly what
//! reached the function.

use std::io::Write as _;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Serves the function under the Lambda Runtime API.
pub async fn run() -> Result<(), Error> {
    let version = std::env::var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_default();
    let memory = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
    let record = std::env::var("RECORD_FILE").ok();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (version, memory, record) = (version.clone(), memory.clone(), record.clone());
        async move {
            if let Some(path) = record {
                let line = json!({"version": version, "memory": memory, "payload": event.payload});
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                // One write per line: with O_APPEND, a line from another environment (another
                // process) can then never land inside this one, as it could with `writeln!`'s
                // piecewise writes.
                file.write_all(format!("{line}\n").as_bytes())?;
            }
            println!("received {}", event.payload);
            Ok::<_, Error>(event.payload)
        }
    }))
    .await
}

//! The bundled example targets: small Lambda functions on the Lambda Runtime API with a known
//! shape (CPU-bound, I/O-bound, memory-hungry, failing, recording, emulated work, streaming,
//! chatty).
//!
//! Each module's `run` serves the function until the runtime stops it. The workspace's
//! `examples/*.rs` are thin mains around them (real binaries for the tests and the emulator),
//! and `power-tuning local` serves the same code from its own binary, so a local run needs no
//! second build.

pub mod chatty;
pub mod cpu_bound;
pub mod emulated_work;
pub mod failing;
pub mod io_bound;
pub mod memory_hungry;
pub mod recorder;
pub mod streaming;

/// The examples' names.
pub const NAMES: [&str; 8] = [
    "cpu_bound",
    "io_bound",
    "memory_hungry",
    "failing",
    "recorder",
    "emulated_work",
    "streaming",
    "chatty",
];

/// A whole-number setting from the invocation's payload (`{"key": N}`), else `default`.
pub(crate) fn number(payload: &serde_json::Value, key: &str, default: u64) -> u64 {
    payload
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(default)
}

/// Serves the example `name`; `None` when there is no such example.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    Some(match name {
        "cpu_bound" => cpu_bound::run().await,
        "io_bound" => io_bound::run().await,
        "memory_hungry" => memory_hungry::run().await,
        "failing" => failing::run().await,
        "recorder" => recorder::run().await,
        "emulated_work" => emulated_work::run().await,
        "streaming" => streaming::run().await,
        "chatty" => chatty::run().await,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn an_unknown_name_is_no_example() {
        assert!(super::run("nope").await.is_none());
    }
}

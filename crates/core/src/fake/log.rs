//! The log of a fake invocation, as Lambda writes it in the function's log format.

use crate::fake::model::{FakeInvocation, FakeLogFormat, FakeOutcome};

/// The log of one fake invocation in its function's format.
pub(super) fn fake_log(
    invocation: &FakeInvocation,
    outcome: &FakeOutcome,
    format: FakeLogFormat,
) -> String {
    let (duration, memory, used) = (
        outcome.duration_ms,
        invocation.memory,
        outcome.max_memory_mb,
    );
    let init = invocation.cold.then_some(outcome.init_ms);
    // Billed Duration of a cold start holds its INIT (a custom runtime).
    let billed = (duration + init.unwrap_or(0.0)).ceil() as u64;
    let lines: String = outcome.lines.iter().map(|l| format!("{l}\n")).collect();
    let version = &invocation.version;
    if format == FakeLogFormat::Text {
        let init = init
            .map(|ms| format!("Init Duration: {ms:.2} ms\t"))
            .unwrap_or_default();
        return format!(
            "START RequestId: fake Version: {version}\n{lines}END RequestId: fake\nREPORT RequestId: fake\tDuration: {duration:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB\t{init}\n",
        );
    }
    // SystemLogLevel WARN keeps only the records of an invocation that did not succeed.
    let system = format != FakeLogFormat::JsonSystemWarn || outcome.error.is_some();
    let mut log = String::new();
    if format == FakeLogFormat::Json {
        log.push_str(&format!("{{\"time\":\"t\",\"type\":\"platform.start\",\"record\":{{\"requestId\":\"fake\",\"version\":\"{version}\"}}}}\n"));
    }
    log.push_str(&lines);
    if system {
        let mut metrics = serde_json::json!({"durationMs": duration, "billedDurationMs": billed, "memorySizeMB": memory, "maxMemoryUsedMB": used});
        if let Some(ms) = init {
            metrics["initDurationMs"] = serde_json::json!(ms);
        }
        let status = if outcome.error.is_some() {
            "error"
        } else {
            "success"
        };
        log.push_str(&serde_json::json!({"time": "t", "type": "platform.report", "record": {"requestId": "fake", "metrics": metrics, "status": status}}).to_string());
        log.push('\n');
    }
    log
}

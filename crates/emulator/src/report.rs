//! What an invocation's log looks like, as Lambda writes it for a `provided.al2023` function.
//!
//! - Text (Lambda's default): `INIT_START` on a cold start, the function's lines, `START`,
//!   `END`, and the tab-separated `REPORT` line (Lambda Developer Guide, "Viewing CloudWatch
//!   logs for Lambda functions": `REPORT RequestId: …\tDuration: … ms\tBilled Duration: … ms
//!   \tMemory Size: … MB\tMax Memory Used: … MB\t`, `Init Duration` after it on a cold start).
//! - JSON: only Lambda's own records are JSON (`platform.initStart`, `platform.start`,
//!   `platform.runtimeDone`, `platform.report`, shaped as in "Lambda Telemetry API `Event` schema
//!   reference"); the function's own lines stay exactly as it wrote them, plain text too, because
//!   a custom runtime has no built-in JSON application logging ("Configuring JSON and plain text
//!   log formats"). Records below the function's `SystemLogLevel` and JSON lines below its
//!   `ApplicationLogLevel` are not written ("Log-level filtering": Lambda sends the selected
//!   level and the less detailed ones; a line without a valid `level` counts as INFO).
//!
//! The tail Lambda returns is cut by bytes, so it may start inside a line and inside a
//! character: the parser must not care.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::registry::{LogFormat, LogLevel, Logging};

/// The runtime version Lambda reports for `provided.al2023` (any recent one: the tuner reads
/// nothing from it).
const RUNTIME_VERSION: &str = "provided:al2023.v100";

/// Lambda returns at most the last 4 KB of log.
pub const TAIL_BYTES: usize = 4096;

/// Measurements of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Function name.
    pub function: String,
    /// Request id.
    pub request_id: String,
    /// Version executed.
    pub version: String,
    /// Duration of the invocation.
    pub duration: Duration,
    /// Init duration on a cold start.
    pub init: Option<Duration>,
    /// Memory size (MB).
    pub memory_mb: u32,
    /// Peak RSS (MB).
    pub max_memory_used_mb: u64,
    /// `success`, `error`, `timeout` (Telemetry API schema, `Status`).
    pub status: &'static str,
    /// The error's type, with `error`.
    pub error_type: Option<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Metrics {
    /// Billed duration: duration (plus init on cold starts, as for custom runtimes), rounded
    /// up to the millisecond.
    pub fn billed_ms(&self) -> u64 {
        (ms(self.duration) + self.init.map(ms).unwrap_or(0.0)).ceil() as u64
    }
}

/// ISO 8601 UTC with milliseconds: `2026-11-23T07:00:00.000Z`.
pub fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Lambda's `LastModified` format: `2026-11-23T07:00:00.000+0000`.
pub fn last_modified(time: SystemTime) -> String {
    iso8601(time).replace('Z', "+0000")
}

// Howard Hinnant's days → civil date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The full log of one invocation: its init output (cold starts), its own lines, and extra
/// platform lines in the text format (e.g. a timeout notice).
pub fn render(
    logging: &Logging,
    metrics: &Metrics,
    init_lines: &[String],
    lines: &[String],
    notices: &[String],
) -> String {
    match logging.format {
        LogFormat::Text => render_text(metrics, init_lines, lines, notices),
        LogFormat::Json => render_json(logging, metrics, init_lines, lines),
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

fn render_text(
    metrics: &Metrics,
    init_lines: &[String],
    lines: &[String],
    notices: &[String],
) -> String {
    let now = iso8601(SystemTime::now());
    let id = &metrics.request_id;
    let mut out = String::new();
    if metrics.init.is_some() {
        push_line(
            &mut out,
            &format!("INIT_START Runtime Version: {RUNTIME_VERSION}"),
        );
    }
    for line in init_lines {
        push_line(&mut out, line);
    }
    push_line(
        &mut out,
        &format!("START RequestId: {id} Version: {}", metrics.version),
    );
    for line in lines {
        push_line(&mut out, line);
    }
    for notice in notices {
        push_line(&mut out, &format!("{now} {id} {notice}"));
    }
    push_line(&mut out, &format!("END RequestId: {id}"));
    let mut report = format!(
        "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        ms(metrics.duration),
        metrics.billed_ms(),
        metrics.memory_mb,
        metrics.max_memory_used_mb
    );
    if let Some(init) = metrics.init {
        report.push_str(&format!("Init Duration: {:.2} ms\t", ms(init)));
    }
    if metrics.status == "timeout" {
        report.push_str("Status: timeout\t");
    }
    push_line(&mut out, &report);
    out
}

/// The level Lambda gives a system record (Lambda Developer Guide, "Log-level filtering",
/// system log level event mapping): `start`, `initStart` and a successful `report` are INFO, a
/// successful `runtimeDone` DEBUG; a `runtimeDone` or `report` that did not succeed is WARN.
fn system_level(record_type: &str, success: bool) -> LogLevel {
    match (record_type, success) {
        ("platform.runtimeDone", true) => LogLevel::Debug,
        ("platform.runtimeDone" | "platform.report", false) => LogLevel::Warn,
        _ => LogLevel::Info,
    }
}

/// The level of one of the function's lines: a JSON object's `level` (any case), else INFO.
fn application_level(line: &str) -> LogLevel {
    let trimmed = line.trim_start();
    if !trimmed.starts_with('{') {
        return LogLevel::Info;
    }
    serde_json::from_str::<Value>(trimmed)
        .ok()
        .and_then(|v| {
            v.get("level")
                .and_then(Value::as_str)
                .and_then(LogLevel::parse)
        })
        .unwrap_or(LogLevel::Info)
}

fn render_json(
    logging: &Logging,
    metrics: &Metrics,
    init_lines: &[String],
    lines: &[String],
) -> String {
    let now = iso8601(SystemTime::now());
    let success = metrics.status == "success";
    let mut out = String::new();
    let system = |out: &mut String, record_type: &str, record: Value| {
        if system_level(record_type, success) >= logging.system_level {
            push_line(
                out,
                &json!({"time": now, "type": record_type, "record": record}).to_string(),
            );
        }
    };
    let own = |out: &mut String, lines: &[String]| {
        for line in lines
            .iter()
            .filter(|l| application_level(l) >= logging.application_level)
        {
            push_line(out, line);
        }
    };
    if metrics.init.is_some() {
        system(
            &mut out,
            "platform.initStart",
            json!({"initializationType": "on-demand", "phase": "init", "runtimeVersion": RUNTIME_VERSION, "functionName": metrics.function, "functionVersion": metrics.version}),
        );
    }
    own(&mut out, init_lines);
    system(
        &mut out,
        "platform.start",
        json!({"requestId": metrics.request_id, "version": metrics.version}),
    );
    own(&mut out, lines);
    let mut done = json!({"requestId": metrics.request_id, "status": metrics.status, "metrics": {"durationMs": round3(ms(metrics.duration))}});
    let mut report_metrics = json!({
        "durationMs": round3(ms(metrics.duration)),
        "billedDurationMs": metrics.billed_ms(),
        "memorySizeMB": metrics.memory_mb,
        "maxMemoryUsedMB": metrics.max_memory_used_mb,
    });
    if let Some(init) = metrics.init {
        report_metrics["initDurationMs"] = json!(round3(ms(init)));
    }
    let mut report = json!({"requestId": metrics.request_id, "metrics": report_metrics, "status": metrics.status});
    if let Some(error_type) = &metrics.error_type {
        done["errorType"] = json!(error_type);
        report["errorType"] = json!(error_type);
    }
    system(&mut out, "platform.runtimeDone", done);
    system(&mut out, "platform.report", report);
    out
}

fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Base64 of the last 4 KB of a log, cut by bytes: the tail may start inside a line and
/// inside a multi-byte character (API reference, `Invoke`: "The last 4 KB of the execution
/// log"; nothing says the cut respects characters, so the emulator does not).
pub fn tail_base64(log: &str) -> String {
    let bytes = log.as_bytes();
    base64::engine::general_purpose::STANDARD
        .encode(&bytes[bytes.len().saturating_sub(TAIL_BYTES)..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(init: Option<Duration>) -> Metrics {
        Metrics {
            function: "f".into(),
            request_id: "r1".into(),
            version: "3".into(),
            duration: Duration::from_micros(12_345),
            init,
            memory_mb: 256,
            max_memory_used_mb: 17,
            status: "success",
            error_type: None,
        }
    }

    #[test]
    fn text_report_line() {
        let log = render(
            &Logging::text(),
            &metrics(Some(Duration::from_micros(45_670))),
            &["init".into()],
            &["hello".into()],
            &[],
        );
        assert_eq!(
            log,
            "INIT_START Runtime Version: provided:al2023.v100\ninit\nSTART RequestId: r1 Version: 3\nhello\nEND RequestId: r1\nREPORT RequestId: r1\tDuration: 12.35 ms\tBilled Duration: 59 ms\tMemory Size: 256 MB\tMax Memory Used: 17 MB\tInit Duration: 45.67 ms\t\n"
        );
        let warm = render(&Logging::text(), &metrics(None), &[], &[], &[]);
        assert!(
            warm.ends_with(
                "Billed Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 17 MB\t\n"
            ),
            "{warm}"
        );
    }

    fn json_lines(log: &str) -> Vec<Value> {
        log.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    #[test]
    fn json_format_keeps_the_functions_own_lines_as_written() {
        let log = render(
            &Logging::json(),
            &metrics(Some(Duration::from_millis(40))),
            &["starting up".into()],
            &[
                "plain".into(),
                "{\"level\":\"WARN\",\"message\":\"w\"}".into(),
            ],
            &[],
        );
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 6, "{log}");
        assert_eq!(lines[1], "starting up");
        assert_eq!(lines[3], "plain", "a plain line stays plain text");
        assert_eq!(lines[4], "{\"level\":\"WARN\",\"message\":\"w\"}");
        let records = json_lines(&log);
        let types: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
        assert_eq!(
            types,
            ["platform.initStart", "platform.start", "platform.report"],
            "runtimeDone is DEBUG"
        );
        let report = &records[records.len() - 1];
        assert_eq!(report["record"]["metrics"]["durationMs"], 12.345);
        assert_eq!(report["record"]["metrics"]["billedDurationMs"], 53);
        assert_eq!(report["record"]["metrics"]["initDurationMs"], 40.0);
        assert_eq!(report["record"]["status"], "success");
    }

    #[test]
    fn system_log_level_filters_platform_records() {
        // WARN: no platform.start, no platform.report for a success; the function's lines stay.
        let warn = Logging::json_with_system_level(LogLevel::Warn);
        let log = render(&warn, &metrics(None), &[], &["hello".into()], &[]);
        assert_eq!(log, "hello\n");
        // A timeout's runtimeDone and report are WARN: still written.
        let mut timed_out = metrics(None);
        timed_out.status = "timeout";
        let log = render(&warn, &timed_out, &[], &[], &[]);
        let types: Vec<String> = json_lines(&log)
            .iter()
            .map(|r| r["type"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(types, ["platform.runtimeDone", "platform.report"]);
        // DEBUG adds runtimeDone.
        let debug = Logging::json_with_system_level(LogLevel::Debug);
        let log = render(&debug, &metrics(None), &[], &[], &[]);
        assert_eq!(json_lines(&log).len(), 3);
    }

    #[test]
    fn application_log_level_filters_json_lines_only_by_their_level() {
        let logging = Logging {
            application_level: LogLevel::Warn,
            ..Logging::json()
        };
        let lines: Vec<String> = [
            "plain counts as INFO",
            "{\"level\":\"debug\",\"msg\":\"d\"}",
            "{\"level\":\"ERROR\",\"msg\":\"e\"}",
            "{\"msg\":\"no level: INFO\"}",
            "{\"level\":\"Warn\",\"msg\":\"w\"}",
        ]
        .map(String::from)
        .to_vec();
        let log = render(&logging, &metrics(None), &[], &lines, &[]);
        let kept: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("\"type\":\"platform."))
            .collect();
        assert_eq!(kept, [lines[2].as_str(), lines[4].as_str()]);
    }

    #[test]
    fn tail_is_the_last_4kb_cut_by_bytes() {
        let log = format!("{}REPORT", "é".repeat(5000));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(tail_base64(&log))
            .expect("b64");
        assert_eq!(decoded.len(), TAIL_BYTES);
        // 4096 − 6 = 4090 bytes of two-byte characters: the cut is inside none here, but
        // one byte more would be.
        assert!(decoded.ends_with(b"REPORT"));
        let odd = format!("{}REPORTx", "é".repeat(5000));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(tail_base64(&odd))
            .expect("b64");
        assert!(
            String::from_utf8(decoded).is_err(),
            "cut inside a character"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_millis(1_795_417_200_123)),
            "2026-11-23T07:00:00.123Z"
        );
        assert_eq!(last_modified(UNIX_EPOCH), "1970-01-01T00:00:00.000+0000");
    }
}

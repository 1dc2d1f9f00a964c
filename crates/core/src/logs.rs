//! Reading durations from an invocation's `LogResult` (SPEC §3.5): the last text `REPORT` line or
//! JSON `platform.report` record of the tail, whatever comes before it.
//!
//! `LogResult` is the last 4 KB of the invocation's log (Lambda API reference, `Invoke`:
//! "`LogResult` – The last 4 KB of the execution log, which is base64-encoded"), so it usually
//! starts mid-line, even mid-character. And with the JSON log format, runtimes without JSON
//! application logging (custom runtimes such as Rust on `provided.al2023`, Go, Ruby, `print` in
//! Python) write their own lines as plain text between Lambda's JSON system records (Lambda
//! Developer Guide, "Configuring JSON and plain text log formats"). So the format is decided line
//! by line, never from the tail's first character as the original did; and a tail without a
//! report is an error, never a measurement of 0.

use base64::Engine as _;
use serde_json::Value;

/// Metrics of one invocation's report. A metric the report does not carry is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Report {
    /// `Duration` (ms).
    pub duration: f64,
    /// `Billed Duration` (ms).
    pub billed_duration: f64,
    /// `Init Duration` (ms), non-zero on cold starts.
    pub init_duration: f64,
    /// `Restore Duration` (ms), SnapStart.
    pub restore_duration: f64,
    /// `Billed Restore Duration` (ms), SnapStart.
    pub billed_restore_duration: f64,
    /// `Max Memory Used` (MB).
    pub max_memory_used: f64,
}

impl Report {
    /// Duration counted for the invocation: Duration + Init + Restore.
    pub fn total_duration(&self) -> f64 {
        self.duration + self.init_duration + self.restore_duration
    }

    /// Billed duration: Billed + Billed Restore.
    pub fn total_billed(&self) -> f64 {
        self.billed_duration + self.billed_restore_duration
    }

    /// A cold start: the report has an `Init Duration` (SPEC §8).
    pub fn is_cold(&self) -> bool {
        self.init_duration > 0.0
    }
}

/// Why a log tail gave no report (SPEC §3.5). The messages are the contract's; the Executor
/// adds ` (<function ARN>:<version>)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Some line of the tail is a JSON object, none is a `platform.report` record (usually the
    /// JSON log format with `SystemLogLevel` WARN, which drops `platform.report`).
    #[error("Invalid JSON log does not contain platform.report")]
    NoPlatformReport,
    /// No line of the tail is a `REPORT` line (or there was no tail at all).
    #[error("Invalid log does not contain a REPORT line")]
    NoReportLine,
    /// `LogResult` is not base64.
    #[error("Invalid LogResult (not base64): {0}")]
    NotBase64(String),
}

/// A counted invocation whose log tail gave no report: the reason, then the version invoked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({function}:{version})")]
pub struct InvalidLog {
    /// Why the tail gave no report.
    pub reason: LogError,
    /// The function's ARN.
    pub function: String,
    /// The version invoked.
    pub version: String,
}

/// Decodes a base64 `LogResult` and reads its report. No `LogResult` at all is a tail without a
/// report.
pub fn parse_log_result(log_result: Option<&str>) -> Result<Report, LogError> {
    let encoded = log_result.ok_or(LogError::NoReportLine)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| LogError::NotBase64(e.to_string()))?;
    // The 4 KB cut may fall inside a multi-byte character: only the first line can be damaged.
    parse_log(&String::from_utf8_lossy(&bytes))
}

/// The text `REPORT` line's prefix.
const REPORT_PREFIX: &str = "REPORT RequestId:";

/// Reads the report of a decoded log tail: its last line that is a text `REPORT` line or a JSON
/// `platform.report` record.
pub fn parse_log(log: &str) -> Result<Report, LogError> {
    for line in log.lines().rev() {
        if line.starts_with(REPORT_PREFIX) {
            return Ok(parse_text_report(line));
        }
        if let Some(record) = json_object(line)
            && record.get("type").and_then(Value::as_str) == Some("platform.report")
        {
            return Ok(parse_json_report(&record));
        }
    }
    if log.lines().any(|line| json_object(line).is_some()) {
        Err(LogError::NoPlatformReport)
    } else {
        Err(LogError::NoReportLine)
    }
}

/// The line as a JSON object, if it is one.
fn json_object(line: &str) -> Option<serde_json::Map<String, Value>> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

const TEXT_FIELDS: [&str; 6] = [
    "Duration",
    "Billed Duration",
    "Init Duration",
    "Restore Duration",
    "Billed Restore Duration",
    "Max Memory Used",
];

/// A text `REPORT` line: `Name: value unit` fields, tab-separated as Lambda writes them; read
/// word by word, so a line whose fields are separated by spaces (as a log forwarder or a hand
/// written line may leave it) reads the same, never as zeros.
fn parse_text_report(line: &str) -> Report {
    let mut values = [0.0; 6];
    let mut name: Vec<&str> = Vec::new();
    let mut words = line.split_whitespace();
    while let Some(word) = words.next() {
        let Some(last) = word.strip_suffix(':') else {
            name.push(word);
            continue;
        };
        name.push(last);
        // The field's words against each name's, with no string built per field.
        let field = TEXT_FIELDS
            .iter()
            .position(|f| f.split(' ').eq(name.iter().copied()));
        name.clear();
        let Some(value) = words.next() else { break };
        if let Some(index) = field {
            values[index] = value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
        }
        // The value's unit, when it has one, is not part of the next field's name.
        let mut rest = words.clone();
        if matches!(rest.next(), Some("ms" | "MB")) {
            words = rest;
        }
    }
    Report {
        duration: values[0],
        billed_duration: values[1],
        init_duration: values[2],
        restore_duration: values[3],
        billed_restore_duration: values[4],
        max_memory_used: values[5],
    }
}

/// A `platform.report` record's `record.metrics`.
fn parse_json_report(record: &serde_json::Map<String, Value>) -> Report {
    let metrics = record.get("record").and_then(|r| r.get("metrics"));
    let metric = |name: &str| {
        metrics
            .and_then(|m| m.get(name))
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    Report {
        duration: metric("durationMs"),
        billed_duration: metric("billedDurationMs"),
        init_duration: metric("initDurationMs"),
        restore_duration: metric("restoreDurationMs"),
        billed_restore_duration: metric("billedRestoreDurationMs"),
        max_memory_used: metric("maxMemoryUsedMB"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT_REPORT: &str = "REPORT RequestId: 1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 40 MB\tInit Duration: 101.50 ms\tRestore Duration: 2.5 ms\tBilled Restore Duration: 3 ms\t";
    const JSON_REPORT: &str = "{\"time\":\"2026-12-06T04:00:00.000Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"1\",\"metrics\":{\"durationMs\":20.5,\"billedDurationMs\":21,\"memorySizeMB\":256,\"maxMemoryUsedMB\":33,\"initDurationMs\":80.25},\"status\":\"success\"}}";

    fn text_metrics() -> Report {
        Report {
            duration: 12.34,
            billed_duration: 13.0,
            init_duration: 101.5,
            restore_duration: 2.5,
            billed_restore_duration: 3.0,
            max_memory_used: 40.0,
        }
    }

    fn json_metrics() -> Report {
        Report {
            duration: 20.5,
            billed_duration: 21.0,
            init_duration: 80.25,
            restore_duration: 0.0,
            billed_restore_duration: 0.0,
            max_memory_used: 33.0,
        }
    }

    #[test]
    fn text_report_with_every_field() {
        let log =
            format!("START RequestId: 1 Version: 3\nhello\nEND RequestId: 1\n{TEXT_REPORT}\n");
        let r = parse_log(&log).expect("text");
        assert_eq!(r, text_metrics());
        assert_eq!(r.total_duration(), 12.34 + 101.5 + 2.5);
        assert_eq!(r.total_billed(), 16.0);
        assert!(r.is_cold());
    }

    #[test]
    fn integer_durations_are_read() {
        // The original read `Duration: 12 ms` as 0.
        let r = parse_log("REPORT RequestId: 1\tDuration: 12 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB\t").expect("text");
        assert_eq!(r.duration, 12.0);
        assert_eq!(r.billed_duration, 12.0);
        assert_eq!(r.init_duration, 0.0);
        assert_eq!(r.max_memory_used, 9.0);
        assert!(!r.is_cold());
    }

    #[test]
    fn fields_separated_by_spaces_read_as_tabs() {
        // A forwarder (or a hand-written line) may turn Lambda's tabs into spaces: the same
        // figures, never zeros; a timed-out invocation's `Status: timeout` is no field of ours.
        let spaced = TEXT_REPORT.replace('\t', " ");
        assert_eq!(parse_log(&spaced).expect("spaces"), text_metrics());
        let r = parse_log("REPORT RequestId: 7  Duration: 3000.00 ms Billed Duration: 3000 ms Memory Size: 128 MB Max Memory Used: 9 MB Init Duration: 20.5 ms Status: timeout").expect("timeout");
        assert_eq!(
            (
                r.duration,
                r.billed_duration,
                r.init_duration,
                r.max_memory_used
            ),
            (3000.0, 3000.0, 20.5, 9.0)
        );
    }

    #[test]
    fn tails_that_start_mid_line_in_both_formats() {
        // The 4 KB cut falls inside an application line, inside a JSON record, inside START.
        let text = format!("ello world\nEND RequestId: 1\n{TEXT_REPORT}\n");
        assert_eq!(parse_log(&text), Ok(text_metrics()));
        let text = format!("estId: 1 Version: 3\n{TEXT_REPORT}\n");
        assert_eq!(parse_log(&text), Ok(text_metrics()));
        let json = format!(
            "e\":\"platform.start\",\"record\":{{\"requestId\":\"1\"}}}}\nplain app line\n{JSON_REPORT}\n"
        );
        assert_eq!(parse_log(&json), Ok(json_metrics()));
    }

    #[test]
    fn plain_lines_between_json_records() {
        // A custom runtime with the JSON log format: its own lines stay plain text (the Rust
        // runtime's, Go's, Ruby's, Python's print).
        let log = format!(
            "{{\"time\":\"t\",\"type\":\"platform.start\",\"record\":{{\"requestId\":\"1\",\"version\":\"3\"}}}}\nprocessing item 1\nprocessing item 2\nnot json {{ at all\n{JSON_REPORT}\n"
        );
        assert_eq!(parse_log(&log), Ok(json_metrics()));
        // The original decided "text" from the first character and read 0 here.
        let starts_plain = format!("processing item 1\n{JSON_REPORT}");
        assert_eq!(parse_log(&starts_plain), Ok(json_metrics()));
    }

    #[test]
    fn json_application_lines() {
        let log = format!(
            "{{\"timestamp\":\"t\",\"level\":\"INFO\",\"requestId\":\"1\",\"message\":\"hello\"}}\n{{\"level\":\"WARN\",\"fields\":{{\"type\":\"x\"}}}}\n{JSON_REPORT}\n"
        );
        assert_eq!(parse_log(&log), Ok(json_metrics()));
        // A JSON application line after the report (a runtime flushing late) does not hide it.
        let late = format!("{JSON_REPORT}\n{{\"level\":\"INFO\",\"message\":\"late\"}}\n");
        assert_eq!(parse_log(&late), Ok(json_metrics()));
    }

    #[test]
    fn a_report_like_application_line_before_the_real_one() {
        let fake = "REPORT RequestId: fake\tDuration: 999.00 ms\tBilled Duration: 999 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB\t";
        let text = format!("{fake}\nEND RequestId: 1\n{TEXT_REPORT}\n");
        assert_eq!(parse_log(&text), Ok(text_metrics()));
        let fake_json =
            "{\"type\":\"platform.report\",\"record\":{\"metrics\":{\"durationMs\":999}}}";
        let json = format!("{fake}\n{fake_json}\nplain\n{JSON_REPORT}\n");
        assert_eq!(parse_log(&json), Ok(json_metrics()));
        // A line that only mentions REPORT is not a report.
        assert_eq!(
            parse_log("log: REPORT RequestId: 1\tDuration: 5 ms\t"),
            Err(LogError::NoReportLine)
        );
    }

    #[test]
    fn no_report_is_an_error_never_zero() {
        assert_eq!(parse_log("no report here"), Err(LogError::NoReportLine));
        assert_eq!(parse_log(""), Err(LogError::NoReportLine));
        assert_eq!(parse_log_result(None), Err(LogError::NoReportLine));
        assert_eq!(
            LogError::NoReportLine.to_string(),
            "Invalid log does not contain a REPORT line"
        );
        // JSON log format with SystemLogLevel WARN: Lambda sends no platform.start or
        // platform.report; the application's plain lines are still there.
        let warn = "{\"time\":\"t\",\"type\":\"platform.initStart\",\"record\":{}}\nhello\n{\"level\":\"WARN\",\"message\":\"x\"}\n";
        assert_eq!(parse_log(warn), Err(LogError::NoPlatformReport));
        assert_eq!(
            LogError::NoPlatformReport.to_string(),
            "Invalid JSON log does not contain platform.report"
        );
        // A JSON array or a number is not a JSON object.
        assert_eq!(parse_log("[1,2]\n42\n"), Err(LogError::NoReportLine));
    }

    #[test]
    fn base64_log_result() {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode("REPORT RequestId: x\tDuration: 1.5 ms\tBilled Duration: 2 ms\t");
        let r = parse_log_result(Some(&encoded)).expect("b64");
        assert_eq!((r.duration, r.billed_duration), (1.5, 2.0));
        assert!(matches!(
            parse_log_result(Some("***")),
            Err(LogError::NotBase64(_))
        ));
        // A cut inside a multi-byte character (the tail is cut by bytes).
        let mut bytes = "é\n".repeat(3).into_bytes();
        bytes.extend_from_slice(TEXT_REPORT.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes[1..]);
        assert_eq!(parse_log_result(Some(&encoded)), Ok(text_metrics()));
    }

    #[test]
    fn json_missing_metrics_are_zero() {
        // The original 4.4.0 throws here (its issue #305).
        let r =
            parse_log("{\"type\":\"platform.report\",\"record\":{\"metrics\":{\"durationMs\":5}}}")
                .expect("json");
        assert_eq!(
            r,
            Report {
                duration: 5.0,
                ..Report::default()
            }
        );
        let r = parse_log("{\"type\":\"platform.report\",\"record\":{}}").expect("json");
        assert_eq!(r, Report::default());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// A line an application may print: plain text (any characters, multi-byte ones too),
        /// a JSON record, or a line that looks like a report but is not the last one.
        fn app_line() -> impl Strategy<Value = String> {
            prop_oneof![
                "[^\\n\\r]{0,120}",
                "[a-z ]{0,40}"
                    .prop_map(|m| serde_json::json!({"level": "INFO", "message": m}).to_string()),
                (0u32..100_000).prop_map(|d| format!(
                    "REPORT RequestId: app\tDuration: {d} ms\tBilled Duration: {d} ms\t"
                )),
                Just(
                    "{\"type\":\"platform.report\",\"record\":{\"metrics\":{\"durationMs\":1}}}"
                        .to_string()
                ),
            ]
        }

        /// Metrics in hundredths of a millisecond (what a text REPORT shows), optional INIT.
        fn metrics() -> impl Strategy<Value = (u64, u64, Option<u64>, u64)> {
            (
                0u64..100_000_000,
                0u64..10_000_000,
                proptest::option::of(0u64..1_000_000),
                1u64..10_240,
            )
        }

        fn hundredths(v: u64) -> String {
            format!("{}.{:02}", v / 100, v % 100)
        }

        /// A whole invocation log in either format, and the metrics of its report.
        fn log() -> impl Strategy<Value = (String, Report)> {
            (any::<bool>(), proptest::collection::vec(app_line(), 0..60), metrics()).prop_map(
                |(json, lines, (duration, billed, init, memory))| {
                    let expected = Report {
                        duration: duration as f64 / 100.0,
                        billed_duration: billed as f64,
                        init_duration: init.map(|i| i as f64 / 100.0).unwrap_or(0.0),
                        max_memory_used: memory as f64,
                        ..Report::default()
                    };
                    let mut log = String::new();
                    if json {
                        log.push_str("{\"time\":\"t\",\"type\":\"platform.start\",\"record\":{\"requestId\":\"r\"}}\n");
                    } else {
                        log.push_str("START RequestId: r Version: 1\n");
                    }
                    for line in &lines {
                        log.push_str(line);
                        log.push('\n');
                    }
                    if json {
                        let mut metrics = serde_json::json!({
                            "durationMs": expected.duration,
                            "billedDurationMs": billed,
                            "memorySizeMB": 10240,
                            "maxMemoryUsedMB": memory,
                        });
                        if init.is_some() {
                            metrics["initDurationMs"] = serde_json::json!(expected.init_duration);
                        }
                        log.push_str(&serde_json::json!({"time": "t", "type": "platform.report", "record": {"requestId": "r", "metrics": metrics, "status": "success"}}).to_string());
                    } else {
                        log.push_str("END RequestId: r\n");
                        log.push_str(&format!(
                            "REPORT RequestId: r\tDuration: {} ms\tBilled Duration: {billed} ms\tMemory Size: 10240 MB\tMax Memory Used: {memory} MB\t",
                            hundredths(duration)
                        ));
                        if let Some(init) = init {
                            log.push_str(&format!("Init Duration: {} ms\t", hundredths(init)));
                        }
                    }
                    log.push('\n');
                    (log, expected)
                },
            )
        }

        proptest! {
            /// Any cut of a valid log that keeps its report line (the 4 KB tail starts at any
            /// byte, even inside a character) reads the same metrics.
            #[test]
            fn any_cut_that_keeps_the_report_reads_the_same((log, expected) in log(), cut in 0.0f64..=1.0) {
                let report_start = log.trim_end().rfind('\n').map(|i| i + 1).unwrap_or(0);
                let at = (report_start as f64 * cut) as usize;
                let tail = &log.as_bytes()[at..];
                let encoded = base64::engine::general_purpose::STANDARD.encode(tail);
                prop_assert_eq!(parse_log_result(Some(&encoded)), Ok(expected));
            }
        }
    }
}

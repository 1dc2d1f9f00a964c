//! What an invocation's log tail looks like: `START`, the function's output, `END`, `REPORT`
//! (text), or the JSON records with `platform.start` and `platform.report`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::json;

use crate::registry::LogFormat;

/// Lambda returns at most the last 4 KB of log.
pub const TAIL_BYTES: usize = 4096;

/// Measurements of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
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
    /// `success`, `error`, `timeout`.
    pub status: &'static str,
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

/// The full log of one invocation: init output (cold starts), START, the function's lines,
/// extra platform lines (e.g. a timeout notice), END and REPORT.
pub fn render(
    format: LogFormat,
    metrics: &Metrics,
    init_lines: &[String],
    lines: &[String],
    notices: &[String],
) -> String {
    let now = iso8601(SystemTime::now());
    let mut out = String::new();
    match format {
        LogFormat::Text => {
            for line in init_lines {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(&format!(
                "START RequestId: {} Version: {}\n",
                metrics.request_id, metrics.version
            ));
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
            for notice in notices {
                out.push_str(&format!("{now} {} {notice}\n", metrics.request_id));
            }
            out.push_str(&format!("END RequestId: {}\n", metrics.request_id));
            out.push_str(&format!(
                "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
                metrics.request_id,
                ms(metrics.duration),
                metrics.billed_ms(),
                metrics.memory_mb,
                metrics.max_memory_used_mb
            ));
            if let Some(init) = metrics.init {
                out.push_str(&format!("Init Duration: {:.2} ms\t", ms(init)));
            }
            out.push('\n');
        }
        LogFormat::Json => {
            let app = |line: &String| {
                match serde_json::from_str::<serde_json::Value>(line) {
                Ok(value) if value.is_object() => value.to_string(),
                _ => json!({"timestamp": now, "level": "INFO", "requestId": metrics.request_id, "message": line}).to_string(),
            }
            };
            for line in init_lines {
                out.push_str(&app(line));
                out.push('\n');
            }
            out.push_str(&json!({"time": now, "type": "platform.start", "record": {"requestId": metrics.request_id, "version": metrics.version}}).to_string());
            out.push('\n');
            for line in lines {
                out.push_str(&app(line));
                out.push('\n');
            }
            for notice in notices {
                out.push_str(&json!({"timestamp": now, "level": "ERROR", "requestId": metrics.request_id, "message": notice}).to_string());
                out.push('\n');
            }
            let mut report_metrics = json!({
                "durationMs": (ms(metrics.duration) * 1000.0).round() / 1000.0,
                "billedDurationMs": metrics.billed_ms(),
                "memorySizeMB": metrics.memory_mb,
                "maxMemoryUsedMB": metrics.max_memory_used_mb,
            });
            if let Some(init) = metrics.init {
                report_metrics["initDurationMs"] = json!((ms(init) * 1000.0).round() / 1000.0);
            }
            out.push_str(&json!({"time": now, "type": "platform.report", "record": {"requestId": metrics.request_id, "metrics": report_metrics, "status": metrics.status}}).to_string());
            out.push('\n');
        }
    }
    out
}

/// Base64 of the last 4 KB of a log (cut at a character boundary).
pub fn tail_base64(log: &str) -> String {
    let mut start = log.len().saturating_sub(TAIL_BYTES);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    base64::engine::general_purpose::STANDARD.encode(&log[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(init: Option<Duration>) -> Metrics {
        Metrics {
            request_id: "r1".into(),
            version: "3".into(),
            duration: Duration::from_micros(12_345),
            init,
            memory_mb: 256,
            max_memory_used_mb: 17,
            status: "success",
        }
    }

    #[test]
    fn text_report_line() {
        let log = render(
            LogFormat::Text,
            &metrics(Some(Duration::from_micros(45_670))),
            &["init".into()],
            &["hello".into()],
            &[],
        );
        assert_eq!(
            log,
            "init\nSTART RequestId: r1 Version: 3\nhello\nEND RequestId: r1\nREPORT RequestId: r1\tDuration: 12.35 ms\tBilled Duration: 59 ms\tMemory Size: 256 MB\tMax Memory Used: 17 MB\tInit Duration: 45.67 ms\t\n"
        );
        let warm = render(LogFormat::Text, &metrics(None), &[], &[], &[]);
        assert!(
            warm.ends_with(
                "Billed Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 17 MB\t\n"
            ),
            "{warm}"
        );
    }

    #[test]
    fn json_report_record() {
        let log = render(
            LogFormat::Json,
            &metrics(None),
            &[],
            &["plain".into(), "{\"level\":\"WARN\"}".into()],
            &[],
        );
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines[0]["type"], "platform.start");
        assert_eq!(lines[1]["message"], "plain");
        assert_eq!(lines[2]["level"], "WARN");
        assert_eq!(lines[3]["type"], "platform.report");
        assert_eq!(lines[3]["record"]["metrics"]["durationMs"], 12.345);
        assert_eq!(lines[3]["record"]["metrics"]["billedDurationMs"], 13);
        assert!(
            lines[3]["record"]["metrics"]
                .get("initDurationMs")
                .is_none()
        );
    }

    #[test]
    fn tail_is_the_last_4kb() {
        let log = format!("{}REPORT", "é".repeat(5000));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(tail_base64(&log))
            .expect("b64");
        assert!(decoded.len() <= TAIL_BYTES);
        assert!(
            String::from_utf8(decoded)
                .expect("utf8")
                .ends_with("REPORT")
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

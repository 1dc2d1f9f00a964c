//! Reading durations from an invocation's `LogResult` (SPEC §3.5): text `REPORT` lines and JSON
//! `platform.report` records.

use base64::Engine as _;
use serde_json::Value;

/// Metrics of one invocation's report. Missing fields are 0.
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
}

/// The JSON log had no `platform.report` record.
pub const NO_PLATFORM_REPORT: &str = "Invalid JSON log does not contain platform.report";

/// Decodes a base64 `LogResult` and parses it. `None` (no log) gives all zeros.
pub fn parse_log_result(log_result: Option<&str>) -> Result<Report, String> {
    let Some(encoded) = log_result else {
        return Ok(Report::default());
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| format!("Invalid LogResult (not base64): {e}"))?;
    parse_log(&String::from_utf8_lossy(&bytes))
}

/// Parses a decoded log tail: JSON format when it starts with `{`, text otherwise.
pub fn parse_log(log: &str) -> Result<Report, String> {
    if log.starts_with('{') {
        parse_json_log(log)
    } else {
        Ok(parse_text_log(log))
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

fn parse_text_log(log: &str) -> Report {
    let Some(line) = log.lines().rev().find(|l| l.starts_with("REPORT ")) else {
        return Report::default();
    };
    let mut values = [0.0; 6];
    // Fields are tab-separated `Name: value unit`.
    for field in line.split('\t') {
        let Some((name, rest)) = field.trim().split_once(": ") else {
            continue;
        };
        let Some(index) = TEXT_FIELDS.iter().position(|f| *f == name) else {
            continue;
        };
        let number = rest.split_whitespace().next().unwrap_or_default();
        values[index] = number
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0);
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

fn parse_json_log(log: &str) -> Result<Report, String> {
    let record = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .find(|v| v.get("type").and_then(Value::as_str) == Some("platform.report"))
        .ok_or_else(|| NO_PLATFORM_REPORT.to_string())?;
    let metrics = record.pointer("/record/metrics");
    let metric = |name: &str| {
        metrics
            .and_then(|m| m.get(name))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    Ok(Report {
        duration: metric("durationMs"),
        billed_duration: metric("billedDurationMs"),
        init_duration: metric("initDurationMs"),
        restore_duration: metric("restoreDurationMs"),
        billed_restore_duration: metric("billedRestoreDurationMs"),
        max_memory_used: metric("maxMemoryUsedMB"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_report_with_every_field() {
        let log = "START RequestId: 1 Version: 3\nhello\nEND RequestId: 1\nREPORT RequestId: 1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 40 MB\tInit Duration: 101.50 ms\tRestore Duration: 2.5 ms\tBilled Restore Duration: 3 ms\t\n";
        let r = parse_log(log).expect("text");
        assert_eq!(
            r,
            Report {
                duration: 12.34,
                billed_duration: 13.0,
                init_duration: 101.5,
                restore_duration: 2.5,
                billed_restore_duration: 3.0,
                max_memory_used: 40.0
            }
        );
        assert_eq!(r.total_duration(), 12.34 + 101.5 + 2.5);
        assert_eq!(r.total_billed(), 16.0);
    }

    #[test]
    fn integer_durations_are_read() {
        // The original read `Duration: 12 ms` as 0.
        let r = parse_log("REPORT RequestId: 1\tDuration: 12 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB\t").expect("text");
        assert_eq!(r.duration, 12.0);
        assert_eq!(r.billed_duration, 12.0);
        assert_eq!(r.init_duration, 0.0);
        assert_eq!(r.max_memory_used, 9.0);
    }

    #[test]
    fn missing_report_is_zero() {
        assert_eq!(
            parse_log("no report here").expect("text"),
            Report::default()
        );
        assert_eq!(parse_log_result(None).expect("none"), Report::default());
    }

    #[test]
    fn base64_log_result() {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode("REPORT RequestId: x\tDuration: 1.5 ms\tBilled Duration: 2 ms\t");
        let r = parse_log_result(Some(&encoded)).expect("b64");
        assert_eq!((r.duration, r.billed_duration), (1.5, 2.0));
        assert!(parse_log_result(Some("***")).is_err());
    }

    #[test]
    fn json_report() {
        let log = concat!(
            "{\"time\":\"t\",\"type\":\"platform.start\",\"record\":{}}\n",
            "not json at all\n",
            "{\"time\":\"t\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"1\",\"metrics\":{\"durationMs\":20.5,\"billedDurationMs\":21,\"memorySizeMB\":256,\"maxMemoryUsedMB\":33,\"initDurationMs\":80.25}}}\n"
        );
        let r = parse_log(log).expect("json");
        assert_eq!(
            r,
            Report {
                duration: 20.5,
                billed_duration: 21.0,
                init_duration: 80.25,
                restore_duration: 0.0,
                billed_restore_duration: 0.0,
                max_memory_used: 33.0
            }
        );
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

    #[test]
    fn json_without_platform_report() {
        assert_eq!(
            parse_log("{\"type\":\"platform.start\"}\n{\"type\":\"function\"}")
                .expect_err("no report"),
            "Invalid JSON log does not contain platform.report"
        );
    }
}

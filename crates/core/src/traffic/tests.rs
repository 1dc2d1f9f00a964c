//! [`read`] against a scripted history, with every figure computed by hand.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::metrics::{
    CONCURRENCY, DURATION_COUNT, DURATION_SUM, ERRORS, INCOMING_BYTES, INVOCATIONS, THROTTLES,
};
use futures::executor::block_on;

use super::window::DAY;
use super::*;

/// 2026-12-06T10:17:05Z: the window is 2026-11-08T11:00Z .. 2026-12-06T11:00Z.
const NOW: i64 = 1_796_552_225;
const END: i64 = 1_796_554_800;

struct TestClock {
    elapsed_ms: AtomicU64,
}

impl Clock for TestClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.elapsed_ms.load(Ordering::SeqCst))
    }
    fn unix_seconds(&self) -> u64 {
        NOW as u64
    }
    async fn sleep(&self, duration: Duration) {
        self.elapsed_ms
            .fetch_add(duration.as_millis() as u64, Ordering::SeqCst);
    }
}

fn clock() -> TestClock {
    TestClock {
        elapsed_ms: AtomicU64::new(0),
    }
}

/// A scripted history: one function, daily metrics, one query answer.
struct Script {
    facts: FunctionFacts,
    series: Vec<MetricSeries>,
    answer: QueryAnswer,
    calls: Mutex<Vec<String>>,
}

impl Script {
    fn new() -> Script {
        Script {
            facts: FunctionFacts {
                name: "orders".into(),
                region: "us-east-1".into(),
                memory_mb: 512,
                architecture: Architecture::X86_64,
                log_group: None,
                json_logs: false,
                system_log_level: None,
            },
            series: Vec::new(),
            answer: QueryAnswer {
                status: QueryStatus::Complete,
                rows: Vec::new(),
                bytes_scanned: 0.0,
            },
            calls: Mutex::new(Vec::new()),
        }
    }

    /// `per_day` of a metric on each of the `days` days before the window's end.
    fn daily(mut self, id: &str, days: i64, per_day: f64) -> Script {
        let points = (1..=days).map(|k| (END - k * DAY, per_day)).collect();
        self.series.push(MetricSeries {
            id: id.into(),
            points,
        });
        self
    }

    fn answer(mut self, fields: &[(&str, f64)], bytes: f64) -> Script {
        self.answer.rows = vec![
            fields
                .iter()
                .map(|(f, v)| (f.to_string(), v.to_string()))
                .collect(),
        ];
        self.answer.bytes_scanned = bytes;
        self
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    fn record(&self, call: String) {
        self.calls.lock().expect("calls").push(call);
    }
}

impl HistorySource for Script {
    async fn function(&self, function: &str) -> Result<FunctionFacts, HistoryError> {
        self.record(format!("GetFunctionConfiguration {function}"));
        Ok(self.facts.clone())
    }
    async fn metric_data(
        &self,
        name: &str,
        group: &str,
        window: &Window,
    ) -> Result<Vec<MetricSeries>, HistoryError> {
        self.record(format!(
            "GetMetricData {name} {group} {} {}",
            window.start, window.end
        ));
        Ok(self.series.clone())
    }
    async fn start_query(
        &self,
        group: &str,
        window: &Window,
        query: &str,
    ) -> Result<String, HistoryError> {
        assert_eq!(query, REPORTS_QUERY);
        self.record(format!(
            "StartQuery {group} {} {}",
            window.start, window.end
        ));
        Ok("q-1".into())
    }
    async fn query_results(&self, id: &str) -> Result<QueryAnswer, HistoryError> {
        self.record(format!("GetQueryResults {id}"));
        Ok(self.answer.clone())
    }
    async fn stop_query(&self, id: &str) -> Result<(), HistoryError> {
        self.record(format!("StopQuery {id}"));
        Ok(())
    }
}

/// 1000 invocations a day for 28 days, 100 ms on average, 5 errors and 2 throttles a day, at
/// most 12 in flight; the log group took in 1 MB a day.
fn busy() -> Script {
    Script::new()
        .daily(INVOCATIONS, 28, 1000.0)
        .daily(DURATION_SUM, 28, 100_000.0)
        .daily(DURATION_COUNT, 28, 1000.0)
        .daily(ERRORS, 28, 5.0)
        .daily(THROTTLES, 28, 2.0)
        .daily(CONCURRENCY, 28, 12.0)
        .daily(INCOMING_BYTES, 28, 1e6)
}

/// 7000 reports in 7 days (all of the window's invocations), 70 cold with 200 ms INIT; warm
/// ones billed 101 ms, cold ones 301 ms, at 512 MB.
const BILLED_MB_MS: f64 = (6930.0 * 101.0 + 70.0 * 301.0) * 512.0;

fn answered(script: Script, reports: f64) -> Script {
    script.answer(
        &[
            ("reports", reports),
            ("cold", 70.0),
            ("coldMsSum", 14_000.0),
            ("billedMbMs", BILLED_MB_MS),
        ],
        7e6,
    )
}

/// Reads `script`'s history with `options`.
fn traffic(script: &Script, options: TrafficOptions) -> Result<Traffic, HistoryError> {
    block_on(read(
        script,
        &clock(),
        "orders",
        &options,
        &Settings::default(),
    ))
}

/// Reads `script`'s history with the default options.
fn read_default(script: &Script) -> Traffic {
    traffic(script, TrafficOptions::default()).expect("traffic")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn metrics_and_reports_by_hand() {
    let script = answered(busy(), 7000.0);
    let t = read_default(&script);
    assert_eq!(t.window.start, "2026-11-08T11:00:00Z");
    assert_eq!(t.window.end, "2026-12-06T11:00:00Z");
    assert_eq!((t.window.days, t.window.days_with_data), (28, 28));
    assert_eq!(t.invocations, 28_000);
    // 28000 × 730 / 672 = 30416.67 → 30417.
    assert_eq!(t.monthly_invocations, 30_417);
    assert_eq!((t.errors, t.throttles), (140, 56));
    assert_eq!(t.average_duration_ms, Some(100.0));
    assert_eq!(t.max_concurrency, Some(12));
    let m = t.cold_starts.measured().expect("measured");
    assert_eq!((m.window_days, m.reports, m.cold), (7, 7000, 70));
    assert_eq!(m.ratio, 0.01);
    assert_eq!(m.average_init_ms, Some(200.0));
    assert_eq!((m.coverage, m.bytes_scanned), (1.0, 7e6));
    let (low, high) = reports::wilson(70, 7000, reports::Z_95).expect("interval");
    assert_eq!(m.interval, [low, high]);
    assert!(low < 0.01 && 0.01 < high);
    // The bill from the reports: 30417 × Σ(billed × 512 / 1024) / 1000 / 7000 GB-s at
    // 2.1e-9 × 8000 $/GB-s (well inside the first tier), 30417 × 2e-7 for requests.
    let gb_seconds = 30_417.0 * (BILLED_MB_MS / 1024.0 / 1000.0 / 7000.0);
    let bill = t.current_monthly_cost;
    assert_eq!(bill.basis, BillBasis::Reports);
    assert!(
        close(bill.duration, gb_seconds * 2.1e-9 * 8000.0),
        "{bill:?}"
    );
    assert!(close(bill.requests, 30_417.0 * 2e-7));
    assert_eq!(bill.total, bill.duration + bill.requests);
    // One GetMetricData over the 28 days, one query over the last 7 of them.
    assert_eq!(
        script.calls(),
        vec![
            "GetFunctionConfiguration orders".to_string(),
            format!(
                "GetMetricData orders /aws/lambda/orders {} {END}",
                END - 28 * DAY
            ),
            format!("StartQuery /aws/lambda/orders {} {END}", END - 7 * DAY),
            "GetQueryResults q-1".to_string(),
        ]
    );
    let json = serde_json::to_value(&t).expect("json");
    assert_eq!(json["coldStarts"]["ratio"], 0.01);
    assert_eq!(json["currentMonthlyCost"]["basis"], "reports");
    assert!(json["coldStarts"].get("gbSecondsPerInvocation").is_none());
}

#[test]
fn a_young_function_says_so() {
    // Three days old: 3000 invocations scaled over the 28-day window (SPEC §15), and
    // daysWithData says why the figure is low.
    let script = answered(
        Script::new()
            .daily(INVOCATIONS, 3, 1000.0)
            .daily(DURATION_SUM, 3, 100_000.0)
            .daily(DURATION_COUNT, 3, 1000.0),
        3000.0,
    )
    .answer(
        &[("reports", 3000.0), ("cold", 30.0), ("coldMsSum", 4500.0)],
        0.0,
    );
    let t = read_default(&script);
    assert_eq!((t.invocations, t.window.days_with_data), (3000, 3));
    // 3000 × 730 / 672 = 3258.93 → 3259.
    assert_eq!(t.monthly_invocations, 3259);
    let m = t.cold_starts.measured().expect("measured");
    assert_eq!(
        (m.ratio, m.coverage, m.average_init_ms),
        (0.01, 1.0, Some(150.0))
    );
}

#[test]
fn a_window_without_data() {
    let script = Script::new();
    let t = read_default(&script);
    assert_eq!((t.invocations, t.monthly_invocations), (0, 0));
    assert_eq!((t.average_duration_ms, t.max_concurrency), (None, None));
    assert_eq!(t.window.days_with_data, 0);
    assert_eq!(
        t.cold_starts,
        ColdStarts::Skipped {
            skipped: "no invocations in the last 7 days".into()
        }
    );
    assert_eq!(t.cold_start_ratio(), None);
    assert_eq!(
        t.current_monthly_cost,
        Bill {
            duration: 0.0,
            requests: 0.0,
            total: 0.0,
            basis: BillBasis::Metrics
        }
    );
    assert_eq!(script.calls().len(), 2, "no query without invocations");
}

#[test]
fn coverage_below_095_leaves_the_ratio_unset() {
    // 6300 reports for 7000 invocations: coverage 0.9.
    let script = answered(busy(), 6300.0);
    let t = read_default(&script);
    assert_eq!(
        t.cold_starts,
        ColdStarts::Skipped {
            skipped: "coverage 0.90: 6300 REPORT records for 7000 invocations in the last 7 days (below 0.95: the log group's retention or a log format without reports)".into()
        }
    );
    assert_eq!(t.cold_start_ratio(), None);
    // The bill falls back to the metrics: 30417 × (100 + 0.5) ms × 512/1024 / 1000 GB-s.
    let gb_seconds = 30_417.0 * 100.5 / 1000.0 * 0.5;
    let bill = t.current_monthly_cost;
    assert_eq!(bill.basis, BillBasis::Metrics);
    assert!(
        close(bill.duration, gb_seconds * 2.1e-9 * 8000.0),
        "{bill:?}"
    );
}

#[test]
fn a_shared_log_group_is_not_queried() {
    let mut script = answered(busy(), 7000.0);
    script.facts.log_group = Some("/apps/shop".into());
    let t = read_default(&script);
    assert_eq!(
        t.cold_starts,
        ColdStarts::Skipped {
            skipped: "the log group /apps/shop is not the function's own (/aws/lambda/orders): other functions may write REPORT records to it".into()
        }
    );
    assert!(
        script.calls()[1].contains(" /apps/shop "),
        "its IncomingBytes are still asked for"
    );
    assert!(!script.calls().iter().any(|c| c.starts_with("StartQuery")));
}

#[test]
fn warn_system_logs_and_no_logs_are_not_queried() {
    let mut script = answered(busy(), 7000.0);
    script.facts.json_logs = true;
    script.facts.system_log_level = Some("WARN".into());
    let t = read_default(&script);
    assert_eq!(
        t.cold_starts,
        ColdStarts::Skipped {
            skipped: "the function's SystemLogLevel is WARN: Lambda writes no platform.report record below INFO".into()
        }
    );
    let script = answered(busy(), 7000.0);
    let options = TrafficOptions {
        no_logs: true,
        ..TrafficOptions::default()
    };
    let t = traffic(&script, options).expect("traffic");
    assert_eq!(
        t.cold_starts,
        ColdStarts::Skipped {
            skipped: "not read (--no-logs)".into()
        }
    );
    assert_eq!(script.calls().len(), 2);
}

#[test]
fn the_scan_cap_refuses_the_query_before_it_starts() {
    // 1 GiB a day for 7 days: about 7 GB against a cap of 5.
    let script = answered(
        busy().daily(INCOMING_BYTES, 28, 1_073_741_824.0 - 1e6),
        7000.0,
    );
    let t = read_default(&script);
    assert_eq!(
        t.cold_starts,
        ColdStarts::Skipped {
            skipped: "the query would scan about 7.00 GB (IncomingBytes of /aws/lambda/orders over 7 days), above --max-logs-scan-gb 5".into()
        }
    );
    assert!(!script.calls().iter().any(|c| c.starts_with("StartQuery")));
    let options = TrafficOptions {
        max_scan_gb: 7.5,
        ..TrafficOptions::default()
    };
    let t = traffic(&script, options).expect("traffic");
    assert!(t.cold_starts.measured().is_some());
}

#[test]
fn a_query_that_never_finishes_is_stopped() {
    let mut script = busy();
    script.answer.status = QueryStatus::Running;
    let err = traffic(&script, TrafficOptions::default()).expect_err("timeout");
    assert_eq!(err, HistoryError::QueryTimeout("q-1".into()));
    assert_eq!(
        script.calls().last().map(String::as_str),
        Some("StopQuery q-1")
    );
    // Polls grow to 5 s: far fewer than one a second over 10 minutes.
    let polls = script
        .calls()
        .iter()
        .filter(|c| c.starts_with("GetQueryResults"))
        .count();
    assert!((100..=130).contains(&polls), "{polls}");
    let mut failed = busy();
    failed.answer.status = QueryStatus::Ended("Failed".into());
    assert_eq!(
        traffic(&failed, TrafficOptions::default())
            .expect_err("failed")
            .to_string(),
        "the Logs Insights query q-1 ended Failed"
    );
}

#[test]
fn options_are_checked_before_any_call() {
    let bad = |o: TrafficOptions| o.check().expect_err("bad").to_string();
    let d = TrafficOptions::default();
    assert_eq!(
        bad(TrafficOptions {
            window_days: 0,
            ..d
        }),
        "--window must be 1 to 455 days, not 0"
    );
    assert_eq!(
        bad(TrafficOptions {
            logs_window_days: 29,
            ..d
        }),
        "--logs-window must be 1 to --window (28) days, not 29"
    );
    assert_eq!(
        bad(TrafficOptions {
            max_scan_gb: -1.0,
            ..d
        }),
        "--max-logs-scan-gb must be a positive number of GB, not -1"
    );
    assert_eq!(d.check(), Ok(()));
}

//! Traffic from history (SPEC §15): a function's own invocations, cold starts and bill, read
//! from CloudWatch, so that `monthlyInvocations` and `coldStartRatio` are measured, not guessed.
//!
//! [`read`] runs against the [`HistorySource`] port (one `GetFunctionConfiguration`, one
//! `GetMetricData`, at most one Logs Insights query); `power-tuning-aws` implements it on the
//! SDK. Every formula is a pure function of [`window`], [`metrics`] and [`reports`].

pub mod metrics;
pub mod model;
pub mod reports;
pub mod window;

use std::future::Future;
use std::time::Duration;

use crate::architecture::Architecture;
use crate::ports::Clock;
use crate::settings::Settings;
use metrics::{MetricSeries, MetricTotals};
pub use model::{Bill, BillBasis, ColdStarts, Measured, Traffic, WindowView};
use reports::{GB, REPORTS_QUERY, ReportTotals};
use window::{MAX_WINDOW_DAYS, Window};

/// Below this share of the logs window's invocations found as `REPORT` records, the ratio is
/// not trusted.
pub const MIN_COVERAGE: f64 = 0.95;
/// How long a Logs Insights query may run before it is stopped.
pub const QUERY_DEADLINE: Duration = Duration::from_secs(600);
/// The first wait between two `GetQueryResults` (doubling up to [`MAX_POLL`]).
const FIRST_POLL: Duration = Duration::from_millis(250);
/// The longest wait between two `GetQueryResults`.
const MAX_POLL: Duration = Duration::from_secs(5);

/// What the reading needs to know of the function (`GetFunctionConfiguration`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionFacts {
    /// `FunctionName`.
    pub name: String,
    /// The region of `FunctionArn`.
    pub region: String,
    /// `MemorySize` (MB).
    pub memory_mb: u32,
    /// `Architectures[0]`.
    pub architecture: Architecture,
    /// `LoggingConfig.LogGroup` (absent: `/aws/lambda/<name>`).
    pub log_group: Option<String>,
    /// `LoggingConfig.LogFormat` is `JSON`.
    pub json_logs: bool,
    /// `LoggingConfig.SystemLogLevel` (only with JSON logs).
    pub system_log_level: Option<String>,
}

impl FunctionFacts {
    /// Lambda's default log group of the function.
    pub fn default_log_group(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }

    /// The log group its logs go to.
    pub fn log_group(&self) -> String {
        self.log_group
            .clone()
            .unwrap_or_else(|| self.default_log_group())
    }
}

/// The command line's options (`--window`, `--logs-window`, `--max-logs-scan-gb`, `--no-logs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficOptions {
    /// Days of metrics.
    pub window_days: u32,
    /// Days of `REPORT` records (at most `window_days`).
    pub logs_window_days: u32,
    /// The largest estimated scan the query may make, GB.
    pub max_scan_gb: f64,
    /// Read no logs.
    pub no_logs: bool,
}

impl Default for TrafficOptions {
    fn default() -> Self {
        TrafficOptions {
            window_days: window::DEFAULT_WINDOW_DAYS,
            logs_window_days: window::DEFAULT_LOGS_WINDOW_DAYS,
            max_scan_gb: reports::DEFAULT_MAX_SCAN_GB,
            no_logs: false,
        }
    }
}

impl TrafficOptions {
    /// Checks the options before any call.
    pub fn check(&self) -> Result<(), HistoryError> {
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(HistoryError::Invalid(format!(
                "--window must be 1 to {MAX_WINDOW_DAYS} days, not {}",
                self.window_days
            )));
        }
        if !(1..=self.window_days).contains(&self.logs_window_days) {
            return Err(HistoryError::Invalid(format!(
                "--logs-window must be 1 to --window ({}) days, not {}",
                self.window_days, self.logs_window_days
            )));
        }
        if !(self.max_scan_gb.is_finite() && self.max_scan_gb > 0.0) {
            return Err(HistoryError::Invalid(format!(
                "--max-logs-scan-gb must be a positive number of GB, not {}",
                self.max_scan_gb
            )));
        }
        Ok(())
    }
}

/// `GetQueryResults`' status, as far as waiting is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    /// `Scheduled`, `Running` (or `Unknown`): ask again.
    Running,
    /// `Complete`.
    Complete,
    /// `Failed`, `Cancelled`, `Timeout`: the status.
    Ended(String),
}

/// What `GetQueryResults` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryAnswer {
    /// The status.
    pub status: QueryStatus,
    /// `results`: rows of `(field, value)`.
    pub rows: Vec<Vec<(String, String)>>,
    /// `statistics.bytesScanned`.
    pub bytes_scanned: f64,
}

/// Why history could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    /// A bad option.
    #[error("{0}")]
    Invalid(String),
    /// An API call failed.
    #[error("{operation} failed: {message}")]
    Api {
        /// The operation.
        operation: &'static str,
        /// The SDK's message.
        message: String,
    },
    /// The function's configuration cannot be priced.
    #[error(transparent)]
    Architecture(#[from] crate::architecture::UnsupportedArchitecture),
    /// The query ended without an answer.
    #[error("the Logs Insights query {id} ended {status}")]
    QueryEnded {
        /// The query id.
        id: String,
        /// Its final status.
        status: String,
    },
    /// The query was still running at [`QUERY_DEADLINE`] (it was stopped).
    #[error("the Logs Insights query {0} did not finish in {secs} s", secs = QUERY_DEADLINE.as_secs())]
    QueryTimeout(String),
    /// The answer was not the query's.
    #[error(transparent)]
    Answer(#[from] reports::UnexpectedAnswer),
}

/// The calls that read history: `power-tuning-aws` implements them on the SDK.
pub trait HistorySource: Send + Sync {
    /// `GetFunctionConfiguration`.
    fn function(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<FunctionFacts, HistoryError>> + Send;
    /// One `GetMetricData` of [`metrics::METRIC_QUERIES`] over `window`, daily periods.
    fn metric_data(
        &self,
        function_name: &str,
        log_group: &str,
        window: &Window,
    ) -> impl Future<Output = Result<Vec<MetricSeries>, HistoryError>> + Send;
    /// `StartQuery` of `query` on `log_group` over `window`: the query id.
    fn start_query(
        &self,
        log_group: &str,
        window: &Window,
        query: &str,
    ) -> impl Future<Output = Result<String, HistoryError>> + Send;
    /// `GetQueryResults`.
    fn query_results(
        &self,
        query_id: &str,
    ) -> impl Future<Output = Result<QueryAnswer, HistoryError>> + Send;
    /// `StopQuery`.
    fn stop_query(&self, query_id: &str) -> impl Future<Output = Result<(), HistoryError>> + Send;
}

/// Reads the function's traffic: metrics always, `REPORT` records unless a reason says they
/// cannot answer (then the cold-start ratio is left unset, with the reason).
pub async fn read<H: HistorySource, C: Clock>(
    source: &H,
    clock: &C,
    function: &str,
    options: &TrafficOptions,
    settings: &Settings,
) -> Result<Traffic, HistoryError> {
    options.check()?;
    let facts = source.function(function).await?;
    let prices = crate::pricing::Prices::of(settings, &facts.region, facts.architecture)?;
    let now = i64::try_from(clock.unix_seconds()).unwrap_or(i64::MAX);
    let window = Window::through(now, options.window_days);
    let logs = window.last(options.logs_window_days);
    let log_group = facts.log_group();
    let series = source.metric_data(&facts.name, &log_group, &window).await?;
    let totals = MetricTotals::of(&series, &window, &logs);
    let cold_starts = match skip_reason(&facts, &totals, options, &logs) {
        Some(reason) => ColdStarts::Skipped { skipped: reason },
        None => {
            let answer = run_query(source, clock, &log_group, &logs).await?;
            judge(&answer, &totals, &log_group, &logs)
        }
    };
    let pricing = model::Pricing {
        prices,
        memory_mb: facts.memory_mb,
    };
    Ok(Traffic::assemble(
        &facts.region,
        &window,
        &totals,
        cold_starts,
        &pricing,
    ))
}

/// Why the `REPORT` records cannot answer, decided before the query is started (none: query).
pub fn skip_reason(
    facts: &FunctionFacts,
    totals: &MetricTotals,
    options: &TrafficOptions,
    logs: &Window,
) -> Option<String> {
    let group = facts.log_group();
    if options.no_logs {
        return Some("not read (--no-logs)".to_string());
    }
    if facts.json_logs
        && facts
            .system_log_level
            .as_deref()
            .is_some_and(|level| !matches!(level, "DEBUG" | "INFO"))
    {
        // Lambda Developer Guide, "Log-level filtering": platform.report is an INFO record.
        return Some(format!(
            "the function's SystemLogLevel is {}: Lambda writes no platform.report record below INFO",
            facts.system_log_level.as_deref().unwrap_or_default()
        ));
    }
    let own = facts.default_log_group();
    if group != own {
        return Some(format!(
            "the log group {group} is not the function's own ({own}): other functions may write REPORT records to it"
        ));
    }
    if totals.logs_window_invocations <= 0.0 {
        return Some(format!("no invocations in the last {} days", logs.days));
    }
    let estimate_gb = totals.logs_window_bytes / GB;
    if estimate_gb > options.max_scan_gb {
        return Some(format!(
            "the query would scan about {estimate_gb:.2} GB (IncomingBytes of {group} over {} days), above --max-logs-scan-gb {}",
            logs.days, options.max_scan_gb
        ));
    }
    None
}

/// Starts the query, waits for it with growing pauses, stops it at the deadline.
async fn run_query<H: HistorySource, C: Clock>(
    source: &H,
    clock: &C,
    log_group: &str,
    logs: &Window,
) -> Result<ReportTotals, HistoryError> {
    let id = source.start_query(log_group, logs, REPORTS_QUERY).await?;
    let deadline = clock.now() + QUERY_DEADLINE;
    let mut pause = FIRST_POLL;
    loop {
        let answer = source.query_results(&id).await?;
        match answer.status {
            QueryStatus::Complete => {
                return Ok(ReportTotals::from_rows(&answer.rows, answer.bytes_scanned)?);
            }
            QueryStatus::Ended(status) => return Err(HistoryError::QueryEnded { id, status }),
            QueryStatus::Running if clock.now() >= deadline => {
                // The query is billed while it runs: stop it rather than leave it behind.
                let _ = source.stop_query(&id).await;
                return Err(HistoryError::QueryTimeout(id));
            }
            QueryStatus::Running => {
                clock.sleep(pause).await;
                pause = (pause * 2).min(MAX_POLL);
            }
        }
    }
}

/// The cold starts measured, unless the records do not cover the invocations.
pub fn judge(
    answer: &ReportTotals,
    totals: &MetricTotals,
    log_group: &str,
    logs: &Window,
) -> ColdStarts {
    let (Some(ratio), Some(interval)) = (
        answer.ratio(),
        reports::wilson(answer.cold, answer.reports, reports::Z_95),
    ) else {
        return ColdStarts::Skipped {
            skipped: format!(
                "no REPORT records in {log_group} over the last {} days",
                logs.days
            ),
        };
    };
    let coverage = answer.reports as f64 / totals.logs_window_invocations;
    if coverage < MIN_COVERAGE {
        return ColdStarts::Skipped {
            skipped: format!(
                "coverage {coverage:.2}: {} REPORT records for {} invocations in the last {} days (below {MIN_COVERAGE}: the log group's retention or a log format without reports)",
                answer.reports, totals.logs_window_invocations, logs.days
            ),
        };
    }
    ColdStarts::Measured(Measured {
        window_days: logs.days,
        reports: answer.reports,
        cold: answer.cold,
        ratio,
        interval: [interval.0, interval.1],
        average_init_ms: answer.average_init_ms(),
        coverage,
        bytes_scanned: answer.bytes_scanned,
        gb_seconds_per_invocation: answer.gb_seconds_per_invocation().unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests;

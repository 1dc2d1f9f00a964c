//! The metrics of traffic from history (SPEC §15): what the one `GetMetricData` call asks for,
//! and the window's totals from its answer.

use super::window::Window;

/// What a metric query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `AWS/Lambda`, dimension `FunctionName`.
    Function,
    /// `AWS/Logs`, dimension `LogGroupName`.
    LogGroup,
}

/// One metric query of the `GetMetricData` call: its id, metric and statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricQuery {
    /// The query's `Id` (lower-case first, letters, digits and `_`).
    pub id: &'static str,
    /// `AWS/Lambda` or `AWS/Logs`.
    pub namespace: &'static str,
    /// The metric's name.
    pub metric: &'static str,
    /// The statistic: only `Sum`, `SampleCount` and `Maximum` (no percentile: one
    /// unsupported statistic fails the whole call on some engines).
    pub stat: &'static str,
    /// The dimension.
    pub subject: Subject,
}

const fn lambda(id: &'static str, metric: &'static str, stat: &'static str) -> MetricQuery {
    MetricQuery {
        id,
        namespace: "AWS/Lambda",
        metric,
        stat,
        subject: Subject::Function,
    }
}

/// `Invocations` Sum.
pub const INVOCATIONS: &str = "invocations";
/// `Duration` Sum (ms).
pub const DURATION_SUM: &str = "duration_sum";
/// `Duration` SampleCount.
pub const DURATION_COUNT: &str = "duration_count";
/// `Errors` Sum.
pub const ERRORS: &str = "errors";
/// `Throttles` Sum.
pub const THROTTLES: &str = "throttles";
/// `ConcurrentExecutions` Maximum.
pub const CONCURRENCY: &str = "concurrency";
/// `AWS/Logs` `IncomingBytes` Sum of the log group: what a Logs Insights query over the same
/// span scans (Logs Insights bills the bytes it scans).
pub const INCOMING_BYTES: &str = "incoming_bytes";

/// Every query of the one `GetMetricData` call, over daily periods.
pub const METRIC_QUERIES: [MetricQuery; 7] = [
    lambda(INVOCATIONS, "Invocations", "Sum"),
    lambda(DURATION_SUM, "Duration", "Sum"),
    lambda(DURATION_COUNT, "Duration", "SampleCount"),
    lambda(ERRORS, "Errors", "Sum"),
    lambda(THROTTLES, "Throttles", "Sum"),
    lambda(CONCURRENCY, "ConcurrentExecutions", "Maximum"),
    MetricQuery {
        id: INCOMING_BYTES,
        namespace: "AWS/Logs",
        metric: "IncomingBytes",
        stat: "Sum",
        subject: Subject::LogGroup,
    },
];

/// One query's answer: `(period start, value)` in seconds since the epoch, any order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSeries {
    /// The query's id.
    pub id: String,
    /// Its datapoints (a period without data has none).
    pub points: Vec<(i64, f64)>,
}

/// The window's totals.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetricTotals {
    /// Σ `Invocations`.
    pub invocations: f64,
    /// Σ `Errors`.
    pub errors: f64,
    /// Σ `Throttles`.
    pub throttles: f64,
    /// Σ `Duration` Sum (ms).
    pub duration_sum: f64,
    /// Σ `Duration` SampleCount.
    pub duration_count: f64,
    /// The largest `ConcurrentExecutions` Maximum.
    pub max_concurrency: Option<f64>,
    /// Days with at least one invocation.
    pub days_with_data: u32,
    /// Σ `Invocations` over the logs window.
    pub logs_window_invocations: f64,
    /// Σ `IncomingBytes` of the log group over the logs window.
    pub logs_window_bytes: f64,
}

impl MetricTotals {
    /// Adds up `series` over `window`; the invocations and the log group's bytes also over
    /// `logs` (a part of `window`). Datapoints outside `window` are ignored.
    pub fn of(series: &[MetricSeries], window: &Window, logs: &Window) -> MetricTotals {
        fn points<'a>(
            series: &'a [MetricSeries],
            window: &'a Window,
            id: &'a str,
        ) -> impl Iterator<Item = (i64, f64)> + 'a {
            series
                .iter()
                .filter(move |s| s.id == id)
                .flat_map(|s| s.points.iter().copied())
                .filter(|(t, v)| window.holds(*t) && v.is_finite())
        }
        let points = |id: &'static str| points(series, window, id);
        let sum = |id: &'static str| points(id).map(|(_, v)| v).fold(0.0, |a, b| a + b);
        let in_logs = |id: &'static str| {
            points(id)
                .filter(|(t, _)| logs.holds(*t))
                .map(|(_, v)| v)
                .fold(0.0, |a, b| a + b)
        };
        let mut days: Vec<i64> = points(INVOCATIONS)
            .filter(|(_, v)| *v > 0.0)
            .map(|(t, _)| t)
            .collect();
        days.sort_unstable();
        days.dedup();
        MetricTotals {
            invocations: sum(INVOCATIONS),
            errors: sum(ERRORS),
            throttles: sum(THROTTLES),
            duration_sum: sum(DURATION_SUM),
            duration_count: sum(DURATION_COUNT),
            max_concurrency: points(CONCURRENCY).map(|(_, v)| v).reduce(f64::max),
            days_with_data: u32::try_from(days.len()).unwrap_or(u32::MAX),
            logs_window_invocations: in_logs(INVOCATIONS),
            logs_window_bytes: in_logs(INCOMING_BYTES),
        }
    }

    /// `Σ Duration Sum / Σ Duration SampleCount` (none without invocations).
    pub fn average_duration_ms(&self) -> Option<f64> {
        (self.duration_count > 0.0).then(|| self.duration_sum / self.duration_count)
    }
}

#[cfg(test)]
mod tests {
    use super::super::window::DAY;
    use super::*;

    fn series(id: &str, points: &[(i64, f64)]) -> MetricSeries {
        MetricSeries {
            id: id.to_string(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn totals_over_the_window_and_the_logs_window() {
        let window = Window::through(1_796_552_225, 28);
        let logs = window.last(7);
        let day = |k: i64| window.start + k * DAY;
        let data = [
            // Day 0 and day 27 (in the logs window), and one point before the window.
            series(
                INVOCATIONS,
                &[(day(0), 1000.0), (day(27), 500.0), (day(-1), 9e9)],
            ),
            series(DURATION_SUM, &[(day(0), 120_000.0), (day(27), 30_000.0)]),
            series(DURATION_COUNT, &[(day(0), 1000.0), (day(27), 500.0)]),
            series(ERRORS, &[(day(27), 3.0)]),
            series(THROTTLES, &[]),
            series(CONCURRENCY, &[(day(0), 4.0), (day(27), 11.0)]),
            series(
                INCOMING_BYTES,
                &[(day(20), 1e6), (day(21), 2e6), (day(26), 4e6)],
            ),
        ];
        let t = MetricTotals::of(&data, &window, &logs);
        assert_eq!(t.invocations, 1500.0);
        assert_eq!(t.errors, 3.0);
        assert_eq!(t.throttles, 0.0);
        assert_eq!(t.average_duration_ms(), Some(150_000.0 / 1500.0));
        assert_eq!(t.max_concurrency, Some(11.0));
        assert_eq!(t.days_with_data, 2);
        assert_eq!(t.logs_window_invocations, 500.0);
        // Days 21..27 are the logs window: day 20's bytes are not in it.
        assert_eq!(t.logs_window_bytes, 6e6);
    }

    #[test]
    fn a_window_without_data() {
        let window = Window::through(1_796_552_225, 28);
        let t = MetricTotals::of(&[], &window, &window.last(7));
        assert_eq!(t, MetricTotals::default());
        assert_eq!(t.average_duration_ms(), None);
        assert_eq!(t.max_concurrency, None);
    }
}

//! The execution output model (SPEC §4): per-size statistics as the Executor returns them, the
//! failures, and the analysis the state machine ends with. Every tool reads results through
//! these types, so a renamed field is a compile error, not a silent "-".

use serde::{Deserialize, Serialize};

use crate::logs::Report;
use crate::pricing;
use crate::stats::{percentile, trimmed_mean};
use crate::strategy::Candidate;

/// Why a memory size failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatError {
    /// The target's `errorType`.
    pub error_type: String,
    /// The target's `errorMessage`.
    pub error_message: String,
    /// The full `Invocation error (...)` text, as logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One memory size's result, as the Executor returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Stat {
    /// Memory size (MB).
    pub value: u32,
    /// Price of the trimmed-mean billed duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_price: Option<f64>,
    /// Trimmed mean of the durations (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_duration: Option<f64>,
    /// Σ price of every billed duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<f64>,
    /// Invocations made.
    #[serde(default)]
    pub invocations: u32,
    /// Invocations that failed (not counting `allowedExceptions`).
    #[serde(default)]
    pub errors: u32,
    /// Fastest duration (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration: Option<f64>,
    /// Median duration (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_duration: Option<f64>,
    /// 90th percentile duration (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_duration: Option<f64>,
    /// 99th percentile duration (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_duration: Option<f64>,
    /// Slowest duration (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<f64>,
    /// Invocations with an `Init Duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_starts: Option<u32>,
    /// Mean `Init Duration` over the cold starts (0 without any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_init_duration: Option<f64>,
    /// Largest `Max Memory Used` (MB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_used: Option<u64>,
    /// Set when the size failed; then no averages are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatError>,
}

impl Stat {
    /// Statistics of a size whose invocations all counted as successes. `reports` are in
    /// invocation order (the order of the sum in `totalCost`).
    pub fn from_reports(value: u32, reports: &[Report], base_price: f64, discard: f64) -> Stat {
        let durations: Vec<f64> = reports.iter().map(Report::total_duration).collect();
        let billed: Vec<f64> = reports.iter().map(Report::total_billed).collect();
        let mut sorted = durations.clone();
        sorted.sort_by(f64::total_cmp);
        let inits: Vec<f64> = reports
            .iter()
            .map(|r| r.init_duration)
            .filter(|d| *d > 0.0)
            .collect();
        let average_init = if inits.is_empty() {
            0.0
        } else {
            inits.iter().fold(0.0, |a, b| a + b) / inits.len() as f64
        };
        Stat {
            value,
            average_price: Some(pricing::price(
                base_price,
                value,
                trimmed_mean(&billed, discard),
            )),
            average_duration: Some(trimmed_mean(&durations, discard)),
            total_cost: Some(pricing::total_cost(base_price, value, &billed)),
            invocations: reports.len() as u32,
            errors: 0,
            min_duration: Some(sorted.first().copied().unwrap_or(0.0)),
            p50_duration: Some(percentile(&sorted, 50.0)),
            p90_duration: Some(percentile(&sorted, 90.0)),
            p99_duration: Some(percentile(&sorted, 99.0)),
            max_duration: Some(sorted.last().copied().unwrap_or(0.0)),
            cold_starts: Some(inits.len() as u32),
            average_init_duration: Some(average_init),
            max_memory_used: Some(
                reports
                    .iter()
                    .map(|r| r.max_memory_used)
                    .fold(0.0, f64::max)
                    .round() as u64,
            ),
            error: None,
        }
    }

    /// A failed size: `{value, invocations, errors, error}`.
    pub fn failed(value: u32, invocations: u32, errors: u32, error: StatError) -> Stat {
        Stat {
            value,
            invocations,
            errors,
            error: Some(error),
            ..Stat::default()
        }
    }

    /// Kept for the choice: not failed and with a non-zero average duration.
    pub fn is_usable(&self) -> bool {
        self.error.is_none() && self.duration() != 0.0 && !self.duration().is_nan()
    }
}

/// A failed size in the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Memory size (MB).
    pub value: u32,
    /// The target's `errorType`.
    pub error_type: String,
    /// The target's `errorMessage`.
    pub error_message: String,
}

/// `stateMachine` in the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateMachineSummary {
    /// Step Functions cost of this run.
    pub execution_cost: f64,
    /// Σ totalCost of the kept sizes.
    pub lambda_cost: f64,
    /// Web visualization URL.
    pub visualization: String,
}

/// The execution output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// The chosen memory size.
    pub power: u32,
    /// Its average price.
    pub cost: f64,
    /// Its average duration.
    pub duration: f64,
    /// The run's own cost and the visualization.
    pub state_machine: StateMachineSummary,
    /// Per-size stats with `includeOutputResults`, in power-value order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<Stat>>,
    /// Failed sizes, in power-value order, when any failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<Failure>>,
}

impl Candidate for Stat {
    fn price(&self) -> f64 {
        self.average_price.unwrap_or(0.0)
    }

    fn duration(&self) -> f64 {
        self.average_duration.unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn from_reports_golden() {
        let reports: Vec<Report> = [
            (10.0, 11.0, 0.0, 30.0),
            (20.5, 21.0, 100.0, 31.0),
            (30.0, 30.0, 0.0, 29.0),
            (40.0, 40.0, 0.0, 30.0),
            (50.0, 50.0, 0.0, 30.0),
        ]
        .into_iter()
        .map(
            |(duration, billed_duration, init_duration, max_memory_used)| Report {
                duration,
                billed_duration,
                init_duration,
                max_memory_used,
                ..Report::default()
            },
        )
        .collect();
        let s = Stat::from_reports(256, &reports, 2.1e-9, 0.2);
        // Durations with init: 10, 120.5, 30, 40, 50 → trimmed (k=1): 30, 40, 50.
        assert_eq!(s.average_duration, Some(40.0));
        // Billed trimmed mean: 21, 30, 40 → 91/3 → ceil 31.
        assert_eq!(s.average_price, Some(31.0 * 2.1e-9 * 2.0));
        assert_eq!(
            s.total_cost,
            Some(pricing::total_cost(
                2.1e-9,
                256,
                &[11.0, 21.0, 30.0, 40.0, 50.0]
            ))
        );
        assert_eq!((s.min_duration, s.max_duration), (Some(10.0), Some(120.5)));
        assert_eq!(
            (s.p50_duration, s.p90_duration, s.p99_duration),
            (Some(40.0), Some(120.5), Some(120.5))
        );
        assert_eq!(
            (s.cold_starts, s.average_init_duration, s.max_memory_used),
            (Some(1), Some(100.0), Some(31))
        );
        assert_eq!(s.invocations, 5);
    }

    #[test]
    fn failed_stat_shape() {
        let s = Stat::failed(
            128,
            3,
            1,
            StatError {
                error_type: "Runtime.OutOfMemory".into(),
                error_message: "oom".into(),
                detail: None,
            },
        );
        assert_eq!(
            serde_json::to_value(&s).expect("json"),
            json!({"value": 128, "invocations": 3, "errors": 1, "error": {"errorType": "Runtime.OutOfMemory", "errorMessage": "oom"}})
        );
        assert!(!s.is_usable());
    }
}

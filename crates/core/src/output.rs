//! The execution output model (SPEC §4): per-size statistics as the Executor returns them, the
//! failures, and the analysis the state machine ends with. Every tool reads results through
//! these types, so a renamed field is a compile error, not a silent "-".

use serde::{Deserialize, Serialize};

use crate::architecture::Architecture;
use crate::confidence::{Confidence, Decision, Sample};
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

/// Longest `errorType` kept in the state (characters).
pub const MAX_ERROR_TYPE: usize = 100;
/// Longest `errorMessage` kept in the state (characters).
pub const MAX_ERROR_MESSAGE: usize = 300;
/// Longest `detail` kept in the state (characters).
pub const MAX_ERROR_DETAIL: usize = 500;

/// `text` cut to `max` characters, with `…` when cut.
fn capped(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

impl StatError {
    /// An error with its texts capped, so a failed size stays small in the state whatever the
    /// target answered (SPEC §12: the state stays under 256 KiB).
    pub fn new(error_type: String, error_message: String, detail: Option<String>) -> StatError {
        StatError {
            error_type: capped(error_type, MAX_ERROR_TYPE),
            error_message: capped(error_message, MAX_ERROR_MESSAGE),
            detail: detail.map(|d| capped(d, MAX_ERROR_DETAIL)),
        }
    }
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
    /// 95th percentile duration (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_duration: Option<f64>,
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
    /// Price of the average `Init Duration` (0 without a cold start), SPEC §8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_price: Option<f64>,
    /// Price of a warm invocation: the trimmed mean of the warm invocations' billed durations
    /// (SPEC §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_price: Option<f64>,
    /// Price of a cold start, INIT counted once: the mean over the cold invocations of
    /// `max(billed, ceil(Duration + Init Duration))`; absent without a cold start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_price: Option<f64>,
    /// `(1 − coldStartRatio) × warmPrice + coldStartRatio × coldPrice` (`warmPrice` without a
    /// cold start), with `coldStartRatio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_price: Option<f64>,
    /// A month's cost at this size, with `monthlyInvocations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cost: Option<f64>,
    /// Trimmed mean of the times to first byte (ms), with `responseStreaming` (SPEC §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_time_to_first_byte: Option<f64>,
    /// Median time to first byte (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_time_to_first_byte: Option<f64>,
    /// 99th percentile time to first byte (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_time_to_first_byte: Option<f64>,
    /// Mean response size (bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_response_bytes: Option<f64>,
    /// The strategy's decision value over the warm invocations, with its interval at
    /// `confidenceLevel` (SPEC §13); set by the analyzer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The per-invocation moments of the warm invocations (all when fewer than 2 were warm):
    /// what `decision` is built from, and the report's error bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
    /// Set when the size failed; then no averages are given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatError>,
}

impl Stat {
    /// The constrained percentile of a latency target (`p50`, `p90`, `p95` or `p99Duration`).
    pub fn percentile_duration(&self, percentile: u8) -> Option<f64> {
        match percentile {
            50 => self.p50_duration,
            90 => self.p90_duration,
            95 => self.p95_duration,
            _ => self.p99_duration,
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
    /// Web visualization URL (of the winning target).
    pub visualization: String,
    /// The web UI's two-run comparison link, with exactly two targets that both have a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<String>,
}

/// The function's current setting, measured (SPEC §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Current {
    /// The current memory size.
    pub power: u32,
    /// Its price (`expectedPrice` with `coldStartRatio`, else `averagePrice`).
    pub cost: f64,
    /// Its average duration.
    pub duration: f64,
    /// Its 99th percentile duration.
    pub p99_duration: f64,
    /// Its monthly cost, with `monthlyInvocations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cost: Option<f64>,
}

/// The chosen size against the current one: `100 × (chosen − current) / current`, rounded to 2
/// decimals (negative = cheaper or faster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Price change, percent.
    pub cost_percent: f64,
    /// Average duration change, percent.
    pub duration_percent: f64,
    /// 99th percentile change, percent.
    pub p99_duration_percent: f64,
    /// Chosen − current monthly cost ($), with `monthlyInvocations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cost_delta: Option<f64>,
    /// Whether the current size is significantly worse than the chosen one at
    /// `confidenceLevel` (SPEC §13); false when the choice is the current size.
    #[serde(default)]
    pub significant: bool,
}

/// What the Optimizer did with `autoOptimize` (SPEC §13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Optimization {
    /// Whether the choice was applied.
    pub applied: bool,
    /// Why not, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The latency target and whether a size met it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyTargetResult {
    /// The constrained percentile.
    pub percentile: u8,
    /// Its limit (ms).
    pub max_duration: f64,
    /// Whether the chosen size meets it.
    pub met: bool,
}

/// One target's result in a run with `compareWith` (SPEC §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResult {
    /// The function.
    #[serde(rename = "lambdaARN")]
    pub lambda_arn: String,
    /// Its architecture.
    pub architecture: Architecture,
    /// Its best size (absent when every size failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<u32>,
    /// That size's price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// That size's average duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Its web visualization URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visualization: Option<String>,
    /// Its current setting, with `includeCurrent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Current>,
    /// Its best size against its current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Its stats, with `includeOutputResults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<Stat>>,
    /// Its failed sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<Failure>>,
}

/// The execution output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// The chosen memory size.
    pub power: u32,
    /// Its price (`expectedPrice` with `coldStartRatio`, else `averagePrice`).
    pub cost: f64,
    /// Its average duration.
    pub duration: f64,
    /// The function of the chosen size, with `compareWith`.
    #[serde(rename = "lambdaARN", default, skip_serializing_if = "Option::is_none")]
    pub lambda_arn: Option<String>,
    /// The run's own cost and the visualization.
    pub state_machine: StateMachineSummary,
    /// Per-size stats with `includeOutputResults`, in power-value order (the chosen target's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<Stat>>,
    /// Failed sizes, in power-value order, when any failed (the chosen target's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<Failure>>,
    /// The current setting of `lambdaARN`, with `includeCurrent`, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Current>,
    /// The chosen size against the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// The latency target, with `maxDuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_target: Option<LatencyTargetResult>,
    /// The chosen size's monthly cost, with `monthlyInvocations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cost: Option<f64>,
    /// Every target's result, with `compareWith`, in input order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<TargetResult>>,
    /// Whether the choice is clear (SPEC §13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// What `autoOptimize` did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimization: Option<Optimization>,
    /// The function's traffic from its CloudWatch history (SPEC §15): added by the command-line
    /// tool with `--traffic-from-history`, never by the state machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<crate::traffic::Traffic>,
}

impl Analysis {
    /// The confidence level of the result's intervals (the default when it has none).
    pub fn confidence_level(&self) -> f64 {
        self.confidence
            .as_ref()
            .map_or(crate::confidence::DEFAULT_LEVEL, |c| c.level)
    }
}

impl Candidate for Stat {
    /// The production price: `expectedPrice` with a cold-start ratio, else `averagePrice`.
    fn price(&self) -> f64 {
        self.expected_price.or(self.average_price).unwrap_or(0.0)
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
    fn error_texts_are_capped() {
        let e = StatError::new(
            "T".repeat(500),
            "é".repeat(10_000),
            Some("d".repeat(10_000)),
        );
        assert_eq!(e.error_type.chars().count(), MAX_ERROR_TYPE);
        assert_eq!(e.error_message.chars().count(), MAX_ERROR_MESSAGE);
        assert!(e.error_message.ends_with('…'));
        assert_eq!(e.detail.map(|d| d.chars().count()), Some(MAX_ERROR_DETAIL));
        let short = StatError::new("E".into(), "m".into(), None);
        assert_eq!(
            (short.error_type.as_str(), short.error_message.as_str()),
            ("E", "m")
        );
        let failed = Stat::failed(
            10240,
            100_000,
            100_000,
            StatError::new("T".repeat(500), "m".repeat(5000), Some("d".repeat(5000))),
        );
        let bytes = serde_json::to_string(&failed).expect("json").len();
        assert!(bytes <= crate::input::STAT_BYTES, "{bytes} bytes");
        // A successful size with every figure, each a long float.
        let x = Some(123_456.789_012_345_6);
        let full = Stat {
            value: 10240,
            average_price: x,
            average_duration: x,
            total_cost: x,
            invocations: 100_000,
            errors: 0,
            min_duration: x,
            p50_duration: x,
            p90_duration: x,
            p95_duration: x,
            p99_duration: x,
            max_duration: x,
            cold_starts: Some(100_000),
            average_init_duration: x,
            max_memory_used: Some(10240),
            init_price: x,
            warm_price: x,
            cold_price: x,
            expected_price: x,
            monthly_cost: x,
            average_time_to_first_byte: x,
            p50_time_to_first_byte: x,
            p99_time_to_first_byte: x,
            average_response_bytes: x,
            decision: x.map(|v| Decision {
                n: 100_000,
                mean: v,
                std_dev: v,
                low: Some(v),
                high: Some(v),
            }),
            sample: x.map(|v| Sample {
                n: 100_000,
                price_mean: v,
                price_std_dev: v,
                duration_mean: v,
                duration_std_dev: v,
                covariance: v,
            }),
            error: None,
        };
        let bytes = serde_json::to_string(&full).expect("json").len();
        assert!(bytes <= crate::input::STAT_BYTES, "{bytes} bytes");
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

//! The output model (SPEC §4) and the analysis (SPEC §3.7): per-size statistics, the three
//! strategies with their tie rules, and the run's own cost.

use serde::{Deserialize, Serialize};

use crate::input::Strategy;
use crate::logs::Report;
use crate::pricing;
use crate::settings::Settings;
use crate::stats::{percentile, trimmed_mean};
use crate::visualization::{self, Point};

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

    fn price(&self) -> f64 {
        self.average_price.unwrap_or(0.0)
    }

    fn duration(&self) -> f64 {
        self.average_duration.unwrap_or(0.0)
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

/// The chosen stat among usable ones (stable: full ties keep power-value order).
pub fn choose<'a>(kept: &[&'a Stat], strategy: Strategy, weight: f64) -> Option<&'a Stat> {
    let mut sorted = kept.to_vec();
    match strategy {
        Strategy::Cost => sorted.sort_by(|a, b| {
            a.price()
                .total_cmp(&b.price())
                .then(a.duration().total_cmp(&b.duration()))
        }),
        Strategy::Speed => sorted.sort_by(|a, b| {
            a.duration()
                .total_cmp(&b.duration())
                .then(a.price().total_cmp(&b.price()))
        }),
        Strategy::Balanced => {
            let max_cost = kept.iter().map(|s| s.price()).fold(f64::MIN, f64::max);
            let max_duration = kept.iter().map(|s| s.duration()).fold(f64::MIN, f64::max);
            // The original's expression, in its order of operations.
            let value = |s: &Stat| {
                weight * s.price() / max_cost + (1.0 - weight) * s.duration() / max_duration
            };
            sorted.sort_by(|a, b| value(a).total_cmp(&value(b)));
        }
    }
    sorted.first().copied()
}

/// Why no size could be chosen: one line per size.
pub fn no_usable_size(stats: &[Stat]) -> String {
    let lines: Vec<String> = stats
        .iter()
        .map(|s| match &s.error {
            Some(e) => format!(
                "{}MB: {}",
                s.value,
                e.detail.clone().unwrap_or_else(|| format!(
                    "original error type: \"{}\", original error message: \"{}\"",
                    e.error_type, e.error_message
                ))
            ),
            None => format!("{}MB: no duration was reported", s.value),
        })
        .collect();
    format!("No memory size could be measured.\n{}", lines.join("\n"))
}

/// Builds the execution output from the executors' stats.
pub fn analyze(
    stats: &[Stat],
    strategy: Strategy,
    weight: f64,
    include_stats: bool,
    passes: u32,
    settings: &Settings,
) -> Result<Analysis, String> {
    let kept: Vec<&Stat> = stats.iter().filter(|s| s.is_usable()).collect();
    let optimal = choose(&kept, strategy, weight).ok_or_else(|| no_usable_size(stats))?;
    let points: Vec<Point> = kept
        .iter()
        .map(|s| Point {
            power: s.value,
            duration: s.duration(),
            cost: s.price(),
        })
        .collect();
    let failures: Vec<Failure> = stats
        .iter()
        .filter_map(|s| {
            s.error.as_ref().map(|e| Failure {
                value: s.value,
                error_type: e.error_type.clone(),
                error_message: e.error_message.clone(),
            })
        })
        .collect();
    Ok(Analysis {
        power: optimal.value,
        cost: optimal.price(),
        duration: optimal.duration(),
        state_machine: StateMachineSummary {
            execution_cost: pricing::execution_cost(
                settings,
                pricing::transitions(stats.len(), passes),
            ),
            lambda_cost: kept
                .iter()
                .map(|s| s.total_cost.unwrap_or(0.0))
                .fold(0.0, |a, b| a + b),
            visualization: visualization::url(
                &settings.visualization_url,
                &settings.region,
                &points,
            ),
        },
        stats: include_stats.then(|| stats.to_vec()),
        failures: (!failures.is_empty()).then_some(failures),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stat(value: u32, price: f64, duration: f64) -> Stat {
        Stat {
            value,
            average_price: Some(price),
            average_duration: Some(duration),
            total_cost: Some(price * 10.0),
            invocations: 10,
            ..Stat::default()
        }
    }

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

    #[test]
    fn strategies_and_ties() {
        let a = stat(128, 2.0, 100.0);
        let b = stat(256, 1.0, 80.0);
        let c = stat(512, 1.0, 50.0);
        let d = stat(1024, 3.0, 50.0);
        let all = [&a, &b, &c, &d];
        // cost: 256 and 512 tie on price → faster (512).
        assert_eq!(
            choose(&all, Strategy::Cost, 0.5).map(|s| s.value),
            Some(512)
        );
        // speed: 512 and 1024 tie on duration → cheaper (512).
        assert_eq!(
            choose(&[&a, &b, &d, &c], Strategy::Speed, 0.5).map(|s| s.value),
            Some(512)
        );
        // balanced full ties keep power order.
        let e = stat(2048, 1.0, 50.0);
        assert_eq!(
            choose(&[&c, &e], Strategy::Balanced, 0.5).map(|s| s.value),
            Some(512)
        );
        assert_eq!(
            choose(&[&e, &c], Strategy::Balanced, 0.5).map(|s| s.value),
            Some(2048)
        );
        // balanced weight 1 = cost only, 0 = speed only.
        let x = stat(128, 1.0, 300.0);
        let y = stat(1024, 4.0, 40.0);
        assert_eq!(
            choose(&[&x, &y], Strategy::Balanced, 1.0).map(|s| s.value),
            Some(128)
        );
        assert_eq!(
            choose(&[&x, &y], Strategy::Balanced, 0.0).map(|s| s.value),
            Some(1024)
        );
        // 0.5: x = 0.5·0.25 + 0.5·1 = 0.625; y = 0.5·1 + 0.5·0.1333 = 0.567.
        assert_eq!(
            choose(&[&x, &y], Strategy::Balanced, 0.5).map(|s| s.value),
            Some(1024)
        );
        assert_eq!(choose(&[], Strategy::Cost, 0.5), None);
    }

    #[test]
    fn analysis_output() {
        let settings = Settings::default();
        let failed = Stat::failed(
            128,
            1,
            1,
            StatError {
                error_type: "Runtime.OutOfMemory".into(),
                error_message: "oom".into(),
                detail: None,
            },
        );
        let zero = stat(2048, 0.0, 0.0);
        let stats = vec![
            failed,
            stat(256, 5.04e-7, 120.0),
            stat(512, 6.72e-7, 80.0),
            stat(1024, 1.176e-6, 70.0),
            zero,
        ];
        let out = analyze(&stats, Strategy::Cost, 0.5, false, 1, &settings).expect("analysis");
        assert_eq!(out.power, 256);
        assert_eq!(out.cost, 5.04e-7);
        assert_eq!(out.duration, 120.0);
        // 5 sizes + 6 = 11 transitions × 0.000025.
        assert_eq!(out.state_machine.execution_cost, 0.00028);
        assert_eq!(
            out.state_machine.lambda_cost,
            0.0 + 5.04e-7 * 10.0 + 6.72e-7 * 10.0 + 1.176e-6 * 10.0
        );
        assert_eq!(
            out.state_machine.visualization,
            visualization::url(
                "https://lambda-power-tuning.show/",
                "us-east-1",
                &[
                    Point {
                        power: 256,
                        duration: 120.0,
                        cost: 5.04e-7
                    },
                    Point {
                        power: 512,
                        duration: 80.0,
                        cost: 6.72e-7
                    },
                    Point {
                        power: 1024,
                        duration: 70.0,
                        cost: 1.176e-6
                    },
                ]
            )
        );
        let json = serde_json::to_value(&out).expect("json");
        assert_eq!(
            json["failures"],
            json!([{"value": 128, "errorType": "Runtime.OutOfMemory", "errorMessage": "oom"}])
        );
        assert!(json.get("stats").is_none());
        let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 5);
        let with_stats =
            analyze(&stats, Strategy::Speed, 0.5, true, 2, &settings).expect("analysis");
        assert_eq!(with_stats.power, 1024);
        assert_eq!(with_stats.stats.as_ref().map(Vec::len), Some(5));
        assert_eq!(with_stats.state_machine.execution_cost, 0.00033);
    }

    #[test]
    fn nothing_usable_lists_each_failure() {
        let stats = vec![
            Stat::failed(128, 1, 1, StatError { error_type: "E".into(), error_message: "m".into(), detail: Some("Invocation error (running in series) - original error type: \"E\", original error message: \"m\"".into()) }),
            stat(256, 0.0, 0.0),
        ];
        let err = analyze(&stats, Strategy::Cost, 0.5, false, 1, &Settings::default())
            .expect_err("none usable");
        assert_eq!(
            err,
            "No memory size could be measured.\n128MB: Invocation error (running in series) - original error type: \"E\", original error message: \"m\"\n256MB: no duration was reported"
        );
    }
}

//! The analysis (SPEC §3.7): which sizes are kept, the choice by strategy, the run's own cost
//! and the visualization URL.

use crate::output::{Analysis, Failure, Stat, StateMachineSummary};
use crate::pricing;
use crate::settings::Settings;
use crate::strategy::{Candidate as _, Strategy, choose};
use crate::visualization::{self, Point};

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
    use crate::output::StatError;
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

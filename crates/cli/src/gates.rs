//! Pipeline gates and the end of a run, shared by `run` and `local`: print the result (table or
//! the exact JSON output), judge the gates on the typed result, write the machine-readable
//! summary, and choose the exit code (0, 1 failed run, 3 gate violated).

use std::path::PathBuf;

use clap::Args;
use power_tuning_core::confidence::VerdictKind;
use power_tuning_core::output::Analysis;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{CliError, Exit};
use crate::execution::Outcome;
use crate::output;

/// The gate flags and the result file.
#[derive(Debug, Clone, Default, Args)]
pub struct GateFlags {
    /// Gate: fail (exit 3) when the chosen size's cost per invocation exceeds this ($).
    #[arg(long)]
    pub max_cost: Option<f64>,
    /// Gate: fail (exit 3) unless the chosen size is one of these (MB).
    #[arg(long, value_delimiter = ',')]
    pub expect_power: Option<Vec<u32>>,
    /// Gate: fail (exit 3) when the chosen size's p99 is slower than the current setting's by
    /// more than this (percent).
    #[arg(long, value_name = "PERCENT")]
    pub max_regression: Option<f64>,
    /// Gate: fail (exit 3) when no size met the latency target (`--max-duration`).
    #[arg(long)]
    pub require_target: bool,
    /// Gate: fail (exit 3) when the choice is not clear: another size is within noise of it
    /// (the verdict `tie`).
    #[arg(long)]
    pub require_clear: bool,
    /// Write a machine-readable summary (status, output, gates) here.
    #[arg(long)]
    pub result_file: Option<PathBuf>,
}

/// A gate's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gate {
    /// `maxCost`, `expectPower`, `maxRegression`, `requireTarget`.
    pub name: &'static str,
    /// The limit.
    pub limit: Value,
    /// The measured value.
    pub actual: Value,
    /// Whether it holds.
    pub passed: bool,
}

impl GateFlags {
    /// Judges the gates on a result (a dry run, `None`, passes none).
    pub fn evaluate(&self, analysis: Option<&Analysis>) -> Vec<Gate> {
        let mut out = Vec::new();
        if let Some(limit) = self.max_cost {
            let actual = analysis.map(|a| a.cost);
            out.push(Gate {
                name: "maxCost",
                limit: json!(limit),
                actual: json!(actual),
                passed: actual.is_some_and(|c| c <= limit),
            });
        }
        if let Some(expected) = &self.expect_power {
            let actual = analysis.map(|a| a.power);
            out.push(Gate {
                name: "expectPower",
                limit: json!(expected),
                actual: json!(actual),
                passed: actual.is_some_and(|p| expected.contains(&p)),
            });
        }
        if let Some(limit) = self.max_regression {
            // Without a measured current setting there is nothing to compare: not passed.
            let actual = analysis
                .and_then(|a| a.change.as_ref())
                .map(|c| c.p99_duration_percent);
            out.push(Gate {
                name: "maxRegression",
                limit: json!(limit),
                actual: json!(actual),
                passed: actual.is_some_and(|p| p <= limit),
            });
        }
        if self.require_target {
            let actual = analysis
                .and_then(|a| a.latency_target.as_ref())
                .map(|t| t.met);
            out.push(Gate {
                name: "requireTarget",
                limit: json!(true),
                actual: json!(actual),
                passed: actual == Some(true),
            });
        }
        if self.require_clear {
            // `single` is as clear as a choice gets: no other candidate.
            let actual = analysis
                .and_then(|a| a.confidence.as_ref())
                .map(|c| c.verdict);
            out.push(Gate {
                name: "requireClear",
                limit: json!("clear"),
                actual: json!(actual),
                passed: matches!(actual, Some(VerdictKind::Clear | VerdictKind::Single)),
            });
        }
        out
    }
}

/// The machine-readable summary (`--result-file`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary<'a> {
    /// Execution ARN.
    pub execution_arn: &'a str,
    /// Final status.
    pub status: &'a str,
    /// The output.
    pub output: Value,
    /// Error name.
    pub error: Option<&'a str>,
    /// Cause.
    pub cause: Option<&'a str>,
    /// Gate verdicts.
    pub gates: &'a [Gate],
    /// Succeeded and every gate passed.
    pub passed: bool,
}

/// Reports an outcome: stdout gets the exact output (`json`) or the table, stderr the gates;
/// returns the exit code.
pub fn finish(
    outcome: &Outcome,
    json: bool,
    strategy: &str,
    gates: &GateFlags,
) -> Result<Exit, CliError> {
    let analysis = if outcome.succeeded() {
        outcome.analysis()?
    } else {
        None
    };
    let verdicts = if outcome.succeeded() {
        gates.evaluate(analysis.as_ref())
    } else {
        Vec::new()
    };
    let passed = outcome.succeeded() && verdicts.iter().all(|g| g.passed);
    if let Some(path) = &gates.result_file {
        let summary = Summary {
            execution_arn: &outcome.arn,
            status: &outcome.status,
            output: outcome.output_value(),
            error: outcome.error.as_deref(),
            cause: outcome.cause.as_deref(),
            gates: &verdicts,
            passed,
        };
        let text =
            serde_json::to_string_pretty(&summary).map_err(|e| CliError::Invalid(e.to_string()))?;
        std::fs::write(path, text).map_err(CliError::write(path))?;
    }
    if !outcome.succeeded() {
        eprintln!("Execution {}: {}", outcome.status, outcome.failure());
        eprintln!("  {}", outcome.arn);
        return Ok(Exit::Failed);
    }
    if json {
        println!("{}", outcome.output.as_deref().unwrap_or("null"));
    } else {
        print!(
            "{}",
            output::summary(analysis.as_ref(), &outcome.progress.tables(), strategy)
        );
    }
    for gate in &verdicts {
        let verdict = if gate.passed { "ok" } else { "VIOLATED" };
        eprintln!(
            "gate {}: {verdict} (limit {}, actual {})",
            gate.name, gate.limit, gate.actual
        );
    }
    Ok(if passed { Exit::Success } else { Exit::Gate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::Progress;
    use power_tuning_core::confidence::{Confidence, Tied};
    use power_tuning_core::output::{Change, LatencyTargetResult, StateMachineSummary};

    fn analysis() -> Analysis {
        Analysis {
            power: 512,
            cost: 6.72e-7,
            duration: 80.0,
            lambda_arn: None,
            state_machine: StateMachineSummary {
                execution_cost: 0.00025,
                lambda_cost: 1e-5,
                visualization: "https://x/#a".into(),
                comparison: None,
            },
            stats: None,
            failures: None,
            current: None,
            change: Some(Change {
                cost_percent: -38.0,
                duration_percent: 10.0,
                p99_duration_percent: 4.0,
                monthly_cost_delta: None,
                significant: true,
            }),
            latency_target: Some(LatencyTargetResult {
                percentile: 99,
                max_duration: 100.0,
                met: false,
            }),
            monthly_cost: None,
            targets: None,
            confidence: Some(Confidence {
                level: 0.95,
                verdict: VerdictKind::Tie,
                tied_with: vec![Tied::Power(1024)],
                p_value: Some(0.31),
                invocations_for_clear: Some(63),
            }),
            optimization: None,
            traffic: None,
        }
    }

    fn outcome(status: &str, output: Option<&Analysis>) -> Outcome {
        Outcome {
            arn: "arn:exec".into(),
            status: status.into(),
            output: output.map(|a| serde_json::to_string(a).expect("json")),
            error: Some("TargetFailed".into()).filter(|_| status != "SUCCEEDED"),
            cause: None,
            progress: Progress::default(),
        }
    }

    fn flags(
        max_cost: Option<f64>,
        max_regression: Option<f64>,
        expect: Option<Vec<u32>>,
    ) -> GateFlags {
        GateFlags {
            max_cost,
            expect_power: expect,
            max_regression,
            require_target: false,
            require_clear: false,
            result_file: None,
        }
    }

    #[test]
    fn gates_decide_the_exit_code() {
        let a = analysis();
        let ok = outcome("SUCCEEDED", Some(&a));
        let all = flags(Some(1e-6), Some(4.0), Some(vec![256, 512]));
        assert_eq!(finish(&ok, true, "cost", &all).expect("ok"), Exit::Success);
        let require = GateFlags {
            require_target: true,
            ..flags(None, None, None)
        };
        // The verdict is a tie: --require-clear fails.
        let clear = GateFlags {
            require_clear: true,
            ..flags(None, None, None)
        };
        for violated in [
            flags(Some(5e-7), None, None),
            flags(None, Some(3.99), None),
            flags(None, None, Some(vec![1024])),
            require,
            clear.clone(),
        ] {
            assert_eq!(
                finish(&ok, true, "cost", &violated).expect("gate"),
                Exit::Gate
            );
        }
        let mut sure = analysis();
        if let Some(c) = sure.confidence.as_mut() {
            c.verdict = VerdictKind::Clear;
            c.tied_with.clear();
        }
        assert_eq!(
            finish(&outcome("SUCCEEDED", Some(&sure)), true, "cost", &clear).expect("clear"),
            Exit::Success
        );
        assert_eq!(
            finish(
                &outcome("FAILED", None),
                true,
                "cost",
                &flags(Some(1.0), None, None)
            )
            .expect("failed"),
            Exit::Failed
        );
        let verdicts = flags(Some(5e-7), Some(10.0), Some(vec![512])).evaluate(Some(&a));
        assert_eq!(
            verdicts
                .iter()
                .map(|g| (g.name, g.passed))
                .collect::<Vec<_>>(),
            vec![
                ("maxCost", false),
                ("expectPower", true),
                ("maxRegression", true)
            ]
        );
        // Without a current setting, a regression gate cannot pass.
        let no_current = Analysis {
            change: None,
            ..analysis()
        };
        assert!(!flags(None, Some(100.0), None).evaluate(Some(&no_current))[0].passed);
        // A dry run (no analysis) passes no gate.
        assert!(
            flags(Some(1.0), None, None)
                .evaluate(None)
                .iter()
                .all(|g| !g.passed)
        );
    }

    #[test]
    fn result_file_is_machine_readable() {
        let path = std::env::temp_dir().join(format!("pt-result-{}.json", std::process::id()));
        let a = analysis();
        let gates = GateFlags {
            result_file: Some(path.clone()),
            require_target: true,
            ..flags(None, None, None)
        };
        assert_eq!(
            finish(&outcome("SUCCEEDED", Some(&a)), true, "cost", &gates).expect("gate"),
            Exit::Gate
        );
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("json");
        assert_eq!(summary["passed"], false);
        assert_eq!(summary["status"], "SUCCEEDED");
        assert_eq!(summary["output"]["power"], 512);
        assert_eq!(
            summary["gates"][0],
            json!({"name": "requireTarget", "limit": true, "actual": false, "passed": false})
        );
        let _ = std::fs::remove_file(path);
    }
}

//! `power-tuning run`: start a tuning execution on AWS (or any Step Functions endpoint), follow
//! it, print the result, and gate release pipelines on it.

use crate::input::{InputFlags, input_object, read_json};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use power_tuning_core::input::TuningInput;
use serde::Serialize;
use serde_json::{Value, json};

use crate::execution::{self, Outcome, Progress};

/// Exit code when a gate (`--max-cost`, `--max-duration`, `--expect-power`) is violated.
pub const EXIT_GATE: u8 = 3;

/// Arguments of `power-tuning run`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  power-tuning run --stack power-tuning --input input.json\n  power-tuning run --state-machine-arn $ARN --function $FN_ARN --num 50 --strategy balanced --json > result.json\n  power-tuning run --stack power-tuning --input input.json --auto-optimize --alias live --max-cost 2e-6 --max-duration 300\n\nExit codes: 0 success, 1 failed execution or error, 3 a gate was violated."
)]
pub struct RunArgs {
    /// Execution input (JSON, the original's format). Flags below override its keys.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// The power-tuning state machine.
    #[arg(long, required_unless_present = "stack", conflicts_with = "stack")]
    pub state_machine_arn: Option<String>,
    /// A deployed stack whose `StateMachineARN` output is the state machine.
    #[arg(long)]
    pub stack: Option<String>,
    /// `lambdaARN`: the function to tune.
    #[arg(long)]
    pub function: Option<String>,
    /// `powerValues`, `num`, `strategy`.
    #[command(flatten)]
    pub flags: InputFlags,
    /// `payload` (JSON text; a plain string is sent as a JSON string).
    #[arg(long)]
    pub payload: Option<String>,
    /// `autoOptimize`: apply the optimum when the run succeeds.
    #[arg(long)]
    pub auto_optimize: bool,
    /// `autoOptimizeAlias` (implies --auto-optimize).
    #[arg(long)]
    pub alias: Option<String>,
    /// `parallelInvocation`.
    #[arg(long)]
    pub parallel: bool,
    /// Execution name (default: power-tuning-<time>-<random>).
    #[arg(long)]
    pub name: Option<String>,
    /// Print exactly the execution output (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Start the execution, print its ARN and exit.
    #[arg(long)]
    pub no_wait: bool,
    /// Gate: fail (exit 3) when the chosen size's cost per invocation exceeds this ($).
    #[arg(long)]
    pub max_cost: Option<f64>,
    /// Gate: fail (exit 3) when the chosen size's average duration exceeds this (ms).
    #[arg(long)]
    pub max_duration: Option<f64>,
    /// Gate: fail (exit 3) unless the chosen size is one of these (MB).
    #[arg(long, value_delimiter = ',')]
    pub expect_power: Option<Vec<u32>>,
    /// Write a machine-readable summary (status, output, gates) here.
    #[arg(long)]
    pub result_file: Option<PathBuf>,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub wait_timeout: u64,
}

/// A gate's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gate {
    /// `maxCost`, `maxDuration`, `expectPower`.
    pub name: &'static str,
    /// The limit.
    pub limit: Value,
    /// The measured value.
    pub actual: Value,
    /// Whether it holds.
    pub passed: bool,
}

/// Evaluates the gates on an execution output (a `null` output, a dry run, passes nothing).
pub fn gates(
    output: &Value,
    max_cost: Option<f64>,
    max_duration: Option<f64>,
    expect_power: Option<&[u32]>,
) -> Vec<Gate> {
    let mut out = Vec::new();
    if let Some(limit) = max_cost {
        let actual = output["cost"].as_f64();
        out.push(Gate {
            name: "maxCost",
            limit: json!(limit),
            actual: json!(actual),
            passed: actual.is_some_and(|c| c <= limit),
        });
    }
    if let Some(limit) = max_duration {
        let actual = output["duration"].as_f64();
        out.push(Gate {
            name: "maxDuration",
            limit: json!(limit),
            actual: json!(actual),
            passed: actual.is_some_and(|d| d <= limit),
        });
    }
    if let Some(expected) = expect_power {
        let actual = output["power"].as_u64();
        out.push(Gate {
            name: "expectPower",
            limit: json!(expected),
            actual: json!(actual),
            passed: actual.is_some_and(|p| expected.contains(&(p as u32))),
        });
    }
    out
}

/// The input: the file (or `{}`) with the flags applied.
pub fn build_input(file: Option<Value>, args: &RunArgs) -> Result<Value, String> {
    let mut object = input_object(file)?;
    args.flags.apply(&mut object);
    let mut set = |k: &str, v: Value| {
        object.insert(k.to_string(), v);
    };
    if let Some(f) = &args.function {
        set("lambdaARN", json!(f));
    }
    if let Some(p) = &args.payload {
        set(
            "payload",
            serde_json::from_str(p).unwrap_or_else(|_| json!(p)),
        );
    }
    if args.auto_optimize || args.alias.is_some() {
        set("autoOptimize", json!(true));
    }
    if let Some(a) = &args.alias {
        set("autoOptimizeAlias", json!(a));
    }
    if args.parallel {
        set("parallelInvocation", json!(true));
    }
    Ok(Value::Object(object))
}

/// The machine-readable summary.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary<'a> {
    /// Execution ARN.
    pub execution_arn: &'a str,
    /// Final status.
    pub status: &'a str,
    /// The output.
    pub output: Option<&'a Value>,
    /// Error name.
    pub error: Option<&'a str>,
    /// Cause.
    pub cause: Option<&'a str>,
    /// Gate verdicts.
    pub gates: &'a [Gate],
    /// Succeeded and every gate passed.
    pub passed: bool,
}

/// Reports an outcome; returns the exit code (0, 1 failed, 3 gate violated).
pub fn finish(outcome: &Outcome, args: &RunArgs, strategy: &str) -> Result<u8, String> {
    let output = outcome.output.clone().unwrap_or(Value::Null);
    let verdicts = if outcome.succeeded() {
        gates(
            &output,
            args.max_cost,
            args.max_duration,
            args.expect_power.as_deref(),
        )
    } else {
        Vec::new()
    };
    let passed = outcome.succeeded() && verdicts.iter().all(|g| g.passed);
    if let Some(path) = &args.result_file {
        let summary = Summary {
            execution_arn: &outcome.arn,
            status: &outcome.status,
            output: outcome.output.as_ref(),
            error: outcome.error.as_deref(),
            cause: outcome.cause.as_deref(),
            gates: &verdicts,
            passed,
        };
        let text = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if !outcome.succeeded() {
        eprintln!(
            "Execution {}: {}: {}",
            outcome.status,
            outcome.error.as_deref().unwrap_or("unknown error"),
            outcome.cause.as_deref().unwrap_or("")
        );
        eprintln!("  {}", outcome.arn);
        return Ok(crate::EXIT_ERROR);
    }
    if args.json {
        println!("{output}");
    } else {
        print!(
            "{}",
            crate::table::summary(&output, outcome.progress.stats.as_deref(), strategy)
        );
    }
    for gate in &verdicts {
        let verdict = if gate.passed { "ok" } else { "VIOLATED" };
        eprintln!(
            "gate {}: {verdict} (limit {}, actual {})",
            gate.name, gate.limit, gate.actual
        );
    }
    Ok(if verdicts.iter().all(|g| g.passed) {
        0
    } else {
        EXIT_GATE
    })
}

/// The state machine ARN of a stack (its `StateMachineARN` output).
pub async fn stack_state_machine(
    client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<String, String> {
    let out = client
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot describe stack {stack}: {}",
                power_tuning_aws::errors::display_chain(&e)
            )
        })?;
    out.stacks()
        .first()
        .and_then(|s| {
            s.outputs()
                .iter()
                .find(|o| o.output_key() == Some("StateMachineARN"))
        })
        .and_then(|o| o.output_value())
        .map(str::to_string)
        .ok_or_else(|| format!("stack {stack} has no StateMachineARN output"))
}

/// Starts and follows an execution with progress on stderr.
pub async fn execute(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    input: &Value,
    name: Option<String>,
    quiet: bool,
    timeout: Duration,
) -> Result<Outcome, String> {
    let arn = execution::start(sfn, state_machine_arn, input, name)
        .await
        .map_err(|e| e.to_string())?;
    if !quiet {
        eprintln!("Started {arn}");
    }
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let on_progress = |p: &Progress| match &bar {
        Some(bar) => bar.set_message(p.describe()),
        None if !quiet => eprintln!("  {}", p.describe()),
        None => {}
    };
    let result = tokio::select! {
        outcome = execution::wait(sfn, &arn, Duration::from_secs(2), timeout, on_progress) => outcome.map_err(|e| e.to_string()),
        _ = crate::emulator::interrupted() => Err(format!("interrupted; the execution goes on: {arn}")),
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    result
}

/// Runs `power-tuning run`.
pub async fn run(args: RunArgs, config: &aws_config::SdkConfig) -> Result<u8, String> {
    let file = args.input.as_deref().map(read_json).transpose()?;
    let input = build_input(file, &args)?;
    // The same validation the Initializer does: bad input never starts an execution.
    TuningInput::from_state(&input, &power_tuning_core::settings::DEFAULT_POWER_VALUES)
        .map_err(|e| format!("invalid input: {e}"))?;
    let state_machine_arn = match (&args.state_machine_arn, &args.stack) {
        (Some(arn), _) => arn.clone(),
        (None, Some(stack)) => {
            stack_state_machine(&aws_sdk_cloudformation::Client::new(config), stack).await?
        }
        (None, None) => return Err("--state-machine-arn or --stack is required".into()),
    };
    let sfn = aws_sdk_sfn::Client::new(config);
    if args.no_wait {
        let arn = execution::start(&sfn, &state_machine_arn, &input, args.name.clone())
            .await
            .map_err(|e| e.to_string())?;
        println!("{arn}");
        return Ok(0);
    }
    let strategy = input["strategy"].as_str().unwrap_or("cost").to_string();
    let outcome = execute(
        &sfn,
        &state_machine_arn,
        &input,
        args.name.clone(),
        args.json,
        Duration::from_secs(args.wait_timeout),
    )
    .await?;
    finish(&outcome, &args, &strategy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["power-tuning", "run", "--state-machine-arn", "arn:sm"];
        argv.extend_from_slice(extra);
        match crate::Cli::parse_from(argv).command {
            crate::Command::Run(args) => args,
            other => panic!("{other:?}"),
        }
    }

    fn outcome(status: &str, output: Option<Value>) -> Outcome {
        Outcome {
            arn: "arn:exec".into(),
            status: status.into(),
            output,
            error: Some("TargetFailed".into()).filter(|_| status != "SUCCEEDED"),
            cause: None,
            progress: Progress::default(),
        }
    }

    #[test]
    fn gates_decide_the_exit_code() {
        let output = json!({"power": 512, "cost": 6.72e-7, "duration": 80.0, "stateMachine": {}});
        let ok = outcome("SUCCEEDED", Some(output.clone()));
        assert_eq!(
            finish(
                &ok,
                &args(&[
                    "--json",
                    "--max-cost",
                    "1e-6",
                    "--max-duration",
                    "100",
                    "--expect-power",
                    "256,512"
                ]),
                "cost"
            ),
            Ok(0)
        );
        assert_eq!(
            finish(&ok, &args(&["--json", "--max-cost", "5e-7"]), "cost"),
            Ok(EXIT_GATE)
        );
        assert_eq!(
            finish(&ok, &args(&["--json", "--max-duration", "79.9"]), "cost"),
            Ok(EXIT_GATE)
        );
        assert_eq!(
            finish(&ok, &args(&["--json", "--expect-power", "1024"]), "cost"),
            Ok(EXIT_GATE)
        );
        assert_eq!(
            finish(
                &outcome("FAILED", None),
                &args(&["--max-cost", "1"]),
                "cost"
            ),
            Ok(crate::EXIT_ERROR)
        );
        let verdicts = gates(&output, Some(5e-7), Some(100.0), Some(&[512]));
        assert_eq!(
            verdicts
                .iter()
                .map(|g| (g.name, g.passed))
                .collect::<Vec<_>>(),
            vec![
                ("maxCost", false),
                ("maxDuration", true),
                ("expectPower", true)
            ]
        );
        // A dry run (null output) passes no gate.
        assert!(
            gates(&Value::Null, Some(1.0), None, None)
                .iter()
                .all(|g| !g.passed)
        );
    }

    #[test]
    fn result_file_is_machine_readable() {
        let path = std::env::temp_dir().join(format!("pt-result-{}.json", std::process::id()));
        let ok = outcome(
            "SUCCEEDED",
            Some(json!({"power": 512, "cost": 6.72e-7, "duration": 80.0})),
        );
        let code = finish(
            &ok,
            &args(&[
                "--json",
                "--max-duration",
                "50",
                "--result-file",
                path.to_str().expect("utf-8"),
            ]),
            "cost",
        );
        assert_eq!(code, Ok(EXIT_GATE));
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("json");
        assert_eq!(summary["passed"], false);
        assert_eq!(summary["status"], "SUCCEEDED");
        assert_eq!(
            summary["gates"][0],
            json!({"name": "maxDuration", "limit": 50.0, "actual": 80.0, "passed": false})
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn flags_override_the_input() {
        let a = args(&[
            "--function",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "--power-values",
            "128,256",
            "--num",
            "20",
            "--strategy",
            "speed",
            "--payload",
            "{\"a\":1}",
            "--alias",
            "live",
            "--parallel",
        ]);
        let input = build_input(Some(json!({"num": 5, "payload": "x", "dryRun": false})), &a)
            .expect("input");
        assert_eq!(
            input,
            json!({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f", "powerValues": [128, 256], "num": 20, "strategy": "speed", "payload": {"a": 1}, "autoOptimize": true, "autoOptimizeAlias": "live", "parallelInvocation": true, "dryRun": false})
        );
        let plain = build_input(None, &args(&["--payload", "hello"])).expect("input");
        assert_eq!(plain["payload"], "hello");
        assert!(build_input(Some(json!([1])), &args(&[])).is_err());
    }
}

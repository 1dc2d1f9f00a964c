//! `power-tuning run`: start a tuning execution on AWS (or any Step Functions endpoint), follow
//! it, print the result, and gate release pipelines on it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use power_tuning_core::input::InputOverrides;
use serde_json::Value;

use crate::error::{CliError, Exit};
use crate::execution::{self, Outcome};
use crate::gates::{self, GateFlags};
use crate::history::{self, HistoryFlags};
use crate::input::{InputFlags, input_object, read_json, validate};
use crate::output::ProgressDisplay;

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
    /// `lambdaARN`: the function to tune. Repeat it to compare several functions in one run
    /// (the others become `compareWith`).
    #[arg(long = "function", value_name = "ARN")]
    pub functions: Vec<String>,
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
    /// `assumeRoleARN`: tune functions of another account through this role (in their account).
    #[arg(long, value_name = "ROLE_ARN")]
    pub assume_role: Option<String>,
    /// Execution name (default: power-tuning-<time>-<random>).
    #[arg(long)]
    pub name: Option<String>,
    /// Print exactly the execution output (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Start the execution, print its ARN and exit.
    #[arg(long)]
    pub no_wait: bool,
    /// Pipeline gates and `--result-file`.
    #[command(flatten)]
    pub gates: GateFlags,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub wait_timeout: u64,
    /// monthlyInvocations and coldStartRatio from the function's CloudWatch history.
    #[command(flatten)]
    pub history: HistoryFlags,
}

impl RunArgs {
    /// The input: the file (or `{}`) with the flags applied.
    pub fn input(&self, file: Option<Value>) -> Result<Value, CliError> {
        let mut object = input_object(file)?;
        InputOverrides {
            lambda_arn: self.functions.first().cloned(),
            compare_with: self.functions.get(1..).map(<[String]>::to_vec),
            payload: self
                .payload
                .as_ref()
                .map(|p| serde_json::from_str(p).unwrap_or_else(|_| Value::String(p.clone()))),
            auto_optimize: (self.auto_optimize || self.alias.is_some()).then_some(true),
            auto_optimize_alias: self.alias.clone(),
            parallel_invocation: self.parallel.then_some(true),
            assume_role_arn: self.assume_role.clone(),
            ..self.flags.overrides()
        }
        .apply(&mut object);
        Ok(Value::Object(object))
    }

    /// Runs `power-tuning run`.
    pub async fn run(self, config: &aws_config::SdkConfig) -> Result<Exit, CliError> {
        let file = self.input.as_deref().map(read_json).transpose()?;
        let mut input = self.input(file)?;
        let mut tuning = validate(&input)?;
        let traffic = match self.history.wanted()? {
            None => None,
            Some(options) => {
                let traffic = history::read(config, tuning.lambda_arn.as_str(), &options).await?;
                if let Value::Object(object) = &mut input {
                    for note in history::fill(object, &traffic) {
                        eprintln!("traffic: {note}");
                    }
                }
                tuning = validate(&input)?;
                Some(traffic)
            }
        };
        let state_machine_arn = match (&self.state_machine_arn, &self.stack) {
            (Some(arn), _) => arn.clone(),
            (None, Some(stack)) => {
                stack_state_machine(&aws_sdk_cloudformation::Client::new(config), stack).await?
            }
            (None, None) => {
                return Err(CliError::Invalid(
                    "--state-machine-arn or --stack is required".into(),
                ));
            }
        };
        let sfn = aws_sdk_sfn::Client::new(config);
        if self.no_wait {
            let arn = execution::start(&sfn, &state_machine_arn, &input, self.name.clone()).await?;
            println!("{arn}");
            return Ok(Exit::Success);
        }
        let mut outcome = self.follow(&sfn, &state_machine_arn, &input).await?;
        if let Some(traffic) = &traffic {
            outcome.output = outcome
                .output
                .map(|text| history::with_traffic(&text, traffic));
        }
        gates::finish(&outcome, self.json, tuning.strategy.name(), &self.gates)
    }

    /// Starts and follows an execution with progress on stderr.
    async fn follow(
        &self,
        sfn: &aws_sdk_sfn::Client,
        state_machine_arn: &str,
        input: &Value,
    ) -> Result<Outcome, CliError> {
        let arn = execution::start(sfn, state_machine_arn, input, self.name.clone()).await?;
        let display = ProgressDisplay::new(self.json);
        display.note(&format!("Started {arn}"));
        let timeout = Duration::from_secs(self.wait_timeout);
        let result = tokio::select! {
            outcome = execution::wait(sfn, &arn, Duration::from_secs(2), timeout, |p| display.update(p)) => outcome.map_err(CliError::from),
            _ = crate::signal::interrupted() => Err(CliError::Interrupted(format!("the execution goes on: {arn}"))),
        };
        display.finish();
        result
    }
}

/// The state machine ARN of a stack (its `StateMachineARN` output).
pub async fn stack_state_machine(
    client: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<String, CliError> {
    let out = client
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            CliError::Aws(format!(
                "cannot describe stack {stack}: {}",
                power_tuning_aws::errors::display_chain(&e)
            ))
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
        .ok_or_else(|| CliError::Aws(format!("stack {stack} has no StateMachineARN output")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;
    use serde_json::json;

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["power-tuning", "run", "--state-machine-arn", "arn:sm"];
        argv.extend_from_slice(extra);
        match crate::Cli::parse_from(argv).command {
            crate::Command::Run(args) => args,
            other => panic!("{other:?}"),
        }
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
        let input = a
            .input(Some(json!({"num": 5, "payload": "x", "dryRun": false})))
            .expect("input");
        assert_eq!(
            input,
            json!({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f", "powerValues": [128, 256], "num": 20, "strategy": "speed", "payload": {"a": 1}, "autoOptimize": true, "autoOptimizeAlias": "live", "parallelInvocation": true, "dryRun": false, "includeCurrent": true})
        );
        let plain = args(&["--payload", "hello"]).input(None).expect("input");
        assert_eq!(plain["payload"], "hello");
        let two = args(&[
            "--function",
            "arn:a",
            "--function",
            "arn:b",
            "--function",
            "arn:c",
        ])
        .input(None)
        .expect("input");
        assert_eq!(
            (&two["lambdaARN"], &two["compareWith"]),
            (&json!("arn:a"), &json!(["arn:b", "arn:c"]))
        );
        assert!(args(&[]).input(Some(json!([1]))).is_err());
    }

    #[test]
    fn strategy_names_come_from_core() {
        let err = crate::Cli::try_parse_from([
            "power-tuning",
            "run",
            "--state-machine-arn",
            "a",
            "--strategy",
            "fastest",
        ])
        .expect_err("unknown strategy");
        assert!(
            err.to_string()
                .contains("[possible values: cost, speed, balanced]"),
            "{err}"
        );
    }
}

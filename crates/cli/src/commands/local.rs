//! `power-tuning local`: a whole tuning run on this machine — the emulator with the five
//! handler binaries and the target, moto as the Step Functions engine, the real state machine,
//! the same JSON input as on AWS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use power_tuning_emulator::{FunctionSpec, LogFormat, Options};
use serde_json::{Value, json};

use crate::error::{CliError, Exit};
use crate::gates::{self, GateFlags};
use crate::input::{InputFlags, input_object, read_json, validate};
use crate::local_stack::{EXAMPLES, LocalStack, StackOptions, ensure_built, handlers_dir};
use crate::output::ProgressDisplay;
use crate::statemachine;

/// Arguments of `power-tuning local`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  power-tuning local --function cpu_bound --power-values 128,256,512,1024\n  power-tuning local --function ./target/release/my-bootstrap --input input.json --json"
)]
pub struct LocalArgs {
    /// The function to tune: a bundled example (cpu_bound, io_bound, memory_hungry, failing,
    /// recorder, emulated_work) or the path of any executable speaking the Lambda Runtime API.
    #[arg(long)]
    pub function: String,
    /// Execution input (JSON, as on AWS); `lambdaARN` is filled in for the local function.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// `powerValues`, `num` (10 when neither the flag nor the input says), `strategy`.
    #[command(flatten)]
    pub flags: InputFlags,
    /// Pipeline gates and `--result-file`, as for `run`.
    #[command(flatten)]
    pub gates: GateFlags,
    /// Print exactly the execution output (JSON) and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
    /// The function's memory before tuning (MB).
    #[arg(long, default_value_t = 1024)]
    pub memory: u32,
    /// The function's timeout (s).
    #[arg(long, default_value_t = 30)]
    pub timeout: u32,
    /// The function's log format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Environment of the function (K=V, repeatable).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Emulated update delay (LastUpdateStatus InProgress), ms.
    #[arg(long, default_value_t = 0)]
    pub update_delay_ms: u64,
    /// Emulated control-plane rate limit (requests/s).
    #[arg(long, default_value_t = 15)]
    pub control_plane_rps: u32,
    /// Run functions without cgroup CPU and memory limits.
    #[arg(long)]
    pub no_cgroups: bool,
}

impl LocalArgs {
    /// The input to run: the file (or `{}`), with the flags applied and `lambdaARN` filled in.
    pub fn input(&self, file: Option<Value>, arn: &str) -> Result<Value, CliError> {
        let mut object = input_object(file)?;
        object.insert("lambdaARN".into(), json!(arn));
        self.flags.apply(&mut object);
        object.entry("num").or_insert(json!(10));
        Ok(Value::Object(object))
    }

    /// The target: a bundled example or an executable, with this command's settings.
    fn target(&self, dir: &std::path::Path) -> Result<FunctionSpec, CliError> {
        let example = example_name(&self.function);
        let path = match example {
            Some(name) => dir.join("examples").join(name),
            None => {
                let path = PathBuf::from(&self.function);
                if !path.exists() {
                    return Err(CliError::Invalid(format!(
                        "{} is neither a bundled example ({}) nor an existing file",
                        self.function,
                        EXAMPLES.join(", ")
                    )));
                }
                std::fs::canonicalize(&path).map_err(CliError::read(&path))?
            }
        };
        let name: String = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        let mut target = FunctionSpec::new(if name.is_empty() { "target" } else { &name }, path);
        target.memory = self.memory;
        target.timeout = self.timeout;
        target.log_format = if self.log_format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Text
        };
        for pair in &self.env {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| CliError::Invalid(format!("--env expects K=V, got {pair}")))?;
            target.environment.insert(k.to_string(), v.to_string());
        }
        Ok(target)
    }

    /// Runs `power-tuning local`.
    pub async fn run(self) -> Result<Exit, CliError> {
        let dir = handlers_dir()?;
        ensure_built(&dir, example_name(&self.function)).await?;
        let target = self.target(&dir)?;
        let file = self.input.as_deref().map(read_json).transpose()?;
        let options = StackOptions {
            emulator: Options {
                update_delay: Duration::from_millis(self.update_delay_ms),
                control_plane_rps: self.control_plane_rps,
                use_cgroups: !self.no_cgroups,
                environment: BTreeMap::new(),
                ..Options::default()
            },
            handlers_dir: dir,
            targets: vec![target.clone()],
            timeout: statemachine::DEFAULT_TIMEOUT,
        };
        let display = ProgressDisplay::new(self.json);
        display.note("Starting the Lambda emulator and the local Step Functions engine…");
        let stack = LocalStack::start(options).await?;
        let (input, tuning) = match self
            .input(file, &stack.emulator.arn(&target.name))
            .and_then(|input| validate(&input).map(|tuning| (input, tuning)))
        {
            Ok(checked) => checked,
            Err(e) => {
                stack.shutdown().await;
                return Err(e);
            }
        };
        let result = tokio::select! {
            outcome = stack.run(&input, |p| display.update(p)) => outcome,
            _ = crate::signal::interrupted() => Err(CliError::Interrupted("everything started was stopped".into())),
        };
        display.finish();
        stack.shutdown().await;
        gates::finish(&result?, self.json, tuning.strategy.name(), &self.gates)
    }
}

/// The bundled example `function` names, if it names one (`cpu_bound` or `cpu-bound`).
fn example_name(function: &str) -> Option<&'static str> {
    EXAMPLES
        .iter()
        .copied()
        .find(|e| *e == function || e.replace('_', "-") == function)
}

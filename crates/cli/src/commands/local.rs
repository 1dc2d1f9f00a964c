//! `power-tuning local`: a whole tuning run on this machine — the emulator with the five
//! handler binaries and the target, moto as the Step Functions engine, the real state machine,
//! the same JSON input as on AWS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use power_tuning_emulator::{Architecture, FunctionSpec, LogFormat, LogLevel, Logging, Options};
use serde_json::{Value, json};

use crate::error::{CliError, Exit};
use crate::gates::{self, GateFlags};
use crate::input::{InputFlags, input_object, read_json, validate};
use crate::local_stack::{EXAMPLES, HandlerCode, LocalStack, StackOptions, current_exe, embedded};
use crate::output::ProgressDisplay;
use crate::statemachine;
use power_tuning_core::input::InputOverrides;

/// Arguments of `power-tuning local`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  power-tuning local --function cpu_bound --power-values 128,256,512,1024\n  power-tuning local --function ./target/release/my-bootstrap --input input.json --json\n  power-tuning local --function cpu_bound --function cpu_bound,arch=arm64"
)]
pub struct LocalArgs {
    /// The function to tune: a bundled example (cpu_bound, io_bound, memory_hungry, failing,
    /// recorder, emulated_work, streaming, chatty) or the path of any executable speaking the
    /// Lambda Runtime API, optionally with `,arch=arm64` (the price model), `,memory=MB`,
    /// `,log=json` (Lambda's JSON log format: its system records JSON, the function's own lines
    /// as written) and `,system-log=warn` (JSON only: Lambda then writes no `platform.report`).
    /// Repeat it to compare several targets in one run: the first is `lambdaARN`, the others
    /// `compareWith`.
    #[arg(
        long = "function",
        value_name = "EXAMPLE|PATH[,arch=x86_64|arm64][,memory=MB][,log=text|json][,system-log=debug|info|warn]",
        required = true
    )]
    pub functions: Vec<String>,
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
    /// The functions' log format (a function's `,log=` overrides it).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Environment of the function (K=V, repeatable).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Keep LastUpdateStatus InProgress this long after each update (ms).
    #[arg(long, default_value_t = power_tuning_emulator::DEFAULT_UPDATE_DELAY.as_millis() as u64, value_name = "MS")]
    pub update_delay_ms: u64,
    /// Emulated control-plane rate limit (requests/s).
    #[arg(long, default_value_t = 15)]
    pub control_plane_rps: u32,
    /// Run functions without cgroup CPU and memory limits.
    #[arg(long)]
    pub no_cgroups: bool,
}

/// `num` of a local run whose input does not set it.
const LOCAL_NUM: u32 = 10;

impl LocalArgs {
    /// The input to run: the file (or `{}`), with the flags applied, `lambdaARN` (and
    /// `compareWith`) filled in for the local functions.
    pub fn input(&self, file: Option<Value>, arns: &[String]) -> Result<Value, CliError> {
        let mut object = input_object(file)?;
        InputOverrides {
            lambda_arn: arns.first().cloned(),
            compare_with: arns.get(1..).map(<[String]>::to_vec),
            ..self.flags.overrides()
        }
        .apply(&mut object);
        object
            .entry(power_tuning_core::input::keys::NUM)
            .or_insert(json!(LOCAL_NUM));
        Ok(Value::Object(object))
    }

    /// A target from its `--function` value: a bundled example or an executable, with this
    /// command's settings and the value's options. `taken` are the names already used.
    fn target(
        &self,
        exe: &std::path::Path,
        value: &str,
        taken: &[String],
    ) -> Result<FunctionSpec, CliError> {
        let mut parts = value.split(',');
        let function = parts.next().unwrap_or_default();
        let mut target = function_code(exe, function)?;
        target.memory = self.memory;
        target.timeout = self.timeout;
        target.logging = if self.log_format == "json" {
            Logging::json()
        } else {
            Logging::text()
        };
        apply_options(&mut target, value, parts)?;
        for pair in &self.env {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| CliError::Invalid(format!("--env expects K=V, got {pair}")))?;
            target.environment.insert(k.to_string(), v.to_string());
        }
        target.name = function_name(&target, taken);
        Ok(target)
    }

    /// Runs `power-tuning local`.
    pub async fn run(self) -> Result<Exit, CliError> {
        let exe = current_exe()?;
        let mut targets: Vec<FunctionSpec> = Vec::new();
        for value in &self.functions {
            let taken: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
            targets.push(self.target(&exe, value, &taken)?);
        }
        let file = self.input.as_deref().map(read_json).transpose()?;
        let options = StackOptions {
            emulator: Options {
                update_delay: Duration::from_millis(self.update_delay_ms),
                control_plane_rps: self.control_plane_rps,
                use_cgroups: !self.no_cgroups,
                environment: BTreeMap::new(),
                ..Options::default()
            },
            handlers: HandlerCode::Embedded(exe),
            targets: targets.clone(),
            timeout: statemachine::DEFAULT_TIMEOUT,
        };
        let display = ProgressDisplay::new(self.json);
        display.note("Starting the Lambda emulator and the local Step Functions engine…");
        let stack = LocalStack::start(options).await?;
        let arns: Vec<String> = targets
            .iter()
            .map(|t| stack.emulator.arn(&t.name))
            .collect();
        let (input, tuning) = match self
            .input(file, &arns)
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

/// The function a `--function` value names (its part before the first comma): a bundled
/// example, or an existing executable named after its file.
fn function_code(exe: &std::path::Path, function: &str) -> Result<FunctionSpec, CliError> {
    // A bundled example is served by this very binary: nothing else to build.
    if let Some(name) = example_name(function) {
        return Ok(embedded(name, exe));
    }
    let path = PathBuf::from(function);
    if !path.exists() {
        return Err(CliError::Invalid(format!(
            "{function} is neither a bundled example ({}) nor an existing file",
            EXAMPLES.join(", ")
        )));
    }
    let path = std::fs::canonicalize(&path).map_err(CliError::read(&path))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    Ok(FunctionSpec::new(stem, path))
}

/// Applies a `--function` value's options (`arch=`, `memory=`, `log=`, `system-log=`) to
/// `target`; `value` is the whole value, for the error messages.
fn apply_options<'a>(
    target: &mut FunctionSpec,
    value: &str,
    options: impl Iterator<Item = &'a str>,
) -> Result<(), CliError> {
    let mut system_level = None;
    for option in options {
        let invalid = || {
            CliError::Invalid(format!(
                "--function {value}: unknown option {option} (arch=x86_64|arm64, memory=MB, log=text|json, system-log=debug|info|warn)"
            ))
        };
        match option.split_once('=') {
            Some(("arch", "arm64")) => target.architecture = Architecture::Arm64,
            Some(("arch", "x86_64")) => target.architecture = Architecture::X86_64,
            Some(("memory", mb)) => {
                target.memory = mb
                    .parse()
                    .ok()
                    .filter(|m| (128..=10240).contains(m))
                    .ok_or_else(|| {
                        CliError::Invalid(format!(
                            "--function {value}: memory must be 128..10240 MB"
                        ))
                    })?;
            }
            Some(("log", "json")) => target.logging = Logging::json(),
            Some(("log", "text")) => target.logging = Logging::text(),
            Some(("system-log", level)) => {
                system_level = Some(
                    LogLevel::parse(level)
                        .filter(|l| matches!(l, LogLevel::Debug | LogLevel::Info | LogLevel::Warn))
                        .ok_or_else(invalid)?,
                );
            }
            _ => return Err(invalid()),
        }
    }
    if let Some(level) = system_level {
        // Lambda's rule: log levels need the JSON log format.
        if target.logging.format != LogFormat::Json {
            return Err(CliError::Invalid(format!(
                "--function {value}: system-log needs log=json (Lambda filters system logs by level only in the JSON log format)"
            )));
        }
        target.logging.system_level = level;
    }
    Ok(())
}

/// A function name for a target: its example or file name, `-arm64` for an arm64 build, made
/// unique.
fn function_name(target: &FunctionSpec, taken: &[String]) -> String {
    let stem: String = target
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(50)
        .collect();
    let base = match (stem.is_empty(), target.architecture) {
        (true, _) => "target".to_string(),
        (false, Architecture::Arm64) => format!("{stem}-arm64"),
        (false, Architecture::X86_64) => stem,
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// The bundled example `function` names, if it names one (`cpu_bound` or `cpu-bound`).
fn example_name(function: &str) -> Option<&'static str> {
    EXAMPLES
        .iter()
        .copied()
        .find(|e| *e == function || e.replace('_', "-") == function)
}

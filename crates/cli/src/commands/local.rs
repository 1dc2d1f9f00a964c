//! `power-tuning local`: a whole tuning run on this machine — the emulator (in process) with the
//! five handler binaries and the target, moto as the Step Functions engine, the real state
//! machine definition with the template's substitutions, the same JSON input as on AWS.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use clap::Args;
use power_tuning_emulator::{Emulator, EmulatorError, FunctionSpec, LogFormat, Options};
use serde_json::{Value, json};

use crate::execution::{self, ExecutionError, Outcome, Progress};
use crate::input::{InputFlags, input_object, read_json};
use crate::moto::{MotoError, MotoServer};
use crate::stack::{self, HANDLERS};
use crate::tools::repository_root;

/// The bundled example targets (built as cargo examples of the workspace).
pub const EXAMPLES: [&str; 6] = [
    "cpu_bound",
    "io_bound",
    "memory_hungry",
    "failing",
    "recorder",
    "emulated_work",
];

/// Local-mode failures.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Bad arguments or input.
    #[error("{0}")]
    Usage(String),
    /// Binaries missing or not buildable.
    #[error("{0}")]
    Build(String),
    /// The emulator did not start.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// moto did not start.
    #[error(transparent)]
    Moto(#[from] MotoError),
    /// Step Functions calls failed.
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

/// Everything a local stack needs.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Emulator settings.
    pub emulator: Options,
    /// Where the five handler binaries are.
    pub handlers_dir: PathBuf,
    /// Functions to tune (and processors).
    pub targets: Vec<FunctionSpec>,
    /// `totalExecutionTimeout` (the handlers' timeout too).
    pub timeout: u32,
}

/// Emulator + moto + the state machine.
pub struct LocalStack {
    /// The emulator.
    pub emulator: Emulator,
    moto: MotoServer,
    /// A Step Functions client for moto.
    pub sfn: aws_sdk_sfn::Client,
    /// The state machine.
    pub state_machine_arn: String,
}

/// SDK configuration for a local endpoint: us-east-1 and throwaway credentials.
pub fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "ak", "sk", None, None, "local",
        )))
        .build()
}

/// A Step Functions client for a local endpoint.
pub fn local_sfn_client(endpoint: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::config::Builder::from(&local_sdk_config(endpoint))
        .retry_config(power_tuning_aws::config::retry_config())
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

impl LocalStack {
    /// Starts everything and creates the state machine.
    pub async fn start(options: StackOptions) -> Result<LocalStack, LocalError> {
        let mut functions: Vec<FunctionSpec> = Vec::new();
        for handler in HANDLERS {
            let path = options.handlers_dir.join(handler);
            if !path.exists() {
                return Err(LocalError::Build(format!(
                    "handler binary {} is missing",
                    path.display()
                )));
            }
            let mut spec = FunctionSpec::new(handler, path);
            spec.timeout = if handler == "analyzer" {
                10
            } else {
                options.timeout
            };
            spec.memory = 128;
            functions.push(spec);
        }
        functions.extend(options.targets.iter().cloned());
        let emulator = Emulator::start(options.emulator.clone(), functions).await?;
        let moto = match MotoServer::start(emulator.address().port()).await {
            Ok(moto) => moto,
            Err(e) => {
                emulator.shutdown().await;
                return Err(e.into());
            }
        };
        let sfn = local_sfn_client(moto.endpoint());
        let definition =
            stack::definition(|h| emulator.arn(h), options.timeout).map_err(LocalError::Usage)?;
        let created = sfn
            .create_state_machine()
            .name("power-tuning-local")
            .definition(definition)
            .role_arn("arn:aws:iam::123456789012:role/power-tuning-local")
            .send()
            .await;
        let state_machine_arn = match created {
            Ok(out) => out.state_machine_arn().to_string(),
            Err(e) => {
                moto.stop().await;
                emulator.shutdown().await;
                return Err(ExecutionError::Api {
                    operation: "CreateStateMachine",
                    message: power_tuning_aws::errors::display_chain(&e),
                }
                .into());
            }
        };
        Ok(LocalStack {
            emulator,
            moto,
            sfn,
            state_machine_arn,
        })
    }

    /// The local Step Functions endpoint (for `AWS_ENDPOINT_URL_SFN`).
    pub fn sfn_endpoint(&self) -> &str {
        self.moto.endpoint()
    }

    /// Runs one execution to its end.
    pub async fn run(
        &self,
        input: &Value,
        on_progress: impl FnMut(&Progress),
    ) -> Result<Outcome, LocalError> {
        let arn = execution::start(&self.sfn, &self.state_machine_arn, input, None).await?;
        Ok(execution::wait(
            &self.sfn,
            &arn,
            Duration::from_millis(200),
            Duration::from_secs(3600),
            on_progress,
        )
        .await?)
    }

    /// Stops moto and the emulator (every function process, every cgroup).
    pub async fn shutdown(self) {
        self.moto.stop().await;
        self.emulator.shutdown().await;
    }
}

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

/// The directory of this executable, where the handlers and examples of the same build are.
pub fn profile_dir() -> Result<PathBuf, LocalError> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .ok_or_else(|| LocalError::Build("cannot locate the power-tuning executable".into()))
}

/// Makes sure the handlers (and examples) next to this executable exist, building them in a
/// checkout when they do not.
pub async fn ensure_built(dir: &Path, example: Option<&str>) -> Result<(), LocalError> {
    let mut missing: Vec<PathBuf> = HANDLERS
        .iter()
        .map(|h| dir.join(h))
        .filter(|p| !p.exists())
        .collect();
    if let Some(name) = example {
        let path = dir.join("examples").join(name);
        if !path.exists() {
            missing.push(path);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let Some(root) = repository_root() else {
        return Err(LocalError::Build(format!(
            "missing {}; build them with `cargo build --release --bins --examples`",
            missing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let release = dir.file_name().is_some_and(|n| n == "release");
    let mut command =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(&root).args([
        "build",
        "-p",
        "power-tuning-functions",
        "--bins",
        "--examples",
    ]);
    if release {
        command.arg("--release");
    }
    eprintln!(
        "Building the handlers and example functions (cargo build{} --bins --examples)…",
        if release { " --release" } else { "" }
    );
    let status = command
        .status()
        .await
        .map_err(|e| LocalError::Build(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(LocalError::Build("building the handlers failed".into()));
    }
    Ok(())
}

/// The input to run: the file (or `{}`), with the flags applied and `lambdaARN` filled in.
pub fn build_input(file: Option<&Value>, arn: &str, args: &LocalArgs) -> Result<Value, LocalError> {
    let mut object = input_object(file.cloned()).map_err(LocalError::Usage)?;
    object.insert("lambdaARN".into(), json!(arn));
    args.flags.apply(&mut object);
    object.entry("num").or_insert(json!(10));
    Ok(Value::Object(object))
}

/// Runs `power-tuning local`.
pub async fn run(args: LocalArgs) -> Result<u8, LocalError> {
    let dir = profile_dir()?;
    let example = EXAMPLES
        .iter()
        .copied()
        .find(|e| *e == args.function || e.replace('_', "-") == args.function);
    ensure_built(&dir, example).await?;
    let path = match example {
        Some(name) => dir.join("examples").join(name),
        None => {
            let path = PathBuf::from(&args.function);
            if !path.exists() {
                return Err(LocalError::Usage(format!(
                    "{} is neither a bundled example ({}) nor an existing file",
                    args.function,
                    EXAMPLES.join(", ")
                )));
            }
            std::fs::canonicalize(&path)
                .map_err(|e| LocalError::Usage(format!("{}: {e}", path.display())))?
        }
    };
    let file = args
        .input
        .as_deref()
        .map(read_json)
        .transpose()
        .map_err(LocalError::Usage)?;
    let name: String = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("target")
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
    let mut target = FunctionSpec::new(
        if name.is_empty() {
            "target".to_string()
        } else {
            name.clone()
        },
        path,
    );
    target.memory = args.memory;
    target.timeout = args.timeout;
    target.log_format = if args.log_format == "json" {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    for pair in &args.env {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| LocalError::Usage(format!("--env expects K=V, got {pair}")))?;
        target.environment.insert(k.to_string(), v.to_string());
    }
    let options = StackOptions {
        emulator: Options {
            update_delay: Duration::from_millis(args.update_delay_ms),
            control_plane_rps: args.control_plane_rps,
            use_cgroups: !args.no_cgroups,
            environment: BTreeMap::new(),
            ..Options::default()
        },
        handlers_dir: dir,
        targets: vec![target.clone()],
        timeout: stack::DEFAULT_TIMEOUT,
    };
    if !args.json {
        eprintln!("Starting the Lambda emulator and the local Step Functions engine…");
    }
    let stack = LocalStack::start(options).await?;
    let input = build_input(file.as_ref(), &stack.emulator.arn(&target.name), &args)?;
    let strategy = input["strategy"].as_str().unwrap_or("cost").to_string();

    let bar = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let quiet = args.json;
    let on_progress = |p: &Progress| match &bar {
        Some(bar) => bar.set_message(p.describe()),
        None if !quiet => eprintln!("  {}", p.describe()),
        None => {}
    };
    let result = tokio::select! {
        outcome = stack.run(&input, on_progress) => outcome,
        _ = crate::emulator::interrupted() => Err(LocalError::Interrupted),
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    stack.shutdown().await;
    let outcome = result?;
    print_outcome(&outcome, args.json, &strategy)
}

/// Prints an outcome (table or raw JSON); returns the exit code.
pub fn print_outcome(outcome: &Outcome, json_only: bool, strategy: &str) -> Result<u8, LocalError> {
    if !outcome.succeeded() {
        eprintln!(
            "Execution {}: {}: {}",
            outcome.status,
            outcome.error.as_deref().unwrap_or("unknown error"),
            outcome.cause.as_deref().unwrap_or("")
        );
        return Ok(crate::EXIT_ERROR);
    }
    let output = outcome.output.clone().unwrap_or(Value::Null);
    if json_only {
        println!("{output}");
    } else {
        print!(
            "{}",
            crate::table::summary(&output, outcome.progress.stats.as_deref(), strategy)
        );
    }
    Ok(0)
}

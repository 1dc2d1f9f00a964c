//! The local stack: the emulator (in process) with the five handler binaries and the targets,
//! moto as the Step Functions engine, and the real state machine definition with the template's
//! substitutions. Used by `local`, the tests and the benchmarks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use power_tuning_emulator::{Emulator, FunctionSpec, Options};
use serde_json::Value;

use crate::error::CliError;
use crate::execution::{self, ExecutionError, Outcome, Progress};
use crate::moto::MotoServer;
use crate::statemachine::{self, HANDLERS};
use crate::tools::repository_root;

/// The bundled example targets (built as cargo examples of the workspace).
pub const EXAMPLES: [&str; 7] = [
    "cpu_bound",
    "io_bound",
    "memory_hungry",
    "failing",
    "recorder",
    "emulated_work",
    "streaming",
];

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
    moto: Option<MotoServer>,
    sfn_endpoint: String,
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
    pub async fn start(options: StackOptions) -> Result<LocalStack, CliError> {
        let mut functions: Vec<FunctionSpec> = Vec::new();
        for handler in HANDLERS {
            let path = options.handlers_dir.join(handler);
            if !path.exists() {
                return Err(CliError::Build(format!(
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
            // As the template's Globals: the live-run window of the run markers.
            spec.environment.insert(
                "totalExecutionTimeout".to_string(),
                options.timeout.to_string(),
            );
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
        let definition = statemachine::definition(|h| emulator.arn(h), options.timeout)
            .map_err(CliError::Invalid)?;
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
            sfn_endpoint: moto.endpoint().to_string(),
            moto: Some(moto),
            sfn,
            state_machine_arn,
        })
    }

    /// The local Step Functions endpoint (for `AWS_ENDPOINT_URL_SFN`).
    pub fn sfn_endpoint(&self) -> &str {
        &self.sfn_endpoint
    }

    /// Runs one execution to its end.
    pub async fn run(
        &self,
        input: &Value,
        on_progress: impl FnMut(&Progress),
    ) -> Result<Outcome, CliError> {
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

    /// Stops the Step Functions engine alone, as if the execution were killed: running handler
    /// invocations go on in the emulator, nothing runs after them (tests of leftovers).
    pub async fn stop_engine(&mut self) {
        if let Some(moto) = self.moto.take() {
            moto.stop().await;
        }
    }

    /// Stops moto and the emulator (every function process, every cgroup).
    pub async fn shutdown(mut self) {
        self.stop_engine().await;
        self.emulator.shutdown().await;
    }
}

/// The directory of this executable, where the handlers and examples of the same build are.
pub fn handlers_dir() -> Result<PathBuf, CliError> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .ok_or_else(|| CliError::Build("cannot locate the power-tuning executable".into()))
}

/// Makes sure the handlers (and examples) next to this executable exist, building them in a
/// checkout when they do not.
pub async fn ensure_built(dir: &Path, examples: &[&str]) -> Result<(), CliError> {
    let missing: Vec<PathBuf> = HANDLERS
        .iter()
        .map(|h| dir.join(h))
        .chain(examples.iter().map(|e| dir.join("examples").join(e)))
        .filter(|p| !p.exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let Some(root) = repository_root() else {
        return Err(CliError::Build(format!(
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
        .map_err(|e| CliError::Build(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(CliError::Build("building the handlers failed".into()));
    }
    Ok(())
}

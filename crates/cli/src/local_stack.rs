//! The local stack: the emulator (in process) with the five handler binaries and the targets,
//! moto as the Step Functions engine, and the real state machine definition with the template's
//! substitutions. Used by `local`, the tests and the benchmarks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use power_tuning_aws::config::local_config;
use power_tuning_emulator::{Emulator, FunctionSpec, Options};
use serde_json::Value;

use crate::error::CliError;
use crate::execution::{self, ExecutionError, Outcome, Progress};
use crate::moto::MotoServer;
use crate::statemachine::{self, HANDLERS};

/// The bundled example targets.
pub use power_tuning_examples::NAMES as EXAMPLES;

/// The hidden subcommand that serves a handler or an example from this binary.
pub const SERVE_COMMAND: &str = "__serve";

/// Where the five handlers' code is.
#[derive(Debug, Clone)]
pub enum HandlerCode {
    /// The five binaries (`initializer`, ...) in a directory, as built for Lambda.
    Binaries(PathBuf),
    /// An executable with the handlers built in (`power-tuning __serve NAME`).
    Embedded(PathBuf),
}

impl HandlerCode {
    /// A function running handler `name`.
    fn function(&self, name: &str) -> Result<FunctionSpec, CliError> {
        match self {
            HandlerCode::Binaries(dir) => {
                let path = dir.join(name);
                if !path.exists() {
                    return Err(CliError::Build(format!(
                        "handler binary {} is missing",
                        path.display()
                    )));
                }
                Ok(FunctionSpec::new(name, path))
            }
            HandlerCode::Embedded(exe) => Ok(embedded(name, exe)),
        }
    }
}

/// A function served by `exe`'s hidden subcommand (a handler or a bundled example).
pub fn embedded(name: &str, exe: &Path) -> FunctionSpec {
    let mut spec = FunctionSpec::new(name, exe);
    spec.args = vec![SERVE_COMMAND.to_string(), name.to_string()];
    spec
}

/// The running executable.
pub fn current_exe() -> Result<PathBuf, CliError> {
    std::env::current_exe()
        .map_err(|e| CliError::Build(format!("cannot locate the power-tuning executable: {e}")))
}

/// Everything a local stack needs.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Emulator settings.
    pub emulator: Options,
    /// Where the five handlers' code is.
    pub handlers: HandlerCode,
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

/// A Step Functions client for a local endpoint.
pub fn local_sfn_client(endpoint: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::config::Builder::from(&local_config(endpoint))
        .retry_config(power_tuning_aws::config::retry_config())
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

impl LocalStack {
    /// Starts everything and creates the state machine.
    pub async fn start(options: StackOptions) -> Result<LocalStack, CliError> {
        let mut functions: Vec<FunctionSpec> = Vec::new();
        for handler in HANDLERS {
            let mut spec = options.handlers.function(handler)?;
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

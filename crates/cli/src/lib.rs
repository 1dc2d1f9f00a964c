//! power-tuning-cli: the `power-tuning` command.
//!
//! - `local`: a whole tuning run on this machine (emulator + moto + the real state machine).
//! - `run`: a tuning run on AWS (start, follow, result, pipeline gates).
//! - `report`: tables, projections, comparison link and an HTML report from a result.
//! - `traffic`: a function's invocations, cold starts and bill from its CloudWatch history.
//! - `cleanup`: remove what interrupted runs left on a function.
//! - `emulator`: serve the local Lambda emulator on its own.
//!
//! Layout: [`commands`] holds one module per subcommand; they share [`execution`] (start and
//! follow an execution), [`output`] (progress, tables), [`gates`] (pipeline gates and the end of
//! a run), [`local_stack`] (emulator + moto + state machine), [`report`], [`input`],
//! [`history`] (traffic from CloudWatch) and [`error`] (one error type and the exit codes).
//! Results are read through core's typed models.

pub mod commands;
pub mod error;
pub mod execution;
pub mod format;
pub mod gates;
pub mod history;
pub mod input;
pub mod local_stack;
pub mod logging;
pub mod moto;
pub mod output;
pub mod report;
pub mod seed;
pub mod signal;
pub mod statemachine;
pub mod tools;

use clap::{ArgAction, Parser, Subcommand};

pub use error::{CliError, Exit};

/// Tune AWS Lambda memory sizes: locally on the emulator, or on AWS through Step Functions.
#[derive(Debug, Parser)]
#[command(name = "power-tuning", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// AWS region (default: the standard configuration chain).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS named profile (default: the standard configuration chain; SSO and
    /// credential_process profiles work).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// More log output on stderr: -v info, -vv debug (default: warnings; RUST_LOG also works).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tune a function binary on this machine: no AWS account needed.
    Local(commands::local::LocalArgs),
    /// Start a tuning execution on AWS, follow it, print the result, apply gates.
    Run(commands::run::RunArgs),
    /// Report on a result: table, projections for a traffic, comparison link, HTML.
    Report(commands::report::ReportArgs),
    /// A function's own traffic from CloudWatch: invocations, cold starts, the current bill.
    Traffic(commands::traffic::TrafficArgs),
    /// Remove versions left on a function by interrupted runs (by their run marker).
    Cleanup(commands::cleanup::CleanupArgs),
    /// Serve the local Lambda emulator (Lambda API + Runtime API) until interrupted.
    Emulator(commands::emulator::EmulatorArgs),
    /// Serve a handler or a bundled example under the Lambda Runtime API (how `local` starts
    /// its functions from this binary).
    #[command(name = "__serve", hide = true)]
    Serve(commands::serve::ServeArgs),
}

impl Cli {
    /// Runs the parsed command line.
    pub async fn run(self) -> Result<Exit, CliError> {
        let aws =
            || power_tuning_aws::config::sdk_config_with(self.region.clone(), self.profile.clone());
        match self.command {
            Command::Local(args) => args.run().await,
            Command::Run(args) => args.run(&aws().await).await,
            Command::Report(args) => {
                let config = match args.history.traffic_from_history {
                    true => Some(aws().await),
                    false => None,
                };
                args.run(self.region.as_deref(), config.as_ref()).await
            }
            Command::Traffic(args) => args.run(&aws().await).await,
            Command::Cleanup(args) => args.run(&aws().await).await,
            Command::Emulator(args) => args.run().await,
            // Served before the runtime starts (see `main`); never reached.
            Command::Serve(args) => Err(CliError::Invalid(format!(
                "{} can only be served as the command itself",
                args.name
            ))),
        }
    }
}

//! power-tuning-cli: the `power-tuning` command.
//!
//! - `local`: a whole tuning run on this machine (emulator + moto + the real state machine).
//! - `run`: a tuning run on AWS (start, follow, result, pipeline gates).
//! - `report`: tables, projections, comparison link and an HTML report from a result.
//! - `cleanup`: remove what interrupted runs left on a function.
//! - `emulator`: serve the local Lambda emulator on its own.
//! - `bench`: measure the tuner's own overhead on the emulator (B1–B8).
//!
//! Exit codes: 0 success, 1 error or failed run, 2 usage (clap), 3 gate violated, 130
//! interrupted.

pub mod bench;
pub mod cleanup;
pub mod emulator;
pub mod execution;
pub mod input;
pub mod local;
pub mod moto;
pub mod report;
pub mod run;
pub mod stack;
pub mod table;
pub mod tools;

use clap::{Parser, Subcommand};

/// Generic failure.
pub const EXIT_ERROR: u8 = 1;
/// Interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

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
    /// AWS named profile (default: the standard configuration chain).
    #[arg(long, global = true)]
    pub profile: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tune a function binary on this machine: no AWS account needed.
    Local(local::LocalArgs),
    /// Start a tuning execution on AWS, follow it, print the result, apply gates.
    Run(run::RunArgs),
    /// Report on a result: table, projections for a traffic, comparison link, HTML.
    Report(report::ReportArgs),
    /// Remove versions left on a function by interrupted runs (by their run marker).
    Cleanup(cleanup::CleanupArgs),
    /// Serve the local Lambda emulator (Lambda API + Runtime API) until interrupted.
    Emulator(emulator::EmulatorArgs),
    /// Measure the tuner's own cost and speed on the emulator; write benches/results.{md,json}.
    Bench(bench::BenchArgs),
}

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> u8 {
    let result: Result<u8, Box<dyn std::error::Error>> = match cli.command {
        Command::Local(args) => match local::run(args).await {
            Err(local::LocalError::Interrupted) => {
                eprintln!("interrupted: everything started was stopped");
                return EXIT_INTERRUPTED;
            }
            other => other.map_err(Into::into),
        },
        Command::Run(args) => {
            let config = power_tuning_aws::config::sdk_config_with(cli.region, cli.profile).await;
            run::run(args, &config).await.map_err(Into::into)
        }
        Command::Report(args) => report::run(args).map_err(Into::into),
        Command::Cleanup(args) => {
            let config = power_tuning_aws::config::sdk_config_with(cli.region, cli.profile).await;
            cleanup::run(args, &config).await.map_err(Into::into)
        }
        Command::Emulator(args) => emulator::run(args).await,
        Command::Bench(args) => bench::run(args).await.map_err(Into::into),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_ERROR
        }
    }
}

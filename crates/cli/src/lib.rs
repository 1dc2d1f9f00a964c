//! power-tuning-cli: the `power-tuning` command.
//!
//! - `local`: a whole tuning run on this machine (emulator + moto + the real state machine).
//! - `emulator`: serve the local Lambda emulator on its own.
//!
//! Exit codes: 0 success, 1 error or failed run, 2 usage (clap), 130 interrupted.

pub mod emulator;
pub mod execution;
pub mod local;
pub mod moto;
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
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tune a function binary on this machine: no AWS account needed.
    Local(local::LocalArgs),
    /// Serve the local Lambda emulator (Lambda API + Runtime API) until interrupted.
    Emulator(emulator::EmulatorArgs),
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
        Command::Emulator(args) => emulator::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_ERROR
        }
    }
}

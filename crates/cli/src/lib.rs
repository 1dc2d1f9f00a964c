//! power-tuning-cli: the `power-tuning` command.
//!
//! - `emulator`: serve the local Lambda emulator on its own.
//!
//! Exit codes: 0 success, 1 error (bad arguments, failed run), 2 usage (clap).

pub mod emulator;

use clap::{Parser, Subcommand};

/// Generic failure.
pub const EXIT_ERROR: u8 = 1;

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
    /// Serve the local Lambda emulator (Lambda API + Runtime API) until interrupted.
    Emulator(emulator::EmulatorArgs),
}

/// Runs a parsed command line; returns the exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
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

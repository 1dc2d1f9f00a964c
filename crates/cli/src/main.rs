//! `power-tuning`: see the crate documentation of `power_tuning_cli`.

use std::process::ExitCode;

use clap::Parser as _;
use power_tuning_cli::{Cli, Command, Exit, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A function started by `local`: its own runtime and logging, as a Lambda binary.
    if let Command::Serve(args) = &cli.command {
        return match args.run() {
            Ok(exit) => exit.into(),
            Err(error) => {
                eprintln!("error: {error}");
                error.exit().into()
            }
        };
    }
    logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return Exit::Failed.into();
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("error: {error}");
            error.exit().into()
        }
    }
}

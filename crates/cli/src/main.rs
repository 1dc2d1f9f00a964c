//! `power-tuning`: see the crate documentation of `power_tuning_cli`.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = power_tuning_cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(power_tuning_cli::EXIT_ERROR);
        }
    };
    let code = runtime.block_on(power_tuning_cli::run(cli));
    ExitCode::from(code)
}

//! `power-tuning __serve NAME` (hidden): serves one of the five handlers or a bundled example
//! under the Lambda Runtime API, from this binary. `local` starts its functions this way, so a
//! local run needs nothing but the `power-tuning` executable itself.

use clap::Args;

use crate::error::{CliError, Exit};

/// The hidden subcommand's arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A handler (`initializer`, `executor`, `cleaner`, `analyzer`, `optimizer`) or a bundled
    /// example (`cpu_bound`, ...).
    pub name: String,
}

impl ServeArgs {
    /// Serves the function until the runtime stops it, on a single-threaded runtime as the
    /// Lambda binaries do. Runs before (and instead of) the CLI's logging: the handlers set up
    /// their own.
    pub fn run(&self) -> Result<Exit, CliError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Build(format!("cannot start the async runtime: {e}")))?;
        let name = self.name.as_str();
        let served = runtime.block_on(async {
            match power_tuning_functions::serve_handler(name).await {
                Some(result) => Some(result),
                None => power_tuning_examples::run(name).await,
            }
        });
        match served {
            Some(Ok(())) => Ok(Exit::Success),
            Some(Err(error)) => Err(CliError::Build(format!("{name}: {error}"))),
            None => Err(CliError::Invalid(format!(
                "{name} is neither a handler ({}) nor a bundled example ({})",
                power_tuning_functions::HANDLERS.join(", "),
                power_tuning_examples::NAMES.join(", ")
            ))),
        }
    }
}

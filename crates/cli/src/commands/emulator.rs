//! `power-tuning emulator`: the local Lambda as a tool of its own.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use power_tuning_emulator::{Emulator, FunctionSpec, Options};

use crate::error::{CliError, Exit};

/// Arguments of `power-tuning emulator`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  power-tuning emulator --listen 127.0.0.1:9001 \\\n    --function hello=./target/release/examples/cpu_bound,memory=512,timeout=10\n  AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:9001 aws lambda invoke --function-name hello out.json"
)]
pub struct EmulatorArgs {
    /// Address of the Lambda API.
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,
    /// A function: NAME=PATH[,memory=MB][,timeout=S][,arch=x86_64|arm64][,log-format=text|json][,system-log-level=debug|info|warn][,env=K=V][,description=TEXT].
    /// PATH is any executable speaking the Lambda Runtime API. Repeatable.
    #[arg(long = "function", value_name = "SPEC", value_parser = FunctionSpec::parse)]
    pub functions: Vec<FunctionSpec>,
    /// Keep LastUpdateStatus InProgress this long after each update (ms).
    #[arg(long, default_value_t = power_tuning_emulator::DEFAULT_UPDATE_DELAY.as_millis() as u64, value_name = "MS")]
    pub update_delay_ms: u64,
    /// Control-plane requests per second before TooManyRequestsException (0 = unlimited).
    #[arg(long, default_value_t = 15)]
    pub control_plane_rps: u32,
    /// The account's concurrency limit (GetAccountSettings): invocations past it, or past a
    /// function's reserved concurrency, are throttled (0 = unlimited).
    #[arg(long, default_value_t = 1000)]
    pub concurrency: u32,
    /// Region reported in ARNs and to functions.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Do not apply CPU and memory limits with cgroups.
    #[arg(long)]
    pub no_cgroups: bool,
}

impl EmulatorArgs {
    /// Emulator options from the arguments.
    pub fn options(&self) -> Options {
        Options {
            listen: self.listen,
            update_delay: Duration::from_millis(self.update_delay_ms),
            control_plane_rps: self.control_plane_rps,
            concurrency: self.concurrency,
            region: self.region.clone(),
            use_cgroups: !self.no_cgroups,
            ..Options::default()
        }
    }

    /// Serves until interrupted, then stops every environment and removes its cgroups.
    pub async fn run(self) -> Result<Exit, CliError> {
        let args = self;
        for spec in &args.functions {
            if !spec.path.exists() {
                return Err(CliError::Invalid(format!(
                    "function {}: {} does not exist",
                    spec.name,
                    spec.path.display()
                )));
            }
        }
        let emulator = Emulator::start(args.options(), args.functions.clone()).await?;
        println!("Lambda emulator listening on {}", emulator.endpoint());
        println!("  export AWS_ENDPOINT_URL_LAMBDA={}", emulator.endpoint());
        match emulator.cgroup_version() {
            Some(v) => println!("  CPU and memory limits: cgroup v{v}"),
            None => println!("  CPU and memory limits: off"),
        }
        for spec in &args.functions {
            println!(
                "  function {} ({} MB, {} s): {}",
                spec.name,
                spec.memory,
                spec.timeout,
                emulator.arn(&spec.name)
            );
        }
        crate::signal::interrupted().await;
        println!("stopping");
        emulator.shutdown().await;
        Ok(Exit::Success)
    }
}

//! `power-tuning traffic`: a function's own invocations, cold starts and bill from CloudWatch
//! (SPEC §15).

use clap::Args;

use crate::error::{CliError, Exit};
use crate::history::{self, HistoryOptions};

/// Arguments of `power-tuning traffic`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  power-tuning traffic my-function\n  power-tuning traffic arn:aws:lambda:eu-west-1:123456789012:function:api --window 14 --json\n\nIAM: lambda:GetFunctionConfiguration, cloudwatch:GetMetricData, logs:StartQuery, logs:GetQueryResults, logs:StopQuery."
)]
pub struct TrafficArgs {
    /// The function: a name or an ARN (its region is used).
    pub function: String,
    /// The windows and the scan cap.
    #[command(flatten)]
    pub options: HistoryOptions,
    /// Print the `traffic` object (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
}

impl TrafficArgs {
    /// Runs `power-tuning traffic`.
    pub async fn run(self, config: &aws_config::SdkConfig) -> Result<Exit, CliError> {
        let traffic = history::read(config, &self.function, &self.options.options()).await?;
        if self.json {
            let text = serde_json::to_string_pretty(&traffic)
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            println!("{text}");
        } else {
            print!("{}", history::text(&self.function, &traffic));
        }
        Ok(Exit::Success)
    }
}

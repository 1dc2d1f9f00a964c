//! `power-tuning cleanup`: remove what interrupted runs left on a function — versions carrying a
//! power-tuning run marker, and the marker on `$LATEST` — never anything else.

use std::time::Duration;

use clap::Args;
use power_tuning_aws::{TokioClock, resilient_lambda};
use power_tuning_core::HandlerError;
use power_tuning_core::arn::{FunctionArn, RoleArn};
use power_tuning_core::handlers::cleaner;
use power_tuning_core::ports::{AssumedRole, Clock as _, LambdaApi as _, NoPayloads};
use power_tuning_core::{Deps, Settings};

use crate::error::{CliError, Exit};

/// Arguments of `power-tuning cleanup`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  power-tuning cleanup --function arn:aws:lambda:us-east-1:123456789012:function:my-fn --dry-run"
)]
pub struct CleanupArgs {
    /// The function (unqualified ARN).
    #[arg(long)]
    pub function: String,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// A role in the function's account to act through (as `run --assume-role`).
    #[arg(long, value_name = "ROLE_ARN")]
    pub assume_role: Option<String>,
}

impl CleanupArgs {
    /// Runs `power-tuning cleanup`.
    pub async fn run(self, config: &aws_config::SdkConfig) -> Result<Exit, CliError> {
        let arn: FunctionArn = self
            .function
            .parse()
            .map_err(|e: power_tuning_core::arn::InvalidArn| CliError::Invalid(e.to_string()))?;
        let deps = Deps {
            lambda: resilient_lambda(config),
            payloads: NoPayloads,
            clock: TokioClock,
            settings: Settings::default(),
        };
        if let Some(role) = &self.assume_role {
            let role_arn = RoleArn::parse(role)
                .ok_or_else(|| CliError::Invalid(format!("Invalid assumeRoleARN: {role}")))?;
            if role_arn.account() != arn.account() {
                return Err(CliError::Invalid(format!(
                    "assumeRoleARN is in account {} but {arn} is in account {}",
                    role_arn.account(),
                    arn.account()
                )));
            }
            let session = AssumedRole {
                role_arn,
                session_name: format!("power-tuning-cleanup-{}", deps.clock.unix_seconds()),
            };
            deps.lambda
                .use_role(Some(&session))
                .await
                .map_err(|e| HandlerError::lambda(format!("Assuming role {role}"), e))?;
        }
        let deadline = deps.clock.now() + Duration::from_secs(600);
        let report = cleaner::clean_leftovers(&deps, &arn, self.dry_run, deadline).await?;
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        if report.found.is_empty() && report.latest_marker.is_none() {
            println!("Nothing left by power-tuning runs on {arn}.");
            return Ok(Exit::Success);
        }
        for (version, run) in &report.found {
            let kept = report.cleanup.kept.contains(version);
            println!(
                "version {version} (run {run}): {}",
                if kept {
                    "kept: an alias points at it"
                } else {
                    verb
                }
            );
        }
        if let Some(run) = &report.latest_marker {
            println!(
                "$LATEST carries the marker of run {run}: {}",
                if self.dry_run {
                    "would restore its memory and description"
                } else {
                    "restored its memory and description"
                }
            );
        }
        Ok(Exit::Success)
    }
}

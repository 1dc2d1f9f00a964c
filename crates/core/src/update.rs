//! Applying a configuration and waiting for it (SPEC §3.1): poll `GetFunctionConfiguration`
//! with a short, growing interval instead of the SDK waiter's ≥ 1 s sleeps.

use std::time::Duration;

use crate::error::HandlerError;
use crate::ports::{Clock, FunctionConfig, LambdaApi, LambdaError, UpdateStatus};

/// First poll delay (≤ 100 ms per SPEC).
pub const FIRST_POLL: Duration = Duration::from_millis(40);
/// Largest poll delay (≤ 1 s per SPEC; small so an update is seen ≤ ~150 ms after it ends).
pub const MAX_POLL: Duration = Duration::from_millis(150);

fn is_ready(config: &FunctionConfig) -> Result<bool, HandlerError> {
    match config.last_update_status {
        Some(UpdateStatus::Failed) => Err(HandlerError::UpdateFailed(format!(
            "Function update failed: {}",
            config
                .last_update_status_reason
                .as_deref()
                .unwrap_or("no reason given")
        ))),
        Some(UpdateStatus::InProgress) => Ok(false),
        _ => Ok(config.state.as_deref() != Some("Pending")),
    }
}

/// Polls `$LATEST` until its last update finished (and it is not `Pending`), bounded by
/// `deadline` (a [`Clock::now`] value).
pub async fn wait_until_ready<L: LambdaApi, C: Clock>(
    lambda: &L,
    clock: &C,
    function: &str,
    deadline: Duration,
) -> Result<FunctionConfig, HandlerError> {
    let mut delay = FIRST_POLL;
    loop {
        let config = lambda
            .get_configuration(function, None)
            .await
            .map_err(|e| HandlerError::lambda(format!("Reading configuration of {function}"), e))?;
        if is_ready(&config)? {
            return Ok(config);
        }
        if clock.now() + delay > deadline {
            return Err(HandlerError::UpdateTimeout(format!(
                "Update of {function} still in progress when the time budget ran out"
            )));
        }
        clock.sleep(delay).await;
        delay = (delay * 3 / 2).min(MAX_POLL);
    }
}

/// Sets `$LATEST`'s memory and description and waits until the update is applied; returns
/// the configuration seen when it was (with its `RevisionId`). With `revision`, the update only
/// applies to `$LATEST` at that revision (a `PreconditionFailed` error otherwise, for the
/// caller to judge). An update refused because another is in progress waits for that one first.
pub async fn apply<L: LambdaApi, C: Clock>(
    lambda: &L,
    clock: &C,
    function: &str,
    memory_size: u32,
    description: &str,
    revision: Option<&str>,
    deadline: Duration,
) -> Result<FunctionConfig, HandlerError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match lambda
            .update_configuration(function, memory_size, description, revision)
            .await
        {
            Ok(config) if config.last_update_status.is_some() && is_ready(&config)? => {
                return Ok(config);
            }
            Ok(_) => return wait_until_ready(lambda, clock, function, deadline).await,
            Err(LambdaError::Conflict(_)) if attempt < ATTEMPTS => {
                wait_until_ready(lambda, clock, function, deadline).await?;
            }
            Err(e) => {
                return Err(HandlerError::lambda(
                    format!("Updating {function} to {memory_size}MB"),
                    e,
                ));
            }
        }
    }
}

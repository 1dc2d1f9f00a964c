//! Applying a configuration and waiting for it (SPEC §3.1): poll `GetFunctionConfiguration`
//! adaptively instead of the SDK waiter's ≥ 1 s sleeps.
//!
//! An update of a run usually takes about as long as the run's previous one, so [`Pacing`]
//! checks first at the latency the previous update took (a little earlier while that latency
//! is still uncertain), then in short, growing steps. With nothing learned yet, checks start at
//! [`FIRST_POLL`] and grow by half each time, up to [`MAX_POLL`].

use std::time::Duration;

use crate::error::HandlerError;
use crate::ports::{Clock, FunctionConfig, LambdaApi, LambdaError, UpdateStatus};

/// The first check of a run's first update (≤ 100 ms per SPEC).
pub const FIRST_POLL: Duration = Duration::from_millis(50);
/// Largest gap between two checks (≤ 1 s per SPEC).
pub const MAX_POLL: Duration = Duration::from_millis(300);
/// The first gap after a check at the learned latency found the update still running.
pub const STEP: Duration = Duration::from_millis(25);

/// When to check on an update, learned from the run's previous updates.
///
/// It keeps the last update's bracket: the last check that found it running (`running`) and the
/// check that found it done (`done`), both measured from when the update call returned. The
/// next update is checked first at `done`, or halfway into the bracket while the bracket is
/// wider than two steps, so a few updates narrow it to within [`STEP`] of the real latency.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pacing {
    running: Duration,
    done: Option<Duration>,
}

impl Pacing {
    /// Nothing learned yet.
    pub fn new() -> Pacing {
        Pacing::default()
    }

    /// Learned elsewhere (a previous handler of the run): updates take about `latency`.
    pub fn learned(latency: Duration) -> Pacing {
        Pacing {
            running: latency,
            done: Some(latency),
        }
    }

    /// [`Pacing::learned`] from an optional millisecond figure (the run state's).
    pub fn from_millis(latency_ms: Option<u64>) -> Pacing {
        latency_ms.map_or_else(Pacing::new, |ms| Pacing::learned(Duration::from_millis(ms)))
    }

    /// The latency of the last update seen done, if any.
    pub fn latency(&self) -> Option<Duration> {
        self.done
    }

    /// When to check first, from the update call's return.
    pub fn first_check(&self) -> Duration {
        match self.done {
            None => FIRST_POLL,
            Some(done) => {
                let width = done.saturating_sub(self.running);
                if width > STEP * 2 {
                    done - width / 2
                } else {
                    done
                }
            }
        }
    }

    /// The gap after the first check found the update still running.
    fn first_step(&self) -> Duration {
        match self.done {
            None => FIRST_POLL * 3 / 2,
            Some(_) => STEP,
        }
    }

    /// Records an update seen done at `done`, last seen running at `running` (if it was).
    fn record(&mut self, running: Option<Duration>, done: Duration) {
        self.running = running.unwrap_or(self.running).min(done);
        self.done = Some(done);
    }
}

/// Whether `config` shows its last update applied (and the function not `Pending`); an update
/// that ended `Failed` is an error with Lambda's reason.
pub fn is_ready(config: &FunctionConfig) -> Result<bool, HandlerError> {
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

/// Whether `config` shows an update in progress (or the function still `Pending`).
pub fn in_progress(config: &FunctionConfig) -> bool {
    config.last_update_status == Some(UpdateStatus::InProgress)
        || config.state.as_deref() == Some("Pending")
}

/// Polls `$LATEST` until its last update finished (and it is not `Pending`), bounded by
/// `deadline` (a [`Clock::now`] value). `since` is when the update call returned; `pacing` says
/// when to check and learns from this update.
pub async fn wait_until_ready<L: LambdaApi, C: Clock>(
    lambda: &L,
    clock: &C,
    function: &str,
    since: Duration,
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<FunctionConfig, HandlerError> {
    let mut check_at = since + pacing.first_check();
    let mut step = pacing.first_step();
    let mut running = None;
    loop {
        let now = clock.now();
        if check_at > now {
            if check_at > deadline {
                return Err(HandlerError::UpdateTimeout(format!(
                    "Update of {function} still in progress when the time budget ran out"
                )));
            }
            clock.sleep(check_at - now).await;
        }
        let checked = clock.now().saturating_sub(since);
        let config = lambda
            .get_configuration(function, None)
            .await
            .map_err(|e| HandlerError::lambda(format!("Reading configuration of {function}"), e))?;
        if is_ready(&config)? {
            pacing.record(running, checked);
            return Ok(config);
        }
        running = Some(checked);
        // Not before the last latency seen (when this check was earlier), then short steps.
        let learned = pacing.done.map_or(Duration::ZERO, |done| since + done);
        check_at = (since + checked + step).max(learned);
        step = (step * 3 / 2).min(MAX_POLL);
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
    (memory_size, description): (u32, &str),
    revision: Option<&str>,
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<FunctionConfig, HandlerError> {
    let (config, since) = start(
        lambda,
        clock,
        function,
        (memory_size, description),
        revision,
        deadline,
    )
    .await?;
    if config.last_update_status.is_some() && is_ready(&config)? {
        pacing.record(None, Duration::ZERO);
        return Ok(config);
    }
    wait_until_ready(lambda, clock, function, since, pacing, deadline).await
}

/// Starts the update of `$LATEST` without waiting for it; returns Lambda's answer and when it
/// came. An update refused because another is in progress waits for that one first.
pub async fn start<L: LambdaApi, C: Clock>(
    lambda: &L,
    clock: &C,
    function: &str,
    (memory_size, description): (u32, &str),
    revision: Option<&str>,
    deadline: Duration,
) -> Result<(FunctionConfig, Duration), HandlerError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match lambda
            .update_configuration(function, memory_size, description, revision)
            .await
        {
            Ok(config) => return Ok((config, clock.now())),
            Err(LambdaError::Conflict(_)) if attempt < ATTEMPTS => {
                // Someone else's update: its latency says nothing about ours.
                let since = clock.now();
                wait_until_ready(lambda, clock, function, since, &mut Pacing::new(), deadline)
                    .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_learned_starts_at_the_first_poll() {
        let p = Pacing::new();
        assert_eq!((p.first_check(), p.first_step()), (FIRST_POLL, ms(75)));
        assert_eq!(p.latency(), None);
    }

    #[test]
    fn a_wide_bracket_is_halved_then_the_latency_is_kept() {
        let mut p = Pacing::new();
        p.record(Some(ms(400)), ms(656));
        assert_eq!(p.first_check(), ms(528));
        // Done at that first check: the bracket is now [400, 528].
        p.record(None, ms(528));
        assert_eq!(p.first_check(), ms(464));
        p.record(Some(ms(464)), ms(528));
        assert_eq!(p.first_check(), ms(496));
        p.record(None, ms(496));
        // Within two steps: check at the latency itself.
        assert_eq!(p.first_check(), ms(496));
        assert_eq!(p.first_step(), STEP);
    }

    #[test]
    fn learned_latency_is_checked_at_once() {
        let p = Pacing::from_millis(Some(480));
        assert_eq!(p.first_check(), ms(480));
        assert_eq!(Pacing::from_millis(None), Pacing::new());
    }
}

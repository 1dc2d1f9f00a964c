//! Applying a configuration and waiting for it (SPEC §3.1): poll `GetFunctionConfiguration`
//! adaptively instead of the SDK waiter's ≥ 1 s sleeps.
//!
//! SPEC §3.1 bounds the schedule: the first check at most 100 ms after the update, no gap
//! between checks longer than 1 s. Within those bounds [`Pacing`] uses what the run has seen:
//! an update usually takes about as long as the run's previous one, so after the early first
//! check it checks next at that latency (a little earlier while the latency is still
//! uncertain), with checks [`LONGEST_GAP`] apart until then, and in short, growing steps after
//! it. With nothing learned yet, checks start at [`FIRST_POLL`] and grow by half each time, up
//! to [`MAX_POLL`].

use std::time::Duration;

use crate::error::HandlerError;
use crate::ports::{Clock, ConfigUpdate, FunctionConfig, LambdaApi, LambdaError, UpdateStatus};

/// The first check of every update (≤ 100 ms per SPEC, with room for the call pacing).
pub const FIRST_POLL: Duration = Duration::from_millis(50);
/// Largest gap between two checks once past the expected latency.
pub const MAX_POLL: Duration = Duration::from_millis(300);
/// Largest gap between two checks while waiting for the expected latency (≤ 1 s per SPEC,
/// with room for the call pacing and the network).
pub const LONGEST_GAP: Duration = Duration::from_millis(800);
/// The first gap after a check at the learned latency found the update still running.
pub const STEP: Duration = Duration::from_millis(25);

/// When to check on an update, learned from the run's previous updates.
///
/// It keeps the last update's bracket: the latest check known to have found it running
/// (`running`) and the check that found it done (`done`), both measured from when the update
/// call returned. The next update is expected at `done`, or halfway into the bracket while the
/// bracket is wider than two steps, so a few updates narrow it to within [`STEP`] of the real
/// latency.
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

    /// When the update is expected done, from the update call's return (nothing learned: the
    /// first check).
    pub fn expected(&self) -> Duration {
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

    /// When to check first, from the update call's return: at the expected latency, but never
    /// later than [`FIRST_POLL`].
    pub fn first_check(&self) -> Duration {
        self.expected().min(FIRST_POLL)
    }

    /// The gap after the check at the expected latency found the update still running.
    fn first_step(&self) -> Duration {
        match self.done {
            None => FIRST_POLL * 3 / 2,
            Some(_) => STEP,
        }
    }

    /// When to check next, after a check at `checked` found the update still running (all
    /// from the update call's return); `step` is the gap past the expected latency, grown by
    /// half (up to [`MAX_POLL`]) once a check past it found the update running.
    fn next_check(&self, checked: Duration, step: &mut Duration) -> Duration {
        let next = (checked + *step)
            .max(self.expected())
            .min(checked + LONGEST_GAP);
        if checked >= self.expected() {
            *step = (*step * 3 / 2).min(MAX_POLL);
        }
        next
    }

    /// Records an update seen done at `done`, last seen running at `running` (if it was): the
    /// bracket's lower end is the latest running check of this update or the last one.
    fn record(&mut self, running: Option<Duration>, done: Duration) {
        let running = running.map_or(self.running, |r| r.max(self.running));
        self.running = running.min(done);
        self.done = Some(done);
    }
}

/// `$LATEST`'s configuration (`GetFunctionConfiguration`).
pub async fn read_latest<L: LambdaApi>(
    lambda: &L,
    function: &str,
) -> Result<FunctionConfig, HandlerError> {
    lambda
        .get_configuration(function, None)
        .await
        .map_err(|e| HandlerError::lambda(format!("Reading configuration of {function}"), e))
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
    matches!(is_ready(config), Ok(false))
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
    // The gap once past the expected latency, growing from there.
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
        let config = read_latest(lambda, function).await?;
        if is_ready(&config)? {
            pacing.record(running, checked);
            return Ok(config);
        }
        running = Some(checked);
        check_at = since + pacing.next_check(checked, &mut step);
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
            .update_configuration(
                function,
                ConfigUpdate {
                    memory_size,
                    description,
                    revision,
                },
            )
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
        assert_eq!(p.expected(), ms(528));
        // Done at that first check: the bracket is now [400, 528].
        p.record(None, ms(528));
        assert_eq!(p.expected(), ms(464));
        p.record(Some(ms(464)), ms(528));
        assert_eq!(p.expected(), ms(496));
        p.record(None, ms(496));
        // Within two steps: check at the latency itself.
        assert_eq!(p.expected(), ms(496));
        assert_eq!(p.first_step(), STEP);
    }

    #[test]
    fn learned_latency_is_expected_after_an_early_first_check() {
        let p = Pacing::from_millis(Some(480));
        assert_eq!((p.expected(), p.first_check()), (ms(480), FIRST_POLL));
        assert_eq!(Pacing::from_millis(None), Pacing::new());
        // Faster than the first poll: checked at the latency itself.
        assert_eq!(Pacing::from_millis(Some(20)).first_check(), ms(20));
    }

    /// The checks of one update, until `done` (from the update call's return), each taken at
    /// once.
    fn schedule(p: &Pacing, done: Duration) -> Vec<Duration> {
        let mut checks = vec![p.first_check()];
        let mut step = p.first_step();
        while checks[checks.len() - 1] < done {
            let last = checks[checks.len() - 1];
            checks.push(p.next_check(last, &mut step));
            assert!(checks.len() < 100, "{checks:?}");
        }
        checks
    }

    #[test]
    fn checks_start_early_and_never_leave_a_second_unchecked() {
        // A learned 4 s update: the early check, gaps of LONGEST_GAP, then the latency itself.
        let p = Pacing::learned(ms(4_000));
        assert_eq!(
            schedule(&p, ms(4_000)),
            [50, 850, 1_650, 2_450, 3_250, 4_000].map(ms)
        );
        // Slower than learned: short growing steps past it.
        assert_eq!(
            schedule(&p, ms(4_080)),
            [
                50_000, 850_000, 1_650_000, 2_450_000, 3_250_000, 4_000_000, 4_025_000, 4_062_500,
                4_118_750
            ]
            .map(Duration::from_micros)
        );
        // Nothing learned: 50 ms, then half as long again each time, up to MAX_POLL.
        let first = schedule(&Pacing::new(), ms(1_500));
        assert_eq!(
            &first[..5],
            &[50_000, 125_000, 237_500, 406_250, 659_375].map(Duration::from_micros)
        );
        for p in [Pacing::new(), p, Pacing::learned(ms(300))] {
            let checks = schedule(&p, ms(9_000));
            assert!(checks[0] <= ms(100), "{checks:?}");
            assert!(
                checks.windows(2).all(|w| w[1] - w[0] <= ms(800)),
                "{checks:?}"
            );
        }
    }

    #[test]
    fn a_longer_update_moves_the_bracket_up() {
        let mut p = Pacing::learned(ms(500));
        // Checked early and at 500 ms, both running; done at 560 ms.
        p.record(Some(ms(537)), ms(560));
        assert_eq!(p.expected(), ms(560));
        // The early check of the next update (running at 50 ms) does not widen the bracket.
        p.record(Some(ms(50)), ms(560));
        assert_eq!(p.expected(), ms(560));
    }
}

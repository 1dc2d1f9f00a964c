//! Retries and pacing around any [`LambdaApi`] (SPEC §7).
//!
//! - Every control-plane call (everything but `Invoke`), retries included, is paced by a
//!   generic cell rate algorithm: one call per [`CONTROL_PLANE_INTERVAL`] on average, up to
//!   [`CONTROL_PLANE_BURST`] calls ahead of that schedule (so a status check, the publish and
//!   the next update go back to back). Any window of `w` seconds then holds at most
//!   `1 + (w + 0.2) / 0.1` calls: 13 in a second as sent, and 15 in a second as seen by Lambda
//!   even with 200 ms of network jitter. A handler invocation starts with no burst credit
//!   ([`Resilient::begin_invocation`]), so the bound also holds across consecutive handlers.
//! - Throttling, transient service errors and transport errors are retried with exponential
//!   backoff and equal jitter; `Invoke` also retries `ResourceConflictException` (a version
//!   still `Pending`). Errors are classified by Lambda's code (SPEC §14): a permanent one (a
//!   disabled KMS key answers 502) fails at once.
//! - An update is sent only when its first status check may follow within
//!   [`UPDATE_FIRST_CHECK`] (SPEC §3.1: first poll ≤ 100 ms), waiting up to
//!   `UPDATE_FIRST_CHECK` itself for the burst credit that takes.
//!
//! It lives here, not in the AWS crate, so the same code runs against the in-memory fake on a
//! virtual clock, where throttling storms and pacing are tested deterministically.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use crate::ports::{
    AccountConcurrency, AliasConfig, AliasTarget, Clock, ConfigUpdate, FunctionConfig,
    InvokeOptions, InvokeOutput, InvokeRequest, LambdaApi, LambdaError, StreamedOutput,
    VersionsPage,
};

/// Average spacing of control-plane calls (10 a second).
pub const CONTROL_PLANE_INTERVAL: Duration = Duration::from_millis(100);
/// Calls allowed ahead of the average spacing.
pub const CONTROL_PLANE_BURST: u32 = 2;

/// Longest wait the pacing may put between an update and its first status check (the
/// status check itself aims earlier, [`crate::update::FIRST_POLL`]).
pub const UPDATE_FIRST_CHECK: Duration = Duration::from_millis(75);

/// How a call is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `Invoke` and the like: not paced.
    DataPlane,
    /// A control-plane call.
    ControlPlane,
    /// A control-plane call (an update) whose next call must be able to follow within the
    /// given time.
    FollowedWithin(Duration),
}

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, first included.
    pub max_attempts: u32,
    /// First backoff ceiling.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 12,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Backoff before retry number `retry` (0-based): half the ceiling plus a random half.
    fn backoff(&self, retry: u32, random: f64) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.cap);
        ceiling.mul_f64(0.5 + 0.5 * random)
    }
}

/// A [`LambdaApi`] with pacing and retries.
pub struct Resilient<L, C> {
    inner: L,
    clock: C,
    policy: RetryPolicy,
    interval: Duration,
    /// How far ahead of the schedule calls may go (burst × interval).
    tolerance: Duration,
    /// The theoretical time of the next call on the average schedule.
    next_slot: Mutex<Duration>,
    rng: Mutex<fastrand::Rng>,
}

impl<L: LambdaApi, C: Clock> Resilient<L, C> {
    /// Wraps `inner`; the first control-plane call waits one interval.
    pub fn new(inner: L, clock: C) -> Self {
        let tolerance = CONTROL_PLANE_INTERVAL * CONTROL_PLANE_BURST;
        let first = clock.now() + tolerance + CONTROL_PLANE_INTERVAL;
        Resilient {
            inner,
            clock,
            policy: RetryPolicy::default(),
            interval: CONTROL_PLANE_INTERVAL,
            tolerance,
            next_slot: Mutex::new(first),
            rng: Mutex::new(fastrand::Rng::with_seed(0x5eed)),
        }
    }

    /// The wrapped API.
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// Call at the start of each handler invocation: no burst credit, and the first call waits
    /// one interval, as if the previous handler had just spent its whole burst (it cannot have
    /// spent more), so the two handlers' calls together keep the bound.
    pub fn begin_invocation(&self) {
        let earliest = self.clock.now() + self.tolerance + self.interval;
        if let Ok(mut slot) = self.next_slot.lock() {
            *slot = (*slot).max(earliest);
        }
    }

    /// Waits until the next control-plane call conforms: not earlier than `tolerance` ahead of
    /// its theoretical time, which then moves one interval on. With `follow_up`, also late
    /// enough that the call after it conforms within `follow_up`.
    async fn pace(&self, follow_up: Option<Duration>) {
        let wait = {
            let now = self.clock.now();
            match self.next_slot.lock() {
                Ok(mut slot) => {
                    let mut at = slot.saturating_sub(self.tolerance).max(now);
                    if let Some(gap) = follow_up {
                        // The next call conforms at max(slot, at) + interval - tolerance.
                        at = at.max((*slot + self.interval).saturating_sub(self.tolerance + gap));
                    }
                    *slot = (*slot).max(at) + self.interval;
                    at - now
                }
                Err(_) => self.interval,
            }
        };
        if !wait.is_zero() {
            self.clock.sleep(wait).await;
        }
    }

    fn random(&self) -> f64 {
        self.rng.lock().map(|mut r| r.f64()).unwrap_or(0.5)
    }

    async fn call<T, F, Fut>(&self, kind: Kind, mut op: F) -> Result<T, LambdaError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LambdaError>>,
    {
        let control_plane = kind != Kind::DataPlane;
        let mut attempt = 0;
        loop {
            match kind {
                Kind::DataPlane => {}
                Kind::ControlPlane => self.pace(None).await,
                Kind::FollowedWithin(gap) => self.pace(Some(gap)).await,
            }
            let error = match op().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let retryable = error.is_transient()
                || (!control_plane && matches!(error, LambdaError::Conflict(_)));
            attempt += 1;
            if !retryable || attempt >= self.policy.max_attempts {
                return Err(error);
            }
            let delay = self.policy.backoff(attempt - 1, self.random());
            tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, %error, "retrying Lambda call");
            self.clock.sleep(delay).await;
        }
    }
}

/// The wrapped API's calls, each paced and retried as its kind says.
macro_rules! paced {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty, $kind:expr;)*) => {
        $(
            async fn $name(&self, $($arg: $ty),*) -> Result<$out, LambdaError> {
                self.call($kind, || self.inner.$name($($arg),*)).await
            }
        )*
    };
}

impl<L: LambdaApi, C: Clock> LambdaApi for Resilient<L, C> {
    paced! {
        get_configuration(function: &str, qualifier: Option<&str>) -> FunctionConfig,
            Kind::ControlPlane;
        update_configuration(function: &str, update: ConfigUpdate<'_>) -> FunctionConfig,
            Kind::FollowedWithin(UPDATE_FIRST_CHECK);
        publish_version(function: &str, revision: Option<&str>) -> FunctionConfig,
            Kind::ControlPlane;
        list_versions(function: &str, marker: Option<&str>) -> VersionsPage, Kind::ControlPlane;
        delete_version(function: &str, version: &str) -> (), Kind::ControlPlane;
        get_alias(function: &str, name: &str) -> AliasConfig, Kind::ControlPlane;
        create_alias(function: &str, alias: AliasTarget<'_>) -> AliasConfig, Kind::ControlPlane;
        update_alias(function: &str, alias: AliasTarget<'_>) -> AliasConfig, Kind::ControlPlane;
        invoke(request: InvokeRequest<'_>, options: InvokeOptions) -> InvokeOutput,
            Kind::DataPlane;
        get_function_concurrency(function: &str) -> Option<u32>, Kind::ControlPlane;
        get_account_concurrency(function: &str) -> AccountConcurrency, Kind::ControlPlane;
        use_role(role: Option<&crate::ports::AssumedRole>) -> (), Kind::DataPlane;
        invoke_streaming(request: InvokeRequest<'_>) -> StreamedOutput, Kind::DataPlane;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls sent as fast as the pacing lets them: when each is made (virtual clock).
    /// `begin_at`: calls that start a new handler invocation; `idle`: (call, time spent idle
    /// before it).
    fn paced_times(count: usize, begin_at: &[usize], idle: &[(usize, u64)]) -> Vec<Duration> {
        paced_updates(count, begin_at, idle, &[])
    }

    /// [`paced_times`] where the calls in `updates` are updates (their next call must be able
    /// to follow within [`UPDATE_FIRST_CHECK`]).
    fn paced_updates(
        count: usize,
        begin_at: &[usize],
        idle: &[(usize, u64)],
        updates: &[usize],
    ) -> Vec<Duration> {
        use crate::fake::{FakeClock, FakeLambda};
        let clock = FakeClock::new();
        let api = Resilient::new(FakeLambda::new(clock.clone()), clock.clone());
        let mut times = Vec::new();
        futures::executor::block_on(async {
            for n in 0..count {
                if let Some((_, ms)) = idle.iter().find(|(at, _)| *at == n) {
                    clock.sleep(Duration::from_millis(*ms)).await;
                }
                if begin_at.contains(&n) {
                    api.begin_invocation();
                }
                let follow_up = updates.contains(&n).then_some(UPDATE_FIRST_CHECK);
                api.pace(follow_up).await;
                times.push(clock.now());
            }
        });
        times
    }

    fn most_in(times: &[Duration], window: Duration) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t <= times[i] + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pacing_starts_without_burst_credit_then_keeps_the_interval() {
        let times = paced_times(40, &[], &[]);
        let expected: Vec<Duration> = (1..=40).map(|k| CONTROL_PLANE_INTERVAL * k).collect();
        assert_eq!(times, expected);
        assert_eq!(most_in(&times, ms(1000)), 11);
    }

    #[test]
    fn an_idle_pause_earns_a_burst_of_three() {
        // After 5 calls, 500 ms idle (a wait for an update): the status check, the publish and
        // the next update go back to back, then one per interval again.
        let times = paced_times(10, &[], &[(5, 500)]);
        assert_eq!(times[4], ms(500));
        assert_eq!(&times[5..8], &[ms(1000), ms(1000), ms(1000)]);
        assert_eq!(times[8], ms(1100));
        assert_eq!(times[9], ms(1200));
    }

    #[test]
    fn every_window_keeps_the_bound_whatever_the_idle_pattern() {
        // Bursts after every idle gap of every length: never more than 13 calls sent in a
        // second, so never more than 15 seen by Lambda in a second with 200 ms of jitter.
        for gap in (0..=400).step_by(50) {
            for every in 1..=6 {
                let idle: Vec<(usize, u64)> = (0..60).step_by(every).map(|n| (n, gap)).collect();
                let times = paced_times(60, &[], &idle);
                assert!(most_in(&times, ms(1000)) <= 13, "gap {gap} every {every}");
                assert!(most_in(&times, ms(1200)) <= 15, "gap {gap} every {every}");
            }
        }
    }

    #[test]
    fn a_new_invocation_gets_no_burst_credit() {
        // Three handler invocations back to back, the first ending in a burst.
        let times = paced_times(60, &[20, 40], &[(17, 400)]);
        assert!(most_in(&times, ms(1200)) <= 15);
        assert_eq!(times[20] - times[19], CONTROL_PLANE_INTERVAL);
        assert_eq!(times[21] - times[20], CONTROL_PLANE_INTERVAL);
    }

    #[test]
    fn an_update_waits_until_its_first_check_can_follow_within_75_ms() {
        // Per size: the early check, 400 ms idle, the check that finds the update done, the
        // publish and the next update back to back, its first check at once.
        let updates: Vec<usize> = (0..60).step_by(4).map(|n| n + 3).collect();
        let idle: Vec<(usize, u64)> = (0..60).step_by(4).map(|n| (n + 1, 400)).collect();
        let times = paced_updates(60, &[], &idle, &updates);
        for &u in &updates[..updates.len() - 1] {
            let gap = times[u + 1] - times[u];
            assert!(
                gap <= UPDATE_FIRST_CHECK,
                "update {u}: first check {gap:?} later"
            );
        }
        // Without the reservation the first check would wait a whole interval.
        let plain = paced_times(60, &[], &idle);
        assert_eq!(plain[8] - plain[7], CONTROL_PLANE_INTERVAL);
        // Delaying calls never breaks the bound.
        assert!(most_in(&times, ms(1000)) <= 13);
        assert!(most_in(&times, ms(1200)) <= 15);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(10, 1.0), Duration::from_secs(5));
        assert_eq!(p.backoff(40, 0.0), Duration::from_millis(2500));
    }
}

//! Retries and pacing around any [`LambdaApi`] (SPEC §7).
//!
//! - Every control-plane call (everything but `Invoke`) is paced: consecutive attempts are at
//!   least [`CONTROL_PLANE_INTERVAL`] apart, retries included, and the first call of a handler
//!   invocation waits one interval too ([`Resilient::begin_invocation`]). A token bucket that
//!   starts full would allow a burst right after the previous handler's last calls; evenly
//!   spaced calls keep any sliding 1-second window, as seen by Lambda, at ≤ 13 calls even
//!   across handlers, so up to 200 ms of network jitter still stays under 15.
//! - Throttling, 5xx and transport errors are retried with exponential backoff and equal
//!   jitter; `Invoke` also retries `ResourceConflictException` (a version still `Pending`).
//!
//! It lives here, not in the AWS crate, so the same code runs against the in-memory fake on a
//! virtual clock, where throttling storms and pacing are tested deterministically.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use crate::ports::{
    AliasConfig, Clock, FunctionConfig, InvokeOutput, LambdaApi, LambdaError, StreamedOutput,
    VersionsPage,
};

/// Minimum spacing of control-plane calls: 80 ms → at most 13 in any 1 s window as sent, and 16
/// calls span 1.2 s, so jitter of up to 200 ms in when Lambda sees them keeps it under 15.
pub const CONTROL_PLANE_INTERVAL: Duration = Duration::from_millis(80);

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
    next_slot: Mutex<Duration>,
    rng: Mutex<fastrand::Rng>,
}

impl<L: LambdaApi, C: Clock> Resilient<L, C> {
    /// Wraps `inner`; the first control-plane call waits one interval.
    pub fn new(inner: L, clock: C) -> Self {
        let first = clock.now() + CONTROL_PLANE_INTERVAL;
        Resilient {
            inner,
            clock,
            policy: RetryPolicy::default(),
            interval: CONTROL_PLANE_INTERVAL,
            next_slot: Mutex::new(first),
            rng: Mutex::new(fastrand::Rng::with_seed(0x5eed)),
        }
    }

    /// Replaces the retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The wrapped API.
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// Call at the start of each handler invocation: the next control-plane call waits at least
    /// one interval from now, so it cannot crowd the previous handler's last calls.
    pub fn begin_invocation(&self) {
        let earliest = self.clock.now() + self.interval;
        if let Ok(mut slot) = self.next_slot.lock() {
            *slot = (*slot).max(earliest);
        }
    }

    async fn pace(&self) {
        let wait = {
            let now = self.clock.now();
            match self.next_slot.lock() {
                Ok(mut slot) => {
                    let at = (*slot).max(now);
                    *slot = at + self.interval;
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

    async fn call<T, F, Fut>(&self, control_plane: bool, mut op: F) -> Result<T, LambdaError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LambdaError>>,
    {
        let mut attempt = 0;
        loop {
            if control_plane {
                self.pace().await;
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

impl<L: LambdaApi, C: Clock> LambdaApi for Resilient<L, C> {
    async fn get_configuration(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        self.call(true, || self.inner.get_configuration(function, qualifier))
            .await
    }

    async fn update_configuration(
        &self,
        function: &str,
        memory_size: u32,
        description: &str,
        revision: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        self.call(true, || {
            self.inner
                .update_configuration(function, memory_size, description, revision)
        })
        .await
    }

    async fn publish_version(
        &self,
        function: &str,
        revision: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        self.call(true, || self.inner.publish_version(function, revision))
            .await
    }

    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<VersionsPage, LambdaError> {
        self.call(true, || self.inner.list_versions(function, marker))
            .await
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<(), LambdaError> {
        self.call(true, || self.inner.delete_version(function, version))
            .await
    }

    async fn get_alias(&self, function: &str, name: &str) -> Result<AliasConfig, LambdaError> {
        self.call(true, || self.inner.get_alias(function, name))
            .await
    }

    async fn create_alias(
        &self,
        function: &str,
        name: &str,
        version: &str,
    ) -> Result<AliasConfig, LambdaError> {
        self.call(true, || self.inner.create_alias(function, name, version))
            .await
    }

    async fn update_alias(
        &self,
        function: &str,
        name: &str,
        version: &str,
    ) -> Result<AliasConfig, LambdaError> {
        self.call(true, || self.inner.update_alias(function, name, version))
            .await
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        tail_logs: bool,
    ) -> Result<InvokeOutput, LambdaError> {
        self.call(false, || {
            self.inner.invoke(function, qualifier, payload, tail_logs)
        })
        .await
    }

    async fn use_role(&self, role: Option<&crate::ports::AssumedRole>) -> Result<(), LambdaError> {
        self.call(false, || self.inner.use_role(role)).await
    }

    async fn invoke_streaming(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
    ) -> Result<StreamedOutput, LambdaError> {
        self.call(false, || {
            self.inner.invoke_streaming(function, qualifier, payload)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

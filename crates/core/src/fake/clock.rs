//! The fake's virtual clock: [`FakeClock`] advances instantly when slept on, so multi-second
//! waits and backoffs cost no real time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::ports::Clock;

/// A virtual monotonic clock: `sleep` advances it and yields once.
#[derive(Debug, Clone, Default)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    /// A clock at t = 0.
    pub fn new() -> Self {
        FakeClock::default()
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

/// Yields to the executor once.
pub struct YieldNow(bool);

/// A future that is pending once, then ready.
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The fake wall clock's origin: 2025-12-02T00:00:00Z.
pub const FAKE_EPOCH_SECONDS: u64 = 1_764_633_600;

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }

    fn unix_seconds(&self) -> u64 {
        FAKE_EPOCH_SECONDS + self.now().as_secs()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.advance(duration);
        yield_now()
    }
}

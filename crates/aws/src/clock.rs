//! [`Clock`] on tokio's timer (so tests can pause time).

use std::sync::OnceLock;
use std::time::Duration;

use power_tuning_core::ports::Clock;

/// Monotonic time and sleeping on tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

fn origin() -> tokio::time::Instant {
    static ORIGIN: OnceLock<tokio::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(tokio::time::Instant::now)
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(origin())
    }

    fn unix_seconds(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

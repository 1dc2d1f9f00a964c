//! The time windows of traffic from history (SPEC §15): whole days ending at the end of the
//! current hour, so that CloudWatch's daily periods (aligned to the hour-aligned start) and the
//! Logs Insights query cover the same span, up to now.

/// Seconds in a day (one metric period).
pub const DAY: i64 = 86_400;
/// Seconds in an hour (GetMetricData: "specify StartTime and EndTime values that align with the
/// value of the metric's Period and sync up with the beginning and end of an hour").
const HOUR: i64 = 3_600;
/// Hours in a month, AWS's pricing convention.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Default `--window` (days): four whole weeks, so weekdays and weekends weigh as in a month.
pub const DEFAULT_WINDOW_DAYS: u32 = 28;
/// Default `--logs-window` (days).
pub const DEFAULT_LOGS_WINDOW_DAYS: u32 = 7;
/// Longest window: GetMetricData keeps 1-hour and longer periods for 455 days.
pub const MAX_WINDOW_DAYS: u32 = 455;

/// `[start, end)` in seconds since the Unix epoch, `days` long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First second.
    pub start: i64,
    /// The second after the last.
    pub end: i64,
    /// Length in days.
    pub days: u32,
}

impl Window {
    /// The `days` days ending at the end of the hour of `now` (seconds since the epoch): now
    /// is in the window, and both ends are on the hour.
    pub fn through(now: i64, days: u32) -> Window {
        let end = now - now.rem_euclid(HOUR) + HOUR;
        Window {
            start: end - i64::from(days) * DAY,
            end,
            days,
        }
    }

    /// The last `days` days of this window (all of it when `days` is longer).
    pub fn last(&self, days: u32) -> Window {
        let days = days.min(self.days);
        Window {
            start: self.end - i64::from(days) * DAY,
            end: self.end,
            days,
        }
    }

    /// Whether a period starting at `timestamp` lies in this window.
    pub fn holds(&self, timestamp: i64) -> bool {
        (self.start..self.end).contains(&timestamp)
    }

    /// `round(count × 730 / (24 × days))`: a count over this window as a month's.
    pub fn per_month(&self, count: f64) -> u64 {
        if self.days == 0 {
            return 0;
        }
        (count * HOURS_PER_MONTH / (24.0 * f64::from(self.days))).round() as u64
    }
}

/// RFC 3339 UTC text of a time in seconds since the epoch (`2026-11-08T12:00:00Z`).
/// Before the epoch reads as the epoch.
pub fn rfc3339(seconds: i64) -> String {
    crate::marker::iso8601(u64::try_from(seconds).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_on_the_hour_and_hold_whole_days() {
        // 2026-12-06T10:17:05Z.
        let now = 1_796_552_225;
        let w = Window::through(now, 28);
        assert_eq!(rfc3339(w.end), "2026-12-06T11:00:00Z");
        assert_eq!(rfc3339(w.start), "2026-11-08T11:00:00Z");
        assert!(w.holds(now));
        assert_eq!(w.end - w.start, 28 * DAY);
        let logs = w.last(7);
        assert_eq!(rfc3339(logs.start), "2026-11-29T11:00:00Z");
        assert_eq!((logs.end, logs.days), (w.end, 7));
        assert_eq!(w.last(90), w, "never longer than the window");
        assert!(w.holds(w.start) && !w.holds(w.end) && !w.holds(w.start - 1));
    }

    #[test]
    fn months_are_730_hours() {
        let w = Window::through(1_796_552_225, 28);
        // 1,000,000 invocations in 28 days: 1e6 × 730 / 672 = 1,086,309.52…
        assert_eq!(w.per_month(1_000_000.0), 1_086_310);
        assert_eq!(w.per_month(0.0), 0);
        let week = w.last(7);
        // 7 days: × 730 / 168.
        assert_eq!(week.per_month(168.0), 730);
        assert_eq!(Window { days: 0, ..w }.per_month(5.0), 0);
    }
}

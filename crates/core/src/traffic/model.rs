//! The `traffic` object of a result (SPEC §15) and how it is assembled from the window's
//! totals, the cold starts and the prices.

use serde::{Deserialize, Serialize};

use super::metrics::MetricTotals;
use super::window::{Window, rfc3339};
use crate::pricing::{Prices, duration_charge};

/// The function's traffic, as read from CloudWatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Traffic {
    /// `cloudwatch`.
    pub source: String,
    /// The function's region.
    pub region: String,
    /// The metrics' window.
    pub window: WindowView,
    /// Σ `Invocations` over the window.
    pub invocations: u64,
    /// `round(invocations × 730 / (24 × days))`.
    pub monthly_invocations: u64,
    /// Σ `Errors`.
    pub errors: u64,
    /// Σ `Throttles`.
    pub throttles: u64,
    /// `Σ Duration Sum / Σ Duration SampleCount` (ms; none without invocations).
    pub average_duration_ms: Option<f64>,
    /// The largest `ConcurrentExecutions` (none without data).
    pub max_concurrency: Option<u64>,
    /// Cold starts from the `REPORT` records, or why they were not read.
    pub cold_starts: ColdStarts,
    /// The current setting's monthly bill.
    pub current_monthly_cost: Bill,
}

/// The metrics' window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    /// First instant (RFC 3339, UTC).
    pub start: String,
    /// The instant after the last (RFC 3339, UTC).
    pub end: String,
    /// Length in days.
    pub days: u32,
    /// Days with at least one invocation (fewer: a function younger than the window, or idle
    /// days).
    pub days_with_data: u32,
}

/// Cold starts, measured or skipped with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColdStarts {
    /// From the `REPORT` records.
    Measured(Measured),
    /// Not read, or not trusted: the ratio is left unset.
    Skipped {
        /// Why.
        skipped: String,
    },
}

impl ColdStarts {
    /// The measured ones.
    pub fn measured(&self) -> Option<&Measured> {
        match self {
            ColdStarts::Measured(m) => Some(m),
            ColdStarts::Skipped { .. } => None,
        }
    }
}

/// Cold starts from the `REPORT` records of the logs window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measured {
    /// The logs window (days).
    pub window_days: u32,
    /// `REPORT` records.
    pub reports: u64,
    /// Of them, cold starts.
    pub cold: u64,
    /// `cold / reports`.
    pub ratio: f64,
    /// Its 95 % Wilson interval.
    pub interval: [f64; 2],
    /// The average Init (or SnapStart Restore) Duration, ms (none without a cold start).
    pub average_init_ms: Option<f64>,
    /// `reports / invocations` over the logs window.
    pub coverage: f64,
    /// Bytes the query scanned.
    pub bytes_scanned: f64,
    /// Σ(billed ms × memory MB / 1024) / 1000 per report (the bill's basis; not written).
    #[serde(skip)]
    pub gb_seconds_per_invocation: f64,
}

/// The current setting's monthly bill (SPEC §8's tiers and request charge).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bill {
    /// Duration charge ($).
    pub duration: f64,
    /// Request charge ($).
    pub requests: f64,
    /// Both ($).
    pub total: f64,
    /// What it was computed from.
    pub basis: BillBasis,
}

/// What a bill was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BillBasis {
    /// The `REPORT` records' billed durations and memory: exact, INIT included.
    Reports,
    /// `Σ Duration + 0.5 ms × invocations` at the current memory: a lower bound without INIT.
    Metrics,
}

/// The prices of the function's region and architecture, and its memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    /// The base price, tiers and request charge.
    pub prices: Prices,
    /// The current memory (MB), for the metrics basis.
    pub memory_mb: u32,
}

impl Pricing {
    /// A month's `gb_seconds` and `invocations` through the tiers and the request charge.
    pub fn bill(&self, gb_seconds: f64, invocations: u64, basis: BillBasis) -> Bill {
        let prices = &self.prices;
        let duration = duration_charge(prices.base_price, prices.architecture, gb_seconds);
        let requests = invocations as f64 * prices.request_price;
        Bill {
            duration,
            requests,
            total: duration + requests,
            basis,
        }
    }
}

impl Traffic {
    /// The `traffic` object from its parts.
    pub fn assemble(
        region: &str,
        window: &Window,
        totals: &MetricTotals,
        cold_starts: ColdStarts,
        pricing: &Pricing,
    ) -> Traffic {
        let monthly_invocations = window.per_month(totals.invocations);
        let current_monthly_cost = match cold_starts.measured() {
            Some(m) => pricing.bill(
                monthly_invocations as f64 * m.gb_seconds_per_invocation,
                monthly_invocations,
                BillBasis::Reports,
            ),
            None => {
                let per_invocation_ms = if totals.invocations > 0.0 {
                    (totals.duration_sum + 0.5 * totals.invocations) / totals.invocations
                } else {
                    0.0
                };
                let gb_seconds = monthly_invocations as f64 * per_invocation_ms / 1000.0
                    * f64::from(pricing.memory_mb)
                    / 1024.0;
                pricing.bill(gb_seconds, monthly_invocations, BillBasis::Metrics)
            }
        };
        Traffic {
            source: "cloudwatch".to_string(),
            region: region.to_string(),
            window: WindowView {
                start: rfc3339(window.start),
                end: rfc3339(window.end),
                days: window.days,
                days_with_data: totals.days_with_data,
            },
            invocations: count(totals.invocations),
            monthly_invocations,
            errors: count(totals.errors),
            throttles: count(totals.throttles),
            average_duration_ms: totals.average_duration_ms(),
            max_concurrency: totals.max_concurrency.map(count),
            cold_starts,
            current_monthly_cost,
        }
    }

    /// The cold-start ratio to put in the input (none unless measured).
    pub fn cold_start_ratio(&self) -> Option<f64> {
        self.cold_starts.measured().map(|m| m.ratio)
    }
}

/// A metric count as a whole number.
fn count(value: f64) -> u64 {
    value.max(0.0).round() as u64
}

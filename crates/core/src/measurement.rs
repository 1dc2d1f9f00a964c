//! The Executor's arithmetic: one memory size's reports → its [`Stat`] (SPEC §3.6, §8, §10).
//!
//! Warm and cold invocations are priced apart (SPEC §8): a cold start's `Billed Duration`
//! already holds its INIT for custom runtimes and container images, and for every on-demand
//! function since 2025-08-01 (AWS Compute Blog, "AWS Lambda standardizes billing for INIT
//! phase"), so an average over invocations that hold cold starts must not add INIT again.

use crate::architecture::Architecture;
use crate::confidence::Sample;
use crate::logs::Report;
use crate::output::Stat;
use crate::pricing;
use crate::stats::{mean, percentile, trimmed_mean};

/// How a size's figures are priced (SPEC §3.6, §8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceModel {
    /// $ per ms at 128 MB for the function's region and architecture.
    pub base_price: f64,
    /// The function's architecture (monthly tiers).
    pub architecture: Architecture,
    /// Fraction trimmed from each end before averaging.
    pub discard: f64,
    /// `coldStartRatio`, when given.
    pub cold_start_ratio: Option<f64>,
    /// `monthlyInvocations`, when given.
    pub monthly_invocations: Option<u64>,
    /// $ per request.
    pub request_price: f64,
}

/// What one streamed invocation measured (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Streamed {
    /// Request sent → first payload chunk (ms); `None` when nothing came.
    pub first_byte_ms: Option<f64>,
    /// Response size (bytes).
    pub bytes: u64,
}

/// The milliseconds billed for a warm invocation and for a cold start (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Billing {
    /// `avg(B_w, d)`: the trimmed mean of the warm invocations' billed durations, or of every
    /// invocation's `ceil(Duration)` when none was warm.
    pub warm_ms: f64,
    /// `mean(B_c)`: over the cold starts, `max(billed, ceil(Duration + Init Duration))` (a
    /// REPORT whose `Billed Duration` leaves INIT out gets it added); `None` without one.
    pub cold_ms: Option<f64>,
}

impl Billing {
    /// The billing of `reports` with `discard` trimmed from each end of the warm ones.
    pub fn of(reports: &[Report], discard: f64) -> Billing {
        let warm: Vec<f64> = reports
            .iter()
            .filter(|r| !r.is_cold())
            .map(Report::total_billed)
            .collect();
        let warm = if warm.is_empty() {
            reports.iter().map(|r| r.duration.ceil()).collect()
        } else {
            warm
        };
        let cold: Vec<f64> = reports
            .iter()
            .filter(|r| r.is_cold())
            .map(|r| r.total_billed().max((r.duration + r.init_duration).ceil()))
            .collect();
        Billing {
            warm_ms: trimmed_mean(&warm, discard),
            cold_ms: (!cold.is_empty()).then(|| mean(cold.iter().copied())),
        }
    }
}

/// Statistics of a size whose invocations all counted as successes. `reports` are in
/// invocation order (the order of the sum in `totalCost`).
pub fn stat(value: u32, reports: &[Report], model: &PriceModel) -> Stat {
    let (base_price, discard) = (model.base_price, model.discard);
    let durations: Vec<f64> = reports.iter().map(Report::total_duration).collect();
    let billed: Vec<f64> = reports.iter().map(Report::total_billed).collect();
    let mut sorted = durations.clone();
    sorted.sort_by(f64::total_cmp);
    let inits: Vec<f64> = reports
        .iter()
        .filter(|r| r.is_cold())
        .map(|r| r.init_duration)
        .collect();
    let average_init = mean(inits.iter().copied());
    let billing = Billing::of(reports, discard);
    let warm_price = pricing::price(base_price, value, billing.warm_ms);
    let cold_price = billing
        .cold_ms
        .map(|ms| pricing::price(base_price, value, ms));
    let expected_price = model.cold_start_ratio.map(|r| match cold_price {
        Some(cold) => (1.0 - r) * warm_price + r * cold,
        None => warm_price,
    });
    let monthly_cost = model.monthly_invocations.map(|invocations| {
        pricing::monthly_cost(
            base_price,
            model.architecture,
            value,
            billing.warm_ms,
            billing.cold_ms,
            &pricing::Month {
                invocations,
                cold_start_ratio: model.cold_start_ratio.unwrap_or(0.0),
                request_price: model.request_price,
            },
        )
        .total()
    });
    Stat {
        value,
        sample: Some(sample(value, reports, base_price)),
        average_price: Some(pricing::price(
            base_price,
            value,
            trimmed_mean(&billed, discard),
        )),
        average_duration: Some(trimmed_mean(&durations, discard)),
        total_cost: Some(pricing::total_cost(base_price, value, &billed)),
        invocations: reports.len() as u32,
        errors: 0,
        min_duration: Some(sorted.first().copied().unwrap_or(0.0)),
        p50_duration: Some(percentile(&sorted, 50.0)),
        p90_duration: Some(percentile(&sorted, 90.0)),
        p95_duration: Some(percentile(&sorted, 95.0)),
        p99_duration: Some(percentile(&sorted, 99.0)),
        max_duration: Some(sorted.last().copied().unwrap_or(0.0)),
        cold_starts: Some(inits.len() as u32),
        average_init_duration: Some(average_init),
        max_memory_used: Some(
            reports
                .iter()
                .map(|r| r.max_memory_used)
                .fold(0.0, f64::max)
                .round() as u64,
        ),
        init_price: Some(if inits.is_empty() {
            0.0
        } else {
            pricing::price(base_price, value, average_init)
        }),
        warm_price: Some(warm_price),
        cold_price,
        expected_price,
        monthly_cost,
        ..Stat::default()
    }
}

/// The per-invocation values of the confidence test (SPEC §13): each successful warm
/// invocation's price (`price(billed_i, memory)`) and `Duration`; all of them when fewer than 2
/// were warm (with `onlyColdStarts`, say).
fn sample(value: u32, reports: &[Report], base_price: f64) -> Sample {
    let warm: Vec<&Report> = reports.iter().filter(|r| !r.is_cold()).collect();
    let basis: Vec<&Report> = if warm.len() >= 2 {
        warm
    } else {
        reports.iter().collect()
    };
    let values: Vec<(f64, f64)> = basis
        .iter()
        .map(|r| {
            (
                pricing::price(base_price, value, r.total_billed()),
                r.duration,
            )
        })
        .collect();
    Sample::of(&values)
}

/// Adds the streaming figures (SPEC §10): time to first byte (trimmed mean with `discard`,
/// nearest-rank p50 and p99 over all) and the mean response size. Invocations that streamed
/// nothing have no time to first byte.
pub fn with_streaming(mut stat: Stat, samples: &[Streamed], discard: f64) -> Stat {
    let mut first: Vec<f64> = samples.iter().filter_map(|s| s.first_byte_ms).collect();
    let average = trimmed_mean(&first, discard);
    first.sort_by(f64::total_cmp);
    let bytes: Vec<f64> = samples.iter().map(|s| s.bytes as f64).collect();
    stat.average_time_to_first_byte = Some(average);
    stat.p50_time_to_first_byte = Some(percentile(&first, 50.0));
    stat.p99_time_to_first_byte = Some(percentile(&first, 99.0));
    stat.average_response_bytes = Some(mean(bytes.iter().copied()));
    stat
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(duration: f64, billed_duration: f64, init_duration: f64, memory: f64) -> Report {
        Report {
            duration,
            billed_duration,
            init_duration,
            max_memory_used: memory,
            ..Report::default()
        }
    }

    fn model(cold_start_ratio: Option<f64>, monthly_invocations: Option<u64>) -> PriceModel {
        PriceModel {
            base_price: 2.1e-9,
            architecture: Architecture::X86_64,
            discard: 0.2,
            cold_start_ratio,
            monthly_invocations,
            request_price: 2e-7,
        }
    }

    /// Five invocations; the second is a cold start whose Billed Duration holds its INIT (a
    /// custom runtime): 20.5 + 100 → 121 ms.
    fn five() -> [Report; 5] {
        [
            report(10.0, 11.0, 0.0, 30.0),
            report(20.5, 121.0, 100.0, 31.0),
            report(30.0, 30.0, 0.0, 29.0),
            report(40.0, 40.0, 0.0, 30.0),
            report(50.0, 50.0, 0.0, 30.0),
        ]
    }

    /// 256 MB at 2.1e-9 $/ms per 128 MB.
    fn at_256(ms: f64) -> f64 {
        ms.ceil() * 2.1e-9 * 2.0
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn figures_of_a_size_by_hand() {
        let reports = five();
        let s = stat(256, &reports, &model(None, None));
        // Durations with init: 10, 120.5, 30, 40, 50 → trimmed (k=1): 30, 40, 50.
        assert_eq!(s.average_duration, Some(40.0));
        // Billed of all, trimmed: 30, 40, 50 → 40 (the original's averagePrice).
        assert_eq!(s.average_price, Some(at_256(40.0)));
        assert_eq!(
            s.total_cost,
            Some(pricing::total_cost(
                2.1e-9,
                256,
                &[11.0, 121.0, 30.0, 40.0, 50.0]
            ))
        );
        assert_eq!((s.min_duration, s.max_duration), (Some(10.0), Some(120.5)));
        assert_eq!(
            (
                s.p50_duration,
                s.p90_duration,
                s.p95_duration,
                s.p99_duration
            ),
            (Some(40.0), Some(120.5), Some(120.5), Some(120.5))
        );
        assert_eq!(
            (s.cold_starts, s.average_init_duration, s.max_memory_used),
            (Some(1), Some(100.0), Some(31))
        );
        assert_eq!(s.invocations, 5);
        assert_eq!(s.init_price, Some(at_256(100.0)));
        // Warm: 11, 30, 40, 50 → k = floor(4 × 0.2) = 0 → 131 / 4 = 32.75 → 33 ms.
        assert_eq!(s.warm_price, Some(at_256(33.0)));
        // Cold: max(121, ceil(20.5 + 100) = 121) = 121 ms: INIT counted once.
        assert_eq!(s.cold_price, Some(at_256(121.0)));
        assert_eq!((s.expected_price, s.monthly_cost), (None, None));
        let json = serde_json::to_value(&s).expect("json");
        assert!(json.get("expectedPrice").is_none() && json.get("monthlyCost").is_none());
        assert_eq!(json["warmPrice"], at_256(33.0));
        assert_eq!(json["coldPrice"], at_256(121.0));
        // The confidence sample: the 4 warm invocations (prices 11, 30, 40, 50 ms at 256 MB).
        let sample = s.sample.expect("sample");
        assert_eq!(sample.n, 4);
        assert_eq!(sample.duration_mean, (10.0 + 30.0 + 40.0 + 50.0) / 4.0);
        assert!(close(
            sample.price_mean,
            (at_256(11.0) + at_256(30.0) + at_256(40.0) + at_256(50.0)) / 4.0
        ));
    }

    #[test]
    fn expected_and_monthly_with_a_ratio() {
        let reports = five();
        let s = stat(256, &reports, &model(Some(0.25), Some(10_000_000)));
        let expected = 0.75 * at_256(33.0) + 0.25 * at_256(121.0);
        assert_eq!(s.expected_price, Some(expected));
        // G = 1e7 × (0.75 × 33 + 0.25 × 121) / 1000 × 256 / 1024 = 1e7 × 55 / 4000
        // = 137,500 GB-s at 1.68e-5 $, + 1e7 × 2e-7 $ of requests.
        let monthly = s.monthly_cost.expect("monthly");
        assert!((monthly - (137_500.0 * 1.68e-5 + 2.0)).abs() < 1e-9 * monthly);
    }

    #[test]
    fn a_report_that_leaves_init_out_gets_it_added() {
        // A managed runtime before 2025-08-01: Billed Duration 21 ms for 20.5 ms + 100 ms INIT.
        let reports = [
            report(20.5, 21.0, 100.0, 30.0),
            report(20.0, 20.0, 0.0, 30.0),
            report(20.0, 20.0, 0.0, 30.0),
        ];
        let s = stat(256, &reports, &model(Some(0.5), None));
        assert_eq!(s.cold_price, Some(at_256(121.0)));
        assert_eq!(s.warm_price, Some(at_256(20.0)));
        assert_eq!(
            s.expected_price,
            Some(0.5 * at_256(20.0) + 0.5 * at_256(121.0))
        );
    }

    #[test]
    fn only_cold_starts_count_init_once() {
        // onlyColdStarts: every invocation cold, discardTopBottom forced to 0.
        let reports = [
            report(20.0, 121.0, 100.2, 30.0),
            report(22.0, 131.0, 108.7, 30.0),
            report(18.3, 118.0, 99.1, 30.0),
        ];
        let m = PriceModel {
            discard: 0.0,
            ..model(Some(1.0), Some(1_000_000))
        };
        let s = stat(256, &reports, &m);
        // Fewer than 2 warm: the sample is every invocation's, Duration without INIT.
        let sample = s.sample.expect("sample");
        assert_eq!(
            (sample.n, sample.duration_mean),
            (3, (20.0 + 22.0 + 18.3) / 3.0)
        );
        // No warm invocation: warm = ceil(Duration) of every invocation: 20, 22, 19 → 61/3.
        assert_eq!(s.warm_price, Some(at_256(61.0 / 3.0)));
        // Cold: max(121, 121) + max(131, ceil(130.7) = 131) + max(118, ceil(117.4) = 118)
        // = 370 / 3 = 123.33 → 124 ms.
        assert_eq!(s.cold_price, Some(at_256(370.0 / 3.0)));
        // Ratio 1: the expected price is the cold price, INIT once (not cold + init again).
        assert!(close(
            s.expected_price.expect("expected"),
            s.cold_price.expect("cold")
        ));
        assert_eq!(s.init_price, Some(at_256((100.2 + 108.7 + 99.1) / 3.0)));
        // G = 1e6 × 124 / 1000 × 256 / 1024 = 31,000 GB-s.
        let monthly = s.monthly_cost.expect("monthly");
        assert!((monthly - (31_000.0 * 1.68e-5 + 0.2)).abs() < 1e-9 * monthly);
    }

    #[test]
    fn no_cold_start_seen() {
        let reports = [report(10.0, 10.0, 0.0, 30.0), report(12.0, 12.0, 0.0, 30.0)];
        let s = stat(256, &reports, &model(Some(0.3), Some(1_000_000)));
        assert_eq!(s.cold_price, None);
        assert_eq!((s.cold_starts, s.init_price), (Some(0), Some(0.0)));
        // expectedPrice = warmPrice; the month counts no cold start (r = 0).
        assert_eq!(s.expected_price, s.warm_price);
        assert_eq!(s.warm_price, Some(at_256(11.0)));
        // G = 1e6 × 11 / 1000 / 4 = 2,750 GB-s.
        let monthly = s.monthly_cost.expect("monthly");
        assert!((monthly - (2_750.0 * 1.68e-5 + 0.2)).abs() < 1e-9 * monthly);
        assert!(
            serde_json::to_value(&s)
                .expect("json")
                .get("coldPrice")
                .is_none()
        );
    }

    #[test]
    fn streaming_figures() {
        let s = with_streaming(
            Stat::default(),
            &[
                Streamed {
                    first_byte_ms: Some(5.0),
                    bytes: 100,
                },
                Streamed {
                    first_byte_ms: None,
                    bytes: 0,
                },
                Streamed {
                    first_byte_ms: Some(7.0),
                    bytes: 200,
                },
            ],
            0.0,
        );
        assert_eq!(s.average_time_to_first_byte, Some(6.0));
        assert_eq!(
            (s.p50_time_to_first_byte, s.p99_time_to_first_byte),
            (Some(5.0), Some(7.0))
        );
        assert_eq!(s.average_response_bytes, Some(100.0));
    }
}

//! Prices (SPEC §3.6, §3.7): Lambda duration price per architecture and region, Step Functions
//! transitions.

use crate::architecture::{Architecture, UnsupportedArchitecture};
use crate::settings::{PriceMap, Settings};

/// The price map's value for `region`, else its `default`.
pub fn for_region(prices: &PriceMap, region: &str) -> f64 {
    prices
        .get(region)
        .or_else(|| prices.get("default"))
        .copied()
        .unwrap_or(0.0)
}

/// What a function's invocations cost: the base price of its region and architecture, and the
/// request charge (for projections and bills).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// $ per ms at 128 MB.
    pub base_price: f64,
    /// The monthly tiers' architecture.
    pub architecture: Architecture,
    /// $ per request.
    pub request_price: f64,
}

impl Prices {
    /// The prices of `settings` for `region` and `architecture`.
    pub fn of(
        settings: &Settings,
        region: &str,
        architecture: Architecture,
    ) -> Result<Prices, UnsupportedArchitecture> {
        Ok(Prices {
            base_price: lambda_base_price(settings, region, architecture)?,
            architecture,
            request_price: settings.request_cost,
        })
    }

    /// The whole milliseconds a price stands for at `memory` (prices are `ceil(ms) × base ×
    /// memory / 128`).
    pub fn milliseconds(&self, price: f64, memory: u32) -> f64 {
        (price / (self.base_price * f64::from(memory) / 128.0)).round()
    }
}

/// $ per ms at 128 MB for a function's region and architecture.
pub fn lambda_base_price(
    settings: &Settings,
    region: &str,
    architecture: Architecture,
) -> Result<f64, UnsupportedArchitecture> {
    settings
        .base_costs
        .get(&architecture)
        .map(|prices| for_region(prices, region))
        .ok_or_else(|| UnsupportedArchitecture(architecture.to_string()))
}

/// `price(ms, memory) = ceil(ms) × basePrice × (memory / 128)`, in the original's order.
pub fn price(base_price: f64, memory: u32, duration_ms: f64) -> f64 {
    duration_ms.ceil() * base_price * (f64::from(memory) / 128.0)
}

/// Σ price(b) over the billed durations, untrimmed, in invocation order.
pub fn total_cost(base_price: f64, memory: u32, billed: &[f64]) -> f64 {
    billed
        .iter()
        .map(|b| price(base_price, memory, *b))
        .fold(0.0, |a, b| a + b)
}

/// Lambda's monthly duration tiers of an architecture (SPEC §8): `(GB-seconds, price factor)`
/// in order, the last one unbounded.
pub fn duration_tiers(architecture: Architecture) -> [(f64, f64); 3] {
    match architecture {
        Architecture::Arm64 => [(7.5e9, 1.0), (11.25e9, 0.9), (f64::INFINITY, 0.8)],
        Architecture::X86_64 => [(6e9, 1.0), (9e9, 0.9), (f64::INFINITY, 0.8)],
    }
}

/// What a month of a size costs (SPEC §8), in its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonthlyCost {
    /// GB-seconds of the month.
    pub gb_seconds: f64,
    /// Duration charge with the tiers applied.
    pub duration: f64,
    /// Request charge.
    pub requests: f64,
    /// The cold starts' part of the duration charge (at the tiers' average rate), INIT
    /// included.
    pub cold_starts: f64,
}

impl MonthlyCost {
    /// Duration plus requests.
    pub fn total(&self) -> f64 {
        self.duration + self.requests
    }
}

/// The traffic of a month: invocations, the cold-start share, the request charge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Month {
    /// Invocations per month (M).
    pub invocations: u64,
    /// Share of invocations that are cold starts (r).
    pub cold_start_ratio: f64,
    /// $ per request.
    pub request_price: f64,
}

/// The duration charge of a month's `gb_seconds` (SPEC §8): `base_price × 8000` $ per GB-s
/// (`base_price` is $ per ms at 128 MB) with the architecture's tiers applied as if this were
/// the account's only use.
pub fn duration_charge(base_price: f64, architecture: Architecture, gb_seconds: f64) -> f64 {
    let rate = base_price * 8000.0;
    let mut left = gb_seconds;
    let mut duration = 0.0;
    for (size, factor) in duration_tiers(architecture) {
        let used = left.min(size);
        duration += used * rate * factor;
        left -= used;
        if left <= 0.0 {
            break;
        }
    }
    duration
}

/// A month of traffic at `memory` (SPEC §8): GB-seconds
/// `G = M × ((1 − r) × ceil(warm) + r × ceil(cold)) / 1000 × memory / 1024`, where `warm` and
/// `cold` are the milliseconds billed for a warm invocation and a cold start (INIT included
/// once) and `r` is the cold-start ratio (0 when no cold start was seen), priced at
/// `base_price × 8000` $ per GB-s with the architecture's tiers applied to `G` as if this were
/// the account's only use, plus `M × request_price`.
pub fn monthly_cost(
    base_price: f64,
    architecture: Architecture,
    memory: u32,
    warm_ms: f64,
    cold_ms: Option<f64>,
    month: &Month,
) -> MonthlyCost {
    let m = month.invocations as f64;
    let (cold_start_ratio, cold) = match cold_ms {
        Some(cold) => (month.cold_start_ratio, cold.ceil()),
        None => (0.0, 0.0),
    };
    let per_invocation_ms = (1.0 - cold_start_ratio) * warm_ms.ceil() + cold_start_ratio * cold;
    let gb_seconds = m * per_invocation_ms / 1000.0 * f64::from(memory) / 1024.0;
    let duration = duration_charge(base_price, architecture, gb_seconds);
    let cold_share = if per_invocation_ms > 0.0 {
        cold_start_ratio * cold / per_invocation_ms
    } else {
        0.0
    };
    MonthlyCost {
        gb_seconds,
        duration,
        requests: m * month.request_price,
        cold_starts: duration * cold_share,
    }
}

/// Rounds to 5 decimals like JavaScript's `+x.toFixed(5)`.
pub fn round5(x: f64) -> f64 {
    format!("{x:.5}").parse().unwrap_or(x)
}

/// Transitions of a normal run: Initializer, Choice, Map, N executors, Cleaner, Analyzer,
/// Optimizer, plus 2 (Initializer + Choice) for every extra Initializer pass.
pub fn transitions(sizes: usize, initializer_passes: u32) -> u64 {
    sizes as u64 + 6 + 2 * u64::from(initializer_passes.saturating_sub(1))
}

/// `round5(sfPrice(region) × transitions)`.
pub fn execution_cost(settings: &Settings, transitions: u64) -> f64 {
    round5(for_region(&settings.sf_costs, &settings.region) * transitions as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_golden() {
        let s = Settings::default();
        let x86 = lambda_base_price(&s, "us-east-1", Architecture::X86_64).expect("x86");
        let arm = lambda_base_price(&s, "us-east-1", Architecture::Arm64).expect("arm");
        assert_eq!(x86, 2.1e-9);
        assert_eq!(arm, 1.7e-9);
        assert_eq!(price(x86, 128, 100.0), 100.0 * 2.1e-9 * 1.0);
        assert_eq!(price(x86, 1024, 10.2), 11.0 * 2.1e-9 * 8.0);
        assert_eq!(price(arm, 512, 200.0), 200.0 * 1.7e-9 * 4.0);
        assert!((price(x86, 1024, 10.2) - 1.848e-7).abs() < 1e-20);
        assert!((price(arm, 512, 200.0) - 1.36e-6).abs() < 1e-19);
        // Regional price.
        let hk = lambda_base_price(&s, "ap-east-1", Architecture::X86_64).expect("hk");
        assert_eq!(hk, 2.9e-9);
        assert_eq!(price(hk, 256, 99.1), 100.0 * 2.9e-9 * 2.0);
        assert_eq!(
            lambda_base_price(&s, "cn-north-1", Architecture::X86_64).expect("cn"),
            1.42e-8
        );
        // arm64 has only a default.
        assert_eq!(
            lambda_base_price(&s, "ap-east-1", Architecture::Arm64).expect("arm hk"),
            1.7e-9
        );
        assert_eq!(
            lambda_base_price(
                &Settings {
                    base_costs: Default::default(),
                    ..s.clone()
                },
                "us-east-1",
                Architecture::Arm64
            )
            .expect_err("arch")
            .to_string(),
            "Unsupported architecture: arm64"
        );
    }

    #[test]
    fn total_cost_is_untrimmed_sum() {
        let billed = [10.0, 20.0, 30.5];
        let expected =
            0.0 + price(2.1e-9, 256, 10.0) + price(2.1e-9, 256, 20.0) + price(2.1e-9, 256, 31.0);
        assert_eq!(total_cost(2.1e-9, 256, &billed), expected);
        assert_eq!(total_cost(2.1e-9, 256, &[]), 0.0);
    }

    fn traffic(invocations: u64, cold_start_ratio: f64, request_price: f64) -> Month {
        Month {
            invocations,
            cold_start_ratio,
            request_price,
        }
    }

    fn month(arch: Architecture, warm: f64, cold: Option<f64>, r: f64, m: u64) -> MonthlyCost {
        monthly_cost(2.1e-9, arch, 1024, warm, cold, &traffic(m, r, 2e-7))
    }

    #[test]
    fn monthly_cost_by_hand() {
        // 1024 MB, 100 ms: 0.1 GB-s per invocation; 1 M invocations = 100,000 GB-s.
        let c = month(Architecture::X86_64, 99.2, None, 0.0, 1_000_000);
        assert!((c.gb_seconds - 100_000.0).abs() < 1e-6);
        // $ per GB-s = 2.1e-9 × 8000 = 1.68e-5.
        assert!((c.duration - 100_000.0 * 1.68e-5).abs() < 1e-9);
        assert!((c.requests - 0.2).abs() < 1e-12);
        assert!((c.total() - (1.68 + 0.2)).abs() < 1e-9);
        assert_eq!(c.cold_starts, 0.0);
        // 10 % cold starts billed ceil(350.4) = 351 ms (INIT included once), 90 % warm 100 ms:
        // 0.9 × 100 + 0.1 × 351 = 125.1 ms per invocation.
        let c = month(Architecture::X86_64, 100.0, Some(350.4), 0.1, 1_000_000);
        assert!((c.gb_seconds - 1_000_000.0 * 125.1 / 1000.0).abs() < 1e-6);
        assert!((c.cold_starts / c.duration - 35.1 / 125.1).abs() < 1e-12);
        // A ratio with no cold start seen counts nothing cold (r = 0).
        let c = month(Architecture::X86_64, 100.0, None, 0.5, 1_000_000);
        assert!((c.gb_seconds - 100_000.0).abs() < 1e-6);
        assert_eq!(c.cold_starts, 0.0);
        // Every invocation cold: the cold figure alone.
        let c = month(Architecture::X86_64, 100.0, Some(300.0), 1.0, 1_000_000);
        assert!((c.gb_seconds - 300_000.0).abs() < 1e-6);
        assert!((c.cold_starts - c.duration).abs() < 1e-12);
    }

    #[test]
    fn monthly_tiers_on_both_architectures() {
        // 1 GB-s per invocation at 1024 MB: G = M exactly.
        let rate_x86 = 2.1e-9 * 8000.0;
        let rate_arm = 1.7e-9 * 8000.0;
        let x86 = |g: u64| {
            monthly_cost(
                2.1e-9,
                Architecture::X86_64,
                1024,
                1000.0,
                None,
                &traffic(g, 0.0, 0.0),
            )
        };
        let arm = |g: u64| {
            monthly_cost(
                1.7e-9,
                Architecture::Arm64,
                1024,
                1000.0,
                None,
                &traffic(g, 0.0, 0.0),
            )
        };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        // x86_64: 6e9 at 1.0, the next 9e9 at 0.9, beyond 15e9 at 0.8.
        assert!(close(
            x86(5_999_999_999).duration,
            5_999_999_999.0 * rate_x86
        ));
        assert!(close(x86(6_000_000_000).duration, 6e9 * rate_x86));
        assert!(close(
            x86(6_000_000_001).duration,
            6e9 * rate_x86 + 0.9 * rate_x86
        ));
        assert!(close(
            x86(14_999_999_999).duration,
            (6e9 + 0.9 * 8_999_999_999.0) * rate_x86
        ));
        assert!(close(
            x86(15_000_000_000).duration,
            (6e9 + 0.9 * 9e9) * rate_x86
        ));
        assert!(close(
            x86(15_000_000_001).duration,
            (6e9 + 0.9 * 9e9 + 0.8) * rate_x86
        ));
        assert!(close(
            x86(20_000_000_000).duration,
            (6e9 + 0.9 * 9e9 + 0.8 * 5e9) * rate_x86
        ));
        // arm64: 7.5e9 at 1.0, the next 11.25e9 at 0.9, beyond 18.75e9 at 0.8.
        assert!(close(
            arm(7_499_999_999).duration,
            7_499_999_999.0 * rate_arm
        ));
        assert!(close(arm(7_500_000_000).duration, 7.5e9 * rate_arm));
        assert!(close(
            arm(7_500_000_001).duration,
            7.5e9 * rate_arm + 0.9 * rate_arm
        ));
        assert!(close(
            arm(18_749_999_999).duration,
            (7.5e9 + 0.9 * 11_249_999_999.0) * rate_arm
        ));
        assert!(close(
            arm(18_750_000_000).duration,
            (7.5e9 + 0.9 * 11.25e9) * rate_arm
        ));
        assert!(close(
            arm(18_750_000_001).duration,
            (7.5e9 + 0.9 * 11.25e9 + 0.8) * rate_arm
        ));
        // Request charge: M × 2e-7, no free tier.
        let c = monthly_cost(
            2.1e-9,
            Architecture::X86_64,
            128,
            1.0,
            None,
            &traffic(3_000_000, 0.0, 2e-7),
        );
        assert!(close(c.requests, 0.6));
        assert_eq!(
            monthly_cost(
                2.1e-9,
                Architecture::X86_64,
                128,
                1.0,
                None,
                &traffic(0, 0.0, 2e-7)
            )
            .total(),
            0.0
        );
    }

    #[test]
    fn execution_cost_from_transitions() {
        let mut s = Settings::default();
        assert_eq!(transitions(4, 1), 10);
        assert_eq!(transitions(4, 3), 14);
        assert_eq!(execution_cost(&s, 10), 0.00025);
        assert_eq!(execution_cost(&s, 12), 0.0003);
        s.region = "sa-east-1".into();
        // 0.0000375 × 10 = 0.000374999…, which JavaScript's toFixed(5) also rounds down.
        assert_eq!(execution_cost(&s, 10), 0.00037);
        s.region = "cn-north-1".into();
        assert_eq!(execution_cost(&s, 7), 0.00132);
        assert_eq!(round5(0.000123456), 0.00012);
        assert_eq!(round5(0.000127), 0.00013);
    }
}

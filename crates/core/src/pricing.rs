//! Prices (SPEC §3.6, §3.7): Lambda duration price per architecture and region, Step Functions
//! transitions.

use crate::settings::{PriceMap, Settings};

/// The price map's value for `region`, else its `default`.
pub fn for_region(prices: &PriceMap, region: &str) -> f64 {
    prices
        .get(region)
        .or_else(|| prices.get("default"))
        .copied()
        .unwrap_or(0.0)
}

/// $ per ms at 128 MB for a function's region and architecture.
pub fn lambda_base_price(
    settings: &Settings,
    region: &str,
    architecture: &str,
) -> Result<f64, String> {
    settings
        .base_costs
        .get(architecture)
        .map(|prices| for_region(prices, region))
        .ok_or_else(|| format!("Unsupported architecture: {architecture}"))
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
        let x86 = lambda_base_price(&s, "us-east-1", "x86_64").expect("x86");
        let arm = lambda_base_price(&s, "us-east-1", "arm64").expect("arm");
        assert_eq!(x86, 2.1e-9);
        assert_eq!(arm, 1.7e-9);
        assert_eq!(price(x86, 128, 100.0), 100.0 * 2.1e-9 * 1.0);
        assert_eq!(price(x86, 1024, 10.2), 11.0 * 2.1e-9 * 8.0);
        assert_eq!(price(arm, 512, 200.0), 200.0 * 1.7e-9 * 4.0);
        assert!((price(x86, 1024, 10.2) - 1.848e-7).abs() < 1e-20);
        assert!((price(arm, 512, 200.0) - 1.36e-6).abs() < 1e-19);
        // Regional price.
        let hk = lambda_base_price(&s, "ap-east-1", "x86_64").expect("hk");
        assert_eq!(hk, 2.9e-9);
        assert_eq!(price(hk, 256, 99.1), 100.0 * 2.9e-9 * 2.0);
        assert_eq!(
            lambda_base_price(&s, "cn-north-1", "x86_64").expect("cn"),
            1.42e-8
        );
        // arm64 has only a default.
        assert_eq!(
            lambda_base_price(&s, "ap-east-1", "arm64").expect("arm hk"),
            1.7e-9
        );
        assert_eq!(
            lambda_base_price(&s, "us-east-1", "riscv").expect_err("arch"),
            "Unsupported architecture: riscv"
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

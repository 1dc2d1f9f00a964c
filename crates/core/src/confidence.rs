//! Confidence in the choice (SPEC §13): per size, the interval of its decision value (the
//! strategy's per-invocation value over its warm invocations); the verdict, Welch's test of
//! every other candidate against the chosen size; and whether the saving against the current
//! setting is significant. The t and normal quantiles and CDFs are statrs'.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::stats::mean;
use crate::strategy::Strategy;

/// The default `confidenceLevel`.
pub const DEFAULT_LEVEL: f64 = 0.95;
/// The power the `invocationsForClear` estimate aims at (80 %).
const POWER: f64 = 0.8;

/// What the executor keeps of a size's per-invocation values for the analyzer: their number,
/// means, sample standard deviations and covariance (each invocation's price and duration), over
/// the warm invocations, or over all when fewer than 2 were warm (SPEC §13). The analyzer builds
/// every strategy's decision values from it (`balanced` needs both and their covariance).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Invocations.
    pub n: u32,
    /// Mean of `price(billed_i, memory)`.
    pub price_mean: f64,
    /// Its sample standard deviation (n − 1; 0 when n = 1).
    pub price_std_dev: f64,
    /// Mean of `Duration_i` (ms).
    pub duration_mean: f64,
    /// Its sample standard deviation.
    pub duration_std_dev: f64,
    /// Sample covariance of price and duration.
    pub covariance: f64,
}

impl Sample {
    /// The half-width of the interval of a warm invocation's mean price at `level` (none
    /// below 2 invocations).
    pub fn price_half_width(&self, level: f64) -> Option<f64> {
        Decision::new(self.n, 0.0, self.price_std_dev, level).high
    }

    /// The half-width of the interval of a warm invocation's mean duration at `level`.
    pub fn duration_half_width(&self, level: f64) -> Option<f64> {
        Decision::new(self.n, 0.0, self.duration_std_dev, level).high
    }

    /// The sample of `(price_i, duration_i)` pairs.
    pub fn of(values: &[(f64, f64)]) -> Sample {
        let n = values.len() as u32;
        let price_mean = mean(values.iter().map(|v| v.0));
        let duration_mean = mean(values.iter().map(|v| v.1));
        let (mut pp, mut dd, mut pd) = (0.0, 0.0, 0.0);
        for (p, d) in values {
            let (dp, dd_) = (p - price_mean, d - duration_mean);
            pp += dp * dp;
            dd += dd_ * dd_;
            pd += dp * dd_;
        }
        let (pp, dd, pd) = if n > 1 {
            let over = f64::from(n - 1);
            (pp / over, dd / over, pd / over)
        } else {
            (0.0, 0.0, 0.0)
        };
        Sample {
            n,
            price_mean,
            price_std_dev: pp.sqrt(),
            duration_mean,
            duration_std_dev: dd.sqrt(),
            covariance: pd,
        }
    }

    /// The decision value's `(mean, stdDev)` under `strategy`: the price, the duration, or
    /// `w × price / maxCost + (1 − w) × duration / maxDuration` with the run's normalisers.
    pub fn moments(&self, strategy: Strategy, weight: f64, normalisers: (f64, f64)) -> (f64, f64) {
        match strategy {
            Strategy::Cost => (self.price_mean, self.price_std_dev),
            Strategy::Speed => (self.duration_mean, self.duration_std_dev),
            Strategy::Balanced => {
                let a = weight / normalisers.0;
                let b = (1.0 - weight) / normalisers.1;
                let variance = a * a * self.price_std_dev * self.price_std_dev
                    + b * b * self.duration_std_dev * self.duration_std_dev
                    + 2.0 * a * b * self.covariance;
                (
                    a * self.price_mean + b * self.duration_mean,
                    variance.max(0.0).sqrt(),
                )
            }
        }
    }
}

/// A size's decision value in the output: `{"n", "mean", "stdDev", "low", "high"}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Invocations.
    pub n: u32,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1; 0 when n = 1).
    pub std_dev: f64,
    /// `mean − t × stdDev / √n` (absent when n < 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    /// `mean + t × stdDev / √n` (absent when n < 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
}

/// The Student-t quantile at `p` with `df` degrees of freedom.
fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df)
        .map(|t| t.inverse_cdf(p))
        .unwrap_or(f64::NAN)
}

/// The standard normal quantile at `p`.
fn z_quantile(p: f64) -> f64 {
    Normal::new(0.0, 1.0)
        .map(|z| z.inverse_cdf(p))
        .unwrap_or(f64::NAN)
}

impl Decision {
    /// The interval at `level` (Student t with n − 1 degrees of freedom).
    pub fn new(n: u32, mean: f64, std_dev: f64, level: f64) -> Decision {
        let half = (n >= 2).then(|| {
            t_quantile((1.0 + level) / 2.0, f64::from(n - 1)) * std_dev / f64::from(n).sqrt()
        });
        Decision {
            n,
            mean,
            std_dev,
            low: half.map(|h| mean - h),
            high: half.map(|h| mean + h),
        }
    }
}

/// Welch's test of `candidate` against `chosen` (SPEC §13): the two-sided p-value of their
/// difference, and 1 when the candidate is not worse. With both standard deviations 0, or
/// fewer than 2 invocations on either side, 0 when the candidate's mean is higher, else 1.
pub fn p_value(chosen: &Decision, candidate: &Decision) -> f64 {
    let worse = candidate.mean > chosen.mean;
    if chosen.n < 2 || candidate.n < 2 || (chosen.std_dev == 0.0 && candidate.std_dev == 0.0) {
        return if worse { 0.0 } else { 1.0 };
    }
    let (vc, vj) = (
        chosen.std_dev * chosen.std_dev / f64::from(chosen.n),
        candidate.std_dev * candidate.std_dev / f64::from(candidate.n),
    );
    let t = (candidate.mean - chosen.mean) / (vj + vc).sqrt();
    if t <= 0.0 {
        return 1.0;
    }
    let df = (vj + vc).powi(2)
        / (vj * vj / f64::from(candidate.n - 1) + vc * vc / f64::from(chosen.n - 1));
    // `1 − F_t(T)` as the survival function: the same value without the cancellation that
    // `1.0 - cdf` suffers for a clear difference (p of 1e-14 read 0.5 % off, or 0).
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => (2.0 * dist.sf(t)).min(1.0),
        Err(_) => 1.0,
    }
}

/// The invocations per size that would make `candidate` significantly worse than `chosen` at
/// `level` with 80 % power, if their observed difference held:
/// `ceil((z_(1+level)/2 + z_0.8)² × (sd_c² + sd_j²) / (mean_j − mean_c)²)`; `None` when the
/// candidate is not worse.
pub fn invocations_for_clear(chosen: &Decision, candidate: &Decision, level: f64) -> Option<u64> {
    let difference = candidate.mean - chosen.mean;
    if difference <= 0.0 {
        return None;
    }
    let z = z_quantile((1.0 + level) / 2.0) + z_quantile(POWER);
    let n = (z * z * (chosen.std_dev.powi(2) + candidate.std_dev.powi(2))
        / (difference * difference))
        .ceil();
    (n.is_finite() && n >= 0.0).then_some(n as u64)
}

/// Whether the choice is clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// No other candidate is within noise of the chosen size.
    Clear,
    /// Some are (`tiedWith`).
    Tie,
    /// There was no other candidate.
    Single,
}

/// A size tied with the chosen one: its power value, or with `compareWith` its function too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tied {
    /// One target: the power value.
    Power(u32),
    /// Several targets: the function and the power value.
    Target {
        /// The function.
        #[serde(rename = "lambdaARN")]
        lambda_arn: String,
        /// The power value.
        power: u32,
    },
}

/// The top-level `confidence` of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Confidence {
    /// `confidenceLevel`.
    pub level: f64,
    /// `clear`, `tie` or `single`.
    pub verdict: VerdictKind,
    /// The candidates within noise, in the output's order.
    pub tied_with: Vec<Tied>,
    /// The largest p-value of a candidate (absent with `single`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// With a tie, the invocations per size that would separate the closest pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocations_for_clear: Option<u64>,
}

impl Confidence {
    /// The verdict on `chosen` against `candidates` (each with what names it in `tiedWith`), in
    /// the output's order.
    pub fn of(level: f64, chosen: &Decision, candidates: &[(Tied, Decision)]) -> Confidence {
        let tested: Vec<(&Tied, &Decision, f64)> = candidates
            .iter()
            .map(|(tied, d)| (tied, d, p_value(chosen, d)))
            .collect();
        let tied: Vec<&(&Tied, &Decision, f64)> =
            tested.iter().filter(|(_, _, p)| *p > 1.0 - level).collect();
        let p_value = tested
            .iter()
            .map(|t| t.2)
            .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))));
        // The closest tied candidate: the largest p-value, the first in order on a tie.
        let closest = tied
            .iter()
            .fold(None::<&&(&Tied, &Decision, f64)>, |best, t| match best {
                Some(b) if b.2 >= t.2 => Some(b),
                _ => Some(t),
            });
        Confidence {
            level,
            verdict: match (candidates.is_empty(), tied.is_empty()) {
                (true, _) => VerdictKind::Single,
                (false, true) => VerdictKind::Clear,
                (false, false) => VerdictKind::Tie,
            },
            tied_with: tied.iter().map(|t| t.0.clone()).collect(),
            p_value,
            invocations_for_clear: closest.and_then(|t| invocations_for_clear(chosen, t.1, level)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1e-300)
    }

    #[test]
    fn interval_of_a_known_sample() {
        // 10, 12, 14, 16, 18: mean 14, s = sqrt(40 / 4) = sqrt(10); t(0.975, 4) =
        // 2.7764451051977934 (SciPy's t.ppf).
        let values: Vec<(f64, f64)> = [10.0, 12.0, 14.0, 16.0, 18.0]
            .iter()
            .map(|d| (d / 10.0, *d))
            .collect();
        let sample = Sample::of(&values);
        assert_eq!(sample.n, 5);
        assert_eq!(sample.duration_mean, 14.0);
        assert!(close(sample.duration_std_dev, 10f64.sqrt(), 1e-15));
        // Price = duration / 10: perfectly correlated, covariance = s_p × s_d.
        assert!(close(sample.covariance, 1.0, 1e-12));
        let (mean, sd) = sample.moments(Strategy::Speed, 0.5, (1.0, 1.0));
        let d = Decision::new(sample.n, mean, sd, 0.95);
        let half = 2.776_445_105_197_793_4 * 10f64.sqrt() / 5f64.sqrt();
        assert!(close(d.low.expect("low"), 14.0 - half, 1e-9));
        assert!(close(d.high.expect("high"), 14.0 + half, 1e-9));
        // 99 %: t(0.995, 4) = 4.604094871349992.
        let d99 = Decision::new(5, 14.0, 10f64.sqrt(), 0.99);
        assert!(close(
            d99.high.expect("high") - 14.0,
            4.604_094_871_349_992 * 2f64.sqrt(),
            1e-9
        ));
        // Balanced: w = 0.5, normalisers 2 and 20: z = p/4 + d/40 = d/40 + d/40 = d/20.
        let (mean, sd) = sample.moments(Strategy::Balanced, 0.5, (2.0, 20.0));
        assert!(close(mean, 14.0 / 20.0, 1e-12) && close(sd, 10f64.sqrt() / 20.0, 1e-12));
    }

    #[test]
    fn fewer_than_two_has_no_interval() {
        let one = Sample::of(&[(1.0, 10.0)]);
        assert_eq!((one.n, one.duration_std_dev), (1, 0.0));
        let d = Decision::new(1, 10.0, 0.0, 0.95);
        assert_eq!((d.low, d.high), (None, None));
        let json = serde_json::to_value(d).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"n": 1, "mean": 10.0, "stdDev": 0.0})
        );
        assert_eq!(Sample::of(&[]).n, 0);
    }

    #[test]
    fn welch_against_published_values() {
        // The first example of Wikipedia's "Welch's t-test" article (t = 2.46, ν ≈ 25.0,
        // p = 0.021); SciPy's ttest_ind(b, a, equal_var=False) gives t = 2.455356398286006,
        // df = 24.988529290231416, p = 0.021378001462866992.
        let a = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let b = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let decision = |xs: &[f64]| {
            let s = Sample::of(&xs.iter().map(|x| (0.0, *x)).collect::<Vec<_>>());
            Decision::new(s.n, s.duration_mean, s.duration_std_dev, 0.95)
        };
        let (a, b) = (decision(&a), decision(&b));
        // b is worse (higher) than the chosen a.
        assert!(
            close(p_value(&a, &b), 0.021_378_001_462_866_992, 1e-9),
            "{}",
            p_value(&a, &b)
        );
        // The chosen one is never worse than itself or a better one: p = 1.
        assert_eq!(p_value(&b, &a), 1.0);
    }

    #[test]
    fn a_clear_difference_keeps_its_p_value_to_the_last_digits() {
        // T = 10 / sqrt(0.2) = 22.360679774997898, 18 degrees of freedom: SciPy's
        // 2 × t.sf(T, 18) = 1.3920697618290784e-14 (2 × (1 − t.cdf) reads 1.3989e-14); and
        // T = 8 (a difference of 8 × √0.2): 2 × t.sf(8, 18) = 2.4507205322191e-07.
        let p = p_value(
            &Decision::new(10, 100.0, 1.0, 0.95),
            &Decision::new(10, 110.0, 1.0, 0.95),
        );
        assert!(
            ((p - 1.3920697618290784e-14) / 1.3920697618290784e-14).abs() < 1e-9,
            "{p:e}"
        );
        let p = p_value(
            &Decision::new(10, 100.0, 1.0, 0.95),
            &Decision::new(10, 100.0 + 8.0 * 0.2f64.sqrt(), 1.0, 0.95),
        );
        assert!(
            ((p - 2.4507205322191e-07) / 2.4507205322191e-07).abs() < 1e-9,
            "{p:e}"
        );
    }

    #[test]
    fn both_standard_deviations_zero_and_n_below_two() {
        let d = |n, mean, sd| Decision::new(n, mean, sd, 0.95);
        assert_eq!(p_value(&d(5, 10.0, 0.0), &d(5, 11.0, 0.0)), 0.0);
        assert_eq!(p_value(&d(5, 10.0, 0.0), &d(5, 10.0, 0.0)), 1.0);
        assert_eq!(p_value(&d(5, 10.0, 0.0), &d(5, 9.0, 0.0)), 1.0);
        assert_eq!(p_value(&d(1, 10.0, 0.0), &d(5, 12.0, 3.0)), 0.0);
        assert_eq!(p_value(&d(5, 10.0, 2.0), &d(1, 8.0, 0.0)), 1.0);
        // One side without spread: df from the other side alone, n − 1.
        let p = p_value(&d(5, 10.0, 0.0), &d(5, 12.0, 2.0));
        // t = 2 / sqrt(4/5) = 2.236068 with 4 df: two-sided p (SciPy) = 0.08900934250008574.
        assert!(close(p, 0.089_009_342_500_085_74, 1e-9), "{p}");
    }

    #[test]
    fn invocations_for_clear_by_hand() {
        let chosen = Decision::new(10, 100.0, 10.0, 0.95);
        let other = Decision::new(10, 105.0, 10.0, 0.95);
        // z(0.975) = 1.959963984540054, z(0.8) = 0.8416212335729143 (SciPy's norm.ppf):
        // (1.959964 + 0.841621)² × 200 / 25 = 62.79 → 63.
        assert_eq!(invocations_for_clear(&chosen, &other, 0.95), Some(63));
        assert_eq!(invocations_for_clear(&other, &chosen, 0.95), None);
        // 99 %: (2.575829 + 0.841621)² × 200 / 25 = 93.43 → 94.
        assert_eq!(invocations_for_clear(&chosen, &other, 0.99), Some(94));
    }

    #[test]
    fn verdicts() {
        let d = |mean, sd| Decision::new(20, mean, sd, 0.95);
        let chosen = d(100.0, 5.0);
        let clear = Confidence::of(0.95, &chosen, &[(Tied::Power(256), d(200.0, 5.0))]);
        assert_eq!(clear.verdict, VerdictKind::Clear);
        assert!(clear.tied_with.is_empty() && clear.p_value.expect("p") < 0.05);
        assert_eq!(clear.invocations_for_clear, None);
        let tie = Confidence::of(
            0.95,
            &chosen,
            &[
                (Tied::Power(128), d(101.0, 5.0)),
                (Tied::Power(512), d(300.0, 5.0)),
                (Tied::Power(1024), d(100.5, 5.0)),
            ],
        );
        assert_eq!(tie.verdict, VerdictKind::Tie);
        assert_eq!(tie.tied_with, [Tied::Power(128), Tied::Power(1024)]);
        // The closest: 1024 (the larger p); its separation estimate.
        assert_eq!(tie.p_value, Some(p_value(&chosen, &d(100.5, 5.0))));
        assert_eq!(
            tie.invocations_for_clear,
            invocations_for_clear(&chosen, &d(100.5, 5.0), 0.95)
        );
        let single = Confidence::of(0.95, &chosen, &[]);
        assert_eq!(
            serde_json::to_value(&single).expect("json"),
            serde_json::json!({"level": 0.95, "verdict": "single", "tiedWith": []})
        );
        let targets = serde_json::to_value(Tied::Target {
            lambda_arn: "arn".into(),
            power: 512,
        })
        .expect("json");
        assert_eq!(
            targets,
            serde_json::json!({"lambdaARN": "arn", "power": 512})
        );
    }
}

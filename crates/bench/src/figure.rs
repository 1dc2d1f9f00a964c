//! A measured figure and its pass/fail rule, kept as data (the rule is serialized with the
//! figure, and the verdict and the miss margin are computed from it, never from its text).

use serde::Serialize;

use power_tuning_core::stats::median;

/// How a figure is judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", content = "limit", rename_all = "camelCase")]
pub enum Check {
    /// Median at most this.
    MedianAtMost(f64),
    /// Every sample at most this.
    AllAtMost(f64),
    /// Every sample equals this.
    AllEqual(f64),
    /// Reported only.
    Report,
}

impl Check {
    /// The target as text.
    pub fn describe(self) -> String {
        match self {
            Check::MedianAtMost(t) => format!("≤ {} (median)", number(t)),
            Check::AllAtMost(t) => format!("≤ {} (every run)", number(t)),
            Check::AllEqual(t) => format!("= {} (every run)", number(t)),
            Check::Report => "report".to_string(),
        }
    }

    /// The value the rule looks at: the median, or the worst sample.
    fn judged(self, median: f64, max: f64) -> f64 {
        match self {
            Check::MedianAtMost(_) => median,
            _ => max,
        }
    }

    /// Whether `samples` meet the rule (`None` when only reported; no samples never pass).
    pub fn judge(self, samples: &[f64]) -> Option<bool> {
        if samples.is_empty() {
            return (self != Check::Report).then_some(false);
        }
        let (med, max) = (
            median(samples),
            samples.iter().copied().fold(f64::MIN, f64::max),
        );
        match self {
            Check::MedianAtMost(t) | Check::AllAtMost(t) => Some(self.judged(med, max) <= t),
            Check::AllEqual(t) => Some(samples.iter().all(|s| *s == t)),
            Check::Report => None,
        }
    }

    /// By how much (percent of the limit) a missed `≤` rule is exceeded.
    pub fn miss_margin(self, median: f64, max: f64) -> Option<f64> {
        let limit = match self {
            Check::MedianAtMost(t) | Check::AllAtMost(t) => t,
            _ => return None,
        };
        let value = self.judged(median, max);
        (limit > 0.0 && value > limit).then(|| (value / limit - 1.0) * 100.0)
    }
}

/// A number as the results show it.
pub fn number(v: f64) -> String {
    if (v == v.trunc() && v.abs() < 1e9) || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figure {
    /// B1..B9.
    pub id: &'static str,
    /// What is measured.
    pub metric: String,
    /// `quota 128/1769`, `unconstrained` or `-`.
    pub mode: String,
    /// Unit of the values.
    pub unit: &'static str,
    /// Every sample.
    pub samples: Vec<f64>,
    /// Median of the samples.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// The rule.
    pub check: Check,
    /// The rule, as text.
    pub target: String,
    /// Whether the rule holds.
    pub pass: Option<bool>,
    /// Method details.
    pub note: String,
}

impl Figure {
    /// A figure from its samples, judged by `check`.
    pub fn new(
        id: &'static str,
        metric: impl Into<String>,
        mode: &str,
        unit: &'static str,
        samples: Vec<f64>,
        check: Check,
        note: impl Into<String>,
    ) -> Figure {
        let empty = samples.is_empty();
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Figure {
            id,
            metric: metric.into(),
            mode: mode.to_string(),
            unit,
            median: median(&samples),
            min: if empty { 0.0 } else { min },
            max: if empty { 0.0 } else { max },
            pass: check.judge(&samples),
            target: check.describe(),
            check,
            samples,
            note: note.into(),
        }
    }

    /// The verdict column.
    pub fn verdict(&self) -> String {
        match self.pass {
            Some(true) => "holds".to_string(),
            Some(false) => match self.check.miss_margin(self.median, self.max) {
                Some(pct) => format!("**misses** by {pct:.0}%"),
                None => "**misses**".to_string(),
            },
            None => "-".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(samples: &[f64], check: Check) -> Figure {
        Figure::new("B1", "m", "u", "ms", samples.to_vec(), check, "")
    }

    #[test]
    fn figures_are_judged_by_their_rule() {
        let f = figure(&[0.05, 0.2, 0.07], Check::MedianAtMost(0.1));
        assert_eq!(
            (f.median, f.min, f.max, f.pass),
            (0.07, 0.05, 0.2, Some(true))
        );
        // (samples, rule, pass, verdict)
        let cases = [
            (
                vec![0.05, 0.2, 0.07],
                Check::MedianAtMost(0.1),
                Some(true),
                "holds",
            ),
            (
                vec![1.0, 2.0, 1.0],
                Check::AllAtMost(1.0),
                Some(false),
                "**misses** by 100%",
            ),
            (vec![12.0, 12.0], Check::AllEqual(12.0), Some(true), "holds"),
            // No samples never passes.
            (vec![], Check::MedianAtMost(20.0), Some(false), "**misses**"),
            (
                vec![0.15, 0.16, 0.2],
                Check::MedianAtMost(0.1),
                Some(false),
                "**misses** by 60%",
            ),
            (
                vec![10.0, 25.0],
                Check::AllAtMost(20.0),
                Some(false),
                "**misses** by 25%",
            ),
            (vec![1.0], Check::Report, None, "-"),
        ];
        for (samples, check, pass, verdict) in cases {
            let f = figure(&samples, check);
            assert_eq!(
                (f.pass, f.verdict().as_str()),
                (pass, verdict),
                "{samples:?}"
            );
        }
        let f = figure(&[10.0, 25.0], Check::AllAtMost(20.0));
        assert!((f.check.miss_margin(f.median, f.max).expect("missed") - 25.0).abs() < 1e-9);
        assert_eq!(
            serde_json::to_value(Check::AllAtMost(4.0)).expect("json"),
            serde_json::json!({"rule": "allAtMost", "limit": 4.0})
        );
    }
}

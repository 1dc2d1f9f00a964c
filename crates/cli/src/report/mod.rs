//! Reading saved results for `report`: the sizes of a result (from its `stats`, else decoded
//! from the visualization URL every output carries), projections for a traffic (Little's law:
//! needed concurrency = requests per second × duration in seconds; monthly cost = invocations ×
//! cost per invocation + the request charge), the terminal text, and the HTML page ([`html`]).

pub mod html;

use std::fmt::Write as _;

use power_tuning_core::output::{Analysis, Stat, StatError};
use power_tuning_core::visualization::{self, Point};

use crate::error::CliError;
use crate::output;

/// Lambda's request charge: $0.20 per million requests.
pub const REQUEST_PRICE: f64 = 0.20 / 1_000_000.0;
/// Default account concurrency limit.
pub const DEFAULT_CONCURRENCY_LIMIT: f64 = 1000.0;
/// A month, for projections: 30 days.
pub const SECONDS_PER_MONTH: f64 = 30.0 * 24.0 * 3600.0;

/// One measured memory size of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Size {
    /// Memory (MB).
    pub power: u32,
    /// Average duration (ms).
    pub duration: f64,
    /// Average cost per invocation ($).
    pub cost: f64,
    /// The executor's full stat, when the output has `stats`.
    pub stat: Option<Stat>,
}

impl Size {
    /// The chart point of this size.
    pub fn point(&self) -> Point {
        Point {
            power: self.power,
            duration: self.duration,
            cost: self.cost,
        }
    }
}

/// A saved execution output with its measured sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultView {
    /// The output.
    pub analysis: Analysis,
    /// Sizes measured (kept ones), by memory.
    pub sizes: Vec<Size>,
}

impl ResultView {
    /// Reads an execution output.
    pub fn new(analysis: Analysis) -> Result<ResultView, CliError> {
        let mut sizes: Vec<Size> = match &analysis.stats {
            Some(stats) => stats
                .iter()
                .filter(|s| s.error.is_none())
                .filter_map(|s| {
                    Some(Size {
                        power: s.value,
                        duration: s.average_duration?,
                        cost: s.average_price?,
                        stat: Some(s.clone()),
                    })
                })
                .collect(),
            None => {
                let hash = analysis
                    .state_machine
                    .visualization
                    .split_once('#')
                    .map(|(_, h)| h)
                    .ok_or_else(|| {
                        CliError::Invalid(
                            "the output has neither stats nor a visualization URL".into(),
                        )
                    })?;
                visualization::decode_points(hash)
                    .ok_or_else(|| {
                        CliError::Invalid("the visualization URL cannot be decoded".into())
                    })?
                    .into_iter()
                    .map(|p| Size {
                        power: p.power,
                        duration: p.duration,
                        cost: p.cost,
                        stat: None,
                    })
                    .collect()
            }
        };
        sizes.sort_by_key(|s| s.power);
        Ok(ResultView { analysis, sizes })
    }

    /// The sizes as chart points.
    pub fn points(&self) -> Vec<Point> {
        self.sizes.iter().map(Size::point).collect()
    }

    /// Every size as a stat (measured ones, then the failed ones), for the table.
    pub fn stats(&self) -> Vec<Stat> {
        let measured = self.sizes.iter().map(|s| {
            s.stat.clone().unwrap_or_else(|| Stat {
                value: s.power,
                average_duration: Some(s.duration),
                average_price: Some(s.cost),
                ..Stat::default()
            })
        });
        let failed = self.analysis.failures.iter().flatten().map(|f| {
            Stat::failed(
                f.value,
                0,
                0,
                StatError {
                    error_type: f.error_type.clone(),
                    error_message: f.error_message.clone(),
                    detail: None,
                },
            )
        });
        measured.chain(failed).collect()
    }

    /// The web UI link prefix of this result (`base[?currency=CNY]`).
    pub fn link_prefix(&self) -> String {
        let url = &self.analysis.state_machine.visualization;
        url.split_once('#')
            .map(|(base, _)| base.to_string())
            .unwrap_or_else(|| power_tuning_core::settings::DEFAULT_VISUALIZATION_URL.to_string())
    }
}

/// A projection for one memory size.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// Memory (MB).
    pub power: u32,
    /// Concurrency needed (rps × duration in s), with `--rps`.
    pub concurrency: Option<f64>,
    /// Monthly cost with the request charge.
    pub monthly_cost: Option<f64>,
    /// The needed concurrency exceeds the default account limit.
    pub over_limit: bool,
}

/// Projections for a traffic: `rps` (requests per second) and/or monthly invocations (default
/// rps × 30 days).
pub fn project(
    sizes: &[Size],
    rps: Option<f64>,
    monthly_invocations: Option<f64>,
) -> Vec<Projection> {
    let monthly = monthly_invocations.or_else(|| rps.map(|r| r * SECONDS_PER_MONTH));
    sizes
        .iter()
        .map(|s| {
            let concurrency = rps.map(|r| r * s.duration / 1000.0);
            Projection {
                power: s.power,
                concurrency,
                monthly_cost: monthly.map(|n| n * s.cost + n * REQUEST_PRICE),
                over_limit: concurrency.is_some_and(|c| c > DEFAULT_CONCURRENCY_LIMIT),
            }
        })
        .collect()
}

/// Whether any projection has something to show.
pub fn has_projections(projections: &[Projection]) -> bool {
    projections
        .iter()
        .any(|p| p.concurrency.is_some() || p.monthly_cost.is_some())
}

/// The web visualization's two-run comparison link of two results.
pub fn comparison_url(first: &ResultView, second: &ResultView, legends: (&str, &str)) -> String {
    visualization::comparison_url(
        &first.link_prefix(),
        (&first.points(), legends.0),
        (&second.points(), legends.1),
    )
}

/// The terminal text of a report.
pub fn text(view: &ResultView, projections: &[Projection], comparison: Option<&str>) -> String {
    let stats = view.stats();
    let mut out = output::summary(Some(&view.analysis), Some(&stats), "chosen");
    if has_projections(projections) {
        out.push_str("\nProjections (a month = 30 days; monthly cost includes $0.20 per million requests):\n");
        for p in projections {
            let mut line = format!("  {:>6} MB:", p.power);
            if let Some(c) = p.concurrency {
                let _ = write!(line, " concurrency {c:.1}");
            }
            if let Some(m) = p.monthly_cost {
                let _ = write!(line, " · ${m:.2}/month");
            }
            if p.over_limit {
                line.push_str(" · WARNING: above the default account concurrency limit (1,000)");
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if let Some(url) = comparison {
        let _ = writeln!(out, "Comparison: {url}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn view_of(value: serde_json::Value) -> ResultView {
        ResultView::new(serde_json::from_value(value).expect("an analysis")).expect("view")
    }

    pub(crate) fn output() -> serde_json::Value {
        json!({"power": 512, "cost": 6.72e-7, "duration": 80.0,
            "stateMachine": {"executionCost": 0.00025, "lambdaCost": 2.772e-5,
                "visualization": "https://lambda-power-tuning.show/#gAAAAQACAAQ=;AABIQwAA8EIAAKBCAACMQg==;XHzhNJ5KBzV9YzQ1DdedNQ=="},
            "failures": [{"value": 64, "errorType": "E", "errorMessage": "<boom>"}]})
    }

    #[test]
    fn sizes_from_the_visualization_url() {
        let v = view_of(output());
        assert_eq!(
            v.sizes.iter().map(|s| s.power).collect::<Vec<_>>(),
            vec![128, 256, 512, 1024]
        );
        assert_eq!(v.sizes[1].duration, 120.0);
        assert!((v.sizes[3].cost - 1.176e-6).abs() < 1e-12);
        let failed: Vec<_> = v
            .stats()
            .into_iter()
            .filter(|s| s.error.is_some())
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].value, 64);
        assert!(serde_json::from_value::<Analysis>(serde_json::Value::Null).is_err());
    }

    #[test]
    fn littles_law_and_monthly_cost_by_hand() {
        let v = view_of(output());
        let p = project(&v.sizes, Some(50.0), None);
        // 50 rps × 0.2 s = 10 concurrent executions at 128 MB; 50 × 0.08 = 4 at 512 MB.
        assert!((p[0].concurrency.expect("c") - 10.0).abs() < 1e-9);
        assert!((p[2].concurrency.expect("c") - 4.0).abs() < 1e-9);
        // 50 rps × 2,592,000 s = 129.6 M invocations × (6.72e-7 + 2e-7) = $113.0112 at 512 MB
        // (the f32 cost in the URL is 6.7200002e-7).
        assert!((p[2].monthly_cost.expect("m") - 129_600_000.0 * (6.72e-7 + 0.2e-6)).abs() < 1e-3);
        assert!(!p.iter().any(|x| x.over_limit));
        let heavy = project(&v.sizes, Some(6000.0), Some(1_000_000.0));
        // 6000 × 0.2 s = 1200 > 1000.
        assert!(heavy[0].over_limit && !heavy[3].over_limit);
        assert!((heavy[0].monthly_cost.expect("m") - 1_000_000.0 * (4.2e-7 + 2e-7)).abs() < 1e-6);
        assert!(
            text(&v, &heavy, None).contains("WARNING: above the default account concurrency limit")
        );
    }

    #[test]
    fn comparison_url_decodes_back() {
        let first = view_of(output());
        let mut second_output = output();
        second_output["stateMachine"]["visualization"] = json!(visualization::url(
            "https://lambda-power-tuning.show/",
            "us-east-1",
            &[Point {
                power: 256,
                duration: 50.0,
                cost: 2.1e-7
            }]
        ));
        let second = view_of(second_output);
        let url = comparison_url(&first, &second, ("before fix", "after: 2×"));
        let (base, hash) = url.split_once('#').expect("hash");
        assert_eq!(base, "https://lambda-power-tuning.show/");
        let ((one, a), (two, b)) = visualization::decode_comparison(hash).expect("8 parts");
        assert_eq!(
            one.iter().map(|p| p.power).collect::<Vec<_>>(),
            vec![128, 256, 512, 1024]
        );
        assert_eq!((two[0].power, two[0].duration), (256, 50.0));
        assert!(hash.contains(";before%20fix;"));
        assert_eq!((a.as_str(), b.as_str()), ("before fix", "after: 2×"));
    }
}

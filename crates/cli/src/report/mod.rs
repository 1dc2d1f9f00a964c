//! Reading saved results for `report`: the sizes of a result (from its `stats`, else decoded
//! from the visualization URL every output carries), projections for a traffic (Little's law:
//! needed concurrency = requests per second × duration in seconds; monthly cost = invocations ×
//! cost per invocation + the request charge), the terminal text, and the HTML page ([`html`]).

pub mod html;

use std::fmt::Write as _;

use power_tuning_core::architecture::Architecture;
use power_tuning_core::output::{Analysis, Failure, Stat, StatError};
pub use power_tuning_core::pricing::Prices;
use power_tuning_core::pricing::{self, Month, MonthlyCost};
use power_tuning_core::visualization::{self, Point};

use crate::error::CliError;
use crate::output;

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

/// One function's part of a result: the whole result for one target, each target's with
/// `compareWith`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Function name (empty for a single-target result: the report's name is used).
    pub name: String,
    /// Architecture, when the result says.
    pub architecture: Option<Architecture>,
    /// Sizes measured (kept ones), by memory.
    pub sizes: Vec<Size>,
    /// Failed sizes.
    pub failures: Vec<Failure>,
    /// Its best size.
    pub chosen: Option<u32>,
    /// Its current size, when measured.
    pub current: Option<u32>,
}

impl Run {
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
        let failed = self.failures.iter().map(|f| {
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
}

/// The measured sizes: from `stats` when the result has them, else decoded from its
/// visualization URL (every result carries one).
fn sizes_of(stats: Option<&[Stat]>, visualization: Option<&str>) -> Result<Vec<Size>, CliError> {
    let mut sizes: Vec<Size> = match (stats, visualization) {
        (Some(stats), _) => stats
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
        (None, Some(url)) => {
            let hash = url
                .split_once('#')
                .map(|(_, h)| h)
                .ok_or_else(|| CliError::Invalid("the visualization URL has no data".into()))?;
            visualization::decode_points(hash)
                .ok_or_else(|| CliError::Invalid("the visualization URL cannot be decoded".into()))?
                .into_iter()
                .map(|p| Size {
                    power: p.power,
                    duration: p.duration,
                    cost: p.cost,
                    stat: None,
                })
                .collect()
        }
        (None, None) => Vec::new(),
    };
    sizes.sort_by_key(|s| s.power);
    Ok(sizes)
}

/// A saved execution output with its measured sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultView {
    /// The output.
    pub analysis: Analysis,
    /// Sizes measured (kept ones) of the chosen function, by memory.
    pub sizes: Vec<Size>,
    /// Every function's part, in input order (one for a single-target result).
    pub runs: Vec<Run>,
}

impl ResultView {
    /// Reads an execution output.
    pub fn new(analysis: Analysis) -> Result<ResultView, CliError> {
        let runs = match &analysis.targets {
            Some(targets) => targets
                .iter()
                .map(|t| {
                    Ok(Run {
                        name: crate::execution::function_name(&t.lambda_arn).to_string(),
                        architecture: Some(t.architecture),
                        sizes: sizes_of(t.stats.as_deref(), t.visualization.as_deref())?,
                        failures: t.failures.clone().unwrap_or_default(),
                        chosen: t.power,
                        current: t.current.as_ref().map(|c| c.power),
                    })
                })
                .collect::<Result<Vec<_>, CliError>>()?,
            None => vec![Run {
                name: String::new(),
                architecture: None,
                sizes: sizes_of(
                    analysis.stats.as_deref(),
                    Some(&analysis.state_machine.visualization),
                )?,
                failures: analysis.failures.clone().unwrap_or_default(),
                chosen: Some(analysis.power),
                current: analysis.current.as_ref().map(|c| c.power),
            }],
        };
        let sizes = match &analysis.lambda_arn {
            Some(arn) => runs
                .iter()
                .find(|r| r.name == crate::execution::function_name(arn))
                .map(|r| r.sizes.clone())
                .unwrap_or_default(),
            None => runs.first().map(|r| r.sizes.clone()).unwrap_or_default(),
        };
        Ok(ResultView {
            analysis,
            sizes,
            runs,
        })
    }

    /// The chosen function's sizes as chart points.
    pub fn points(&self) -> Vec<Point> {
        self.sizes.iter().map(Size::point).collect()
    }

    /// The tables: each run's name and stats.
    pub fn tables(&self) -> Vec<(String, Vec<Stat>)> {
        self.runs
            .iter()
            .map(|r| (r.name.clone(), r.stats()))
            .collect()
    }

    /// The web UI link prefix of this result (`base[?currency=CNY]`).
    pub fn link_prefix(&self) -> String {
        let url = &self.analysis.state_machine.visualization;
        url.split_once('#')
            .map(|(base, _)| base.to_string())
            .unwrap_or_else(|| power_tuning_core::settings::DEFAULT_VISUALIZATION_URL.to_string())
    }
}

/// The traffic to project.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Traffic {
    /// Requests per second.
    pub rps: Option<f64>,
    /// Invocations per month (default: rps × 30 days).
    pub monthly_invocations: Option<u64>,
    /// Share of invocations that are cold starts.
    pub cold_start_ratio: f64,
}

impl Traffic {
    /// Invocations per month, when known.
    pub fn monthly(&self) -> Option<u64> {
        self.monthly_invocations
            .or_else(|| self.rps.map(|r| (r * SECONDS_PER_MONTH).round() as u64))
    }
}

/// A projection for one memory size.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// Memory (MB).
    pub power: u32,
    /// Concurrency needed (rps × duration in s), with `--rps`.
    pub concurrency: Option<f64>,
    /// The month's bill (SPEC §8: tiers, request charge, cold-start share).
    pub monthly: Option<MonthlyCost>,
    /// The needed concurrency exceeds the default account limit.
    pub over_limit: bool,
}

/// Projections for a traffic: the bill is core's monthly cost (the same as the run's
/// `monthlyCost`), from each size's billed and init milliseconds.
pub fn project(sizes: &[Size], traffic: &Traffic, prices: &Prices) -> Vec<Projection> {
    let month = traffic.monthly().map(|invocations| Month {
        invocations,
        cold_start_ratio: traffic.cold_start_ratio,
        request_price: prices.request_price,
    });
    sizes
        .iter()
        .map(|s| {
            let concurrency = traffic.rps.map(|r| r * s.duration / 1000.0);
            let stat = s.stat.as_ref();
            // Warm and cold starts priced apart (SPEC §8); a result written before they were
            // (no `warmPrice`) prices warm at its average and a cold start at average + INIT.
            let warm_ms = prices.milliseconds(
                stat.and_then(|st| st.warm_price.or(st.average_price))
                    .unwrap_or(s.cost),
                s.power,
            );
            let cold_ms = stat.and_then(|st| match (st.cold_price, st.init_price) {
                (Some(cold), _) => Some(prices.milliseconds(cold, s.power)),
                (None, Some(init)) if st.warm_price.is_none() && init > 0.0 => {
                    Some(warm_ms + prices.milliseconds(init, s.power))
                }
                _ => None,
            });
            Projection {
                power: s.power,
                concurrency,
                monthly: month.map(|month| {
                    pricing::monthly_cost(
                        prices.base_price,
                        prices.architecture,
                        s.power,
                        warm_ms,
                        cold_ms,
                        &month,
                    )
                }),
                over_limit: concurrency.is_some_and(|c| c > DEFAULT_CONCURRENCY_LIMIT),
            }
        })
        .collect()
}

/// Whether any projection has something to show.
pub fn has_projections(projections: &[Projection]) -> bool {
    projections
        .iter()
        .any(|p| p.concurrency.is_some() || p.monthly.is_some())
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
    let mut out = output::summary(Some(&view.analysis), &view.tables(), "chosen");
    if has_projections(projections) {
        out.push_str("\nProjections (a month = 30 days; the bill has Lambda's monthly duration tiers and the request charge):\n");
        for p in projections {
            let mut line = format!("  {:>6} MB:", p.power);
            if let Some(c) = p.concurrency {
                let _ = write!(line, " concurrency {c:.1}");
            }
            if let Some(m) = &p.monthly {
                let _ = write!(
                    line,
                    " · {}/month ({:.0} GB-s, requests {}, cold starts {})",
                    crate::format::money(m.total()),
                    m.gb_seconds,
                    crate::format::money(m.requests),
                    crate::format::money(m.cold_starts)
                );
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
pub(crate) mod tests {
    use super::*;

    /// A `traffic` object as `--traffic-from-history` adds it (SPEC §15).
    pub(crate) fn traffic_from_history() -> serde_json::Value {
        serde_json::json!({
            "source": "cloudwatch", "region": "eu-west-1",
            "window": {"start": "2026-11-08T11:00:00Z", "end": "2026-12-06T11:00:00Z", "days": 28, "daysWithData": 28},
            "invocations": 28000, "monthlyInvocations": 30417, "errors": 3, "throttles": 0,
            "averageDurationMs": 100.0, "maxConcurrency": 12,
            "coldStarts": {"windowDays": 7, "reports": 6650, "cold": 70, "ratio": 0.0105, "interval": [0.0083, 0.0133], "averageInitMs": 200.0, "coverage": 0.95, "bytesScanned": 7e6},
            "currentMonthlyCost": {"duration": 12.5, "requests": 0.5, "total": 13.0, "basis": "reports"}
        })
    }
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
        let failed: Vec<_> = v.runs[0]
            .stats()
            .into_iter()
            .filter(|s| s.error.is_some())
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].value, 64);
        assert!(serde_json::from_value::<Analysis>(serde_json::Value::Null).is_err());
    }

    fn x86() -> Prices {
        Prices::of(
            &power_tuning_core::Settings::default(),
            "us-east-1",
            Architecture::X86_64,
        )
        .expect("prices")
    }

    fn traffic(rps: Option<f64>, monthly: Option<u64>) -> Traffic {
        Traffic {
            rps,
            monthly_invocations: monthly,
            cold_start_ratio: 0.0,
        }
    }

    #[test]
    fn littles_law_and_monthly_cost_by_hand() {
        let v = view_of(output());
        let p = project(&v.sizes, &traffic(Some(50.0), None), &x86());
        // 50 rps × 0.2 s = 10 concurrent executions at 128 MB; 50 × 0.08 = 4 at 512 MB.
        assert!((p[0].concurrency.expect("c") - 10.0).abs() < 1e-9);
        assert!((p[2].concurrency.expect("c") - 4.0).abs() < 1e-9);
        // 50 rps × 2,592,000 s = 129.6 M invocations × (6.72e-7 + 2e-7) = $113.0112 at 512 MB
        // (the f32 cost in the URL is 6.7200002e-7).
        // Below the first tier (5.2 M GB-s), so the plain price per invocation applies.
        let month = p[2].monthly.expect("monthly");
        assert!((month.total() - 129_600_000.0 * (6.72e-7 + 0.2e-6)).abs() < 1e-6);
        assert!((month.gb_seconds - 129_600_000.0 * 80.0 / 1000.0 * 512.0 / 1024.0).abs() < 1e-3);
        assert!(!p.iter().any(|x| x.over_limit));
        let heavy = project(&v.sizes, &traffic(Some(6000.0), Some(1_000_000)), &x86());
        // 6000 × 0.2 s = 1200 > 1000.
        assert!(heavy[0].over_limit && !heavy[3].over_limit);
        assert!(
            (heavy[0].monthly.expect("m").total() - 1_000_000.0 * (4.2e-7 + 2e-7)).abs() < 1e-6
        );
        assert!(
            text(&v, &heavy, None).contains("WARNING: above the default account concurrency limit")
        );
    }

    #[test]
    fn projections_use_the_tiers_and_the_cold_start_share() {
        // 1024 MB, 70 ms (1.176e-6 = 70 × 2.1e-9 × 8), 1e11 invocations: 7e9 GB-s, past the
        // first x86_64 tier of 6e9.
        let v = view_of(output());
        let p = project(&v.sizes, &traffic(None, Some(100_000_000_000)), &x86());
        let month = p[3].monthly.expect("monthly");
        let rate = 2.1e-9 * 8000.0;
        assert!((month.gb_seconds - 7e9).abs() < 1.0);
        assert!((month.duration - (6e9 + 0.9 * 1e9) * rate).abs() < 1e-6 * month.duration);
        assert!((month.requests - 1e11 * 2e-7).abs() < 1e-6);
        // A cold-start share needs the warm and cold prices: from a stat.
        let stat = Stat {
            value: 1024,
            average_price: Some(1.176e-6),
            average_duration: Some(70.0),
            warm_price: Some(70.0 * 2.1e-9 * 8.0),
            cold_price: Some(270.0 * 2.1e-9 * 8.0),
            init_price: Some(200.0 * 2.1e-9 * 8.0),
            ..Stat::default()
        };
        let sizes = |stat: Stat| {
            [Size {
                power: 1024,
                duration: 70.0,
                cost: 1.176e-6,
                stat: Some(stat),
            }]
        };
        let traffic = Traffic {
            rps: None,
            monthly_invocations: Some(1_000_000),
            cold_start_ratio: 0.1,
        };
        let cold = project(&sizes(stat.clone()), &traffic, &x86())[0]
            .monthly
            .expect("monthly");
        // 0.9 × 70 + 0.1 × 270 = 90 ms per invocation: the cold starts are 27/90 of the
        // duration (INIT counted once, inside the cold start's 270 ms).
        assert!((cold.gb_seconds - 1e6 * 90.0 / 1000.0).abs() < 1e-6);
        assert!((cold.cold_starts / cold.duration - 27.0 / 90.0).abs() < 1e-12);
        // A result written before warm and cold prices: cold = average + INIT.
        let old = Stat {
            warm_price: None,
            cold_price: None,
            ..stat
        };
        let month = project(&sizes(old), &traffic, &x86())[0]
            .monthly
            .expect("monthly");
        assert!((month.gb_seconds - 1e6 * 90.0 / 1000.0).abs() < 1e-6);
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

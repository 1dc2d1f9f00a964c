//! `power-tuning report`: a result's table, projections for a traffic (Little's law: needed
//! concurrency = requests per second × duration in seconds; monthly cost = invocations × cost
//! per invocation + the request charge), the two-run comparison link of the web visualization,
//! and a self-contained HTML report (inline SVG charts, no network needed to open it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use power_tuning_core::visualization::{self, Point};
use serde_json::Value;

/// Lambda's request charge: $0.20 per million requests.
pub const REQUEST_PRICE: f64 = 0.20 / 1_000_000.0;
/// Default account concurrency limit.
pub const DEFAULT_CONCURRENCY_LIMIT: f64 = 1000.0;
/// A month, for projections: 30 days.
pub const SECONDS_PER_MONTH: f64 = 30.0 * 24.0 * 3600.0;

/// One memory size of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Size {
    /// Memory (MB).
    pub power: u32,
    /// Average duration (ms).
    pub duration: f64,
    /// Average cost per invocation ($).
    pub cost: f64,
    /// The executor's full stat, when the output has `stats`.
    pub stat: Option<Value>,
}

/// A parsed execution output.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultView {
    /// The chosen size.
    pub power: Option<u32>,
    /// Sizes measured (kept ones), by memory.
    pub sizes: Vec<Size>,
    /// Failed sizes: (power, errorType, errorMessage).
    pub failures: Vec<(u32, String, String)>,
    /// The visualization URL.
    pub visualization: Option<String>,
    /// The raw output.
    pub output: Value,
}

/// Reads an execution output: sizes from `stats` (with `includeOutputResults`), else decoded
/// from the visualization URL, which every output carries.
pub fn view(output: &Value) -> Result<ResultView, String> {
    if !output.is_object() {
        return Err("not an execution output (expected a JSON object with power and stateMachine; dry runs have none)".into());
    }
    let visualization = output
        .pointer("/stateMachine/visualization")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut sizes: Vec<Size> = match output.get("stats").and_then(Value::as_array) {
        Some(stats) => stats
            .iter()
            .filter(|s| s.get("error").is_none())
            .filter_map(|s| {
                Some(Size {
                    power: s.get("value")?.as_u64()? as u32,
                    duration: s.get("averageDuration")?.as_f64()?,
                    cost: s.get("averagePrice")?.as_f64()?,
                    stat: Some(s.clone()),
                })
            })
            .collect(),
        None => {
            let hash = visualization
                .as_deref()
                .and_then(|u| u.split_once('#'))
                .map(|(_, h)| h)
                .ok_or("the output has neither stats nor a visualization URL")?;
            visualization::decode_points(hash)
                .ok_or("the visualization URL cannot be decoded")?
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
    let failures = output
        .get("failures")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .map(|x| {
                    (
                        x["value"].as_u64().unwrap_or(0) as u32,
                        x["errorType"].as_str().unwrap_or_default().to_string(),
                        x["errorMessage"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ResultView {
        power: output
            .get("power")
            .and_then(Value::as_u64)
            .map(|p| p as u32),
        sizes,
        failures,
        visualization,
        output: output.clone(),
    })
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

/// `encodeURIComponent`.
pub fn encode_uri_component(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `decodeURIComponent` (for tests and round trips).
pub fn decode_uri_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The web visualization's two-run comparison link:
/// `base#p1;t1;c1;p2;t2;c2;legend1;legend2`, legends URI-encoded.
pub fn comparison_url(first: &ResultView, second: &ResultView, legends: (&str, &str)) -> String {
    let base = first
        .visualization
        .as_deref()
        .and_then(|u| u.split_once('#').map(|(b, _)| b.to_string()))
        .unwrap_or_else(|| power_tuning_core::settings::DEFAULT_VISUALIZATION_URL.to_string());
    let points = |v: &ResultView| {
        v.sizes
            .iter()
            .map(|s| Point {
                power: s.power,
                duration: s.duration,
                cost: s.cost,
            })
            .collect::<Vec<_>>()
    };
    format!(
        "{base}#{};{};{};{}",
        visualization::encode_points(&points(first)),
        visualization::encode_points(&points(second)),
        encode_uri_component(legends.0),
        encode_uri_component(legends.1)
    )
}

/// Arguments of `power-tuning report`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  power-tuning report result.json --rps 50\n  power-tuning report result.json --html report.html --compare before.json --monthly-invocations 10000000"
)]
pub struct ReportArgs {
    /// An execution output (JSON), e.g. from `power-tuning run --json > result.json`.
    pub result: PathBuf,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Another result to compare with (adds the comparison link and a second series).
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Legends of the two runs in the comparison (default: the file names).
    #[arg(long, value_delimiter = ',', num_args = 2)]
    pub legends: Option<Vec<String>>,
    /// Traffic in requests per second, for concurrency (Little's law) and monthly cost.
    #[arg(long)]
    pub rps: Option<f64>,
    /// Invocations per month, for monthly cost (default: rps × 30 days).
    #[arg(long)]
    pub monthly_invocations: Option<f64>,
}

fn read_result(path: &Path) -> Result<ResultView, String> {
    let value = crate::input::read_json(path)?;
    view(&value).map_err(|e| format!("{}: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("run")
        .to_string()
}

/// The terminal text of a report.
pub fn text(view: &ResultView, projections: &[Projection], comparison: Option<&str>) -> String {
    let stats: Vec<Value> = view
        .sizes
        .iter()
        .map(|s| s.stat.clone().unwrap_or_else(|| serde_json::json!({"value": s.power, "averageDuration": s.duration, "averagePrice": s.cost})))
        .chain(view.failures.iter().map(|(p, t, m)| serde_json::json!({"value": p, "error": {"errorType": t, "errorMessage": m}})))
        .collect();
    let mut out = crate::table::summary(&view.output, Some(&stats), "chosen");
    if projections
        .iter()
        .any(|p| p.concurrency.is_some() || p.monthly_cost.is_some())
    {
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One chart series: name, colour, and (memory size, value) points.
type Series<'a> = (&'a str, &'a str, Vec<(u32, f64)>);

/// An SVG line chart over memory sizes (categorical x), one or two series.
/// Memory sizes in `failed` are marked on the axis.
fn chart(title: &str, unit: &str, series: &[Series<'_>], failed: &[u32]) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 300.0, 70.0, 20.0, 30.0, 40.0);
    let mut powers: Vec<u32> = series
        .iter()
        .flat_map(|(_, _, pts)| pts.iter().map(|p| p.0))
        .chain(failed.iter().copied())
        .collect();
    powers.sort_unstable();
    powers.dedup();
    let max = series
        .iter()
        .flat_map(|(_, _, pts)| pts.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.1;
    let x = |power: u32| {
        let i = powers.iter().position(|p| *p == power).unwrap_or(0) as f64;
        let n = (powers.len().max(2) - 1) as f64;
        left + i * (w - left - right) / n
    };
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><text x="{left}" y="18" class="title">{t}</text>"#,
        t = escape(title)
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r#"<line x1="{left}" x2="{}" y1="{y0:.1}" y2="{y0:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            w - right,
            left - 6.0,
            y(v) + 4.0,
            format_tick(v, unit),
            y0 = y(v)
        );
    }
    for power in &powers {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{power}</text>"#,
            x(*power),
            h - bottom + 18.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">memory (MB)</text>"#,
        (w + left) / 2.0,
        h - 4.0
    );
    for (name, color, pts) in series {
        let path: Vec<String> = pts
            .iter()
            .map(|(p, v)| format!("{:.1},{:.1}", x(*p), y(*v)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for (p, v) in pts {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{color}"><title>{} · {p} MB: {}</title></circle>"#,
                x(*p),
                y(*v),
                escape(name),
                format_tick(*v, unit)
            );
        }
    }
    for power in failed {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="failed-mark" text-anchor="middle">✕ failed<title>{power} MB failed</title></text>"#,
            x(*power),
            h - bottom - 6.0
        );
    }
    if series.len() > 1 {
        for (i, (name, color, _)) in series.iter().enumerate() {
            let lx = w - right - 160.0;
            let ly = top + 6.0 + 16.0 * i as f64;
            let _ = write!(
                svg,
                r#"<rect x="{lx}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{:.1}" class="legend">{}</text>"#,
                ly - 9.0,
                lx + 14.0,
                ly,
                escape(name)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn format_tick(v: f64, unit: &str) -> String {
    if v == 0.0 {
        if unit == "$" {
            "$0".into()
        } else {
            format!("0 {unit}")
        }
    } else if unit == "$" {
        format!("${v:.2e}")
    } else {
        format!("{v:.1} {unit}")
    }
}

/// The self-contained HTML report.
pub fn html(
    view: &ResultView,
    name: &str,
    projections: &[Projection],
    other: Option<(&ResultView, &str, &str)>,
) -> String {
    let series = |v: &ResultView, f: fn(&Size) -> f64| {
        v.sizes.iter().map(|s| (s.power, f(s))).collect::<Vec<_>>()
    };
    let mut durations = vec![(name, "#2563eb", series(view, |s| s.duration))];
    let mut costs = vec![(name, "#2563eb", series(view, |s| s.cost))];
    if let Some((o, other_name, _)) = other {
        durations.push((other_name, "#dc2626", series(o, |s| s.duration)));
        costs.push((other_name, "#dc2626", series(o, |s| s.cost)));
    }
    let failed: Vec<u32> = view.failures.iter().map(|f| f.0).collect();
    let mut body = String::new();
    let best = view
        .power
        .map(|p| format!("{p} MB"))
        .unwrap_or_else(|| "-".into());
    let _ = write!(
        body,
        "<h1>power-tuning report: {}</h1><p class=\"best\">Best memory size: <strong>{best}</strong>",
        escape(name)
    );
    if let (Some(d), Some(c)) = (
        view.output["duration"].as_f64(),
        view.output["cost"].as_f64(),
    ) {
        let _ = write!(body, " — {d:.2} ms, ${c:.3e} per invocation");
    }
    body.push_str("</p>");
    let _ = write!(
        body,
        "<div class=\"charts\">{}{}</div>",
        chart("Average duration", "ms", &durations, &failed),
        chart("Average cost per invocation", "$", &costs, &failed)
    );
    body.push_str("<h2>Memory sizes</h2><table><thead><tr><th>Memory (MB)</th><th>Avg duration (ms)</th><th>p50</th><th>p90</th><th>p99</th><th>Avg cost ($)</th><th>Invocations</th><th>Cold starts</th><th>Max memory (MB)</th></tr></thead><tbody>");
    for size in &view.sizes {
        let stat = size.stat.clone().unwrap_or(Value::Null);
        let num = |k: &str| {
            stat.get(k)
                .and_then(Value::as_f64)
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "-".into())
        };
        let int = |k: &str| {
            stat.get(k)
                .and_then(Value::as_u64)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into())
        };
        let class = if Some(size.power) == view.power {
            " class=\"chosen\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<tr{class}><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3e}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            size.power,
            size.duration,
            num("p50Duration"),
            num("p90Duration"),
            num("p99Duration"),
            size.cost,
            int("invocations"),
            int("coldStarts"),
            int("maxMemoryUsed")
        );
    }
    body.push_str("</tbody></table>");
    if !view.failures.is_empty() {
        body.push_str("<h2>Failures</h2><table><thead><tr><th>Memory (MB)</th><th>Error type</th><th>Error message</th></tr></thead><tbody>");
        for (p, t, m) in &view.failures {
            let _ = write!(
                body,
                "<tr class=\"failed\"><td>{p}</td><td>{}</td><td>{}</td></tr>",
                escape(t),
                escape(m)
            );
        }
        body.push_str("</tbody></table>");
    }
    if projections
        .iter()
        .any(|p| p.concurrency.is_some() || p.monthly_cost.is_some())
    {
        body.push_str("<h2>Projections</h2><p class=\"note\">Concurrency needed = requests per second × duration (Little's law). Monthly cost = invocations × cost per invocation + $0.20 per million requests; a month is 30 days.</p><table><thead><tr><th>Memory (MB)</th><th>Concurrency</th><th>Monthly cost ($)</th><th>Note</th></tr></thead><tbody>");
        for p in projections {
            let _ = write!(
                body,
                "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if p.over_limit {
                    " class=\"failed\""
                } else {
                    ""
                },
                p.power,
                p.concurrency
                    .map(|c| format!("{c:.1}"))
                    .unwrap_or_else(|| "-".into()),
                p.monthly_cost
                    .map(|c| format!("{c:.2}"))
                    .unwrap_or_else(|| "-".into()),
                if p.over_limit {
                    "above the default account limit (1,000)"
                } else {
                    ""
                }
            );
        }
        body.push_str("</tbody></table>");
    }
    let sm = &view.output["stateMachine"];
    let _ = write!(
        body,
        "<h2>This run</h2><p>Step Functions: ${} · Lambda: ${:.3e}</p>",
        sm["executionCost"].as_f64().unwrap_or(0.0),
        sm["lambdaCost"].as_f64().unwrap_or(0.0)
    );
    if let Some(url) = &view.visualization {
        let _ = write!(
            body,
            "<p><a href=\"{}\">Open in the web visualization</a></p>",
            escape(url)
        );
    }
    if let Some((_, other_name, url)) = other {
        let _ = write!(
            body,
            "<p><a href=\"{}\">Compare with {} in the web visualization</a></p>",
            escape(url),
            escape(other_name)
        );
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>power-tuning report: {t}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        t = escape(name)
    )
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1360px;color:#111;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.best{font-size:1.1rem}.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{width:640px;max-width:100%;border:1px solid #ddd;border-radius:6px;background:#fafafa}.chart .title{font-weight:600;font-size:14px}.chart .tick{font-size:11px;fill:#555}.chart .grid{stroke:#e5e5e5}.chart .legend{font-size:12px}.chart .failed-mark{font-size:11px;fill:#b91c1c}table{border-collapse:collapse;margin-top:.5rem}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f3f4f6}tr.chosen td{background:#dcfce7;font-weight:600}tr.failed td{background:#fee2e2}.note{color:#555;font-size:.9rem}";

/// Runs `power-tuning report`.
pub fn run(args: ReportArgs) -> Result<u8, String> {
    let first = read_result(&args.result)?;
    let projections = project(&first.sizes, args.rps, args.monthly_invocations);
    let names = match &args.legends {
        Some(l) if l.len() == 2 => (l[0].clone(), l[1].clone()),
        _ => (
            stem(&args.result),
            args.compare.as_deref().map(stem).unwrap_or_default(),
        ),
    };
    let second = args.compare.as_deref().map(read_result).transpose()?;
    let comparison = second
        .as_ref()
        .map(|s| comparison_url(&first, s, (&names.0, &names.1)));
    print!("{}", text(&first, &projections, comparison.as_deref()));
    if let Some(path) = &args.html {
        let other = second
            .as_ref()
            .zip(comparison.as_deref())
            .map(|(s, url)| (s, names.1.as_str(), url));
        std::fs::write(path, html(&first, &names.0, &projections, other))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("HTML report: {}", path.display());
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn output() -> Value {
        json!({"power": 512, "cost": 6.72e-7, "duration": 80.0,
            "stateMachine": {"executionCost": 0.00025, "lambdaCost": 2.772e-5,
                "visualization": "https://lambda-power-tuning.show/#gAAAAQACAAQ=;AABIQwAA8EIAAKBCAACMQg==;XHzhNJ5KBzV9YzQ1DdedNQ=="},
            "failures": [{"value": 64, "errorType": "E", "errorMessage": "<boom>"}]})
    }

    #[test]
    fn sizes_from_the_visualization_url() {
        let v = view(&output()).expect("view");
        assert_eq!(
            v.sizes.iter().map(|s| s.power).collect::<Vec<_>>(),
            vec![128, 256, 512, 1024]
        );
        assert_eq!(v.sizes[1].duration, 120.0);
        assert!((v.sizes[3].cost - 1.176e-6).abs() < 1e-12);
        assert_eq!(
            v.failures,
            vec![(64, "E".to_string(), "<boom>".to_string())]
        );
        assert!(view(&Value::Null).is_err());
    }

    #[test]
    fn littles_law_and_monthly_cost_by_hand() {
        let v = view(&output()).expect("view");
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
        let first = view(&output()).expect("view");
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
        let second = view(&second_output).expect("view");
        let url = comparison_url(&first, &second, ("before fix", "after: 2×"));
        let (base, hash) = url.split_once('#').expect("hash");
        assert_eq!(base, "https://lambda-power-tuning.show/");
        let parts: Vec<&str> = hash.split(';').collect();
        assert_eq!(parts.len(), 8);
        let one = visualization::decode_points(&parts[0..3].join(";")).expect("first");
        let two = visualization::decode_points(&parts[3..6].join(";")).expect("second");
        assert_eq!(
            one.iter().map(|p| p.power).collect::<Vec<_>>(),
            vec![128, 256, 512, 1024]
        );
        assert_eq!((two[0].power, two[0].duration), (256, 50.0));
        assert_eq!(parts[6], "before%20fix");
        assert_eq!(decode_uri_component(parts[6]), "before fix");
        assert_eq!(decode_uri_component(parts[7]), "after: 2×");
    }

    #[test]
    fn html_is_self_contained_and_escaped() {
        let v = view(&output()).expect("view");
        let page = html(&v, "run <1>", &project(&v.sizes, Some(10.0), None), None);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(
            !page.contains("<script src") && !page.contains("stylesheet"),
            "no external resources"
        );
        assert_eq!(page.matches("<svg").count(), 2);
        assert!(page.contains("&lt;boom&gt;") && page.contains("run &lt;1&gt;"));
        assert!(page.contains("Little's law"));
    }
}

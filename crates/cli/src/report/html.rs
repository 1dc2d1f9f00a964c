//! The self-contained HTML report: a maud template (every interpolated value is escaped by the
//! template engine), inline SVG charts drawn here, no script, no network. The charts stay
//! hand-written SVG: two small line charts over categorical memory sizes are about 80 lines
//! here, where plotters' SVG backend would add a dependency tree and still need the legend,
//! failure marks and tooltips done by hand.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Projection, ResultView, has_projections};

/// One chart series: name, colour, and (memory size, value) points.
pub struct Series<'a> {
    /// Legend.
    pub name: &'a str,
    /// Stroke colour.
    pub color: &'a str,
    /// (memory size, value) in memory order.
    pub points: Vec<(u32, f64)>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

fn tick(v: f64, unit: &str) -> String {
    match (v == 0.0, unit) {
        (true, "$") => "$0".into(),
        (true, _) => format!("0 {unit}"),
        (false, "$") => format!("${v:.2e}"),
        (false, _) => format!("{v:.1} {unit}"),
    }
}

/// An SVG line chart over memory sizes (categorical x), one or more series, with the sizes in
/// `failed` marked on the axis.
pub fn chart(title: &str, unit: &str, series: &[Series<'_>], failed: &[u32]) -> Markup {
    let mut powers: Vec<u32> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(failed.iter().copied())
        .collect();
    powers.sort_unstable();
    powers.dedup();
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.1;
    let x = |power: u32| {
        let i = powers.iter().position(|p| *p == power).unwrap_or(0) as f64;
        let n = (powers.len().max(2) - 1) as f64;
        LEFT + i * (WIDTH - LEFT - RIGHT) / n
    };
    let y = |v: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - v / max);
    let grid: Vec<f64> = (0..=4).map(|i| max * f64::from(i) / 4.0).collect();
    html! {
        svg class="chart" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(title) {
            text x=(LEFT) y="18" class="title" { (title) }
            @for v in &grid {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(format!("{:.1}", y(*v))) y2=(format!("{:.1}", y(*v))) class="grid" {}
                text x=(LEFT - 6.0) y=(format!("{:.1}", y(*v) + 4.0)) class="tick" text-anchor="end" { (tick(*v, unit)) }
            }
            @for power in &powers {
                text x=(format!("{:.1}", x(*power))) y=(HEIGHT - BOTTOM + 18.0) class="tick" text-anchor="middle" { (power) }
            }
            text x=(format!("{:.1}", (WIDTH + LEFT) / 2.0)) y=(HEIGHT - 4.0) class="tick" text-anchor="middle" { "memory (MB)" }
            @for s in series {
                polyline points=(s.points.iter().map(|(p, v)| format!("{:.1},{:.1}", x(*p), y(*v))).collect::<Vec<_>>().join(" ")) fill="none" stroke=(s.color) stroke-width="2" {}
                @for (p, v) in &s.points {
                    circle cx=(format!("{:.1}", x(*p))) cy=(format!("{:.1}", y(*v))) r="4" fill=(s.color) {
                        title { (s.name) " · " (p) " MB: " (tick(*v, unit)) }
                    }
                }
            }
            @for power in failed {
                text x=(format!("{:.1}", x(*power))) y=(format!("{:.1}", HEIGHT - BOTTOM - 6.0)) class="failed-mark" text-anchor="middle" {
                    "✕ failed" title { (power) " MB failed" }
                }
            }
            @if series.len() > 1 {
                @for (i, s) in series.iter().enumerate() {
                    @let (lx, ly) = (WIDTH - RIGHT - 160.0, TOP + 6.0 + 16.0 * i as f64);
                    rect x=(lx) y=(format!("{:.1}", ly - 9.0)) width="10" height="10" fill=(s.color) {}
                    text x=(format!("{:.1}", lx + 14.0)) y=(format!("{ly:.1}")) class="legend" { (s.name) }
                }
            }
        }
    }
}

/// Two decimals, `-` when absent.
fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())
}

/// The other run of a comparison: its result, its name and the comparison link.
pub struct Other<'a> {
    /// Its result.
    pub view: &'a ResultView,
    /// Its legend.
    pub name: &'a str,
    /// The web UI's comparison link.
    pub link: &'a str,
}

/// The self-contained HTML report.
pub fn page(
    view: &ResultView,
    name: &str,
    projections: &[Projection],
    other: Option<Other<'_>>,
) -> String {
    let series = |v: &ResultView, n: &'static str| -> Vec<(u32, f64)> {
        v.sizes
            .iter()
            .map(|s| (s.power, if n == "duration" { s.duration } else { s.cost }))
            .collect()
    };
    let mut durations = vec![Series {
        name,
        color: "#2563eb",
        points: series(view, "duration"),
    }];
    let mut costs = vec![Series {
        name,
        color: "#2563eb",
        points: series(view, "cost"),
    }];
    if let Some(o) = &other {
        durations.push(Series {
            name: o.name,
            color: "#dc2626",
            points: series(o.view, "duration"),
        });
        costs.push(Series {
            name: o.name,
            color: "#dc2626",
            points: series(o.view, "cost"),
        });
    }
    let analysis = &view.analysis;
    let failures = analysis.failures.as_deref().unwrap_or_default();
    let failed: Vec<u32> = failures.iter().map(|f| f.value).collect();
    let sm = &analysis.state_machine;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { "power-tuning report: " (name) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "power-tuning report: " (name) }
                p class="best" {
                    "Best memory size: " strong { (analysis.power) " MB" }
                    (format!(" — {:.2} ms, ${:.3e} per invocation", analysis.duration, analysis.cost))
                }
                div class="charts" {
                    (chart("Average duration", "ms", &durations, &failed))
                    (chart("Average cost per invocation", "$", &costs, &failed))
                }
                h2 { "Memory sizes" }
                table {
                    thead { tr { th { "Memory (MB)" } th { "Avg duration (ms)" } th { "p50" } th { "p90" } th { "p99" } th { "Avg cost ($)" } th { "Invocations" } th { "Cold starts" } th { "Max memory (MB)" } } }
                    tbody {
                        @for size in &view.sizes {
                            @let stat = size.stat.as_ref();
                            tr class=[(size.power == analysis.power).then_some("chosen")] {
                                td { (size.power) }
                                td { (format!("{:.2}", size.duration)) }
                                td { (num(stat.and_then(|s| s.p50_duration))) }
                                td { (num(stat.and_then(|s| s.p90_duration))) }
                                td { (num(stat.and_then(|s| s.p99_duration))) }
                                td { (format!("{:.3e}", size.cost)) }
                                td { (stat.map(|s| s.invocations.to_string()).unwrap_or_else(|| "-".into())) }
                                td { (crate::output::count(stat.and_then(|s| s.cold_starts))) }
                                td { (crate::output::count(stat.and_then(|s| s.max_memory_used))) }
                            }
                        }
                    }
                }
                @if !failures.is_empty() {
                    h2 { "Failures" }
                    table {
                        thead { tr { th { "Memory (MB)" } th { "Error type" } th { "Error message" } } }
                        tbody {
                            @for f in failures {
                                tr class="failed" { td { (f.value) } td { (f.error_type) } td { (f.error_message) } }
                            }
                        }
                    }
                }
                @if has_projections(projections) {
                    h2 { "Projections" }
                    p class="note" { "Concurrency needed = requests per second × duration (Little's law). Monthly cost = invocations × cost per invocation + $0.20 per million requests; a month is 30 days." }
                    table {
                        thead { tr { th { "Memory (MB)" } th { "Concurrency" } th { "Monthly cost ($)" } th { "Note" } } }
                        tbody {
                            @for p in projections {
                                tr class=[p.over_limit.then_some("failed")] {
                                    td { (p.power) }
                                    td { (p.concurrency.map(|c| format!("{c:.1}")).unwrap_or_else(|| "-".into())) }
                                    td { (num(p.monthly_cost)) }
                                    td { @if p.over_limit { "above the default account limit (1,000)" } }
                                }
                            }
                        }
                    }
                }
                h2 { "This run" }
                p { "Step Functions: $" (sm.execution_cost) " · Lambda: $" (format!("{:.3e}", sm.lambda_cost)) }
                p { a href=(sm.visualization) { "Open in the web visualization" } }
                @if let Some(o) = &other {
                    p { a href=(o.link) { "Compare with " (o.name) " in the web visualization" } }
                }
            }
        }
    }
    .into_string()
        + "\n"
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1360px;color:#111;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.best{font-size:1.1rem}.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{width:640px;max-width:100%;border:1px solid #ddd;border-radius:6px;background:#fafafa}.chart .title{font-weight:600;font-size:14px}.chart .tick{font-size:11px;fill:#555}.chart .grid{stroke:#e5e5e5}.chart .legend{font-size:12px}.chart .failed-mark{font-size:11px;fill:#b91c1c}table{border-collapse:collapse;margin-top:.5rem}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f3f4f6}tr.chosen td{background:#dcfce7;font-weight:600}tr.failed td{background:#fee2e2}.note{color:#555;font-size:.9rem}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::project;
    use crate::report::tests::{output, view_of};

    #[test]
    fn page_is_self_contained_and_escaped() {
        let v = view_of(output());
        let page = page(&v, "run <1>", &project(&v.sizes, Some(10.0), None), None);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(
            !page.contains("<script") && !page.contains("stylesheet"),
            "no external resources"
        );
        assert_eq!(page.matches("<svg").count(), 2);
        assert!(page.contains("&lt;boom&gt;") && page.contains("run &lt;1&gt;"));
        assert!(!page.contains("<boom>") && !page.contains("run <1>"));
        assert!(page.contains("Little's law") || page.contains("Little&#39;s law"));
        // SVG elements are closed (an unclosed <line> would swallow its siblings).
        assert_eq!(
            page.matches("<line ").count(),
            page.matches("</line>").count()
        );
        assert!(page.contains("<tr class=\"chosen\"><td>512</td>"));
    }
}

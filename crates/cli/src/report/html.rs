//! The self-contained HTML report: a maud template (every interpolated value is escaped by the
//! template engine), inline SVG charts drawn here, no script, no network. The charts stay
//! hand-written SVG: two small line charts over categorical memory sizes are about 80 lines
//! here, where plotters' SVG backend would add a dependency tree and still need the legend,
//! failure marks and tooltips done by hand.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use power_tuning_core::architecture::Architecture;
use power_tuning_core::pricing;

use power_tuning_core::output::Failure;

use super::{Prices, Projection, ResultView, Run, Size, has_projections};
use crate::format::{bytes, grouped, money};
use crate::output::decision_lines;
use power_tuning_core::traffic::BillBasis;

/// One chart series: name, colour, and (memory size, value, half-width of its interval)
/// points.
pub struct Series<'a> {
    /// Legend.
    pub name: &'a str,
    /// Stroke colour.
    pub color: &'a str,
    /// (memory size, value, the interval's half-width when measured) in memory order.
    pub points: Vec<(u32, f64, Option<f64>)>,
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
pub fn chart(
    title: &str,
    unit: &str,
    series: &[Series<'_>],
    failed: &[u32],
    current: Option<u32>,
) -> Markup {
    let mut powers: Vec<u32> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(failed.iter().copied())
        .chain(current)
        .collect();
    powers.sort_unstable();
    powers.dedup();
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1 + p.2.unwrap_or(0.0)))
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
            @if let Some(power) = current {
                line class="current-mark" x1=(format!("{:.1}", x(power))) x2=(format!("{:.1}", x(power))) y1=(TOP) y2=(HEIGHT - BOTTOM) {}
                text class="current-mark" x=(format!("{:.1}", x(power) + 4.0)) y=(TOP + 12.0) { "current " (power) " MB" }
            }
            @for s in series {
                polyline points=(s.points.iter().map(|(p, v, _)| format!("{:.1},{:.1}", x(*p), y(*v))).collect::<Vec<_>>().join(" ")) fill="none" stroke=(s.color) stroke-width="2" {}
                @for (p, v, half) in &s.points {
                    @if let Some(h) = half.filter(|h| *h > 0.0) {
                        @let (cx, top, bottom) = (x(*p), y(v + h), y((v - h).max(0.0)));
                        g class="error-bar" stroke=(s.color) {
                            line x1=(format!("{cx:.1}")) x2=(format!("{cx:.1}")) y1=(format!("{top:.1}")) y2=(format!("{bottom:.1}")) {}
                            line x1=(format!("{:.1}", cx - 5.0)) x2=(format!("{:.1}", cx + 5.0)) y1=(format!("{top:.1}")) y2=(format!("{top:.1}")) {}
                            line x1=(format!("{:.1}", cx - 5.0)) x2=(format!("{:.1}", cx + 5.0)) y1=(format!("{bottom:.1}")) y2=(format!("{bottom:.1}")) {}
                        }
                    }
                    circle cx=(format!("{:.1}", x(*p))) cy=(format!("{:.1}", y(*v))) r="4" fill=(s.color) {
                        title {
                            (s.name) " · " (p) " MB: " (tick(*v, unit))
                            @if let Some(h) = half { " ± " (tick(*h, unit)) }
                        }
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
    v.map(crate::format::amount).unwrap_or_else(|| "-".into())
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

/// What a report page shows.
pub struct Page<'a> {
    /// The result.
    pub view: &'a ResultView,
    /// Its legend and title.
    pub name: &'a str,
    /// Projections for a traffic.
    pub projections: &'a [Projection],
    /// The prices behind the projections.
    pub prices: &'a Prices,
    /// A second result to compare with.
    pub other: Option<Other<'a>>,
}

/// The tiers of an architecture, as a sentence.
fn tiers_note(architecture: Architecture) -> String {
    let tiers = pricing::duration_tiers(architecture);
    format!(
        "{architecture} duration tiers per month: the first {} billion GB-s at the full price, the next {} billion at {:.0} %, beyond {} billion at {:.0} % (as if this function were the account's only use).",
        tiers[0].0 / 1e9,
        tiers[1].0 / 1e9,
        tiers[1].1 * 100.0,
        (tiers[0].0 + tiers[1].0) / 1e9,
        tiers[2].1 * 100.0
    )
}

/// The series' colours, in order (ours first, then the other run's).
const COLORS: [&str; 6] = [
    "#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2",
];

impl Page<'_> {
    /// The self-contained HTML report.
    pub fn render(&self) -> String {
        let name = self.name;
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
                    (self.headline())
                    (self.charts())
                    @for run in &self.view.runs {
                        (sizes_table(run))
                    }
                    (self.failures_table())
                    (self.traffic_panel())
                    (self.projections_table())
                    (self.this_run())
                }
            }
        }
        .into_string()
            + "\n"
    }

    /// The confidence level of the result's intervals.
    fn level(&self) -> f64 {
        self.view.analysis.confidence_level()
    }

    /// The current size, when the result measured it.
    fn current(&self) -> Option<u32> {
        self.view.analysis.current.as_ref().map(|c| c.power)
    }

    /// Every failed size, with the name of its run.
    fn failures(&self) -> Vec<(&str, &Failure)> {
        self.view
            .runs
            .iter()
            .flat_map(|r| r.failures.iter().map(move |f| (r.name.as_str(), f)))
            .collect()
    }

    /// A chart series per run (ours, then the other result's): each size's average duration
    /// (`duration`) or cost, with its interval's half-width.
    fn series(&self, duration: bool) -> Vec<Series<'_>> {
        let level = self.level();
        let ours = self.view.runs.iter().map(|r| {
            (
                r,
                if r.name.is_empty() {
                    self.name
                } else {
                    r.name.as_str()
                },
            )
        });
        let theirs = self.other.iter().flat_map(|o| {
            o.view.runs.iter().map(move |r| {
                (
                    r,
                    if r.name.is_empty() {
                        o.name
                    } else {
                        r.name.as_str()
                    },
                )
            })
        });
        ours.chain(theirs)
            .enumerate()
            .map(|(i, (run, label))| Series {
                name: label,
                color: COLORS[i % COLORS.len()],
                points: run
                    .sizes
                    .iter()
                    .map(|s| {
                        let sample = s.stat.as_ref().and_then(|st| st.sample);
                        let (value, half) = if duration {
                            (
                                s.duration,
                                sample.and_then(|x| x.duration_half_width(level)),
                            )
                        } else {
                            (s.cost, sample.and_then(|x| x.price_half_width(level)))
                        };
                        (s.power, value, half)
                    })
                    .collect(),
            })
            .collect()
    }

    /// The choice, the confidence in it, and the savings and decision lines.
    fn headline(&self) -> Markup {
        let analysis = &self.view.analysis;
        let headline = decision_lines(analysis);
        html! {
            p class="best" {
                "Best memory size: " strong { (analysis.power) " MB" }
                (format!(" — {:.2} ms, ${:.3e} per invocation", analysis.duration, analysis.cost))
            }
            @let confidence = crate::output::confidence_line(analysis);
            @for line in confidence.lines() {
                p class=(if analysis.confidence.as_ref().is_some_and(|c| c.verdict == power_tuning_core::confidence::VerdictKind::Tie) { "verdict tie" } else { "verdict" }) { (line) }
            }
            @for line in crate::output::verdict_lines(analysis).lines().chain(headline.lines()) {
                p class="savings" { (line) }
            }
        }
    }

    /// The duration and cost charts (the current size marked when there is one run), and what
    /// their error bars mean when they have any.
    fn charts(&self) -> Markup {
        let durations = self.series(true);
        let costs = self.series(false);
        let failed: Vec<u32> = self.failures().iter().map(|(_, f)| f.value).collect();
        let current_marks = (self.view.runs.len() == 1)
            .then_some(self.current())
            .flatten();
        html! {
            div class="charts" {
                (chart("Average duration", "ms", &durations, &failed, current_marks))
                (chart("Average cost per invocation", "$", &costs, &failed, current_marks))
            }
            @if durations.iter().chain(&costs).any(|s| s.points.iter().any(|p| p.2.is_some())) {
                p class="note" { "Error bars: the " (crate::output::level_percent(self.level())) " % interval of a warm invocation's mean duration and price at each size (Student t over the warm invocations)." }
            }
        }
    }

    /// The failed sizes (with their function when there are several), if any.
    fn failures_table(&self) -> Markup {
        let failures = self.failures();
        let several = self.view.runs.len() > 1;
        html! {
            @if !failures.is_empty() {
                h2 { "Failures" }
                table {
                    thead { tr { @if several { th { "Function" } } th { "Memory (MB)" } th { "Error type" } th { "Error message" } } }
                    tbody {
                        @for (run, f) in &failures {
                            tr class="failed" { @if several { td { (run) } } td { (f.value) } td { (f.error_type) } td { (f.error_message) } }
                        }
                    }
                }
            }
        }
    }

    /// The projections for the traffic, when there are any: concurrency and the monthly bill
    /// per size, against the current size's.
    fn projections_table(&self) -> Markup {
        let projections = self.projections;
        let current = self.current();
        let monthly = projections.iter().any(|p| p.monthly.is_some());
        let current_monthly = projections
            .iter()
            .find(|p| Some(p.power) == current)
            .and_then(|p| p.monthly.map(|m| m.total()));
        html! {
            @if has_projections(projections) {
                h2 { "Projections" }
                p class="note" {
                    "Concurrency needed = requests per second × duration (Little's law). A month is 30 days. "
                    @if monthly {
                        "The monthly bill: GB-seconds = invocations × (billed ms + cold-start share × init ms) / 1000 × memory / 1024, priced with " (tiers_note(self.prices.architecture)) " Requests cost " (money(self.prices.request_price * 1e6)) " per million."
                    }
                }
                table {
                    thead { tr { th { "Memory (MB)" } th { "Concurrency" } th { "GB-seconds" } th { "Duration ($)" } th { "$ per GB-s" } th { "of which cold starts ($)" } th { "Requests ($)" } th { "Total ($/month)" } th { "vs current" } th { "Note" } } }
                    tbody {
                        @for p in projections {
                            @let m = p.monthly;
                            tr class=[p.over_limit.then_some("failed").or((Some(p.power) == current).then_some("current"))] {
                                td { (p.power) }
                                td { (p.concurrency.map(|c| format!("{c:.1}")).unwrap_or_else(|| "-".into())) }
                                td { (m.map(|m| format!("{:.0}", m.gb_seconds)).unwrap_or_else(|| "-".into())) }
                                td { (num(m.map(|m| m.duration))) }
                                td { (m.filter(|m| m.gb_seconds > 0.0).map(|m| format!("{:.4e}", m.duration / m.gb_seconds)).unwrap_or_else(|| "-".into())) }
                                td { (num(m.map(|m| m.cold_starts))) }
                                td { (num(m.map(|m| m.requests))) }
                                td { (num(m.map(|m| m.total()))) }
                                td { (m.zip(current_monthly).map(|(m, c)| money(m.total() - c)).unwrap_or_else(|| "-".into())) }
                                td { @if p.over_limit { "above the default account limit (1,000)" } }
                            }
                        }
                    }
                }
            }
        }
    }

    /// "Your traffic": the function's own history (SPEC §15), where it came from, its window
    /// and how much of it the REPORT records cover.
    fn traffic_panel(&self) -> Markup {
        let Some(t) = &self.view.analysis.traffic else {
            return html! {};
        };
        let w = &t.window;
        let bill = &t.current_monthly_cost;
        let measured = t.cold_starts.measured();
        html! {
            section class="traffic" {
                h2 { "Your traffic" }
                p class="note" {
                    "From CloudWatch in " (t.region) ": AWS/Lambda metrics from " (w.start) " to " (w.end)
                    " (" (w.days) " days, " (w.days_with_data) " with invocations)"
                    @if let Some(m) = measured {
                        "; the REPORT records of the last " (m.window_days) " days with one Logs Insights query ("
                        (format!("{:.0} %", 100.0 * m.coverage)) " of the invocations found, "
                        (bytes(m.bytes_scanned)) " scanned)"
                    }
                    "."
                    @if w.days_with_data < w.days && t.invocations > 0 {
                        " Only " (w.days_with_data) " of " (w.days) " days have invocations: for a function younger than the window the monthly figures are low."
                    }
                }
                table {
                    tbody {
                        tr { th { "Invocations" } td { (grouped(&t.invocations.to_string())) " (" (grouped(&t.monthly_invocations.to_string())) " a month)" } }
                        tr { th { "Errors, throttles" } td { (t.errors) ", " (t.throttles) } }
                        tr { th { "Average duration" } td { (t.average_duration_ms.map(|d| format!("{d:.1} ms")).unwrap_or_else(|| "-".into())) } }
                        tr { th { "Peak concurrency" } td { (crate::output::count(t.max_concurrency)) } }
                        tr { th { "Cold starts" } td { (crate::history::cold_start_line(t)) } }
                        tr { th { "Current bill" } td { (money(bill.total)) " a month (" @match bill.basis {
                            BillBasis::Reports => "from the REPORT records, INIT included",
                            BillBasis::Metrics => "from the metrics: a lower bound without INIT",
                        } ")" } }
                    }
                }
            }
        }
    }

    /// What this run cost, and the links to the web visualization (and the comparison).
    fn this_run(&self) -> Markup {
        let sm = &self.view.analysis.state_machine;
        html! {
            h2 { "This run" }
            p { "Step Functions: $" (sm.execution_cost) " · Lambda: $" (format!("{:.3e}", sm.lambda_cost)) }
            p { a href=(sm.visualization) { "Open in the web visualization" } }
            @if let Some(o) = &self.other {
                p { a href=(o.link) { "Compare with " (o.name) " in the web visualization" } }
            }
        }
    }
}

/// A run's table of memory sizes, its best and current sizes marked (the streaming columns
/// when it streamed).
fn sizes_table(run: &Run) -> Markup {
    let streamed = run.sizes.iter().any(|s| {
        s.stat
            .as_ref()
            .is_some_and(|st| st.average_time_to_first_byte.is_some())
    });
    html! {
        h2 { "Memory sizes" @if !run.name.is_empty() { " of " (run.name) @if let Some(arch) = &run.architecture { " (" (arch) ")" } } }
        table {
            thead { tr { th { "Memory (MB)" } th { "Avg duration (ms)" } th { "p50" } th { "p90" } th { "p99" } @if streamed { th { "TTFB avg (ms)" } th { "TTFB p50" } th { "TTFB p99" } th { "Avg response (bytes)" } } th { "Avg cost ($)" } th { "Invocations" } th { "Cold starts" } th { "Max memory (MB)" } th { "" } } }
            tbody {
                @for size in &run.sizes {
                    (size_row(run, size, streamed))
                }
            }
        }
    }
}

/// One size's row of [`sizes_table`].
fn size_row(run: &Run, size: &Size, streamed: bool) -> Markup {
    let stat = size.stat.as_ref();
    let chosen = Some(size.power) == run.chosen;
    let is_current = Some(size.power) == run.current;
    html! {
        tr class=[chosen.then_some("chosen").or(is_current.then_some("current"))] {
            td { (size.power) }
            td { (format!("{:.2}", size.duration)) }
            td { (num(stat.and_then(|s| s.p50_duration))) }
            td { (num(stat.and_then(|s| s.p90_duration))) }
            td { (num(stat.and_then(|s| s.p99_duration))) }
            @if streamed {
                td { (num(stat.and_then(|s| s.average_time_to_first_byte))) }
                td { (num(stat.and_then(|s| s.p50_time_to_first_byte))) }
                td { (num(stat.and_then(|s| s.p99_time_to_first_byte))) }
                td { (crate::output::count(stat.and_then(|s| s.average_response_bytes).map(|b| b.round() as u64))) }
            }
            td { (format!("{:.3e}", size.cost)) }
            td { (crate::output::count(stat.map(|s| s.invocations))) }
            td { (crate::output::count(stat.and_then(|s| s.cold_starts))) }
            td { (crate::output::count(stat.and_then(|s| s.max_memory_used))) }
            td class="note" {
                @if chosen { "best" }
                @if chosen && is_current { ", " }
                @if is_current { "current" }
            }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1360px;color:#111;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.best{font-size:1.1rem}.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{width:640px;max-width:100%;border:1px solid #ddd;border-radius:6px;background:#fafafa}.chart .title{font-weight:600;font-size:14px}.chart .tick{font-size:11px;fill:#555}.chart .grid{stroke:#e5e5e5}.chart .legend{font-size:12px}.chart .failed-mark{font-size:11px;fill:#b91c1c}.chart line.current-mark{stroke:#7c3aed;stroke-dasharray:4 3;stroke-width:1.5}.chart text.current-mark{font-size:11px;fill:#7c3aed}tr.current td{background:#ede9fe}.savings{font-size:1.05rem;color:#065f46}.verdict{font-size:1.05rem;font-weight:600;color:#065f46}.verdict.tie{color:#92400e}.chart .error-bar line{stroke-width:1.5}table{border-collapse:collapse;margin-top:.5rem}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f3f4f6}tr.chosen td{background:#dcfce7;font-weight:600}tr.failed td{background:#fee2e2}.note{color:#555;font-size:.9rem}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{output, view_of};
    use crate::report::{Prices, Traffic, project};

    #[test]
    fn page_is_self_contained_and_escaped() {
        let v = view_of(output());
        let prices = Prices::of(
            &power_tuning_core::Settings::default(),
            "us-east-1",
            Architecture::X86_64,
        )
        .expect("prices");
        let projections = project(
            &v.sizes,
            &Traffic {
                rps: Some(10.0),
                ..Traffic::default()
            },
            &prices,
        );
        let page = Page {
            view: &v,
            name: "run <1>",
            projections: &projections,
            prices: &prices,
            other: None,
        }
        .render();
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
        assert!(page.contains("x86_64 duration tiers per month: the first 6 billion GB-s"));
        assert!(
            !page.contains("<line class=\"current-mark\""),
            "no current setting in this result"
        );
    }

    #[test]
    fn intervals_are_error_bars_and_a_tie_is_the_headline() {
        let mut value = output();
        let sample = |price: f64, duration: f64| {
            serde_json::json!({"n": 10, "priceMean": price, "priceStdDev": price * 0.1,
                "durationMean": duration, "durationStdDev": duration * 0.1, "covariance": 0.0})
        };
        value["stats"] = serde_json::json!([
            {"value": 128, "averagePrice": 4.2e-7, "averageDuration": 200.0, "sample": sample(4.2e-7, 200.0)},
            {"value": 256, "averagePrice": 5.04e-7, "averageDuration": 120.0, "sample": sample(5.04e-7, 120.0)},
            {"value": 512, "averagePrice": 6.72e-7, "averageDuration": 80.0, "sample": sample(6.72e-7, 80.0)},
            {"value": 1024, "averagePrice": 1.176e-6, "averageDuration": 70.0}
        ]);
        value["confidence"] = serde_json::json!({"level": 0.95, "verdict": "tie", "tiedWith": [256], "pValue": 0.31, "invocationsForClear": 40});
        let v = view_of(value);
        let prices = Prices::of(
            &power_tuning_core::Settings::default(),
            "us-east-1",
            Architecture::X86_64,
        )
        .expect("prices");
        let page = Page {
            view: &v,
            name: "tie",
            projections: &[],
            prices: &prices,
            other: None,
        }
        .render();
        // Three sizes with a sample on each of the two charts.
        assert_eq!(page.matches("<g class=\"error-bar\"").count(), 6);
        assert!(page.contains(
            "<p class=\"verdict tie\">Confidence: tie with 256 MB (p = 0.31): about 40 invocations per size would separate them (at 95 %)</p>"
        ), "{page}");
        assert!(page.contains("Error bars: the 95 % interval"));
        assert_eq!(
            page.matches("<line ").count(),
            page.matches("</line>").count()
        );
    }

    #[test]
    fn the_current_size_is_marked_in_charts_and_tables() {
        let mut value = output();
        value["current"] = serde_json::json!({"power": 1024, "cost": 1.176e-6, "duration": 70.0, "p99Duration": 90.0});
        value["change"] = serde_json::json!({"costPercent": -42.86, "durationPercent": 14.29, "p99DurationPercent": 3.5});
        let v = view_of(value);
        let prices = Prices::of(
            &power_tuning_core::Settings::default(),
            "us-east-1",
            Architecture::X86_64,
        )
        .expect("prices");
        let projections = project(
            &v.sizes,
            &Traffic {
                monthly_invocations: Some(10_000_000),
                ..Traffic::default()
            },
            &prices,
        );
        let page = Page {
            view: &v,
            name: "run",
            projections: &projections,
            prices: &prices,
            other: None,
        }
        .render();
        assert_eq!(
            page.matches("<line class=\"current-mark\"").count(),
            2,
            "both charts"
        );
        assert!(page.contains("<tr class=\"current\"><td>1024</td>"));
        assert!(
            page.contains(
                "512 MB: −42.86 % cost, +14.29 % duration, p99 +3.5 % vs current 1024 MB"
            )
        );
        assert!(page.contains("vs current"));
    }

    #[test]
    fn the_traffic_panel_says_where_its_numbers_come_from() {
        let mut value = output();
        value["traffic"] = crate::report::tests::traffic_from_history();
        let v = view_of(value);
        let prices = Prices::of(
            &power_tuning_core::Settings::default(),
            "eu-west-1",
            Architecture::X86_64,
        )
        .expect("prices");
        let page = Page {
            view: &v,
            name: "run",
            projections: &[],
            prices: &prices,
            other: None,
        }
        .render();
        assert!(page.contains("<h2>Your traffic</h2>"), "{page}");
        assert!(page.contains("From CloudWatch in eu-west-1: AWS/Lambda metrics from 2026-11-08T11:00:00Z to 2026-12-06T11:00:00Z (28 days, 28 with invocations)"));
        assert!(page.contains("the REPORT records of the last 7 days with one Logs Insights query (95 % of the invocations found, 7.0 MB scanned)"));
        assert!(page.contains("28,000 (30,417 a month)"));
        assert!(page.contains("$13.00 a month (from the REPORT records, INIT included)"));
        // Without a traffic object there is no panel.
        let plain = Page {
            view: &view_of(output()),
            name: "run",
            projections: &[],
            prices: &prices,
            other: None,
        }
        .render();
        assert!(!plain.contains("Your traffic"));
    }
}

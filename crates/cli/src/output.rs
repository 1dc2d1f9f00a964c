//! What the commands print: the live progress line, the result table (one row per memory size,
//! the chosen size marked) and the summary — one place for `local`, `run` and `report`.

use std::io::IsTerminal as _;
use std::time::Duration;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use power_tuning_core::confidence::{DEFAULT_LEVEL, Tied, VerdictKind};
use power_tuning_core::output::{Analysis, Stat};

use crate::execution::Progress;
use crate::format::money;

/// Progress on stderr: a spinner on a terminal, one line per change otherwise, nothing when
/// quiet (`--json`).
pub struct ProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl ProgressDisplay {
    /// A display for a run.
    pub fn new(quiet: bool) -> ProgressDisplay {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        ProgressDisplay { bar, quiet }
    }

    /// Shows the run's progress.
    pub fn update(&self, progress: &Progress) {
        match &self.bar {
            Some(bar) => bar.set_message(progress.describe()),
            None if !self.quiet => eprintln!("  {}", progress.describe()),
            None => {}
        }
    }

    /// Prints a message line unless quiet.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            match &self.bar {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            }
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Milliseconds with two decimals, `-` when absent.
pub fn ms(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| "-".to_string())
}

/// Dollars per invocation in scientific notation, `-` when absent.
pub fn dollars(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3e}"))
        .unwrap_or_else(|| "-".to_string())
}

/// A count, `-` when absent.
pub fn count<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".to_string())
}

/// A signed number for changes: `−38`, `+4.5`, `0` (Unicode minus, as in prose).
pub fn signed(v: f64) -> String {
    if v < 0.0 {
        format!("−{}", -v)
    } else if v > 0.0 {
        format!("+{v}")
    } else {
        "0".to_string()
    }
}

/// The half-width of the interval of a warm invocation's mean price at `level`, relative to
/// the mean, in percent (`-` without a sample): how far the cost column can be trusted.
fn half_width(stat: &Stat, level: f64) -> String {
    let Some(sample) = stat.sample.filter(|s| s.price_mean > 0.0) else {
        return "-".to_string();
    };
    sample
        .price_half_width(level)
        .map(|h| format!("{:.1}", 100.0 * h / sample.price_mean))
        .unwrap_or_else(|| "-".to_string())
}

/// The per-size table (rows sorted by memory); the chosen and the current sizes are marked.
pub fn stats_table(
    stats: &[Stat],
    chosen: Option<u32>,
    current: Option<u32>,
    level: f64,
) -> String {
    let mut rows: Vec<&Stat> = stats.iter().collect();
    rows.sort_by_key(|s| s.value);
    let streamed = rows.iter().any(|s| s.average_time_to_first_byte.is_some());
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    let mut header = vec![
        "Memory (MB)",
        "Avg (ms)",
        "p50 (ms)",
        "p90 (ms)",
        "p99 (ms)",
    ];
    if streamed {
        header.extend(["TTFB avg (ms)", "TTFB p99 (ms)", "Avg response (bytes)"]);
    }
    let sampled = rows.iter().any(|s| s.sample.is_some());
    header.push("Avg cost ($)");
    if sampled {
        // The cost's interval at the confidence level, relative to it.
        header.push("± (%)");
    }
    header.extend(["Invocations", "Errors", "Cold starts", "Max mem (MB)", ""]);
    table.set_header(header);
    for stat in rows {
        let mut notes = Vec::new();
        match &stat.error {
            Some(error) => notes.push(format!("failed: {}", error.error_type)),
            None if Some(stat.value) == chosen => notes.push("◀ best".to_string()),
            None => {}
        }
        if Some(stat.value) == current {
            notes.push("current".to_string());
        }
        let note = notes.join(", ");
        let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
        let mut row = vec![
            right(stat.value.to_string()),
            right(ms(stat.average_duration)),
            right(ms(stat.p50_duration)),
            right(ms(stat.p90_duration)),
            right(ms(stat.p99_duration)),
        ];
        if streamed {
            row.extend([
                right(ms(stat.average_time_to_first_byte)),
                right(ms(stat.p99_time_to_first_byte)),
                right(count(stat.average_response_bytes.map(|b| b.round() as u64))),
            ]);
        }
        row.push(right(dollars(stat.average_price)));
        if sampled {
            row.push(right(half_width(stat, level)));
        }
        row.extend([
            right(stat.invocations.to_string()),
            right(stat.errors.to_string()),
            right(count(stat.cold_starts)),
            right(count(stat.max_memory_used)),
            Cell::new(note),
        ]);
        table.add_row(row);
    }
    table.to_string()
}

/// The whole human-readable result: a table per target (`tables`: function name and stats, in
/// input order; the name is not shown for a single target), the choice, the decision lines,
/// failures, the run's cost and the visualization. A dry run (`analysis` `None`) shows the
/// tables only.
pub fn summary(
    analysis: Option<&Analysis>,
    tables: &[(String, Vec<Stat>)],
    strategy: &str,
) -> String {
    let Some(analysis) = analysis else {
        return dry_run_summary(tables);
    };
    let mut text = result_tables(analysis, tables);
    text.push_str(&choice_line(analysis, strategy));
    text.push_str(&confidence_line(analysis));
    text.push_str(&verdict_lines(analysis));
    text.push_str(&decision_lines(analysis));
    text.push_str(&failure_lines(analysis));
    if let Some(traffic) = &analysis.traffic {
        text.push_str(&crate::history::summary_line(traffic));
    }
    text.push_str(&run_lines(analysis));
    text
}

/// A dry run's summary: the tables only, without a choice.
fn dry_run_summary(tables: &[(String, Vec<Stat>)]) -> String {
    let mut text = String::new();
    text.push_str("Dry run: every memory size was invoked once; no analysis.\n");
    for (name, stats) in tables {
        if tables.len() > 1 {
            text.push_str(&format!("{name}:\n"));
        }
        text.push_str(&stats_table(stats, None, None, DEFAULT_LEVEL));
        text.push('\n');
    }
    text
}

/// A table per target, headed by the target's architecture and best size when there are
/// several, with its chosen and current sizes marked; without `tables`, the analysis' own
/// stats.
fn result_tables(analysis: &Analysis, tables: &[(String, Vec<Stat>)]) -> String {
    let mut text = String::new();
    let own_stats: Vec<(String, Vec<Stat>)>;
    let tables = if tables.is_empty() {
        own_stats = analysis
            .stats
            .clone()
            .map(|s| vec![(String::new(), s)])
            .unwrap_or_default();
        &own_stats[..]
    } else {
        tables
    };
    let targets = analysis.targets.as_deref().unwrap_or_default();
    let level = analysis.confidence_level();
    for (index, (name, stats)) in tables.iter().enumerate() {
        let (chosen, current) = match targets.get(index) {
            Some(target) => {
                text.push_str(&format!(
                    "{name} ({}){}:\n",
                    target.architecture,
                    target
                        .power
                        .map(|p| format!(", best {p} MB"))
                        .unwrap_or_else(|| ", every size failed".to_string())
                ));
                (target.power, target.current.as_ref().map(|c| c.power))
            }
            None => (
                Some(analysis.power),
                analysis.current.as_ref().map(|c| c.power),
            ),
        };
        text.push_str(&stats_table(stats, chosen, current, level));
        text.push('\n');
    }
    text
}

/// The choice: `Best memory size (cost) of my-fn: 512 MB — 12.34 ms, $1.234e-6 per
/// invocation`.
fn choice_line(analysis: &Analysis, strategy: &str) -> String {
    let winner = analysis
        .lambda_arn
        .as_deref()
        .map(|arn| format!(" of {}", crate::execution::function_name(arn)))
        .unwrap_or_default();
    format!(
        "Best memory size ({strategy}){winner}: {} MB — {} ms, ${} per invocation\n",
        analysis.power,
        ms(Some(analysis.duration)),
        dollars(Some(analysis.cost))
    )
}

/// One line per memory size that failed, with its error.
fn failure_lines(analysis: &Analysis) -> String {
    let mut text = String::new();
    for failure in analysis.failures.iter().flatten() {
        text.push_str(&format!(
            "Failed at {} MB: {}: {}\n",
            failure.value, failure.error_type, failure.error_message
        ));
    }
    text
}

/// What the run itself cost, and the links to its visualization and comparison.
fn run_lines(analysis: &Analysis) -> String {
    let sm = &analysis.state_machine;
    let mut text = format!(
        "Cost of this run: Step Functions ${}, Lambda ${}\n",
        sm.execution_cost,
        dollars(Some(sm.lambda_cost))
    );
    text.push_str(&format!("Visualization: {}\n", sm.visualization));
    if let Some(link) = &sm.comparison {
        text.push_str(&format!("Comparison: {link}\n"));
    }
    text
}

/// With several targets, the winner against each other target's own best:
/// `arm64 my-fn-arm @ 512 MB: −41 % cost, +3 % duration vs x86_64 my-fn @ 1024 MB`.
pub fn verdict_lines(analysis: &Analysis) -> String {
    let targets = analysis.targets.as_deref().unwrap_or_default();
    let Some(winner) = targets
        .iter()
        .find(|t| Some(t.lambda_arn.as_str()) == analysis.lambda_arn.as_deref())
    else {
        return String::new();
    };
    let label = |t: &power_tuning_core::output::TargetResult, power: u32| {
        format!(
            "{} {} @ {power} MB",
            t.architecture,
            crate::execution::function_name(&t.lambda_arn)
        )
    };
    let mut text = String::new();
    for other in targets.iter().filter(|t| t.lambda_arn != winner.lambda_arn) {
        let line = match (other.power, other.cost, other.duration) {
            (Some(power), Some(cost), Some(duration)) => format!(
                "{}: {} % cost, {} % duration vs {}\n",
                label(winner, analysis.power),
                signed(power_tuning_core::analysis::percent_change(
                    analysis.cost,
                    cost
                )),
                signed(power_tuning_core::analysis::percent_change(
                    analysis.duration,
                    duration
                )),
                label(other, power)
            ),
            _ => format!(
                "{}: every size of {} failed\n",
                label(winner, analysis.power),
                crate::execution::function_name(&other.lambda_arn)
            ),
        };
        text.push_str(&line);
    }
    text
}

/// The level as a percentage: `95`, `99.9`.
pub fn level_percent(level: f64) -> String {
    format!("{}", (level * 1000.0).round() / 10.0)
}

/// A p-value as read: `p = 0.012`, or `p < 0.001` below what three decimals show.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_string()
    } else {
        format!("p = {p:.3}")
    }
}

/// How sure the choice is (SPEC §13): `Confidence: clear at 95 %`, or `Confidence: tie with
/// 512 MB (p = 0.31): about 40 invocations per size would separate them (at 95 %)`.
pub fn confidence_line(analysis: &Analysis) -> String {
    let Some(c) = &analysis.confidence else {
        return String::new();
    };
    let level = level_percent(c.level);
    let text = match c.verdict {
        VerdictKind::Clear => format!(
            "clear at {level} % (every other candidate is worse{})",
            c.p_value
                .map(|p| format!(", {}", p_text(p)))
                .unwrap_or_default()
        ),
        VerdictKind::Single => format!("single: no other size to compare at {level} %"),
        VerdictKind::Tie => {
            let tied: Vec<String> = c
                .tied_with
                .iter()
                .map(|t| match t {
                    Tied::Power(p) => format!("{p} MB"),
                    Tied::Target { lambda_arn, power } => format!(
                        "{} @ {power} MB",
                        crate::execution::function_name(lambda_arn)
                    ),
                })
                .collect();
            let separate = c
                .invocations_for_clear
                .map(|n| format!(": about {n} invocations per size would separate them"))
                .unwrap_or_default();
            format!(
                "tie with {} (p = {:.2}){separate} (at {level} %)",
                tied.join(", "),
                c.p_value.unwrap_or(1.0)
            )
        }
    };
    format!("Confidence: {text}\n")
}

/// What the choice means against the current setting, the latency target and the monthly
/// bill: `512 MB: −38 % cost (−$412.00/month), p99 +4 % vs current 1024 MB`.
pub fn decision_lines(analysis: &Analysis) -> String {
    let mut text = String::new();
    if let (Some(current), Some(change)) = (&analysis.current, &analysis.change) {
        let monthly = change
            .monthly_cost_delta
            .map(|d| format!(" ({}/month)", money(d)))
            .unwrap_or_default();
        let significance = if analysis.power == current.power && analysis.lambda_arn.is_none() {
            ""
        } else if change.significant {
            " (significant)"
        } else {
            " (within noise)"
        };
        text.push_str(&format!(
            "{} MB: {} % cost{monthly}, {} % duration, p99 {} % vs current {} MB{significance}\n",
            analysis.power,
            signed(change.cost_percent),
            signed(change.duration_percent),
            signed(change.p99_duration_percent),
            current.power
        ));
    }
    if let Some(optimization) = &analysis.optimization {
        match (optimization.applied, &optimization.reason) {
            (true, _) => text.push_str(&format!("Applied: {} MB\n", analysis.power)),
            (false, reason) => text.push_str(&format!(
                "Not applied: {}\n",
                reason.as_deref().unwrap_or("the saving is not significant")
            )),
        }
    }
    if let Some(target) = &analysis.latency_target {
        let verdict = if target.met {
            format!("met by {} MB", analysis.power)
        } else {
            format!(
                "NOT met by any size; chose the lowest p{} ({} MB)",
                target.percentile, analysis.power
            )
        };
        text.push_str(&format!(
            "Latency target p{} ≤ {} ms: {verdict}\n",
            target.percentile, target.max_duration
        ));
    }
    if let Some(monthly) = analysis.monthly_cost {
        let current = analysis
            .current
            .as_ref()
            .and_then(|c| c.monthly_cost)
            .map(|c| format!(" (current {})", money(c)))
            .unwrap_or_default();
        text.push_str(&format!(
            "Monthly cost at {} MB: {}{current}\n",
            analysis.power,
            money(monthly)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use power_tuning_core::confidence::Confidence;
    use power_tuning_core::output::{
        Change, Current, Failure, LatencyTargetResult, StatError, StateMachineSummary,
    };

    #[test]
    fn summary_marks_the_choice_and_failures() {
        let stats = vec![
            Stat {
                value: 256,
                average_duration: Some(120.0),
                average_price: Some(5.04e-7),
                invocations: 10,
                cold_starts: Some(1),
                max_memory_used: Some(30),
                p50_duration: Some(119.0),
                p90_duration: Some(125.0),
                p99_duration: Some(130.0),
                ..Stat::default()
            },
            Stat::failed(
                128,
                1,
                1,
                StatError {
                    error_type: "Runtime.OutOfMemory".into(),
                    error_message: "oom".into(),
                    detail: None,
                },
            ),
        ];
        let analysis = Analysis {
            power: 256,
            cost: 5.04e-7,
            duration: 120.0,
            lambda_arn: None,
            state_machine: StateMachineSummary {
                execution_cost: 0.0002,
                lambda_cost: 5.04e-6,
                visualization: "https://x/#a;b;c".into(),
                comparison: None,
            },
            stats: None,
            failures: Some(vec![Failure {
                value: 128,
                error_type: "Runtime.OutOfMemory".into(),
                error_message: "oom".into(),
            }]),
            current: None,
            change: None,
            latency_target: None,
            monthly_cost: None,
            targets: None,
            confidence: Some(Confidence {
                level: 0.95,
                verdict: VerdictKind::Clear,
                tied_with: Vec::new(),
                p_value: Some(0.0012),
                invocations_for_clear: None,
            }),
            optimization: None,
            traffic: None,
        };
        let text = summary(Some(&analysis), &[(String::new(), stats.clone())], "cost");
        assert!(
            text.contains("Confidence: clear at 95 % (every other candidate is worse, p = 0.001)"),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        let row = |needle: &str| lines.iter().position(|l| l.contains(needle)).expect("row");
        let (row128, row256) = (row(" 128 "), row(" 256 "));
        assert!(row128 < row256, "sorted by memory");
        assert!(lines[row128].contains("failed: Runtime.OutOfMemory"));
        assert!(
            lines[row256].contains("◀ best")
                && lines[row256].contains("120.00")
                && lines[row256].contains("5.040e-7")
        );
        assert!(
            text.contains("Best memory size (cost): 256 MB — 120.00 ms, $5.040e-7 per invocation")
        );
        assert!(text.contains("Failed at 128 MB: Runtime.OutOfMemory: oom"));
        assert!(text.contains("Visualization: https://x/#a;b;c"));
        assert!(summary(None, &[], "cost").starts_with("Dry run"));

        // Against the current setting, with a latency target and a monthly bill.
        let decided = Analysis {
            current: Some(Current {
                power: 1024,
                cost: 8.1e-7,
                duration: 110.0,
                p99_duration: 125.0,
                monthly_cost: Some(1087.0),
            }),
            change: Some(Change {
                cost_percent: -37.78,
                duration_percent: 9.09,
                p99_duration_percent: 4.0,
                monthly_cost_delta: Some(-412.0),
                significant: true,
            }),
            latency_target: Some(LatencyTargetResult {
                percentile: 99,
                max_duration: 200.0,
                met: true,
            }),
            monthly_cost: Some(675.0),
            ..analysis
        };
        let mut with_current = stats.clone();
        with_current.push(Stat {
            value: 1024,
            ..stats[0].clone()
        });
        let text = summary(Some(&decided), &[(String::new(), with_current)], "cost");
        assert!(
            text.contains("256 MB: −37.78 % cost (−$412.00/month), +9.09 % duration, p99 +4 % vs current 1024 MB (significant)"),
            "{text}"
        );
        assert!(
            text.contains("Latency target p99 ≤ 200 ms: met by 256 MB"),
            "{text}"
        );
        assert!(
            text.contains("Monthly cost at 256 MB: $675.00 (current $1,087.00)"),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.contains(" 1024 ") && l.contains("current"))
        );
        let missed = Analysis {
            latency_target: Some(LatencyTargetResult {
                percentile: 95,
                max_duration: 1.0,
                met: false,
            }),
            ..decided
        };
        assert!(summary(Some(&missed), &[], "cost").contains(
            "Latency target p95 ≤ 1 ms: NOT met by any size; chose the lowest p95 (256 MB)"
        ));
        // A tie, and autoOptimize that did not apply.
        let tie = Analysis {
            confidence: Some(Confidence {
                level: 0.99,
                verdict: VerdictKind::Tie,
                tied_with: vec![Tied::Power(512), Tied::Power(1024)],
                p_value: Some(0.3141),
                invocations_for_clear: Some(63),
            }),
            optimization: Some(power_tuning_core::output::Optimization {
                applied: false,
                reason: Some("the choice, 256 MB, is the current setting".into()),
            }),
            ..missed
        };
        let text = summary(Some(&tie), &[], "cost");
        assert!(
            text.contains("Confidence: tie with 512 MB, 1024 MB (p = 0.31): about 63 invocations per size would separate them (at 99 %)"),
            "{text}"
        );
        assert!(text.contains("Not applied: the choice, 256 MB, is the current setting"));
    }

    #[test]
    fn money_and_signs() {
        assert_eq!(money(1234567.891), "$1,234,567.89");
        assert_eq!(money(-412.0), "−$412.00");
        assert_eq!(money(0.5), "$0.50");
        assert_eq!(money(0.005), "$0.01");
        assert_eq!(money(0.000386596), "$0.000387");
        assert_eq!(money(-0.0001592), "−$0.000159");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(p_text(0.0012), "p = 0.001");
        assert_eq!(p_text(1.4e-8), "p < 0.001");
        assert_eq!(crate::format::bytes(19_130.0), "19.1 KB");
        assert_eq!(crate::format::bytes(7e6), "7.0 MB");
        assert_eq!(crate::format::bytes(5.37e9), "5.37 GB");
        assert_eq!(crate::format::bytes(12.0), "12 bytes");
        assert_eq!(signed(-38.0), "−38");
        assert_eq!(signed(4.25), "+4.25");
        assert_eq!(signed(0.0), "0");
    }
}

//! What the commands print: the live progress line, the result table (one row per memory size,
//! the chosen size marked) and the summary — one place for `local`, `run` and `report`.

use std::io::IsTerminal as _;
use std::time::Duration;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use power_tuning_core::output::{Analysis, Stat};

use crate::execution::Progress;

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

/// The per-size table (rows sorted by memory).
pub fn stats_table(stats: &[Stat], chosen: Option<u32>) -> String {
    let mut rows: Vec<&Stat> = stats.iter().collect();
    rows.sort_by_key(|s| s.value);
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    table.set_header([
        "Memory (MB)",
        "Avg (ms)",
        "p50 (ms)",
        "p90 (ms)",
        "p99 (ms)",
        "Avg cost ($)",
        "Invocations",
        "Errors",
        "Cold starts",
        "Max mem (MB)",
        "",
    ]);
    for stat in rows {
        let note = match &stat.error {
            Some(error) => format!("failed: {}", error.error_type),
            None if Some(stat.value) == chosen => "◀ best".to_string(),
            None => String::new(),
        };
        let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
        table.add_row(vec![
            right(stat.value.to_string()),
            right(ms(stat.average_duration)),
            right(ms(stat.p50_duration)),
            right(ms(stat.p90_duration)),
            right(ms(stat.p99_duration)),
            right(dollars(stat.average_price)),
            right(stat.invocations.to_string()),
            right(stat.errors.to_string()),
            right(count(stat.cold_starts)),
            right(count(stat.max_memory_used)),
            Cell::new(note),
        ]);
    }
    table.to_string()
}

/// The whole human-readable result: table, choice, failures, run cost, visualization. A dry
/// run (`analysis` `None`) shows the table only.
pub fn summary(analysis: Option<&Analysis>, stats: Option<&[Stat]>, strategy: &str) -> String {
    let mut text = String::new();
    let Some(analysis) = analysis else {
        text.push_str("Dry run: every memory size was invoked once; no analysis.\n");
        if let Some(stats) = stats {
            text.push_str(&stats_table(stats, None));
            text.push('\n');
        }
        return text;
    };
    if let Some(stats) = stats.or(analysis.stats.as_deref()) {
        text.push_str(&stats_table(stats, Some(analysis.power)));
        text.push('\n');
    }
    text.push_str(&format!(
        "Best memory size ({strategy}): {} MB — {} ms, ${} per invocation\n",
        analysis.power,
        ms(Some(analysis.duration)),
        dollars(Some(analysis.cost))
    ));
    for failure in analysis.failures.iter().flatten() {
        text.push_str(&format!(
            "Failed at {} MB: {}: {}\n",
            failure.value, failure.error_type, failure.error_message
        ));
    }
    let sm = &analysis.state_machine;
    text.push_str(&format!(
        "Cost of this run: Step Functions ${}, Lambda ${}\n",
        sm.execution_cost,
        dollars(Some(sm.lambda_cost))
    ));
    text.push_str(&format!("Visualization: {}\n", sm.visualization));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use power_tuning_core::output::{Failure, StatError, StateMachineSummary};

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
            state_machine: StateMachineSummary {
                execution_cost: 0.0002,
                lambda_cost: 5.04e-6,
                visualization: "https://x/#a;b;c".into(),
            },
            stats: None,
            failures: Some(vec![Failure {
                value: 128,
                error_type: "Runtime.OutOfMemory".into(),
                error_message: "oom".into(),
            }]),
        };
        let text = summary(Some(&analysis), Some(&stats), "cost");
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
        assert!(summary(None, None, "cost").starts_with("Dry run"));
    }
}

//! The terminal result table: one row per memory size, the chosen size marked.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use serde_json::Value;

fn ms(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64)
        .map(|x| format!("{x:.2}"))
        .unwrap_or_else(|| "-".to_string())
}

fn cost(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64)
        .map(|x| format!("{x:.3e}"))
        .unwrap_or_else(|| "-".to_string())
}

fn int(v: Option<&Value>) -> String {
    v.and_then(Value::as_u64)
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".to_string())
}

/// The per-size table. `stats` are the executors' results (any order).
pub fn stats_table(stats: &[Value], chosen: Option<u64>) -> String {
    let mut rows: Vec<&Value> = stats.iter().collect();
    rows.sort_by_key(|s| s["value"].as_u64().unwrap_or(0));
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
        let value = stat["value"].as_u64();
        let note = match (&stat.get("error"), value == chosen && chosen.is_some()) {
            (Some(error), _) => {
                format!("failed: {}", error["errorType"].as_str().unwrap_or("error"))
            }
            (None, true) => "◀ best".to_string(),
            _ => String::new(),
        };
        table.add_row(vec![
            Cell::new(int(stat.get("value"))).set_alignment(CellAlignment::Right),
            Cell::new(ms(stat.get("averageDuration"))).set_alignment(CellAlignment::Right),
            Cell::new(ms(stat.get("p50Duration"))).set_alignment(CellAlignment::Right),
            Cell::new(ms(stat.get("p90Duration"))).set_alignment(CellAlignment::Right),
            Cell::new(ms(stat.get("p99Duration"))).set_alignment(CellAlignment::Right),
            Cell::new(cost(stat.get("averagePrice"))).set_alignment(CellAlignment::Right),
            Cell::new(int(stat.get("invocations"))).set_alignment(CellAlignment::Right),
            Cell::new(int(stat.get("errors"))).set_alignment(CellAlignment::Right),
            Cell::new(int(stat.get("coldStarts"))).set_alignment(CellAlignment::Right),
            Cell::new(int(stat.get("maxMemoryUsed"))).set_alignment(CellAlignment::Right),
            Cell::new(note),
        ]);
    }
    table.to_string()
}

/// The whole human-readable result: table, choice, run cost, visualization.
pub fn summary(output: &Value, stats: Option<&[Value]>, strategy: &str) -> String {
    let mut text = String::new();
    if output.is_null() {
        text.push_str("Dry run: every memory size was invoked once; no analysis.\n");
        if let Some(stats) = stats {
            text.push_str(&stats_table(stats, None));
            text.push('\n');
        }
        return text;
    }
    let chosen = output["power"].as_u64();
    let stats = stats.or_else(|| output["stats"].as_array().map(Vec::as_slice));
    if let Some(stats) = stats {
        text.push_str(&stats_table(stats, chosen));
        text.push('\n');
    }
    text.push_str(&format!(
        "Best memory size ({strategy}): {} MB — {} ms, ${} per invocation\n",
        int(output.get("power")),
        ms(output.get("duration")),
        cost(output.get("cost"))
    ));
    if let Some(failures) = output["failures"].as_array() {
        for failure in failures {
            text.push_str(&format!(
                "Failed at {} MB: {}: {}\n",
                int(failure.get("value")),
                failure["errorType"].as_str().unwrap_or_default(),
                failure["errorMessage"].as_str().unwrap_or_default()
            ));
        }
    }
    let sm = &output["stateMachine"];
    text.push_str(&format!(
        "Cost of this run: Step Functions ${}, Lambda ${}\n",
        sm["executionCost"]
            .as_f64()
            .map(|c| format!("{c}"))
            .unwrap_or_else(|| "-".into()),
        cost(sm.get("lambdaCost"))
    ));
    if let Some(url) = sm["visualization"].as_str() {
        text.push_str(&format!("Visualization: {url}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_marks_the_choice_and_failures() {
        let stats = vec![
            json!({"value": 256, "averageDuration": 120.0, "averagePrice": 5.04e-7, "invocations": 10, "errors": 0, "coldStarts": 1, "maxMemoryUsed": 30, "p50Duration": 119.0, "p90Duration": 125.0, "p99Duration": 130.0}),
            json!({"value": 128, "invocations": 1, "errors": 1, "error": {"errorType": "Runtime.OutOfMemory", "errorMessage": "oom"}}),
        ];
        let output = json!({"power": 256, "cost": 5.04e-7, "duration": 120.0, "stateMachine": {"executionCost": 0.0002, "lambdaCost": 5.04e-6, "visualization": "https://x/#a;b;c"},
            "failures": [{"value": 128, "errorType": "Runtime.OutOfMemory", "errorMessage": "oom"}]});
        let text = summary(&output, Some(&stats), "cost");
        let lines: Vec<&str> = text.lines().collect();
        let row128 = lines
            .iter()
            .position(|l| l.contains(" 128 "))
            .expect("128 row");
        let row256 = lines
            .iter()
            .position(|l| l.contains(" 256 "))
            .expect("256 row");
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
        assert!(summary(&Value::Null, None, "cost").starts_with("Dry run"));
    }
}

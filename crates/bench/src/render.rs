//! The results as markdown (benches/results.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::figure::{Figure, number};

/// The markdown results.
pub fn markdown(
    date: &str,
    machine: &BTreeMap<&'static str, Value>,
    figures: &[Figure],
    repeat: usize,
    starts: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# power-tuning benchmarks\n");
    let _ = writeln!(
        out,
        "Measured {date} with `power-tuning-bench` (release build) on: {}.\n",
        machine
            .iter()
            .map(|(k, v)| format!(
                "{k} {}",
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "Method: the five release handler binaries run in the local emulator as Lambda functions of 128 MB; \
the target is `examples/emulated_work` (a Runtime-API function that sleeps the emulated work, so it uses no CPU the tuner is measured on). \
Mode `quota 128/1769` gives each function process Lambda's CPU share (128/1769 of a core for the helpers) and memory limit through cgroups; \
`unconstrained` runs without limits. Each figure is the median and the spread (min–max) over {repeat} repeated runs \
({starts} cold starts per binary for B5). Timing targets are judged on the median, counts and sizes on every run. Nothing here is asserted by the test suite.\n"
    );
    let _ = writeln!(
        out,
        "| id | metric | mode | median | spread (min–max) | n | target | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for f in figures {
        let verdict = f.verdict();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} {} | {}–{} | {} | {} | {} |",
            f.id,
            f.metric,
            f.mode,
            number(f.median),
            f.unit,
            number(f.min),
            number(f.max),
            f.samples.len(),
            f.target,
            verdict
        );
    }
    let _ = writeln!(out, "\n## Notes\n");
    let mut seen = std::collections::BTreeSet::new();
    for f in figures {
        if seen.insert((f.id, f.metric.clone())) {
            let _ = writeln!(out, "- **{} {}**: {}", f.id, f.metric, f.note);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figure::Check;

    #[test]
    fn rows_show_median_spread_and_verdict() {
        let f = Figure::new(
            "B5",
            "m",
            "unconstrained",
            "ms",
            vec![],
            Check::MedianAtMost(20.0),
            "why",
        );
        let text = markdown(
            "2026-11-23T00:00:00Z",
            &BTreeMap::from([("cores", serde_json::json!(2))]),
            &[f],
            3,
            30,
        );
        assert!(
            text.contains(
                "| B5 | m | unconstrained | 0 ms | 0–0 | 0 | ≤ 20 (median) | **misses** |"
            ),
            "{text}"
        );
        assert!(text.contains("- **B5 m**: why"));
    }
}

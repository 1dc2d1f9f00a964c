//! B10: the stability of the choice (SPEC §13), measured on the README's first command run
//! again and again (`power-tuning local --function cpu_bound --power-values 128,256,512,1024`),
//! as a user would: how often the chosen size differs from the most frequent one, how many runs
//! called their choice `clear` while choosing another size (at a 95 % level about 1 in 20; more
//! than 2 in 20 is a defect), and, with `requireSignificance`, how often 20 runs on a function
//! already at its most frequent best size change its memory (at most once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::BenchResult;
use crate::figure::{Check, Figure};
use crate::scenarios::progress;

/// The README's first command, after `--`.
const FIRST_COMMAND: [&str; 5] = [
    "local",
    "--function",
    "cpu_bound",
    "--power-values",
    "128,256,512,1024",
];

/// One run of the command with `extra` arguments: its execution output.
async fn run(cli: &Path, extra: &[&str]) -> BenchResult<Value> {
    let out = tokio::process::Command::new(cli)
        .args(FIRST_COMMAND)
        .args(extra)
        .arg("--json")
        .output()
        .await
        .map_err(|e| format!("{}: {e}", cli.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {}: exit {:?}: {}",
            cli.display(),
            FIRST_COMMAND.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))
}

/// The `power-tuning` command to run: `--cli`, else the `local` profile's build in the
/// checkout (built when missing, as the README's command would).
pub async fn cli(given: Option<PathBuf>) -> BenchResult<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let root = power_tuning_cli::tools::repository_root()
        .ok_or("no checkout to build the command in: pass --cli PATH")?;
    crate::binaries::cargo(
        &root,
        &["build", "--profile", "local", "-p", "power-tuning-cli"],
        "building the power-tuning command failed",
    )
    .await?;
    Ok(root.join("target").join("local").join("power-tuning"))
}

/// B10: `runs` runs of the first command, then `runs` runs with `requireSignificance` on a
/// function set to the most frequent choice.
pub async fn stability(cli: &Path, runs: usize, figures: &mut Vec<Figure>) -> BenchResult<()> {
    let choices = choices(cli, runs).await?;
    let mode = choice_figures(&choices, runs, figures)?;
    figures.push(significance_figure(cli, runs, mode).await?);
    Ok(())
}

/// The first command as a user types it.
fn first_command() -> String {
    format!("power-tuning {}", FIRST_COMMAND.join(" "))
}

/// `runs` runs of the first command: each run's chosen size and verdict.
async fn choices(cli: &Path, runs: usize) -> BenchResult<Vec<(u64, String)>> {
    let mut choices = Vec::new();
    for n in 0..runs {
        progress(&format!("B10 run {} of {runs}", n + 1));
        let output = run(cli, &[]).await?;
        let power = output["power"].as_u64().ok_or("no power in the output")?;
        let verdict = output["confidence"]["verdict"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        choices.push((power, verdict));
    }
    Ok(choices)
}

/// The figures of the choices: runs choosing another size than the most frequent one, and runs
/// calling such a choice `clear`. Returns the most frequent size (the smallest on a tie).
fn choice_figures(
    choices: &[(u64, String)],
    runs: usize,
    figures: &mut Vec<Figure>,
) -> BenchResult<u64> {
    let counts = counted(choices.iter().map(|(power, _)| *power));
    let mode = counts
        .iter()
        .max_by_key(|(power, n)| (**n, std::cmp::Reverse(**power)))
        .map(|(p, _)| *p)
        .ok_or("no run")?;
    let differing = choices.iter().filter(|(p, _)| *p != mode).count();
    let clear_elsewhere = choices
        .iter()
        .filter(|(p, v)| *p != mode && v == "clear")
        .count();
    let tally = listed(&counts, |p| format!("{p} MB"));
    let verdicts = listed(
        &counted(choices.iter().map(|(_, verdict)| verdict.as_str())),
        ToString::to_string,
    );
    let command = first_command();
    let count = |metric: String, value: usize, check: Check, note: String| {
        Figure::new("B10", metric, "-", "runs", vec![value as f64], check, note)
    };
    figures.push(count(
        format!("runs choosing another size than the most frequent ({mode} MB), of {runs}"),
        differing,
        Check::Report,
        format!("`{command}` run {runs} times on this machine (cgroups as available, level 95 %); choices: {tally}; verdicts: {verdicts}"),
    ));
    figures.push(count(
        format!("runs calling `clear` a choice other than the most frequent, of {runs}"),
        clear_elsewhere,
        Check::AllAtMost(2.0),
        "a clear verdict on another size than the most frequent one is a false `clear`: at a 95 % level about 1 run in 20 (SPEC §13); more than 2 is a defect".to_string(),
    ));
    Ok(mode)
}

/// How often each item occurs.
fn counted<K: Ord>(items: impl IntoIterator<Item = K>) -> BTreeMap<K, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    counts
}

/// `a × 2, b × 1`: each item written by `label`, with its count.
fn listed<K>(counts: &BTreeMap<K, usize>, label: impl Fn(&K) -> String) -> String {
    counts
        .iter()
        .map(|(k, n)| format!("{} × {n}", label(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `runs` runs with `autoOptimize` and `requireSignificance` on a function already at `mode`
/// MB: how many changed its memory.
async fn significance_figure(cli: &Path, runs: usize, mode: u64) -> BenchResult<Figure> {
    let memory = mode.to_string();
    let input = std::env::temp_dir().join(format!("power-tuning-b10-{}.json", std::process::id()));
    std::fs::write(
        &input,
        r#"{"autoOptimize": true, "requireSignificance": true}"#,
    )
    .map_err(|e| format!("{}: {e}", input.display()))?;
    let input_path = input.display().to_string();
    let mut changed = 0usize;
    let mut outcomes = Vec::new();
    for n in 0..runs {
        progress(&format!("B10 requireSignificance run {} of {runs}", n + 1));
        let output = run(cli, &["--memory", &memory, "--input", &input_path]).await?;
        let applied = output["optimization"]["applied"] == Value::Bool(true);
        if applied && output["power"].as_u64() != Some(mode) {
            changed += 1;
        }
        outcomes.push(if applied {
            format!("applied {} MB", output["power"])
        } else {
            "not applied".to_string()
        });
    }
    let _ = std::fs::remove_file(&input);
    let command = first_command();
    Ok(Figure::new(
        "B10",
        format!("memory changes with requireSignificance, function at {mode} MB, of {runs}"),
        "-",
        "runs",
        vec![changed as f64],
        Check::AllAtMost(1.0),
        format!(
            "`{command} --memory {mode} --input {{\"autoOptimize\": true, \"requireSignificance\": true}} --json` run {runs} times; outcomes: {}",
            listed(&counted(outcomes), ToString::to_string)
        ),
    ))
}

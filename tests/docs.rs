//! The documentation's commands are real: every `power-tuning ...` command line in the README
//! and in the GitHub Actions example parses with the CLI's own argument parser, and the
//! workflow applies the optimum only after the gated tuning step.

use std::path::Path;

use clap::Parser;
use power_tuning_cli::Cli;
use serde_norway::Value as Yaml;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Splits a shell command line into words (quotes removed; enough for the docs' commands).
/// Stops at a redirection or pipe.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in line.split_whitespace() {
        if matches!(word, ">" | ">>" | "|" | "&&" | "2>&1") {
            break;
        }
        out.push(word.trim_matches(|c| c == '"' || c == '\'').to_string());
    }
    out
}

/// `power-tuning ...` commands of a text: continuation lines (`\`) joined, `$(...)` left as is.
fn commands(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let at = l.find("power-tuning ")?;
            let cmd = &l[at..];
            // Not a command: prose or a path like `power-tuning-cli`.
            let second = cmd.split_whitespace().nth(1)?;
            ["local", "run", "report", "cleanup", "emulator", "bench"]
                .contains(&second)
                .then(|| cmd.trim_end_matches('`').to_string())
        })
        .collect()
}

fn parses(cmd: &str) -> Result<(), String> {
    Cli::try_parse_from(words(cmd))
        .map(|_| ())
        .map_err(|e| format!("{cmd}\n{e}"))
}

#[test]
fn readme_commands_parse() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let cmds: Vec<String> = commands(&readme)
        .into_iter()
        // Synopsis lines use `A|B` and `[...]`; they are not runnable commands.
        .filter(|c| !c.contains('|') && !c.contains('['))
        .collect();
    assert!(
        cmds.iter().any(|c| c.contains(" run ")) && cmds.iter().any(|c| c.contains(" report ")),
        "README lacks run/report examples: {cmds:?}"
    );
    let errors: Vec<String> = cmds.iter().filter_map(|c| parses(c).err()).collect();
    assert!(
        errors.is_empty(),
        "README commands that do not parse:\n{}",
        errors.join("\n")
    );
}

#[test]
fn workflow_example_gates_before_applying() {
    let text =
        std::fs::read_to_string(root().join("docs/github-actions-tune.yml")).expect("workflow");
    let workflow: Yaml = serde_norway::from_str(&text).expect("workflow is YAML");
    let steps = workflow["jobs"]["deploy-and-tune"]["steps"]
        .as_sequence()
        .expect("steps");
    let runs: Vec<(usize, String, Option<String>)> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let run = s["run"].as_str()?.to_string();
            Some((i, run, s["if"].as_str().map(str::to_string)))
        })
        .collect();
    let mut tune = None;
    for (i, run, _) in &runs {
        for cmd in commands(run) {
            parses(&cmd).unwrap_or_else(|e| panic!("workflow command does not parse: {e}"));
            if cmd.starts_with("power-tuning run") {
                assert!(
                    cmd.contains("--max-cost") && cmd.contains("--result-file"),
                    "{cmd}"
                );
                assert!(
                    !cmd.contains("--auto-optimize"),
                    "gates must decide before applying"
                );
                tune = Some(*i);
            }
        }
    }
    let tune = tune.expect("a power-tuning run step");
    let (apply, _, condition) = runs
        .iter()
        .find(|(_, run, _)| run.contains("update-function-configuration"))
        .expect("an apply step");
    assert!(
        *apply > tune,
        "the optimum is applied after the tuning step"
    );
    assert!(
        condition.is_none(),
        "the apply step must only run when the gated step passed"
    );
}

#[test]
fn readme_lists_every_error_name_with_its_retry() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = readme
        .split("\n## Errors\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a README section \"## Errors\"");
    let rows: Vec<(String, bool)> = section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), *cells.get(2)? == "yes"))
        })
        .collect();
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, power_tuning_core::HandlerError::all_types());
    for (name, retried) in &rows {
        assert_eq!(
            *retried,
            power_tuning_core::HandlerError::TRANSIENT_TYPES.contains(&name.as_str()),
            "{name}: the README's retry column disagrees with the state machine's Retry"
        );
    }
}

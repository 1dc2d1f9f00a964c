//! The binaries measured: the five Lambda handlers and the `emulated_work` example as built for
//! Lambda (the release profile, or the one this executable was built in), next to this executable;
//! brought up to date in the checkout first, so a run never measures handlers older than the source.

use std::path::{Path, PathBuf};

use power_tuning_cli::statemachine::HANDLERS;
use power_tuning_cli::tools::repository_root;

use crate::BenchResult;

/// The directory of this executable, where the handlers and examples of the same build are.
pub fn exe_dir() -> BenchResult<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .ok_or_else(|| "cannot locate the power-tuning-bench executable".to_string())
}

/// Makes sure the handlers and `examples` in `dir` are current: in a checkout, `cargo build` (in
/// the profile `dir` belongs to; a no-op when nothing changed); elsewhere they must exist.
pub async fn ensure_built(dir: &Path, examples: &[&str]) -> BenchResult<()> {
    let missing: Vec<PathBuf> = HANDLERS
        .iter()
        .map(|h| dir.join(h))
        .chain(examples.iter().map(|e| dir.join("examples").join(e)))
        .filter(|p| !p.exists())
        .collect();
    let Some(root) = repository_root() else {
        if missing.is_empty() {
            return Ok(());
        }
        return Err(format!(
            "missing {}; build them with `cargo build --release --bins --examples`",
            missing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    // `target/<profile>/`: build in the profile this executable was built in.
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| *n != "debug")
        .map(str::to_string);
    let mut command =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(&root).args([
        "build",
        "-p",
        "power-tuning-functions",
        "--bins",
        "--examples",
    ]);
    if let Some(profile) = &profile {
        command.args(["--profile", profile]);
    }
    eprintln!(
        "Bringing the handlers and example functions up to date (cargo build{} --bins --examples)…",
        profile
            .as_ref()
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default()
    );
    let status = command
        .status()
        .await
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the handlers failed".into());
    }
    Ok(())
}

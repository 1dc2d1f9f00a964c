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
    let Some(root) = repository_root() else {
        let missing: Vec<String> = HANDLERS
            .iter()
            .map(|h| dir.join(h))
            .chain(examples.iter().map(|e| dir.join("examples").join(e)))
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        return Err(format!(
            "missing {}; build them with `cargo build --release --bins --examples`",
            missing.join(", ")
        ));
    };
    // `target/<profile>/`: build in the profile this executable was built in.
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| *n != "debug");
    let mut args = vec![
        "build",
        "-p",
        "power-tuning-functions",
        "--bins",
        "--examples",
    ];
    if let Some(profile) = profile {
        args.extend(["--profile", profile]);
    }
    eprintln!(
        "Bringing the handlers and example functions up to date (cargo build{} --bins --examples)…",
        profile
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default()
    );
    cargo(&root, &args, "building the handlers failed").await
}

/// Runs `cargo ARGS` in the checkout at `root` (`$CARGO` when cargo runs this); `failed` is the
/// error when it does not succeed.
pub async fn cargo(root: &Path, args: &[&str], failed: &str) -> BenchResult<()> {
    let status =
        tokio::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(args)
            .status()
            .await
            .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(failed.into());
    }
    Ok(())
}

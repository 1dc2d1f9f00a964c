//! The pinned non-Rust tools the local mode needs: a Python virtualenv with moto (the local
//! Step Functions engine, DESIGN §3), created on first use.
//!
//! Location: `$POWER_TUNING_TOOLS_DIR`, else `<repository>/.tools` when this binary runs from a
//! checkout's `target/` (the same place `scripts/tools` installs to), else
//! `~/.cache/power-tuning/tools`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// moto, pinned (DESIGN §3). Same pin string as `scripts/tools`.
pub const MOTO_PIN: &str = "moto[server,stepfunctions]==5.2.5";

/// The repository checkout this binary was built in, if any.
pub fn repository_root() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .find(|dir| {
            dir.join("statemachine/statemachine.asl.json").exists()
                && dir.join("Cargo.toml").exists()
        })
        .map(Path::to_path_buf)
}

/// Where tools live.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POWER_TUNING_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(root) = repository_root() {
        return root.join(".tools");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/power-tuning/tools")
}

/// Errors setting up tools.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// No Python.
    #[error(
        "python3 is required for the local Step Functions engine (moto); install Python 3.9 or newer and try again"
    )]
    NoPython,
    /// Installation failed.
    #[error("installing {what} failed: {detail}")]
    Install {
        /// What.
        what: String,
        /// Why.
        detail: String,
    },
}

async fn run(command: &mut tokio::process::Command, what: &str) -> Result<(), ToolError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ToolError::Install {
            what: what.to_string(),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ToolError::Install {
            what: what.to_string(),
            detail: String::from_utf8_lossy(&output.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | "),
        })
    }
}

/// `moto_server` from the pinned virtualenv, installing it first if needed.
pub async fn moto_server() -> Result<PathBuf, ToolError> {
    let venv = tools_dir().join("moto");
    let server = venv.join("bin/moto_server");
    let stamp = venv.join(".pins");
    if server.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == MOTO_PIN) {
        return Ok(server);
    }
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| {
            std::process::Command::new(p)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .ok_or(ToolError::NoPython)?;
    eprintln!(
        "First local run: installing the local Step Functions engine ({MOTO_PIN}) into {} …",
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ToolError::Install {
            what: "tools directory".into(),
            detail: e.to_string(),
        })?;
    }
    run(
        tokio::process::Command::new(python)
            .args(["-m", "venv"])
            .arg(&venv),
        "a Python virtualenv",
    )
    .await?;
    run(
        tokio::process::Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO_PIN,
        ]),
        MOTO_PIN,
    )
    .await?;
    std::fs::write(&stamp, format!("{MOTO_PIN}\n")).map_err(|e| ToolError::Install {
        what: "stamp".into(),
        detail: e.to_string(),
    })?;
    eprintln!("Installed.");
    Ok(server)
}

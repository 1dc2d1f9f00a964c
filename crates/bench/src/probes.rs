//! What the benchmarks read off the machine and the processes: CPU clocks and peak RSS of
//! function processes, zipped binary sizes, ELF architecture, and the machine's description.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use power_tuning_cli::statemachine::HANDLERS;
use power_tuning_emulator::Emulator;
use serde_json::{Value, json};

use crate::BenchResult;

/// The newest live environment's process of `function`.
pub fn newest_pid(emulator: &Emulator, function: &str) -> BenchResult<u32> {
    emulator
        .live_environments()
        .into_iter()
        .rev()
        .find(|(f, _, _)| f == function)
        .map(|(_, _, pid)| pid)
        .ok_or_else(|| format!("no live environment of {function}"))
}

/// User + system CPU time of a process (all its threads), from its CPU-time clock.
#[cfg(target_os = "linux")]
pub fn cpu_time(pid: u32) -> BenchResult<Duration> {
    use nix::time::{clock_getcpuclockid, clock_gettime};
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).map_err(|e| e.to_string())?);
    let clock = clock_getcpuclockid(pid).map_err(|e| format!("CPU clock of {pid}: {e}"))?;
    let time = clock_gettime(clock).map_err(|e| format!("CPU time of {pid}: {e}"))?;
    Ok(Duration::from(time))
}

#[cfg(not(target_os = "linux"))]
pub fn cpu_time(_pid: u32) -> BenchResult<Duration> {
    Err("the benchmarks read process CPU clocks and /proc: Linux only".into())
}

/// Peak resident set (VmHWM) of a process, MB.
pub fn peak_rss_mb(pid: u32) -> BenchResult<f64> {
    power_tuning_emulator::peak_rss(pid)
        .map(|bytes| bytes as f64 / 1024.0 / 1024.0)
        .ok_or_else(|| format!("no VmHWM in /proc/{pid}/status"))
}

/// Size of a zip holding `path` as an executable `bootstrap` (deflate, default level).
pub fn zipped_size(path: &Path) -> BenchResult<u64> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)
        .map_err(|e| e.to_string())?;
    zip.write_all(&bytes).map_err(|e| e.to_string())?;
    let cursor = zip.finish().map_err(|e| e.to_string())?;
    Ok(cursor.into_inner().len() as u64)
}

/// Whether a file is an ELF for aarch64 (e_machine 183).
pub fn is_arm64_elf(path: &Path) -> bool {
    std::fs::read(path).ok().is_some_and(|b| {
        b.len() > 20 && b.starts_with(b"\x7fELF") && u16::from_le_bytes([b[18], b[19]]) == 183
    })
}

/// The five arm64 `bootstrap`s of a `sam build` or `cargo lambda build` output.
pub fn arm64_builds(dir: Option<&Path>) -> Option<(String, Vec<(String, PathBuf)>)> {
    let root = power_tuning_cli::tools::repository_root().unwrap_or_else(|| PathBuf::from("."));
    let candidates: Vec<PathBuf> = match dir {
        Some(d) => vec![d.to_path_buf()],
        // Only a real `sam build`'s output: target/lambda also holds the stack check's
        // unoptimised arm64 builds (scripts/check-stack), which say nothing about the artifacts.
        None => vec![root.join(".aws-sam/build")],
    };
    for base in candidates {
        let files: Vec<(String, PathBuf)> = HANDLERS
            .iter()
            .filter_map(|h| {
                let mut logical: String = h.chars().take(1).flat_map(char::to_uppercase).collect();
                logical.push_str(&h[1..]);
                [
                    base.join(format!("{logical}Function")).join("bootstrap"),
                    base.join(h).join("bootstrap"),
                ]
                .into_iter()
                .find(|p| is_arm64_elf(p))
                .map(|p| (h.to_string(), p))
            })
            .collect();
        if files.len() == HANDLERS.len() {
            let shown = base
                .strip_prefix(&root)
                .unwrap_or(&base)
                .display()
                .to_string();
            return Some((format!("arm64, {shown}"), files));
        }
    }
    None
}

/// The machine, for the results file.
pub fn machine(cgroups: Option<u8>) -> BTreeMap<&'static str, Value> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0);
    let command = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    BTreeMap::from([
        ("cpu", json!(cpu)),
        (
            "cores",
            json!(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            ),
        ),
        ("memoryGiB", json!(memory_gib)),
        ("kernel", json!(read("/proc/sys/kernel/osrelease").trim())),
        ("arch", json!(std::env::consts::ARCH)),
        (
            "cgroups",
            json!(
                cgroups
                    .map(|v| format!("v{v}"))
                    .unwrap_or_else(|| "not writable".into())
            ),
        ),
        ("rustc", json!(command("rustc", &["-V"]))),
        (
            "commit",
            json!(command("git", &["rev-parse", "--short", "HEAD"])),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_of_a_file_is_smaller_for_repetitive_bytes() {
        let dir = std::env::temp_dir().join(format!("pt-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("bootstrap");
        std::fs::write(&file, vec![7u8; 1_000_000]).expect("write");
        let size = zipped_size(&file).expect("zip");
        assert!(size > 100 && size < 20_000, "{size}");
        assert!(!is_arm64_elf(&file));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}

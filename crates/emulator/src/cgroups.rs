//! Lambda's resource model on Linux cgroups: CPU = memory/1769 of a core (more than one core
//! above 1769 MB, up to the host's cores), memory limit = the configured size. cgroup v1
//! (`cpu.cfs_quota_us`, `memory.limit_in_bytes`) and v2 (`cpu.max`, `memory.max`) are both
//! supported; when neither is writable, functions run unconstrained (the caller warns once).
//!
//! Each execution environment gets its own group under a per-emulator parent; processes join
//! through a tiny `sh` wrapper that writes its pid into the group before `exec`, so the
//! function never runs a single instruction outside its limits. Groups are removed when their
//! environment ends and the parent when the emulator stops.

use std::fs;
use std::path::{Path, PathBuf};

/// Memory size that gets one full vCPU.
pub const MB_PER_VCPU: f64 = 1769.0;
const PERIOD_US: u64 = 100_000;

#[derive(Debug)]
enum Kind {
    V1 { cpu: PathBuf, memory: PathBuf },
    V2 { parent: PathBuf },
}

/// The emulator's parent group(s).
#[derive(Debug)]
pub struct Cgroups {
    kind: Kind,
    cores: usize,
}

/// One environment's group(s).
#[derive(Debug)]
pub struct EnvCgroup {
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` files the process writes its pid to.
    pub procs_files: Vec<PathBuf>,
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    fs::write(path, value)
}

/// CPU quota per period for a memory size: memory/1769 of a core, at most `cores` cores.
pub fn cpu_quota_us(memory_mb: u32, cores: usize) -> u64 {
    let share = f64::from(memory_mb) / MB_PER_VCPU;
    let quota = (share * PERIOD_US as f64).round() as u64;
    quota.clamp(1_000, PERIOD_US * cores.max(1) as u64)
}

impl Cgroups {
    /// Creates the parent groups under `/sys/fs/cgroup`, or `None` when cgroups are not
    /// writable here.
    pub fn create(name: &str) -> Option<Cgroups> {
        Cgroups::create_at(Path::new("/sys/fs/cgroup"), name)
    }

    fn create_at(root: &Path, name: &str) -> Option<Cgroups> {
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        let cpu_root = root.join("cpu");
        let memory_root = root.join("memory");
        if cpu_root.join("cpu.cfs_quota_us").exists()
            && memory_root.join("memory.limit_in_bytes").exists()
        {
            let cpu = cpu_root.join(name);
            let memory = memory_root.join(name);
            if fs::create_dir_all(&cpu).is_ok() && fs::create_dir_all(&memory).is_ok() {
                return Some(Cgroups {
                    kind: Kind::V1 { cpu, memory },
                    cores,
                });
            }
            let _ = fs::remove_dir(&cpu);
            let _ = fs::remove_dir(&memory);
            return None;
        }
        let controllers = fs::read_to_string(root.join("cgroup.controllers")).ok()?;
        if !(controllers.contains("cpu") && controllers.contains("memory")) {
            return None;
        }
        // Our own group (`0::/path`): children go below it, and its subtree must enable the
        // controllers; the parent must hold no processes for that, so we use a fresh one.
        let own = fs::read_to_string("/proc/self/cgroup").ok()?;
        let own_path = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))?
            .trim_start_matches('/');
        let base = root.join(own_path);
        let parent = base.join(name);
        fs::create_dir_all(&parent).ok()?;
        let enabled = write(&base.join("cgroup.subtree_control"), "+cpu +memory").is_ok()
            && write(&parent.join("cgroup.subtree_control"), "+cpu +memory").is_ok();
        if !enabled {
            let _ = fs::remove_dir(&parent);
            return None;
        }
        Some(Cgroups {
            kind: Kind::V2 { parent },
            cores,
        })
    }

    /// cgroup version in use.
    pub fn version(&self) -> u8 {
        match self.kind {
            Kind::V1 { .. } => 1,
            Kind::V2 { .. } => 2,
        }
    }

    /// Creates an environment's group with the CPU share and memory limit of `memory_mb`.
    pub fn environment(&self, id: u64, memory_mb: u32) -> std::io::Result<EnvCgroup> {
        let name = format!("env-{id}");
        let memory_limit = u64::from(memory_mb) * 1024 * 1024;
        let quota = cpu_quota_us(memory_mb, self.cores);
        match &self.kind {
            Kind::V1 { cpu, memory } => {
                let cpu_dir = cpu.join(&name);
                let memory_dir = memory.join(&name);
                fs::create_dir_all(&cpu_dir)?;
                fs::create_dir_all(&memory_dir)?;
                let group = EnvCgroup {
                    dirs: vec![cpu_dir.clone(), memory_dir.clone()],
                    procs_files: vec![
                        cpu_dir.join("cgroup.procs"),
                        memory_dir.join("cgroup.procs"),
                    ],
                };
                write(&cpu_dir.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                write(&cpu_dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
                write(
                    &memory_dir.join("memory.limit_in_bytes"),
                    &memory_limit.to_string(),
                )?;
                // No swapping past the limit: exceeding memory means being killed, as on Lambda.
                let _ = write(&memory_dir.join("memory.swappiness"), "0");
                let _ = write(
                    &memory_dir.join("memory.memsw.limit_in_bytes"),
                    &memory_limit.to_string(),
                );
                Ok(group)
            }
            Kind::V2 { parent } => {
                let dir = parent.join(&name);
                fs::create_dir_all(&dir)?;
                let group = EnvCgroup {
                    dirs: vec![dir.clone()],
                    procs_files: vec![dir.join("cgroup.procs")],
                };
                write(&dir.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
                write(&dir.join("memory.max"), &memory_limit.to_string())?;
                let _ = write(&dir.join("memory.swap.max"), "0");
                Ok(group)
            }
        }
    }

    /// The parent directories (for tests and diagnostics).
    pub fn parent_dirs(&self) -> Vec<PathBuf> {
        match &self.kind {
            Kind::V1 { cpu, memory } => vec![cpu.clone(), memory.clone()],
            Kind::V2 { parent } => vec![parent.clone()],
        }
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        for dir in self.parent_dirs() {
            // Any environment group left (an environment still being torn down) goes first.
            if let Ok(entries) = fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    if entry.path().is_dir() {
                        let _ = fs::remove_dir(entry.path());
                    }
                }
            }
            let _ = fs::remove_dir(&dir);
        }
    }
}

impl EnvCgroup {
    /// Removes the group (its processes must have exited).
    pub fn remove(&self) {
        for dir in &self.dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

impl Drop for EnvCgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Peak resident set size of a process (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmHWM:").map(|kb| kb * 1024)
}

/// Current resident set size of a process (`VmRSS`), in bytes.
pub fn current_rss(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmRSS:").map(|kb| kb * 1024)
}

fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_follows_memory() {
        assert_eq!(cpu_quota_us(1769, 2), 100_000);
        assert_eq!(cpu_quota_us(128, 2), 7_236);
        assert_eq!(cpu_quota_us(3538, 2), 200_000);
        assert_eq!(
            cpu_quota_us(10240, 2),
            200_000,
            "capped at the host's cores"
        );
        assert_eq!(cpu_quota_us(10240, 8), 578_858);
    }

    #[test]
    fn peak_rss_of_this_process() {
        let now = current_rss(std::process::id()).expect("VmRSS");
        let peak = peak_rss(std::process::id()).expect("VmHWM");
        assert!(peak >= now && now > 0);
    }
}

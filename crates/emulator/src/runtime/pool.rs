//! The pool of execution environments: one process per environment, each with its own Runtime
//! API listener, reused while warm, new for every new version or configuration, several at once
//! when invocations overlap (Lambda Developer Guide, "Understanding the Lambda execution
//! environment lifecycle").

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::environment::Environment;
use super::invocation::{self, InvocationResult, Sink};
use super::runtime_api::{self, RuntimeShared};
use crate::cgroups::{Cgroups, EnvCgroup};
use crate::lock;
use crate::registry::{LogFormat, Resolved, Snapshot};

/// Environment settings every function gets.
#[derive(Debug, Clone)]
pub struct HostSettings {
    /// Region reported to functions.
    pub region: String,
    /// Extra environment for every function (e.g. the emulator's own endpoint).
    pub environment: BTreeMap<String, String>,
}

/// All execution environments.
pub struct Environments {
    idle: Mutex<HashMap<String, Vec<Arc<Environment>>>>,
    live: Mutex<HashMap<u64, Arc<Environment>>>,
    next_id: AtomicU64,
    cgroups: Option<Cgroups>,
    host: HostSettings,
    /// Cold starts so far.
    pub cold_starts: AtomicU64,
}

impl Environments {
    /// A pool, with cgroups when available.
    pub fn new(cgroups: Option<Cgroups>, host: HostSettings) -> Self {
        Environments {
            idle: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            cgroups,
            host,
            cold_starts: AtomicU64::new(0),
        }
    }

    /// The cgroups in use, if any.
    pub fn cgroups(&self) -> Option<&Cgroups> {
        self.cgroups.as_ref()
    }

    /// Processes alive.
    pub fn live_count(&self) -> usize {
        lock(&self.live).len()
    }

    /// Process ids alive.
    pub fn live_pids(&self) -> Vec<u32> {
        lock(&self.live).values().map(|e| e.pid).collect()
    }

    /// Live environments as (function name, pool key, process id), oldest first.
    pub fn live_environments(&self) -> Vec<(String, String, u32)> {
        let mut envs: Vec<(u64, String, String, u32)> = lock(&self.live)
            .values()
            .map(|e| {
                let function = e.key.split(':').next().unwrap_or_default().to_string();
                (e.id, function, e.key.clone(), e.pid)
            })
            .collect();
        envs.sort();
        envs.into_iter().map(|(_, f, k, p)| (f, k, p)).collect()
    }

    fn take_idle(&self, key: &str) -> Option<Arc<Environment>> {
        let mut idle = lock(&self.idle);
        let list = idle.get_mut(key)?;
        while let Some(env) = list.pop() {
            if !env.exited() {
                return Some(env);
            }
        }
        None
    }

    fn release(&self, env: Arc<Environment>) {
        if env.exited() {
            lock(&self.live).remove(&env.id);
            return;
        }
        lock(&self.idle)
            .entry(env.key.clone())
            .or_default()
            .push(env);
    }

    async fn discard(&self, env: Arc<Environment>) {
        env.terminate().await;
        lock(&self.live).remove(&env.id);
    }

    /// Ends every environment whose key matches (a deleted version, an old configuration).
    pub async fn retire(&self, matches: impl Fn(&str) -> bool) {
        let retired: Vec<Arc<Environment>> = {
            let mut idle = lock(&self.idle);
            let keys: Vec<String> = idle.keys().filter(|k| matches(k)).cloned().collect();
            keys.into_iter()
                .flat_map(|k| idle.remove(&k).unwrap_or_default())
                .collect()
        };
        for env in retired {
            self.discard(env).await;
        }
    }

    /// Ends every environment.
    pub async fn shutdown(&self) {
        lock(&self.idle).clear();
        let all: Vec<Arc<Environment>> = lock(&self.live).drain().map(|(_, e)| e).collect();
        for env in all {
            env.terminate().await;
        }
    }

    /// Starts a new execution environment for `resolved`: its Runtime API, its cgroup, and its
    /// process, watched until it exits.
    async fn spawn(
        &self,
        function: &str,
        resolved: &Resolved,
    ) -> std::io::Result<Arc<Environment>> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let snapshot = &resolved.snapshot;
        let (runtime, runtime_api, server) = serve_runtime_api().await?;
        let cgroup = self.environment_cgroup(id, snapshot.memory);
        let mut command = launcher(cgroup.as_ref(), snapshot);
        self.configure(
            &mut command,
            &Launch {
                id,
                function,
                resolved,
                runtime_api,
            },
        );
        let spawned_at = Instant::now();
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                server.abort();
                return Err(error);
            }
        };
        let process = supervise(child, &runtime);
        let env = Arc::new(Environment {
            id,
            key: resolved.environment_key.clone(),
            pid: process.pid,
            memory_mb: snapshot.memory,
            spawned_at,
            created: std::time::SystemTime::now(),
            runtime,
            exit: process.exit,
            kill: Mutex::new(Some(process.kill)),
            killed_by_us: AtomicBool::new(false),
            cgroup,
            server,
            readers: process.readers,
        });
        lock(&self.live).insert(id, env.clone());
        self.cold_starts.fetch_add(1, Ordering::SeqCst);
        Ok(env)
    }

    /// The new environment's cgroup (its CPU share and memory limit), when cgroups are in use
    /// and one can be made.
    fn environment_cgroup(&self, id: u64, memory_mb: u32) -> Option<EnvCgroup> {
        match self.cgroups.as_ref()?.environment(id, memory_mb) {
            Ok(group) => Some(group),
            Err(error) => {
                tracing::warn!(%error, "could not create the environment's cgroup; running it unconstrained");
                None
            }
        }
    }

    /// The process's environment as Lambda sets it (its reserved variables, then the host's and
    /// the function's own), its working directory (the task root) and its pipes.
    fn configure(&self, command: &mut Command, launch: &Launch<'_>) {
        let Launch {
            id,
            function,
            resolved,
            runtime_api,
        } = *launch;
        let snapshot = &resolved.snapshot;
        let task_root = snapshot
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        command
            .env_clear()
            .envs(
                std::env::vars()
                    .filter(|(k, _)| matches!(k.as_str(), "PATH" | "LANG" | "HOME" | "TMPDIR")),
            )
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", &resolved.version)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                snapshot.memory.to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                snapshot.logging.group_of(function),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("emulator/[{}]{id}", resolved.version),
            )
            .env("AWS_LAMBDA_LOG_FORMAT", snapshot.logging.format.as_str())
            // Lambda tells the runtime the application log level with the JSON format.
            .envs((snapshot.logging.format == LogFormat::Json).then(|| {
                (
                    "AWS_LAMBDA_LOG_LEVEL",
                    snapshot.logging.application_level.as_str(),
                )
            }))
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("AWS_REGION", &self.host.region)
            .env("AWS_DEFAULT_REGION", &self.host.region)
            .env("_HANDLER", "bootstrap")
            .env("LAMBDA_TASK_ROOT", task_root)
            .envs(&self.host.environment)
            .envs(&snapshot.environment)
            .current_dir(task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
    }

    /// Invokes `resolved` with `payload` in a warm environment or a new one; with `kill_after`
    /// (fault injection), the environment is killed that long into the invocation.
    pub async fn invoke(
        &self,
        function: &str,
        function_arn: &str,
        resolved: &Resolved,
        payload: Bytes,
        kill_after: Option<Duration>,
        sink: Sink,
    ) -> std::io::Result<InvocationResult> {
        let (env, cold) = match self.take_idle(&resolved.environment_key) {
            Some(env) => (env, false),
            None => (self.spawn(function, resolved).await?, true),
        };
        if let Some(after) = kill_after {
            let victim = env.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                victim.terminate().await;
            });
        }
        let (result, healthy) =
            invocation::run(&env, cold, function_arn, resolved, payload, sink).await;
        if healthy {
            self.release(env);
        } else {
            self.discard(env).await;
        }
        Ok(result)
    }
}

/// What a new environment's process is told about itself.
#[derive(Clone, Copy)]
struct Launch<'a> {
    /// The environment's id (in its log stream's name).
    id: u64,
    /// The function's name.
    function: &'a str,
    /// The version and configuration it runs.
    resolved: &'a Resolved,
    /// Where its Runtime API listens.
    runtime_api: SocketAddr,
}

/// Starts a Runtime API of its own for a new environment, on a free port.
async fn serve_runtime_api() -> std::io::Result<(Arc<RuntimeShared>, SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let runtime = RuntimeShared::new();
    let app = runtime_api::router(runtime.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((runtime, address, server))
}

/// The command that becomes the function's process: the executable itself, or, with a cgroup,
/// a shell that joins the cgroup and then `exec`s it.
fn launcher(cgroup: Option<&EnvCgroup>, snapshot: &Snapshot) -> Command {
    match cgroup {
        // Join the groups first, then become the function: no instruction runs unconstrained.
        Some(group) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c")
                .arg("n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 126; shift; n=$((n-1)); done; exec \"$@\"")
                .arg("sh")
                .arg(group.procs_files.len().to_string())
                .args(&group.procs_files)
                .arg(&snapshot.path)
                .args(&snapshot.args);
            c
        }
        None => {
            let mut c = Command::new(&snapshot.path);
            c.args(&snapshot.args);
            c
        }
    }
}

/// A function's process under watch.
struct Supervised {
    /// Its process id (0 when unknown).
    pid: u32,
    /// The tasks reading its stdout and stderr into the log.
    readers: Vec<JoinHandle<()>>,
    /// Its exit status, once it has exited.
    exit: watch::Receiver<Option<ExitStatus>>,
    /// Kills it.
    kill: oneshot::Sender<()>,
}

/// Reads a new process's output into the log and waits for its exit (or a kill) on a task of
/// its own.
fn supervise(mut child: tokio::process::Child, runtime: &Arc<RuntimeShared>) -> Supervised {
    let pid = child.id().unwrap_or(0);
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        watch_pipe(runtime, &stdout);
        readers.push(capture(stdout, runtime.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        watch_pipe(runtime, &stderr);
        readers.push(capture(stderr, runtime.clone()));
    }
    let (exit_tx, exit_rx) = watch::channel(None);
    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let status = tokio::select! {
            status = child.wait() => status,
            _ = kill_rx => {
                let _ = child.start_kill();
                child.wait().await
            }
        };
        let _ = exit_tx.send(Some(status.unwrap_or_else(|_| ExitStatus::from_raw(9))));
    });
    Supervised {
        pid,
        readers,
        exit: exit_rx,
        kill: kill_tx,
    }
}

/// Keeps a duplicate of a pipe for [`RuntimeShared::drain_logs`] (without it, answers wait for
/// nothing, as before).
fn watch_pipe(runtime: &RuntimeShared, pipe: &impl std::os::fd::AsFd) {
    if let Ok(fd) = pipe.as_fd().try_clone_to_owned() {
        lock(&runtime.pipes).push(fd);
    }
}

fn capture<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    stream: R,
    runtime: Arc<RuntimeShared>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            lock(&runtime.logs).push(line);
        }
    })
}

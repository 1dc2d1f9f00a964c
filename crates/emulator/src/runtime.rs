//! Execution environments: one process per environment, each with its own Runtime API
//! listener (`/2018-06-01/runtime/...`), reused while warm, new for every new version or
//! configuration, several at once when invocations overlap.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::cgroups::{self, Cgroups, EnvCgroup};
use crate::registry::{LogFormat, Resolved, new_id};
use crate::report::{self, Metrics};

/// Longest time an environment may take to reach its first `/next`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An event on its way to the runtime.
struct Delivery {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    function_arn: String,
    done: oneshot::Sender<Completion>,
}

/// Largest synchronous response Lambda returns (buffered `Invoke`): 6 MB.
pub const MAX_BUFFERED_RESPONSE: usize = 6_291_556;

/// How a streamed response ended: when, and the mid-stream error its trailers reported.
struct StreamEnd {
    at: Instant,
    error: Option<(String, String)>,
}

/// How the runtime answered.
enum Completion {
    Response(Bytes, Instant),
    /// A buffered response above [`MAX_BUFFERED_RESPONSE`] (drained, not kept).
    Oversized(Instant),
    Error {
        body: Bytes,
        at: Instant,
    },
    /// The streaming response mode: chunks as the function writes them, then its end.
    Stream {
        chunks: mpsc::Receiver<Bytes>,
        end: oneshot::Receiver<StreamEnd>,
    },
}

/// Where an invocation's response goes.
pub enum Sink {
    /// Kept whole, up to [`MAX_BUFFERED_RESPONSE`] (`Invoke`).
    Buffer,
    /// Forwarded chunk by chunk as the function writes them (`InvokeWithResponseStream`); the
    /// channel is bounded, so memory does not grow with the response.
    Stream(mpsc::Sender<Bytes>),
}

#[derive(Clone, Debug)]
enum Readiness {
    Starting,
    Ready(Instant),
    InitError { error_type: String, body: Bytes },
}

/// State shared between an environment's Runtime API server and the invoker.
struct RuntimeShared {
    deliveries: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    sender: mpsc::Sender<Delivery>,
    active: Mutex<Option<(String, oneshot::Sender<Completion>)>>,
    readiness: watch::Sender<Readiness>,
    delivered_at: Mutex<Option<Instant>>,
    logs: Mutex<Vec<String>>,
    /// Lines the function printed before its first `/next` (its init output).
    init_lines: Mutex<Option<usize>>,
    /// Duplicates of the function's stdout and stderr pipes, to see what is still unread.
    pipes: Mutex<Vec<std::os::fd::OwnedFd>>,
}

/// How long an answer waits for the log readers at most (a function still printing after it
/// answered does not hold the answer back).
const LOG_DRAIN_LIMIT: Duration = Duration::from_millis(200);

impl RuntimeShared {
    /// Waits (bounded) until the log readers have read everything the function wrote to its
    /// pipes so far, so the log tail holds what it printed before it answered.
    async fn drain_logs(&self) {
        let deadline = Instant::now() + LOG_DRAIN_LIMIT;
        loop {
            let unread = lock(&self.pipes)
                .iter()
                .any(|fd| rustix::io::ioctl_fionread(fd).is_ok_and(|n| n > 0));
            if !unread || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A line read but not yet pushed: let the readers finish it.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }
}

/// One execution environment.
pub struct Environment {
    /// Unique id.
    pub id: u64,
    /// Pool key: function and version/configuration.
    pub key: String,
    pid: u32,
    memory_mb: u32,
    spawned_at: Instant,
    runtime: Arc<RuntimeShared>,
    exit: watch::Receiver<Option<ExitStatus>>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    killed_by_us: AtomicBool,
    cgroup: Option<EnvCgroup>,
    server: JoinHandle<()>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.server.abort();
        for reader in &self.readers {
            reader.abort();
        }
        if let Some(kill) = lock(&self.kill).take() {
            let _ = kill.send(());
        }
    }
}

impl Environment {
    fn exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Kills the process and waits until it is gone.
    pub async fn terminate(&self) {
        self.killed_by_us.store(true, Ordering::SeqCst);
        if let Some(kill) = lock(&self.kill).take() {
            let _ = kill.send(());
        }
        let mut exit = self.exit.clone();
        let _ = exit.wait_for(Option::is_some).await;
        if let Some(group) = &self.cgroup {
            group.remove();
        }
    }
}

/// What the Lambda API needs of an invocation.
#[derive(Debug, Clone)]
pub struct InvocationResult {
    /// Response payload (or error document).
    pub payload: Bytes,
    /// `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// The invocation's whole log.
    pub log: String,
    /// Version executed.
    pub version: String,
}

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

    async fn spawn(
        &self,
        function: &str,
        resolved: &Resolved,
    ) -> std::io::Result<Arc<Environment>> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let snapshot = &resolved.snapshot;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(1);
        let runtime = Arc::new(RuntimeShared {
            deliveries: tokio::sync::Mutex::new(receiver),
            sender,
            active: Mutex::new(None),
            readiness: watch::channel(Readiness::Starting).0,
            delivered_at: Mutex::new(None),
            logs: Mutex::new(Vec::new()),
            init_lines: Mutex::new(None),
            pipes: Mutex::new(Vec::new()),
        });
        let app = runtime_router(runtime.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let cgroup = match &self.cgroups {
            Some(groups) => match groups.environment(id, snapshot.memory) {
                Ok(group) => Some(group),
                Err(error) => {
                    tracing::warn!(%error, "could not create the environment's cgroup; running it unconstrained");
                    None
                }
            },
            None => None,
        };
        let mut command = match &cgroup {
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
        };
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
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
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
        let spawned_at = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                server.abort();
                return Err(error);
            }
        };
        let pid = child.id().unwrap_or(0);
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            watch_pipe(&runtime, &stdout);
            readers.push(capture(stdout, runtime.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            watch_pipe(&runtime, &stderr);
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
        let env = Arc::new(Environment {
            id,
            key: resolved.environment_key.clone(),
            pid,
            memory_mb: snapshot.memory,
            spawned_at,
            runtime,
            exit: exit_rx,
            kill: Mutex::new(Some(kill_tx)),
            killed_by_us: AtomicBool::new(false),
            cgroup,
            server,
            readers,
        });
        lock(&self.live).insert(id, env.clone());
        self.cold_starts.fetch_add(1, Ordering::SeqCst);
        Ok(env)
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
        let (result, healthy) = run(&env, cold, function_arn, resolved, payload, sink).await;
        if healthy {
            self.release(env);
        } else {
            self.discard(env).await;
        }
        Ok(result)
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

enum Outcome {
    Completed(Completion),
    Exited(ExitStatus),
    TimedOut,
    OutOfMemory,
    InitFailed { error_type: String, body: Bytes },
}

fn error_document(error_type: &str, message: String) -> Bytes {
    Bytes::from(json!({"errorType": error_type, "errorMessage": message}).to_string())
}

/// Runs one invocation in `env`; returns the result and whether the environment stays usable.
async fn run(
    env: &Environment,
    cold: bool,
    function_arn: &str,
    resolved: &Resolved,
    payload: Bytes,
    sink: Sink,
) -> (InvocationResult, bool) {
    let request_id = new_id();
    let timeout = Duration::from_secs(u64::from(resolved.snapshot.timeout));
    let (done_tx, mut done_rx) = oneshot::channel();
    let deadline_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d + timeout).as_millis() as u64)
        .unwrap_or(0);
    let init_lines: Vec<String> = if cold {
        Vec::new()
    } else {
        std::mem::take(&mut *lock(&env.runtime.logs))
    };
    let delivery = Delivery {
        request_id: request_id.clone(),
        payload: if payload.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            payload
        },
        deadline_ms,
        function_arn: function_arn.to_string(),
        done: done_tx,
    };
    let _ = env.runtime.sender.send(delivery).await;

    let mut exit = env.exit.clone();
    let mut init = None;
    let mut outcome = None;
    if cold {
        let mut readiness = env.runtime.readiness.subscribe();
        let waited = tokio::select! {
            r = readiness.wait_for(|r| !matches!(r, Readiness::Starting)) => r.map(|r| r.clone()).ok(),
            _ = exit.wait_for(Option::is_some) => None,
            _ = tokio::time::sleep(INIT_TIMEOUT.min(timeout.max(Duration::from_secs(1)) + INIT_TIMEOUT)) => None,
        };
        match waited {
            Some(Readiness::Ready(at)) => init = Some(at.saturating_duration_since(env.spawned_at)),
            Some(Readiness::InitError { error_type, body }) => {
                outcome = Some(Outcome::InitFailed { error_type, body })
            }
            _ => {
                outcome = Some(match *env.exit.borrow() {
                    Some(status) => Outcome::Exited(status),
                    None => Outcome::TimedOut,
                })
            }
        }
    }
    let started = Instant::now();
    if outcome.is_none() {
        let watch_memory = env.cgroup.is_none();
        let limit = u64::from(env.memory_mb) * 1024 * 1024;
        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        let sleep = tokio::time::sleep(timeout);
        tokio::pin!(sleep);
        outcome = Some(loop {
            tokio::select! {
                completion = &mut done_rx => match completion {
                    Ok(c) => break Outcome::Completed(c),
                    // The environment dropped the invocation: it is exiting.
                    Err(_) => break Outcome::Exited(ExitStatus::from_raw(9)),
                },
                _ = exit.wait_for(Option::is_some) => {
                    break Outcome::Exited(env.exit.borrow().unwrap_or_else(|| ExitStatus::from_raw(9)));
                }
                _ = &mut sleep => break Outcome::TimedOut,
                _ = ticker.tick(), if watch_memory => {
                    if cgroups::current_rss(env.pid).is_some_and(|rss| rss > limit) {
                        break Outcome::OutOfMemory;
                    }
                }
            }
        });
    }
    let mut outcome = outcome.unwrap_or(Outcome::TimedOut);
    // The response: relayed to the sink (streamed) or kept (buffered, up to 6 MB).
    let mut kept = Vec::new();
    let mut oversized = false;
    let relay = |chunk: Bytes, kept: &mut Vec<u8>, oversized: &mut bool| match &sink {
        Sink::Stream(tx) => Some((tx.clone(), chunk)),
        Sink::Buffer => {
            if kept.len() + chunk.len() > MAX_BUFFERED_RESPONSE {
                *oversized = true;
                kept.clear();
            } else if !*oversized {
                kept.extend_from_slice(&chunk);
            }
            None
        }
    };
    if let Outcome::Completed(Completion::Stream { chunks, end }) = &mut outcome {
        let watch_memory = env.cgroup.is_none();
        let limit = u64::from(env.memory_mb) * 1024 * 1024;
        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        let sleep = tokio::time::sleep(timeout.saturating_sub(started.elapsed()));
        tokio::pin!(sleep);
        enum Step {
            Chunk(Option<Bytes>),
            Exited,
            TimedOut,
            OutOfMemory,
        }
        let ended = loop {
            let step = tokio::select! {
                chunk = chunks.recv() => Step::Chunk(chunk),
                _ = exit.wait_for(Option::is_some) => Step::Exited,
                _ = &mut sleep => Step::TimedOut,
                _ = ticker.tick(), if watch_memory => {
                    if cgroups::current_rss(env.pid).is_some_and(|rss| rss > limit) {
                        Step::OutOfMemory
                    } else {
                        continue;
                    }
                }
            };
            match step {
                Step::Chunk(Some(chunk)) => {
                    if let Some((tx, chunk)) = relay(chunk, &mut kept, &mut oversized) {
                        // A client that went away does not stop the function: drain.
                        let _ = tx.send(chunk).await;
                    }
                }
                Step::Chunk(None) => {
                    break match end.await {
                        Ok(end) => Ok(end),
                        Err(_) => Err(Outcome::Exited(ExitStatus::from_raw(9))),
                    };
                }
                Step::Exited => {
                    let status = *env.exit.borrow();
                    break Err(Outcome::Exited(
                        status.unwrap_or_else(|| ExitStatus::from_raw(9)),
                    ));
                }
                Step::TimedOut => break Err(Outcome::TimedOut),
                Step::OutOfMemory => break Err(Outcome::OutOfMemory),
            }
        };
        outcome = match ended {
            Ok(StreamEnd { at, error: None }) if oversized => {
                Outcome::Completed(Completion::Oversized(at))
            }
            Ok(StreamEnd { at, error: None }) => Outcome::Completed(Completion::Response(
                Bytes::from(std::mem::take(&mut kept)),
                at,
            )),
            Ok(StreamEnd {
                at,
                error: Some((error_type, message)),
            }) => Outcome::Completed(Completion::Error {
                body: error_document(&error_type, message),
                at,
            }),
            Err(failed) => failed,
        };
    } else if let Outcome::Completed(Completion::Response(body, _)) = &outcome {
        // A buffered answer: counted, and forwarded whole to a stream.
        if let Some((tx, chunk)) = relay(body.clone(), &mut kept, &mut oversized)
            && !chunk.is_empty()
        {
            let _ = tx.send(chunk).await;
        }
    }
    let delivered_at = lock(&env.runtime.delivered_at).take().unwrap_or(started);
    let peak_mb = cgroups::peak_rss(env.pid).map(|b| (b as f64 / 1_048_576.0).round() as u64);
    // Let the log readers drain what the function printed before it answered.
    env.runtime.drain_logs().await;

    let mut notices = Vec::new();
    let (payload, function_error, end, healthy, status) = match outcome {
        Outcome::Completed(Completion::Response(body, at)) => (
            if matches!(sink, Sink::Stream(_)) {
                Bytes::new()
            } else {
                body
            },
            None,
            at,
            true,
            "success",
        ),
        Outcome::Completed(Completion::Oversized(at)) => (
            error_document(
                "Function.ResponseSizeTooLarge",
                format!(
                    "Response payload size exceeded maximum allowed payload size ({MAX_BUFFERED_RESPONSE} bytes)."
                ),
            ),
            Some("Unhandled"),
            at,
            true,
            "error",
        ),
        Outcome::Completed(Completion::Stream { .. }) => {
            (Bytes::new(), None, Instant::now(), false, "error")
        }
        Outcome::Completed(Completion::Error { body, at, .. }) => {
            (body, Some("Unhandled"), at, true, "error")
        }
        Outcome::InitFailed { error_type, body } => {
            let body = if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
                body
            } else {
                error_document(&error_type, String::from_utf8_lossy(&body).into_owned())
            };
            (body, Some("Unhandled"), Instant::now(), false, "error")
        }
        Outcome::TimedOut => {
            let message = format!("Task timed out after {}.00 seconds", timeout.as_secs());
            notices.push(message.clone());
            (
                error_document(
                    "Sandbox.Timedout",
                    format!("RequestId: {request_id} Error: {message}"),
                ),
                Some("Unhandled"),
                delivered_at + timeout,
                false,
                "timeout",
            )
        }
        Outcome::OutOfMemory => {
            notices.push("Runtime exited with error: signal: killed".to_string());
            (
                error_document(
                    "Runtime.OutOfMemory",
                    format!(
                        "RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                    ),
                ),
                Some("Unhandled"),
                Instant::now(),
                false,
                "error",
            )
        }
        Outcome::Exited(exit_status) => {
            let oom = exit_status.signal() == Some(9) && !env.killed_by_us.load(Ordering::SeqCst);
            let how = match (exit_status.code(), exit_status.signal()) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(9)) => "signal: killed".to_string(),
                (None, Some(signal)) => format!("signal: {signal}"),
                _ => "unknown".to_string(),
            };
            let error_type = if oom {
                "Runtime.OutOfMemory"
            } else {
                "Runtime.ExitError"
            };
            notices.push(format!("Runtime exited with error: {how}"));
            (
                error_document(
                    error_type,
                    format!("RequestId: {request_id} Error: Runtime exited with error: {how}"),
                ),
                Some("Unhandled"),
                Instant::now(),
                false,
                "error",
            )
        }
    };
    let out_of_memory = payload.windows(20).any(|w| w == b"Runtime.OutOfMemory\"");
    let max_memory_used_mb = match peak_mb {
        Some(mb) if !out_of_memory => mb.min(u64::from(env.memory_mb)),
        _ => u64::from(env.memory_mb),
    };
    let error_type = function_error.and(
        serde_json::from_slice::<serde_json::Value>(&payload)
            .ok()
            .and_then(|v| v.get("errorType")?.as_str().map(str::to_string)),
    );
    let metrics = Metrics {
        function: function_name(function_arn),
        request_id: request_id.clone(),
        version: resolved.version.clone(),
        duration: end.saturating_duration_since(delivered_at),
        init,
        memory_mb: env.memory_mb,
        max_memory_used_mb,
        status,
        error_type,
    };
    let mut lines = std::mem::take(&mut *lock(&env.runtime.logs));
    // On a cold start, what the function printed before its first `/next` is its init output.
    let init_lines = if cold {
        let printed_in_init = lock(&env.runtime.init_lines).take().unwrap_or(0);
        lines.drain(..printed_in_init.min(lines.len())).collect()
    } else {
        init_lines
    };
    let log = report::render(
        &resolved.snapshot.logging,
        &metrics,
        &init_lines,
        &lines,
        &notices,
    );
    (
        InvocationResult {
            payload,
            function_error: function_error.map(str::to_string),
            log,
            version: resolved.version.clone(),
        },
        healthy && !env.exited(),
    )
}

/// The function name of an ARN (or the name itself).
fn function_name(arn: &str) -> String {
    crate::registry::split_function_name(arn).0
}

fn runtime_router(shared: Arc<RuntimeShared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(shared)
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn next(State(shared): State<Arc<RuntimeShared>>) -> Response {
    shared.readiness.send_if_modified(|r| {
        if matches!(r, Readiness::Starting) {
            *lock(&shared.init_lines) = Some(lock(&shared.logs).len());
            *r = Readiness::Ready(Instant::now());
            true
        } else {
            false
        }
    });
    let delivery = { shared.deliveries.lock().await.recv().await };
    let Some(delivery) = delivery else {
        return StatusCode::GONE.into_response();
    };
    *lock(&shared.delivered_at) = Some(Instant::now());
    *lock(&shared.active) = Some((delivery.request_id.clone(), delivery.done));
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &delivery.request_id);
    put(
        "lambda-runtime-deadline-ms",
        &delivery.deadline_ms.to_string(),
    );
    put(
        "lambda-runtime-invoked-function-arn",
        &delivery.function_arn,
    );
    put(
        "lambda-runtime-trace-id",
        &format!(
            "Root=1-{}-{};Parent=0000000000000000;Sampled=0",
            &new_id()[..8],
            &new_id().replace('-', "")[..24]
        ),
    );
    put("content-type", "application/json");
    (StatusCode::OK, headers, delivery.payload).into_response()
}

fn take_active(shared: &RuntimeShared, id: &str) -> Option<oneshot::Sender<Completion>> {
    let mut active = lock(&shared.active);
    match active.take() {
        Some((request_id, done)) if request_id == id => Some(done),
        other => {
            *active = other;
            None
        }
    }
}

fn invalid_request_id() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})),
    )
        .into_response()
}

/// `POST /response`: buffered (kept up to 6 MB, drained beyond) or, with
/// `Lambda-Runtime-Function-Response-Mode: streaming`, relayed chunk by chunk as the function
/// writes them, a mid-stream error arriving in the `Lambda-Runtime-Function-Error-*` trailers.
async fn response(
    State(shared): State<Arc<RuntimeShared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(done) = take_active(&shared, &id) else {
        return invalid_request_id();
    };
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
    let mut body = body;
    if streaming {
        let (chunk_tx, chunks) = mpsc::channel(16);
        let (end_tx, end) = oneshot::channel();
        let _ = done.send(Completion::Stream { chunks, end });
        // The HTTP-integration content type starts with a metadata prelude (JSON, then 8 NUL
        // bytes) that Lambda consumes: it is not part of the response.
        let mut prelude = headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/vnd.awslambda.http-integration-response")
            .then(Vec::new);
        let mut error = None;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            match frame.into_data() {
                Ok(data) => {
                    let data = match prelude.as_mut() {
                        None => data,
                        Some(seen) => {
                            seen.extend_from_slice(&data);
                            match seen.windows(8).position(|w| w == [0u8; 8]) {
                                Some(at) => {
                                    let rest = Bytes::copy_from_slice(&seen[at + 8..]);
                                    prelude = None;
                                    rest
                                }
                                // No delimiter within 64 KB: not a prelude after all.
                                None if seen.len() > 64 * 1024 => {
                                    let all = Bytes::from(std::mem::take(seen));
                                    prelude = None;
                                    all
                                }
                                None => continue,
                            }
                        }
                    };
                    if !data.is_empty() {
                        let _ = chunk_tx.send(data).await;
                    }
                }
                Err(frame) => {
                    if let Some(trailers) = frame.trailers_ref()
                        && let Some(error_type) = trailers
                            .get("lambda-runtime-function-error-type")
                            .and_then(|v| v.to_str().ok())
                    {
                        let message = trailers
                            .get("lambda-runtime-function-error-body")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        error = Some((error_type.to_string(), message.to_string()));
                    }
                }
            }
        }
        drop(chunk_tx);
        let _ = end_tx.send(StreamEnd {
            at: Instant::now(),
            error,
        });
        return accepted();
    }
    let mut kept = Vec::new();
    let mut oversized = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            if kept.len() + data.len() > MAX_BUFFERED_RESPONSE {
                oversized = true;
                kept = Vec::new();
            } else if !oversized {
                kept.extend_from_slice(&data);
            }
        }
    }
    let at = Instant::now();
    let _ = done.send(if oversized {
        Completion::Oversized(at)
    } else {
        Completion::Response(Bytes::from(kept), at)
    });
    accepted()
}

fn error_type_of(headers: &HeaderMap, body: &Bytes) -> String {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v.get("errorType")
                        .and_then(|t| t.as_str())
                        .map(str::to_string)
                })
        })
        .unwrap_or_else(|| "Unhandled".to_string())
}

async fn error(
    State(shared): State<Arc<RuntimeShared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let error_type = error_type_of(&headers, &body);
    match take_active(&shared, &id) {
        Some(done) => {
            let body = if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
                body
            } else {
                error_document(&error_type, String::from_utf8_lossy(&body).into_owned())
            };
            let _ = done.send(Completion::Error { body, at });
            accepted()
        }
        None => invalid_request_id(),
    }
}

async fn init_error(
    State(shared): State<Arc<RuntimeShared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = error_type_of(&headers, &body);
    shared
        .readiness
        .send_replace(Readiness::InitError { error_type, body });
    accepted()
}

//! One invocation in one execution environment, in phases: deliver the event (on a cold start,
//! wait for the init), await the function's answer, relay it when it streams, and end in one
//! [`Ending`], from which the response, the REPORT and the environment's fate all follow.
//!
//! One watchdog runs through the phases: the process exiting, the timeout (`Task timed out
//! after N.00 seconds`, `Sandbox.Timedout`), and, without a cgroup memory limit, the memory
//! limit (`Runtime.OutOfMemory`).

use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::environment::Environment;
use super::runtime_api::{
    Completion, Delivery, Kept, MAX_BUFFERED_RESPONSE, Readiness, StreamEnd, as_error_document,
    document_error_type, error_document,
};
use crate::cgroups;
use crate::ids::new_id;
use crate::lock;
use crate::registry::{Resolved, split_function_name};
use crate::report::{self, Metrics};

/// Longest time an environment may take to reach its first `/next`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where an invocation's response goes.
pub enum Sink {
    /// Kept whole, up to [`MAX_BUFFERED_RESPONSE`] (`Invoke`).
    Buffer,
    /// Forwarded chunk by chunk as the function writes them (`InvokeWithResponseStream`); the
    /// channel is bounded, so memory does not grow with the response.
    Stream(mpsc::Sender<Bytes>),
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
    /// The log group the log goes to.
    pub log_group: String,
    /// The environment's log stream in it.
    pub log_stream: String,
}

/// How an invocation ended.
enum Ending {
    /// The function answered: its whole response when buffered (empty when it was streamed to
    /// the caller).
    Answered { body: Bytes, at: Instant },
    /// A buffered answer above [`MAX_BUFFERED_RESPONSE`].
    Oversized { at: Instant },
    /// The function reported an error (`/error`, or a streamed answer's error trailers).
    Failed { body: Bytes, at: Instant },
    /// The init phase reported an error (`/init/error`).
    InitFailed { error_type: String, body: Bytes },
    /// No answer within the function's timeout.
    TimedOut,
    /// The process went past its memory (watched without a cgroup limit).
    OutOfMemory,
    /// The process exited.
    Exited(ExitStatus),
}

/// What ends an invocation from outside the function's answer.
enum Interrupt {
    Exited(ExitStatus),
    TimedOut,
    OutOfMemory,
}

impl From<Interrupt> for Ending {
    fn from(interrupt: Interrupt) -> Ending {
        match interrupt {
            Interrupt::Exited(status) => Ending::Exited(status),
            Interrupt::TimedOut => Ending::TimedOut,
            Interrupt::OutOfMemory => Ending::OutOfMemory,
        }
    }
}

/// What an [`Ending`] means for the caller and the environment.
struct Settled {
    /// The response, or the error document.
    payload: Bytes,
    /// Whether the invocation failed (`X-Amz-Function-Error: Unhandled`).
    failed: bool,
    /// When the invocation ended.
    end: Instant,
    /// Whether the environment may serve again.
    healthy: bool,
    /// The REPORT's status (`success`, `error`, `timeout`).
    status: &'static str,
    /// A platform line for the log (a timeout, an exit).
    notice: Option<String>,
    /// The process ran out of memory (its REPORT shows the whole memory used).
    out_of_memory: bool,
}

impl Settled {
    /// A failed invocation, ended now, whose environment does not serve again (the caller
    /// overrides what differs).
    fn failure(payload: Bytes, notice: Option<String>, out_of_memory: bool) -> Settled {
        Settled {
            payload,
            failed: true,
            end: Instant::now(),
            healthy: false,
            status: "error",
            notice,
            out_of_memory,
        }
    }

    /// The failed invocation's `errorType` (from its error document), for the REPORT.
    fn error_type(&self) -> Option<String> {
        self.failed
            .then(|| document_error_type(&self.payload))
            .flatten()
    }
}

fn signal_killed() -> ExitStatus {
    ExitStatus::from_raw(9)
}

impl Ending {
    fn settle(
        self,
        env: &Environment,
        request_id: &str,
        delivered_at: Instant,
        timeout: Duration,
    ) -> Settled {
        match self {
            Ending::Answered { body, at } => Settled {
                payload: body,
                failed: false,
                end: at,
                healthy: true,
                status: "success",
                notice: None,
                out_of_memory: false,
            },
            Ending::Oversized { at } => Settled {
                payload: error_document(
                    "Function.ResponseSizeTooLarge",
                    format!(
                        "Response payload size exceeded maximum allowed payload size ({MAX_BUFFERED_RESPONSE} bytes)."
                    ),
                ),
                healthy: true,
                end: at,
                ..Settled::failure(Bytes::new(), None, false)
            },
            Ending::Failed { body, at } => Settled {
                healthy: true,
                end: at,
                ..Settled::failure(body, None, false)
            },
            Ending::InitFailed { error_type, body } => {
                Settled::failure(as_error_document(&error_type, body), None, false)
            }
            Ending::TimedOut => timed_out(request_id, delivered_at, timeout),
            Ending::OutOfMemory => {
                let how = "Runtime exited with error: signal: killed";
                Settled::failure(
                    error_document(
                        "Runtime.OutOfMemory",
                        format!("RequestId: {request_id} Error: {how}"),
                    ),
                    Some(how.to_string()),
                    true,
                )
            }
            Ending::Exited(status) => exited(env, status, request_id),
        }
    }
}

/// A timeout: `Sandbox.Timedout`, ended at the deadline, with `Task timed out after N.00
/// seconds` in the log and the REPORT's status `timeout`.
fn timed_out(request_id: &str, delivered_at: Instant, timeout: Duration) -> Settled {
    let message = format!("Task timed out after {}.00 seconds", timeout.as_secs());
    Settled {
        end: delivered_at + timeout,
        status: "timeout",
        ..Settled::failure(
            error_document(
                "Sandbox.Timedout",
                format!("RequestId: {request_id} Error: {message}"),
            ),
            Some(message),
            false,
        )
    }
}

/// The process exited: `Runtime.ExitError`, or `Runtime.OutOfMemory` when the kernel killed it.
fn exited(env: &Environment, status: ExitStatus, request_id: &str) -> Settled {
    // Killed by a signal we did not send: the kernel's OOM killer (cgroup limit).
    let oom = status.signal() == Some(9) && !env.killed_by_us.load(Ordering::SeqCst);
    let how = match (status.code(), status.signal()) {
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
    Settled::failure(
        error_document(
            error_type,
            format!("RequestId: {request_id} Error: Runtime exited with error: {how}"),
        ),
        Some(format!("Runtime exited with error: {how}")),
        oom,
    )
}

/// Watches an invocation from outside: the process exiting, the deadline, and (without a
/// cgroup limit) the memory limit, checked every 10 ms.
async fn watchdog(env: &Environment, deadline: tokio::time::Instant) -> Interrupt {
    let mut exit = env.exit.clone();
    let watch_memory = env.cgroup.is_none();
    let limit = u64::from(env.memory_mb) * 1024 * 1024;
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    loop {
        tokio::select! {
            _ = exit.wait_for(Option::is_some) => {
                return Interrupt::Exited(env.exit.borrow().unwrap_or_else(signal_killed));
            }
            _ = tokio::time::sleep_until(deadline) => return Interrupt::TimedOut,
            _ = ticker.tick(), if watch_memory => {
                if cgroups::current_rss(env.pid).is_some_and(|rss| rss > limit) {
                    return Interrupt::OutOfMemory;
                }
            }
        }
    }
}

/// Phase 1: hands the event to the runtime; on a cold start, waits for its init (its first
/// `/next`). Returns the init duration, or how the invocation ended during the init.
async fn deliver(
    env: &Environment,
    cold: bool,
    delivery: Delivery,
) -> Result<Option<Duration>, Ending> {
    let _ = env.runtime.sender.send(delivery).await;
    if !cold {
        return Ok(None);
    }
    let mut readiness = env.runtime.readiness.subscribe();
    let mut exit = env.exit.clone();
    let waited = tokio::select! {
        r = readiness.wait_for(|r| !matches!(r, Readiness::Starting)) => r.map(|r| r.clone()).ok(),
        _ = exit.wait_for(Option::is_some) => None,
        _ = tokio::time::sleep(INIT_TIMEOUT) => None,
    };
    match waited {
        Some(Readiness::Ready(at)) => Ok(Some(at.saturating_duration_since(env.spawned_at))),
        Some(Readiness::InitError { error_type, body }) => {
            Err(Ending::InitFailed { error_type, body })
        }
        _ => Err(match *env.exit.borrow() {
            Some(status) => Ending::Exited(status),
            None => Ending::TimedOut,
        }),
    }
}

/// Phase 3, a streamed answer: relays its chunks to the caller (a caller that went away does
/// not stop the function: the rest is drained) or keeps them for `Invoke`, until its end.
async fn relay(
    mut chunks: mpsc::Receiver<Bytes>,
    end: oneshot::Receiver<StreamEnd>,
    sink: &Sink,
    watchdog: &mut (impl Future<Output = Interrupt> + Unpin),
) -> Ending {
    let mut kept = Kept::default();
    loop {
        tokio::select! {
            chunk = chunks.recv() => match chunk {
                Some(chunk) => match sink {
                    Sink::Stream(tx) => {
                        let _ = tx.send(chunk).await;
                    }
                    Sink::Buffer => kept.add(&chunk),
                },
                None => break,
            },
            interrupt = &mut *watchdog => return interrupt.into(),
        }
    }
    match end.await {
        Ok(StreamEnd {
            at,
            error: Some((error_type, message)),
        }) => Ending::Failed {
            body: error_document(&error_type, message),
            at,
        },
        Ok(StreamEnd { at, error: None }) => match kept.finish() {
            Some(body) => Ending::Answered { body, at },
            None => Ending::Oversized { at },
        },
        Err(_) => Ending::Exited(signal_killed()),
    }
}

/// Phase 2: the function's answer, or what interrupted it; a streamed answer is relayed.
async fn answer(
    done: oneshot::Receiver<Completion>,
    sink: &Sink,
    timeout: Duration,
    env: &Environment,
) -> Ending {
    let watchdog = watchdog(env, tokio::time::Instant::now() + timeout);
    tokio::pin!(watchdog);
    let completion = tokio::select! {
        completion = done => completion,
        interrupt = &mut watchdog => return interrupt.into(),
    };
    match completion {
        // The environment dropped the invocation: it is exiting.
        Err(_) => Ending::Exited(signal_killed()),
        Ok(Completion::Stream { chunks, end }) => relay(chunks, end, sink, &mut watchdog).await,
        Ok(Completion::Response(body, at)) => match sink {
            // A buffered answer to a streaming caller: forwarded whole.
            Sink::Stream(tx) => {
                if !body.is_empty() {
                    let _ = tx.send(body).await;
                }
                Ending::Answered {
                    body: Bytes::new(),
                    at,
                }
            }
            Sink::Buffer => Ending::Answered { body, at },
        },
        Ok(Completion::Oversized(at)) => Ending::Oversized { at },
        Ok(Completion::Error { body, at }) => Ending::Failed { body, at },
    }
}

/// Runs one invocation in `env`; returns the result and whether the environment stays usable.
pub(super) async fn run(
    env: &Environment,
    cold: bool,
    function_arn: &str,
    resolved: &Resolved,
    payload: Bytes,
    sink: Sink,
) -> (InvocationResult, bool) {
    let request_id = new_id();
    let timeout = Duration::from_secs(u64::from(resolved.snapshot.timeout));
    let (delivery, done) = event(&request_id, function_arn, payload, timeout);
    // Printed between invocations (a warm environment): the next log's first lines.
    let printed_before: Vec<String> = if cold {
        Vec::new()
    } else {
        std::mem::take(&mut *lock(&env.runtime.logs))
    };
    let executed = execute(env, cold, delivery, done, &sink, timeout).await;
    let peak_mb = cgroups::peak_rss(env.pid).map(|b| (b as f64 / 1_048_576.0).round() as u64);
    // Let the log readers drain what the function printed before it answered.
    env.runtime.drain_logs().await;
    let settled = executed
        .ending
        .settle(env, &request_id, executed.delivered_at, timeout);

    let max_memory_used_mb = match peak_mb {
        Some(mb) if !settled.out_of_memory => mb.min(u64::from(env.memory_mb)),
        _ => u64::from(env.memory_mb),
    };
    let metrics = Metrics {
        function: split_function_name(function_arn).0,
        request_id,
        version: resolved.version.clone(),
        duration: settled.end.saturating_duration_since(executed.delivered_at),
        init: executed.init,
        memory_mb: env.memory_mb,
        max_memory_used_mb,
        status: settled.status,
        error_type: settled.error_type(),
    };
    let notices: Vec<String> = settled.notice.into_iter().collect();
    let log = invocation_log(env, cold, printed_before, resolved, &metrics, &notices);
    let (log_group, log_stream) = env.log_destination(&metrics.function, resolved);
    (
        InvocationResult {
            payload: settled.payload,
            function_error: settled.failed.then(|| "Unhandled".to_string()),
            log,
            version: resolved.version.clone(),
            log_group,
            log_stream,
        },
        settled.healthy && !env.exited(),
    )
}

/// The event as the runtime gets it from `/next` (an empty payload is `{}`), and where its
/// answer will come.
fn event(
    request_id: &str,
    function_arn: &str,
    payload: Bytes,
    timeout: Duration,
) -> (Delivery, oneshot::Receiver<Completion>) {
    let deadline_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d + timeout).as_millis() as u64)
        .unwrap_or(0);
    let (done_tx, done_rx) = oneshot::channel();
    let delivery = Delivery {
        request_id: request_id.to_string(),
        payload: if payload.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            payload
        },
        deadline_ms,
        function_arn: function_arn.to_string(),
        done: done_tx,
    };
    (delivery, done_rx)
}

/// What the phases leave for the REPORT.
struct Executed {
    /// The init duration, on a cold start that got through its init.
    init: Option<Duration>,
    /// How the invocation ended.
    ending: Ending,
    /// When the runtime took the event (its duration starts there).
    delivered_at: Instant,
}

/// Phases 1 to 3: delivers the event, then awaits (and relays) the answer, unless the init
/// already ended the invocation.
async fn execute(
    env: &Environment,
    cold: bool,
    delivery: Delivery,
    done: oneshot::Receiver<Completion>,
    sink: &Sink,
    timeout: Duration,
) -> Executed {
    let (init, ending) = match deliver(env, cold, delivery).await {
        Ok(init) => (init, None),
        Err(ending) => (None, Some(ending)),
    };
    let started = Instant::now();
    let ending = match ending {
        Some(ending) => ending,
        None => answer(done, sink, timeout, env).await,
    };
    let delivered_at = lock(&env.runtime.delivered_at).take().unwrap_or(started);
    Executed {
        init,
        ending,
        delivered_at,
    }
}

/// The invocation's log in the function's format: its init lines, what it printed, the
/// platform's notices and the REPORT. Warm, the init lines are `printed_before` (printed between
/// invocations); cold, they are what the function printed before its first `/next`.
fn invocation_log(
    env: &Environment,
    cold: bool,
    printed_before: Vec<String>,
    resolved: &Resolved,
    metrics: &Metrics,
    notices: &[String],
) -> String {
    let mut lines = std::mem::take(&mut *lock(&env.runtime.logs));
    // On a cold start, what the function printed before its first `/next` is its init output.
    let init_lines = if cold {
        let printed_in_init = lock(&env.runtime.init_lines).take().unwrap_or(0);
        lines.drain(..printed_in_init.min(lines.len())).collect()
    } else {
        printed_before
    };
    report::render(
        &resolved.snapshot.logging,
        metrics,
        &init_lines,
        &lines,
        notices,
    )
}

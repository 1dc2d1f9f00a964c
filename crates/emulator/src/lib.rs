//! power-tuning-emulator: a local AWS Lambda for development, tests and benchmarks.
//!
//! It serves the Lambda REST API (the calls the tuner and the SDKs use: configuration, versions,
//! aliases, Invoke with log tails) on 127.0.0.1, and runs each function — any executable that
//! speaks the Lambda Runtime API — in execution environments of its own: one process per
//! environment, reused while warm, with Lambda's CPU share (memory/1769 of a core) and memory
//! limit applied through cgroups when they are writable. Knobs make updates slow, throttle the
//! control plane and cap concurrency, so failure paths can be exercised.
//!
//! ```no_run
//! # async fn demo() -> Result<(), power_tuning_emulator::EmulatorError> {
//! use power_tuning_emulator::{Emulator, FunctionSpec, Options};
//! let emulator = Emulator::start(Options::default(), vec![FunctionSpec::new("hello", "./bootstrap")]).await?;
//! println!("AWS_ENDPOINT_URL_LAMBDA={}", emulator.endpoint());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod cgroups;
mod concurrency;
mod faults;
mod ids;
pub mod logs;
mod registry;
mod report;
mod runtime;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use api::CallRecord;
pub use cgroups::peak_rss;
pub use faults::Fault;
pub use registry::{Architecture, FunctionSpec, LogFormat, LogLevel, Logging};

use crate::api::{Knobs, Service};

/// Locks a mutex; a poisoned one (a panicked holder) is used as it is.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
use crate::registry::Registry;
use crate::runtime::{Environments, HostSettings};

/// How long an update stays `InProgress` by default. Lambda applies an update asynchronously:
/// `LastUpdateStatus` is `InProgress` until it is `Successful` or `Failed` (Lambda Developer
/// Guide, "Lambda function states"; API reference, `GetFunctionConfiguration`,
/// `LastUpdateStatus`). Real Lambda takes about a second for a `.zip` function's memory update
/// (timings in aws-cdk's and lambroll's logs); a few hundred milliseconds keep local runs quick
/// while every update is still waited for, never applied at once.
pub const DEFAULT_UPDATE_DELAY: Duration = Duration::from_millis(300);

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address of the Lambda API (port 0 picks a free one).
    pub listen: SocketAddr,
    /// `LastUpdateStatus` stays `InProgress` this long after an update.
    pub update_delay: Duration,
    /// Control-plane requests per second before `TooManyRequestsException` (0 = unlimited).
    pub control_plane_rps: u32,
    /// The account's concurrency limit (`GetAccountSettings`' `ConcurrentExecutions`): past it,
    /// or past a function's reserved concurrency, an invocation is throttled
    /// (`TooManyRequestsException` with Lambda's `Reason`). 0 is no limit.
    pub concurrency: u32,
    /// Region reported in ARNs and to functions.
    pub region: String,
    /// Apply CPU and memory limits with cgroups when writable.
    pub use_cgroups: bool,
    /// Environment given to every function (after the emulator's own, before the function's).
    pub environment: BTreeMap<String, String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            update_delay: DEFAULT_UPDATE_DELAY,
            control_plane_rps: 15,
            concurrency: 1000,
            region: "us-east-1".to_string(),
            use_cgroups: true,
            environment: BTreeMap::new(),
        }
    }
}

/// Starting the emulator failed.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address.
        address: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// A function spec is invalid.
    #[error("invalid function: {0}")]
    Function(String),
}

/// A running emulator.
pub struct Emulator {
    endpoint: String,
    address: SocketAddr,
    service: Arc<Service>,
    server: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    cgroup_warning: Option<String>,
}

impl Emulator {
    /// Starts serving `functions`.
    pub async fn start(
        options: Options,
        functions: Vec<FunctionSpec>,
    ) -> Result<Emulator, EmulatorError> {
        let (listener, address) = bind(options.listen).await?;
        let endpoint = format!("http://{address}");
        let (cgroups, cgroup_warning) = host_cgroups(&options, address);
        let environments = Environments::new(
            cgroups,
            HostSettings {
                region: options.region.clone(),
                environment: function_environment(&endpoint, &options),
            },
        );

        let knobs = Knobs {
            update_delay: options.update_delay,
            control_plane_rps: options.control_plane_rps,
            region: options.region.clone(),
        };
        let code_root = std::env::temp_dir().join(instance_name(address));
        let service = Arc::new(Service::new(
            Registry::default(),
            environments,
            knobs,
            options.concurrency,
            code_root,
        ));
        for spec in &functions {
            service.add_function(spec)?;
        }
        let (server, stop) = serve(listener, service.clone());
        Ok(Emulator {
            endpoint,
            address,
            service,
            server,
            stop: Some(stop),
            cgroup_warning,
        })
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Why functions run unconstrained, if they do.
    pub fn cgroup_warning(&self) -> Option<&str> {
        self.cgroup_warning.as_deref()
    }

    /// cgroup version in use (`None` = unconstrained).
    pub fn cgroup_version(&self) -> Option<u8> {
        self.service.environments.cgroups().map(|c| c.version())
    }

    /// The cgroup directories the emulator made (empty without cgroups).
    pub fn cgroup_dirs(&self) -> Vec<std::path::PathBuf> {
        self.service
            .environments
            .cgroups()
            .map(|c| c.parent_dirs())
            .unwrap_or_default()
    }

    /// Adds a function while running.
    pub fn add_function(&self, spec: &FunctionSpec) -> Result<(), EmulatorError> {
        self.service.add_function(spec)
    }

    /// The ARN of a function.
    pub fn arn(&self, name: &str) -> String {
        self.service.arn(name, None)
    }

    /// Injects a fault (tests and benchmarks; also `POST /_emulator/faults` with its JSON).
    pub fn inject(&self, fault: Fault) {
        self.service.inject(fault);
    }

    /// Every API call so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.service.calls()
    }

    /// Invocations in flight now (each holds a concurrency slot until its function is done).
    pub fn in_flight(&self) -> u32 {
        self.service.concurrency.in_flight()
    }

    /// The most invocations in flight at once so far.
    pub fn peak_concurrency(&self) -> u32 {
        self.service.concurrency.peak()
    }

    /// Execution environments (processes) alive.
    pub fn live_processes(&self) -> usize {
        self.service.environments.live_count()
    }

    /// Their process ids.
    pub fn live_pids(&self) -> Vec<u32> {
        self.service.environments.live_pids()
    }

    /// Live execution environments as (function name, pool key, process id), oldest first.
    pub fn live_environments(&self) -> Vec<(String, String, u32)> {
        self.service.environments.live_environments()
    }

    /// TCP connections accepted by the Lambda API so far (keep-alive reuse shows here).
    pub fn connections_accepted(&self) -> u64 {
        self.service
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops serving, ends every environment and removes the cgroups.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.service.environments.shutdown().await;
        let _ = (&mut self.server).await;
        let _ = std::fs::remove_dir_all(&self.service.code_root);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.service.code_root);
    }
}

/// Binds the Lambda API's listener and reads back the address it got (port 0 picks a free one).
async fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), EmulatorError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            address: listen,
            source,
        })?;
    let address = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            address: listen,
            source,
        })?;
    Ok((listener, address))
}

/// The name this emulator instance gives its cgroups and its code directory: unique per process
/// and port.
fn instance_name(address: SocketAddr) -> String {
    format!(
        "power-tuning-emulator-{}-{}",
        std::process::id(),
        address.port()
    )
}

/// The cgroups functions run in when asked for and writable, and the warning to show when they
/// run unconstrained (logged only when cgroups were asked for).
fn host_cgroups(
    options: &Options,
    address: SocketAddr,
) -> (Option<cgroups::Cgroups>, Option<String>) {
    let cgroups = options
        .use_cgroups
        .then(|| cgroups::Cgroups::create(&instance_name(address)))
        .flatten();
    let cgroup_warning = (cgroups.is_none()).then(|| {
        "cgroups are not writable here: functions run without Lambda's CPU share and memory limit (durations will not scale with memory)".to_string()
    });
    if let Some(warning) = &cgroup_warning
        && options.use_cgroups
    {
        tracing::warn!("{warning}");
    }
    (cgroups, cgroup_warning)
}

/// The environment every function gets from the host: the emulator's own endpoints, throwaway
/// credentials, then the options' environment.
fn function_environment(endpoint: &str, options: &Options) -> BTreeMap<String, String> {
    // Functions that call the Lambda API reach this emulator, with throwaway credentials.
    let mut environment = BTreeMap::from([
        ("AWS_ENDPOINT_URL_LAMBDA".to_string(), endpoint.to_string()),
        ("AWS_ENDPOINT_URL_STS".to_string(), endpoint.to_string()),
        (
            "AWS_ACCESS_KEY_ID".to_string(),
            "AKIAEMULATOR00000000".to_string(),
        ),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "emulator".to_string()),
    ]);
    environment.extend(options.environment.clone());
    environment
}

/// Serves the Lambda API on `listener` (counting accepted connections) until the returned sender
/// fires or is dropped.
fn serve(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    let app = api::router(service.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let counter = service.connections.clone();
    let listener = axum::serve::ListenerExt::tap_io(listener, move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    (server, stop_tx)
}

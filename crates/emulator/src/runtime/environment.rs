//! One execution environment: a function's process, the Runtime API it is served, its cgroup,
//! and how it ends. The pool ([`super::pool`]) makes them; an invocation
//! ([`super::invocation`]) runs in one.

use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::runtime_api::RuntimeShared;
use crate::cgroups::EnvCgroup;
use crate::lock;
use crate::registry::Resolved;

/// One execution environment.
pub struct Environment {
    /// Unique id.
    pub id: u64,
    /// Pool key: function and version/configuration.
    pub key: String,
    pub(super) pid: u32,
    pub(super) memory_mb: u32,
    pub(super) spawned_at: Instant,
    /// When it was made (its log stream is named after that day).
    pub(super) created: SystemTime,
    pub(super) runtime: Arc<RuntimeShared>,
    pub(super) exit: watch::Receiver<Option<ExitStatus>>,
    pub(super) kill: Mutex<Option<oneshot::Sender<()>>>,
    pub(super) killed_by_us: AtomicBool,
    pub(super) cgroup: Option<EnvCgroup>,
    pub(super) server: JoinHandle<()>,
    pub(super) readers: Vec<JoinHandle<()>>,
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
    /// Where Lambda sends this environment's log for `function` at `resolved`: the function's
    /// log group, and a log stream per environment (Lambda Developer Guide, "Configuring
    /// CloudWatch log groups": `YYYY/MM/DD/[<version>]<environment id>` in the default group,
    /// `YYYY/MM/DD/<function name>[<version>][<environment id>]` in a custom one, so that
    /// functions sharing it stay apart).
    pub(super) fn log_destination(&self, function: &str, resolved: &Resolved) -> (String, String) {
        let date = crate::report::iso8601(self.created)
            .get(..10)
            .unwrap_or_default()
            .replace('-', "/");
        let guid = format!(
            "{:032x}",
            u128::from(self.id).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        let (version, logging) = (&resolved.version, &resolved.snapshot.logging);
        let stream = if logging.log_group.is_some() {
            format!("{date}/{function}[{version}][{guid}]")
        } else {
            format!("{date}/[{version}]{guid}")
        };
        (logging.group_of(function), stream)
    }

    pub(super) fn exited(&self) -> bool {
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

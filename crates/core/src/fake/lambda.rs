//! [`FakeLambda`]: the in-memory Lambda, its test setup and inspection, and the prologue every
//! call shares (call log, injections, the function looked up, configurations as Lambda shows
//! them).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::fake::clock::FakeClock;
use crate::fake::model::{Behavior, Call, FakeLogFormat, Op};
use crate::fake::state::{
    Conf, Function, Injection, Interference, State, UpdateKnobs, not_found, split_function,
};
use crate::ports::{Clock, FunctionConfig, LambdaError, UpdateStatus};

/// The in-memory Lambda.
#[derive(Clone)]
pub struct FakeLambda {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) clock: FakeClock,
}

impl FakeLambda {
    /// An empty fake on `clock`.
    pub fn new(clock: FakeClock) -> Self {
        FakeLambda {
            state: Arc::new(Mutex::new(State::default())),
            clock,
        }
    }

    /// The state, even if a panicking test poisoned its lock.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a function (x86_64) and returns its ARN.
    pub fn add_function(
        &self,
        name: &str,
        memory: u32,
        description: &str,
        behavior: Behavior,
    ) -> String {
        self.add_function_with_arch(name, memory, description, "x86_64", behavior)
    }

    /// Adds a function with an architecture and returns its ARN.
    pub fn add_function_with_arch(
        &self,
        name: &str,
        memory: u32,
        description: &str,
        architecture: &str,
        behavior: Behavior,
    ) -> String {
        let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
        self.lock().functions.insert(
            name.to_string(),
            Function {
                arn: arn.clone(),
                revision: 1,
                architecture: architecture.to_string(),
                latest: Conf {
                    memory,
                    description: description.to_string(),
                },
                update_done_at: Duration::ZERO,
                update_fails: None,
                versions: BTreeMap::new(),
                next_version: 1,
                aliases: BTreeMap::new(),
                idle_environments: HashMap::new(),
                behavior,
                log_format: FakeLogFormat::Text,
                reserved: None,
                in_flight: 0,
            },
        );
        arn
    }

    /// The log format (and system log level) of a function's invocations.
    pub fn set_log_format(&self, name: &str, format: FakeLogFormat) {
        if let Some(f) = self.lock().functions.get_mut(name) {
            f.log_format = format;
        }
    }

    /// A function's reserved concurrency (`None`: no reservation).
    pub fn set_reserved_concurrency(&self, name: &str, reserved: Option<u32>) {
        if let Some(f) = self.lock().functions.get_mut(name) {
            f.reserved = reserved;
        }
    }

    /// The account's concurrency limit (1000 unless set).
    pub fn set_account_concurrency(&self, limit: u32) {
        self.lock().account_limit = Some(limit);
    }

    /// Updates stay `InProgress` for `delay` of virtual time.
    pub fn set_update_delay(&self, delay: Duration) {
        self.lock().updates.delay = delay;
    }

    /// The next update ends `Failed` with `reason`.
    pub fn fail_next_update(&self, reason: &str) {
        self.fail_update_after(0, reason);
    }

    /// After `skip` more updates succeed, the next ends `Failed` with `reason`.
    pub fn fail_update_after(&self, skip: u32, reason: &str) {
        self.lock().updates.fail_next = Some((skip, reason.to_string()));
    }

    /// The next `times` calls of `op` fail with `error`.
    pub fn inject(&self, op: Op, error: LambdaError, times: u32) {
        self.inject_after(op, 0, error, times);
    }

    /// After `skip` more calls of `op` succeed, the next `times` fail with `error`.
    pub fn inject_after(&self, op: Op, skip: u32, error: LambdaError, times: u32) {
        self.lock().injections.push(Injection {
            op,
            skip,
            times,
            error,
        });
    }

    /// After `skip` more calls of `op`, just before the next one, `$LATEST` of `function` gets
    /// `description` and a new revision, as if another run or a deploy changed it.
    pub fn interfere_before(&self, op: Op, skip: u32, function: &str, description: &str) {
        self.lock().interferences.push(Interference {
            op,
            skip,
            function: function.to_string(),
            description: description.to_string(),
        });
    }

    /// `AssumeRole` of `role_arn` is refused (AccessDenied).
    pub fn deny_role(&self, role_arn: &str) {
        self.lock().denied_roles.push(role_arn.to_string());
    }

    /// Roles assumed so far: (role ARN, session name).
    pub fn assumed(&self) -> Vec<(String, String)> {
        self.lock().assumed.clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Forgets the call log.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// `$LATEST`'s memory and description.
    pub fn latest(&self, name: &str) -> (u32, String) {
        let state = self.lock();
        let f = &state.functions[name];
        (f.latest.memory, f.latest.description.clone())
    }

    /// Published versions: number → (memory, description).
    pub fn versions(&self, name: &str) -> BTreeMap<u64, (u32, String)> {
        let state = self.lock();
        state.functions[name]
            .versions
            .iter()
            .map(|(v, c)| (*v, (c.memory, c.description.clone())))
            .collect()
    }

    /// Aliases: name → version.
    pub fn aliases(&self, name: &str) -> BTreeMap<String, String> {
        self.lock().functions[name].aliases.clone()
    }

    /// Most invocations in flight at once.
    pub fn max_in_flight(&self) -> u32 {
        self.lock().max_in_flight
    }

    /// Publishes a version of the current `$LATEST` directly (test setup).
    pub fn publish_now(&self, name: &str) -> u64 {
        let mut state = self.lock();
        let f = state.functions.get_mut(name).expect("function exists");
        let n = f.next_version;
        f.next_version += 1;
        f.versions.insert(n, f.latest.clone());
        n
    }

    /// Creates an alias directly (test setup).
    pub fn alias_now(&self, name: &str, alias: &str, version: u64) {
        let mut state = self.lock();
        let f = state.functions.get_mut(name).expect("function exists");
        f.aliases.insert(alias.to_string(), version.to_string());
    }

    /// Logs a call and applies injections; returns the injected error, if any.
    pub(super) fn begin(
        &self,
        state: &mut State,
        op: Op,
        function: &str,
        qualifier: Option<&str>,
        memory: Option<u32>,
        payload: Option<&[u8]>,
    ) -> Result<(), LambdaError> {
        let mut injected = None;
        if let Some(injection) = state
            .injections
            .iter_mut()
            .find(|i| i.op == op && i.times > 0)
        {
            if injection.skip > 0 {
                injection.skip -= 1;
            } else {
                injection.times -= 1;
                injected = Some(injection.error.clone());
            }
        }
        if let Some(at) = state.interferences.iter().position(|i| i.op == op) {
            if state.interferences[at].skip > 0 {
                state.interferences[at].skip -= 1;
            } else {
                let Interference {
                    function,
                    description,
                    ..
                } = state.interferences.remove(at);
                if let Some(f) = state.functions.get_mut(&function) {
                    f.latest.description = description;
                    f.revision += 1;
                }
            }
        }
        let (name, _) = split_function(function);
        let account = function.split(':').nth(4).unwrap_or("123456789012");
        let role = state
            .role
            .as_ref()
            .filter(|r| r.role_arn.account() == account)
            .map(|r| r.role_arn.to_string());
        state.calls.push(Call {
            at: self.clock.now(),
            op,
            function: name,
            qualifier: qualifier.map(str::to_string),
            memory,
            payload: payload.map(|p| String::from_utf8_lossy(p).into_owned()),
            failed: injected.is_some(),
            role,
        });
        match injected {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The prologue of every call on a function: log it, apply injections, find the function
    /// (404 when absent), then run `body` on it with the update knobs and the virtual time.
    pub(super) fn on_function<T>(
        &self,
        op: Op,
        function: &str,
        qualifier: Option<&str>,
        memory: Option<u32>,
        payload: Option<&[u8]>,
        body: impl FnOnce(&mut Function, &mut UpdateKnobs, Duration) -> Result<T, LambdaError>,
    ) -> Result<T, LambdaError> {
        let mut state = self.lock();
        self.begin(&mut state, op, function, qualifier, memory, payload)?;
        let (name, _) = split_function(function);
        let State {
            functions, updates, ..
        } = &mut *state;
        let f = functions
            .get_mut(&name)
            .ok_or_else(|| not_found(function))?;
        body(f, updates, self.clock.now())
    }

    /// `$LATEST`'s `LastUpdateStatus` at the virtual time.
    fn status(&self, f: &Function) -> UpdateStatus {
        if self.clock.now() < f.update_done_at {
            UpdateStatus::InProgress
        } else if f.update_fails.is_some() {
            UpdateStatus::Failed
        } else {
            UpdateStatus::Successful
        }
    }

    /// A configuration as `GetFunctionConfiguration` shows it.
    pub(super) fn config(&self, f: &Function, version: &str, conf: &Conf) -> FunctionConfig {
        let latest = version == "$LATEST";
        FunctionConfig {
            version: version.to_string(),
            memory_size: conf.memory,
            description: conf.description.clone(),
            architecture: f.architecture.clone(),
            state: Some("Active".to_string()),
            last_update_status: Some(if latest {
                self.status(f)
            } else {
                UpdateStatus::Successful
            }),
            last_update_status_reason: if latest { f.update_fails.clone() } else { None },
            revision_id: Some(if latest {
                f.revision_id(self.clock.now())
            } else {
                format!("rev-v{version}")
            }),
        }
    }

    /// The version a qualifier (none, `$LATEST`, a version or an alias) names, and its
    /// configuration; else `ResourceNotFoundException`.
    pub(super) fn resolve(
        f: &Function,
        qualifier: Option<&str>,
    ) -> Result<(String, Conf), LambdaError> {
        match qualifier {
            None | Some("$LATEST") => Ok(("$LATEST".to_string(), f.latest.clone())),
            Some(q) => {
                let version = f.aliases.get(q).cloned().unwrap_or_else(|| q.to_string());
                version
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| f.versions.get(&n))
                    .map(|c| (version.clone(), c.clone()))
                    .ok_or_else(|| not_found(&format!("{}:{q}", f.arn)))
            }
        }
    }
}

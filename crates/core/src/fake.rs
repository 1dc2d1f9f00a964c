//! A stateful in-memory Lambda and a virtual clock, for tests (feature `test-util`).
//!
//! [`FakeLambda`] keeps functions with `$LATEST`, versions, aliases and warm environments;
//! updates stay `InProgress` for a configurable virtual delay; errors can be injected per
//! operation; every call is logged with its virtual time. [`FakeClock`] advances instantly when
//! slept on, so multi-second waits and backoffs cost no real time.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;

use crate::ports::{
    AccountConcurrency, AliasConfig, Clock, FunctionConfig, InvokeOptions, InvokeOutput, LambdaApi,
    LambdaError, PayloadSource, PayloadSourceError, StreamedOutput, UpdateStatus, VersionsPage,
};

/// A virtual monotonic clock: `sleep` advances it and yields once.
#[derive(Debug, Clone, Default)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    /// A clock at t = 0.
    pub fn new() -> Self {
        FakeClock::default()
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

/// Yields to the executor once.
pub struct YieldNow(bool);

/// A future that is pending once, then ready.
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The fake wall clock's origin: 2025-12-02T00:00:00Z.
pub const FAKE_EPOCH_SECONDS: u64 = 1_764_633_600;

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }

    fn unix_seconds(&self) -> u64 {
        FAKE_EPOCH_SECONDS + self.now().as_secs()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.advance(duration);
        yield_now()
    }
}

/// The operations of [`LambdaApi`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// GetFunctionConfiguration.
    GetConfiguration,
    /// UpdateFunctionConfiguration.
    UpdateConfiguration,
    /// PublishVersion.
    PublishVersion,
    /// ListVersionsByFunction.
    ListVersions,
    /// DeleteFunction (version).
    DeleteVersion,
    /// GetAlias.
    GetAlias,
    /// CreateAlias.
    CreateAlias,
    /// UpdateAlias.
    UpdateAlias,
    /// Invoke.
    Invoke,
    /// InvokeWithResponseStream.
    InvokeStreaming,
    /// GetFunctionConcurrency.
    GetFunctionConcurrency,
    /// GetAccountSettings.
    GetAccountSettings,
}

impl Op {
    /// The IAM action that allows this operation.
    pub fn iam_action(self) -> &'static str {
        match self {
            Op::GetConfiguration => "lambda:GetFunctionConfiguration",
            Op::UpdateConfiguration => "lambda:UpdateFunctionConfiguration",
            Op::PublishVersion => "lambda:PublishVersion",
            Op::ListVersions => "lambda:ListVersionsByFunction",
            Op::DeleteVersion => "lambda:DeleteFunction",
            Op::GetAlias => "lambda:GetAlias",
            Op::CreateAlias => "lambda:CreateAlias",
            Op::UpdateAlias => "lambda:UpdateAlias",
            Op::Invoke | Op::InvokeStreaming => "lambda:InvokeFunction",
            Op::GetFunctionConcurrency => "lambda:GetFunctionConcurrency",
            Op::GetAccountSettings => "lambda:GetAccountSettings",
        }
    }

    /// Everything but the invocations.
    pub fn is_control_plane(self) -> bool {
        !matches!(self, Op::Invoke | Op::InvokeStreaming)
    }
}

/// One logged call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Virtual time of the call.
    pub at: Duration,
    /// Operation.
    pub op: Op,
    /// Function name.
    pub function: String,
    /// Qualifier, if any.
    pub qualifier: Option<String>,
    /// Memory size, for updates.
    pub memory: Option<u32>,
    /// Payload, for invocations.
    pub payload: Option<String>,
    /// Whether it failed.
    pub failed: bool,
    /// The role whose credentials signed it (`None`: the tuner's own).
    pub role: Option<String>,
}

/// What the fake function sees of an invocation.
#[derive(Debug, Clone)]
pub struct FakeInvocation {
    /// Function name.
    pub function: String,
    /// Executed version.
    pub version: String,
    /// Memory size of that version.
    pub memory: u32,
    /// Request payload.
    pub payload: Vec<u8>,
    /// Whether a new environment was started.
    pub cold: bool,
}

/// What the fake function does.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOutcome {
    /// Response payload (ignored when `error` is set).
    pub payload: Vec<u8>,
    /// `(errorType, errorMessage)` to fail with.
    pub error: Option<(String, String)>,
    /// Duration (ms).
    pub duration_ms: f64,
    /// Init duration on cold starts (ms).
    pub init_ms: f64,
    /// Max memory used (MB).
    pub max_memory_mb: u32,
    /// When a streamed response's first byte comes, ms after the request (default: at once).
    pub first_byte_ms: f64,
    /// What the function prints (plain lines, as a custom runtime writes them).
    pub lines: Vec<String>,
    /// A streamed response that ends without `InvokeComplete` (the connection dropped).
    pub incomplete_stream: bool,
}

/// How a fake function's log is written: its `LoggingConfig`'s format and `SystemLogLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FakeLogFormat {
    /// Plain text: `START`, the function's lines, `END`, `REPORT`.
    #[default]
    Text,
    /// JSON: `platform.start` and `platform.report` records, the function's lines as written.
    Json,
    /// JSON with `SystemLogLevel` WARN: a successful invocation's `platform.start` and
    /// `platform.report` are not written.
    JsonSystemWarn,
}

impl FakeOutcome {
    /// A success taking `duration_ms`.
    pub fn ok(duration_ms: f64) -> Self {
        FakeOutcome {
            payload: b"{\"ok\":true}".to_vec(),
            error: None,
            duration_ms,
            init_ms: 100.0,
            max_memory_mb: 40,
            first_byte_ms: 0.0,
            lines: Vec::new(),
            incomplete_stream: false,
        }
    }

    /// A failure with `errorType` and `errorMessage`.
    pub fn error(error_type: &str, message: &str) -> Self {
        FakeOutcome {
            error: Some((error_type.to_string(), message.to_string())),
            ..FakeOutcome::ok(5.0)
        }
    }
}

/// A function's behaviour.
pub type Behavior = Arc<dyn Fn(&FakeInvocation) -> FakeOutcome + Send + Sync>;

/// Default behaviour: CPU-bound, 1000 ms at 128 MB, halving as memory doubles.
pub fn cpu_bound() -> Behavior {
    Arc::new(|inv: &FakeInvocation| FakeOutcome::ok(1000.0 * 128.0 / f64::from(inv.memory)))
}

#[derive(Debug, Clone, PartialEq)]
struct Conf {
    memory: u32,
    description: String,
}

struct Function {
    arn: String,
    /// Bumped by every update of `$LATEST` (its `RevisionId` is `rev-<n>`).
    revision: u64,
    architecture: String,
    latest: Conf,
    update_done_at: Duration,
    update_fails: Option<String>,
    versions: BTreeMap<u64, Conf>,
    next_version: u64,
    aliases: BTreeMap<String, String>,
    idle_environments: HashMap<String, u32>,
    behavior: Behavior,
    log_format: FakeLogFormat,
    /// Reserved concurrency, when set.
    reserved: Option<u32>,
    /// Invocations in flight.
    in_flight: u32,
}

struct Injection {
    op: Op,
    skip: u32,
    times: u32,
    error: LambdaError,
}

/// Someone else changes a function's `$LATEST` description just before a call.
struct Interference {
    op: Op,
    skip: u32,
    function: String,
    description: String,
}

/// How the next updates behave.
#[derive(Default)]
struct UpdateKnobs {
    delay: Duration,
    /// Updates to let succeed first, and the reason the next one then fails with.
    fail_next: Option<(u32, String)>,
}

#[derive(Default)]
struct State {
    functions: BTreeMap<String, Function>,
    calls: Vec<Call>,
    injections: Vec<Injection>,
    interferences: Vec<Interference>,
    updates: UpdateKnobs,
    role: Option<crate::ports::AssumedRole>,
    denied_roles: Vec<String>,
    assumed: Vec<(String, String)>,
    in_flight: u32,
    max_in_flight: u32,
    /// The account's concurrency limit (Lambda's default quota, 1000, unless set).
    account_limit: Option<u32>,
    /// Invocations in flight of functions without a reservation.
    unreserved_in_flight: u32,
}

impl Function {
    /// Lambda's rule: nothing changes `$LATEST` or publishes while an update is in progress.
    fn ensure_idle(&self, now: Duration) -> Result<(), LambdaError> {
        if now < self.update_done_at {
            return Err(LambdaError::Conflict(format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {}",
                self.arn
            )));
        }
        Ok(())
    }

    /// Lambda's optimistic concurrency: a `RevisionId` given must be `$LATEST`'s.
    fn ensure_revision(&self, revision: Option<&str>, now: Duration) -> Result<(), LambdaError> {
        match revision {
            Some(r) if r != self.revision_id(now) => Err(LambdaError::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id.".to_string(),
            )),
            _ => Ok(()),
        }
    }

    /// `$LATEST`'s `RevisionId`: a new one when an update completes, as on Lambda (the one the
    /// update answered with is stale once it is done).
    fn revision_id(&self, now: Duration) -> String {
        if now < self.update_done_at {
            format!("rev-{}-updating", self.revision)
        } else {
            format!("rev-{}", self.revision)
        }
    }

    /// A published version's number, else `ResourceNotFoundException`.
    fn existing_version(&self, version: &str) -> Result<u64, LambdaError> {
        version
            .parse::<u64>()
            .ok()
            .filter(|n| self.versions.contains_key(n))
            .ok_or_else(|| not_found(&format!("{}:{version}", self.arn)))
    }
}

/// The in-memory Lambda.
#[derive(Clone)]
pub struct FakeLambda {
    state: Arc<Mutex<State>>,
    clock: FakeClock,
}

/// The function name in an ARN, a qualified ARN or a plain name, and the qualifier if any.
fn split_function(function: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = function.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" {
        (parts[6].to_string(), parts.get(7).map(|q| q.to_string()))
    } else {
        (function.to_string(), None)
    }
}

fn not_found(what: &str) -> LambdaError {
    LambdaError::NotFound(format!("Function not found: {what}"))
}

impl FakeLambda {
    /// An empty fake on `clock`.
    pub fn new(clock: FakeClock) -> Self {
        FakeLambda {
            state: Arc::new(Mutex::new(State::default())),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
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
    fn begin(
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
    fn on_function<T>(
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

    fn status(&self, f: &Function) -> UpdateStatus {
        if self.clock.now() < f.update_done_at {
            UpdateStatus::InProgress
        } else if f.update_fails.is_some() {
            UpdateStatus::Failed
        } else {
            UpdateStatus::Successful
        }
    }

    fn config(&self, f: &Function, version: &str, conf: &Conf) -> FunctionConfig {
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

    fn resolve(f: &Function, qualifier: Option<&str>) -> Result<(String, Conf), LambdaError> {
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

impl LambdaApi for FakeLambda {
    async fn get_configuration(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        let (_, embedded) = split_function(function);
        let qualifier = qualifier.or(embedded.as_deref());
        self.on_function(
            Op::GetConfiguration,
            function,
            qualifier,
            None,
            None,
            |f, _, _| {
                let (version, conf) = Self::resolve(f, qualifier)?;
                Ok(self.config(f, &version, &conf))
            },
        )
    }

    async fn update_configuration(
        &self,
        function: &str,
        memory_size: u32,
        description: &str,
        revision: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        self.on_function(
            Op::UpdateConfiguration,
            function,
            None,
            Some(memory_size),
            None,
            |f, updates, now| {
                f.ensure_idle(now)?;
                f.ensure_revision(revision, now)?;
                if !(128..=10240).contains(&memory_size) {
                    return Err(LambdaError::InvalidRequest {
                        code: "InvalidParameterValueException".to_string(),
                        message: format!(
                            "MemorySize value failed to satisfy constraint: {memory_size}"
                        ),
                    });
                }
                f.latest = Conf {
                    memory: memory_size,
                    description: description.to_string(),
                };
                f.update_done_at = now + updates.delay;
                f.update_fails = match updates.fail_next.take() {
                    Some((0, reason)) => Some(reason),
                    Some((skip, reason)) => {
                        updates.fail_next = Some((skip - 1, reason));
                        None
                    }
                    None => None,
                };
                f.revision += 1;
                f.idle_environments.remove("$LATEST");
                Ok(self.config(f, "$LATEST", &f.latest))
            },
        )
    }

    async fn publish_version(
        &self,
        function: &str,
        revision: Option<&str>,
    ) -> Result<FunctionConfig, LambdaError> {
        self.on_function(
            Op::PublishVersion,
            function,
            None,
            None,
            None,
            |f, _, now| {
                f.ensure_idle(now)?;
                f.ensure_revision(revision, now)?;
                // Like Lambda: nothing changed since the last version → that version.
                let number = match f.versions.iter().next_back() {
                    Some((n, conf)) if *conf == f.latest => *n,
                    _ => {
                        let n = f.next_version;
                        f.next_version += 1;
                        f.versions.insert(n, f.latest.clone());
                        n
                    }
                };
                Ok(self.config(f, &number.to_string(), &f.versions[&number]))
            },
        )
    }

    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<VersionsPage, LambdaError> {
        const PAGE: usize = 50;
        self.on_function(Op::ListVersions, function, None, None, None, |f, _, _| {
            let mut all = vec![self.config(f, "$LATEST", &f.latest)];
            all.extend(
                f.versions
                    .iter()
                    .map(|(n, c)| self.config(f, &n.to_string(), c)),
            );
            let start: usize = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
            let end = (start + PAGE).min(all.len());
            Ok(VersionsPage {
                versions: all
                    .get(start..end)
                    .map(<[FunctionConfig]>::to_vec)
                    .unwrap_or_default(),
                next_marker: (end < all.len()).then(|| end.to_string()),
            })
        })
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<(), LambdaError> {
        self.on_function(Op::DeleteVersion, function, Some(version), None, None, |f, _, _| {
            if version.parse::<u64>().is_err() {
                return Err(LambdaError::InvalidRequest {
                    code: "InvalidParameterValueException".to_string(),
                    message: format!("Only versions can be deleted here, not {version}"),
                });
            }
            let number = f.existing_version(version)?;
            if let Some((alias, _)) = f.aliases.iter().find(|(_, v)| **v == version) {
                return Err(LambdaError::Conflict(format!(
                    "Unable to delete version because the following aliases reference it: [{alias}]"
                )));
            }
            f.versions.remove(&number);
            Ok(())
        })
    }

    async fn get_alias(&self, function: &str, name: &str) -> Result<AliasConfig, LambdaError> {
        self.on_function(Op::GetAlias, function, Some(name), None, None, |f, _, _| {
            f.aliases
                .get(name)
                .map(|v| AliasConfig {
                    name: name.to_string(),
                    function_version: v.clone(),
                })
                .ok_or_else(|| LambdaError::NotFound(format!("Alias not found: {}:{name}", f.arn)))
        })
    }

    async fn create_alias(
        &self,
        function: &str,
        name: &str,
        version: &str,
    ) -> Result<AliasConfig, LambdaError> {
        self.on_function(
            Op::CreateAlias,
            function,
            Some(name),
            None,
            None,
            |f, _, _| {
                if f.aliases.contains_key(name) {
                    return Err(LambdaError::Conflict(format!(
                        "Alias already exists: {}:{name}",
                        f.arn
                    )));
                }
                f.existing_version(version)?;
                f.aliases.insert(name.to_string(), version.to_string());
                Ok(AliasConfig {
                    name: name.to_string(),
                    function_version: version.to_string(),
                })
            },
        )
    }

    async fn update_alias(
        &self,
        function: &str,
        name: &str,
        version: &str,
    ) -> Result<AliasConfig, LambdaError> {
        self.on_function(
            Op::UpdateAlias,
            function,
            Some(name),
            None,
            None,
            |f, _, _| {
                f.existing_version(version)?;
                let arn = f.arn.clone();
                let slot = f.aliases.get_mut(name).ok_or_else(|| {
                    LambdaError::NotFound(format!("Alias not found: {arn}:{name}"))
                })?;
                *slot = version.to_string();
                Ok(AliasConfig {
                    name: name.to_string(),
                    function_version: version.to_string(),
                })
            },
        )
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        options: InvokeOptions,
    ) -> Result<InvokeOutput, LambdaError> {
        let ran = self.run(Op::Invoke, function, qualifier, payload).await?;
        let mut body = ran.body;
        if !options.whole_response {
            body.truncate(crate::ports::RESPONSE_HEAD);
        }
        Ok(InvokeOutput {
            function_error: ran.function_error,
            log_result: options.tail_logs.then_some(ran.log_result),
            payload: body,
            executed_version: Some(ran.version),
        })
    }

    async fn get_function_concurrency(&self, function: &str) -> Result<Option<u32>, LambdaError> {
        self.on_function(
            Op::GetFunctionConcurrency,
            function,
            None,
            None,
            None,
            |f, _, _| Ok(f.reserved),
        )
    }

    async fn get_account_concurrency(
        &self,
        function: &str,
    ) -> Result<AccountConcurrency, LambdaError> {
        let mut state = self.lock();
        self.begin(
            &mut state,
            Op::GetAccountSettings,
            function,
            None,
            None,
            None,
        )?;
        let limit = state.account_limit.unwrap_or(1000);
        let reserved: u32 = state.functions.values().filter_map(|f| f.reserved).sum();
        Ok(AccountConcurrency {
            limit,
            unreserved: limit.saturating_sub(reserved),
        })
    }

    async fn use_role(&self, role: Option<&crate::ports::AssumedRole>) -> Result<(), LambdaError> {
        let mut state = self.lock();
        if let Some(role) = role {
            if state.denied_roles.contains(&role.role_arn.to_string()) {
                return Err(LambdaError::AccessDenied(format!(
                    "not authorized to perform sts:AssumeRole on {}",
                    role.role_arn
                )));
            }
            state
                .assumed
                .push((role.role_arn.to_string(), role.session_name.clone()));
        }
        state.role = role.cloned();
        Ok(())
    }

    async fn invoke_streaming(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
    ) -> Result<StreamedOutput, LambdaError> {
        let ran = self
            .run(Op::InvokeStreaming, function, qualifier, payload)
            .await?;
        // As Lambda answers it: `ErrorCode` `Unhandled`, the function's error document in
        // `ErrorDetails`.
        let failed = ran.function_error.is_some();
        Ok(StreamedOutput {
            time_to_first_byte: (!failed && !ran.body.is_empty())
                .then(|| Duration::from_secs_f64(ran.first_byte_ms / 1000.0)),
            response_bytes: if failed { 0 } else { ran.body.len() as u64 },
            error_code: ran.function_error.clone(),
            error_details: failed.then(|| String::from_utf8_lossy(&ran.body).into_owned()),
            completed: !ran.incomplete_stream,
            log_result: Some(ran.log_result),
            executed_version: Some(ran.version),
        })
    }
}

/// One fake invocation's result, before it is shaped as `Invoke` or
/// `InvokeWithResponseStream` answers it.
struct Ran {
    function_error: Option<String>,
    body: Vec<u8>,
    log_result: String,
    version: String,
    first_byte_ms: f64,
    incomplete_stream: bool,
}

impl FakeLambda {
    /// Runs the function's behaviour for one invocation (virtual time passes).
    async fn run(
        &self,
        op: Op,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
    ) -> Result<Ran, LambdaError> {
        let (name, embedded) = split_function(function);
        let qualifier = qualifier.or(embedded.as_deref());
        let (unreserved, unreserved_in_flight) = {
            let state = self.lock();
            let limit = state.account_limit.unwrap_or(1000);
            let reserved: u32 = state.functions.values().filter_map(|f| f.reserved).sum();
            (limit.saturating_sub(reserved), state.unreserved_in_flight)
        };
        let (invocation, behavior) =
            self.on_function(op, function, qualifier, None, Some(payload), |f, _, _| {
                // Lambda's throttling past the reserved, else the unreserved, concurrency.
                let throttled = match f.reserved {
                    Some(reserved) => f.in_flight >= reserved,
                    None => unreserved_in_flight >= unreserved,
                };
                if throttled {
                    return Err(LambdaError::Throttled("Rate Exceeded.".to_string()));
                }
                f.in_flight += 1;
                let (version, conf) = Self::resolve(f, qualifier)?;
                let idle = f.idle_environments.entry(version.clone()).or_insert(0);
                let cold = *idle == 0;
                if !cold {
                    *idle -= 1;
                }
                let invocation = FakeInvocation {
                    function: name.clone(),
                    version,
                    memory: conf.memory,
                    payload: payload.to_vec(),
                    cold,
                };
                Ok((
                    invocation,
                    (f.behavior.clone(), f.log_format, f.reserved.is_some()),
                ))
            })?;
        let (behavior, log_format, reserved) = behavior;
        {
            let mut state = self.lock();
            state.in_flight += 1;
            state.max_in_flight = state.max_in_flight.max(state.in_flight);
            if !reserved {
                state.unreserved_in_flight += 1;
            }
        }
        let outcome = behavior(&invocation);
        self.clock
            .sleep(Duration::from_secs_f64(
                outcome.duration_ms.max(0.0) / 1000.0,
            ))
            .await;
        {
            let mut state = self.lock();
            state.in_flight -= 1;
            if !reserved {
                state.unreserved_in_flight -= 1;
            }
            if let Some(f) = state.functions.get_mut(&invocation.function) {
                f.in_flight -= 1;
                *f.idle_environments
                    .entry(invocation.version.clone())
                    .or_insert(0) += 1;
            }
        }
        let log = fake_log(&invocation, &outcome, log_format);
        let (function_error, body) = match &outcome.error {
            Some((t, m)) => (
                Some("Unhandled".to_string()),
                serde_json::json!({"errorType": t, "errorMessage": m})
                    .to_string()
                    .into_bytes(),
            ),
            None => (None, outcome.payload.clone()),
        };
        Ok(Ran {
            function_error,
            body,
            // The last 4 KB, cut by bytes, as Lambda's `LogResult`.
            log_result: base64::engine::general_purpose::STANDARD
                .encode(&log.as_bytes()[log.len().saturating_sub(4096)..]),
            version: invocation.version,
            first_byte_ms: outcome.first_byte_ms,
            incomplete_stream: outcome.incomplete_stream,
        })
    }
}

/// The log of one fake invocation in its function's format.
fn fake_log(invocation: &FakeInvocation, outcome: &FakeOutcome, format: FakeLogFormat) -> String {
    let (duration, memory, used) = (
        outcome.duration_ms,
        invocation.memory,
        outcome.max_memory_mb,
    );
    let init = invocation.cold.then_some(outcome.init_ms);
    // Billed Duration of a cold start holds its INIT (a custom runtime).
    let billed = (duration + init.unwrap_or(0.0)).ceil() as u64;
    let lines: String = outcome.lines.iter().map(|l| format!("{l}\n")).collect();
    let version = &invocation.version;
    if format == FakeLogFormat::Text {
        let init = init
            .map(|ms| format!("Init Duration: {ms:.2} ms\t"))
            .unwrap_or_default();
        return format!(
            "START RequestId: fake Version: {version}\n{lines}END RequestId: fake\nREPORT RequestId: fake\tDuration: {duration:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB\t{init}\n",
        );
    }
    // SystemLogLevel WARN keeps only the records of an invocation that did not succeed.
    let system = format != FakeLogFormat::JsonSystemWarn || outcome.error.is_some();
    let mut log = String::new();
    if format == FakeLogFormat::Json {
        log.push_str(&format!("{{\"time\":\"t\",\"type\":\"platform.start\",\"record\":{{\"requestId\":\"fake\",\"version\":\"{version}\"}}}}\n"));
    }
    log.push_str(&lines);
    if system {
        let mut metrics = serde_json::json!({"durationMs": duration, "billedDurationMs": billed, "memorySizeMB": memory, "maxMemoryUsedMB": used});
        if let Some(ms) = init {
            metrics["initDurationMs"] = serde_json::json!(ms);
        }
        let status = if outcome.error.is_some() {
            "error"
        } else {
            "success"
        };
        log.push_str(&serde_json::json!({"time": "t", "type": "platform.report", "record": {"requestId": "fake", "metrics": metrics, "status": status}}).to_string());
        log.push('\n');
    }
    log
}

/// A stored object, or the error reading it gives.
type ObjectBody = Result<Vec<u8>, PayloadSourceError>;

/// An in-memory S3 for `payloadS3`.
#[derive(Debug, Clone, Default)]
pub struct FakePayloads {
    objects: Arc<Mutex<BTreeMap<(String, String), ObjectBody>>>,
    fetches: Arc<AtomicU64>,
}

impl FakePayloads {
    /// Stores an object (or an error to return for it).
    pub fn put(&self, bucket: &str, key: &str, body: Result<Vec<u8>, PayloadSourceError>) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.insert((bucket.to_string(), key.to_string()), body);
        }
    }

    /// GetObject calls so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl PayloadSource for FakePayloads {
    async fn fetch(&self, bucket: &str, key: &str) -> Result<Vec<u8>, PayloadSourceError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.objects
            .lock()
            .map_err(|_| PayloadSourceError::Other("poisoned".to_string()))?
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
            .unwrap_or(Err(PayloadSourceError::NotFound))
    }
}

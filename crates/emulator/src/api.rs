//! The Lambda REST API (restJson1, the paths aws-sdk-lambda, boto3 and the AWS CLI use), with
//! AWS's error shapes and codes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use crate::faults::{Fault, Faults};
use crate::registry::{
    Alias, ConfigChange, Function, FunctionSpec, Refusal, Registry, Resolved, Snapshot, new_id,
    split_function_name,
};
use crate::report::{last_modified, tail_base64};
use crate::runtime::{Environments, Sink};

const ACCOUNT: &str = "123456789012";

/// The largest request Lambda takes: `CreateFunction` with a 50 MB `.zip` in base64 ("Request
/// must be smaller than 69905067 bytes for the CreateFunction operation").
const MAX_REQUEST_BYTES: usize = 69_905_067;

/// Behaviour knobs.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// `LastUpdateStatus` stays `InProgress` this long after an update.
    pub update_delay: Duration,
    /// Control-plane requests allowed in any 1 s window (0 = unlimited).
    pub control_plane_rps: u32,
    /// Concurrent invocations allowed (0 = unlimited).
    pub concurrency: u32,
    /// Region in ARNs.
    pub region: String,
}

tokio::task_local! {
    /// The access key that signed the request being served (from its `Authorization` header).
    static ACCESS_KEY: Option<String>;
}

/// The access key of a SigV4 `Authorization` header (`Credential=AKID/date/region/...`).
fn access_key(headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_string())
}

/// Remembers who signed each request, for the call log.
async fn signer(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let key = access_key(request.headers());
    ACCESS_KEY.scope(key, next.run(request)).await
}

/// One API call, for tests and benchmarks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Milliseconds since the emulator started.
    pub at_ms: f64,
    /// Operation name (`GetFunctionConfiguration`, `Invoke`, ...).
    pub operation: String,
    /// Function name.
    pub function: String,
    /// Qualifier, if any.
    pub qualifier: Option<String>,
    /// HTTP status returned.
    pub status: u16,
    /// The access key that signed the call.
    pub access_key: Option<String>,
    /// The role of that key, when STS `AssumeRole` issued it.
    pub role: Option<String>,
}

/// The emulated Lambda service.
pub struct Service {
    /// Functions, versions, aliases.
    registry: Mutex<Registry>,
    /// Execution environments.
    pub(crate) environments: Environments,
    /// Knobs.
    knobs: Knobs,
    window: Mutex<VecDeque<Instant>>,
    calls: Mutex<Vec<CallRecord>>,
    in_flight: AtomicUsize,
    started: Instant,
    /// TCP connections accepted by the API listener.
    pub(crate) connections: Arc<std::sync::atomic::AtomicU64>,
    /// Injected faults.
    faults: Mutex<Faults>,
    /// Access keys STS `AssumeRole` issued, and their roles.
    sessions: Mutex<HashMap<String, String>>,
    /// Where `CreateFunction` unpacks code (removed with the emulator).
    pub(crate) code_root: std::path::PathBuf,
}

/// Unpacks a base64 `.zip` into `directory` (replacing what was there).
fn unpack(zip: &str, directory: &std::path::Path) -> Result<(), String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(zip)
        .map_err(|e| e.to_string())?;
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(directory);
    std::fs::create_dir_all(directory).map_err(|e| e.to_string())?;
    archive.extract(directory).map_err(|e| e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An AWS-shaped error response.
pub fn aws_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"Type": "User", "message": message, "Message": message})),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn not_found(what: &str) -> Response {
    aws_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("Function not found: {what}"),
    )
}

fn invalid(message: &str) -> Response {
    aws_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameterValueException",
        message,
    )
}

fn conflict(message: &str) -> Response {
    aws_error(StatusCode::CONFLICT, "ResourceConflictException", message)
}

fn throttled(reason: &str, message: &str) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(
            json!({"Reason": reason, "Type": "User", "message": message, "retryAfterSeconds": "1"}),
        ),
    )
        .into_response();
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("TooManyRequestsException"),
    );
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from_static("1"));
    response
}

impl Service {
    /// Adds a function (its name must be new).
    pub fn add_function(&self, spec: &FunctionSpec) -> Result<(), crate::EmulatorError> {
        let mut registry = lock(&self.registry);
        if registry.functions.contains_key(&spec.name) {
            return Err(crate::EmulatorError::Function(format!(
                "{} is defined twice",
                spec.name
            )));
        }
        let function = Function::new(spec, self.arn(&spec.name, None));
        registry.functions.insert(spec.name.clone(), function);
        Ok(())
    }

    /// The spec of a function `CreateFunction` asks for: its code unpacked, its runtime,
    /// architecture and environment checked.
    fn function_from(&self, body: &Value, name: &str) -> Result<FunctionSpec, Refusal> {
        if !crate::registry::valid_name(name) {
            return Err(Refusal::Invalid(format!(
                "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            )));
        }
        let runtime = body
            .get("Runtime")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(runtime, "provided.al2023" | "provided.al2") {
            return Err(Refusal::Invalid(format!(
                "The runtime parameter of {runtime:?} is not supported here: the emulator runs custom runtimes (provided.al2023, provided.al2) only"
            )));
        }
        if body
            .get("Role")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(Refusal::Invalid("Role is required".to_string()));
        }
        let Some(zip) = body.pointer("/Code/ZipFile").and_then(Value::as_str) else {
            return Err(Refusal::Invalid(
                "Code.ZipFile is required (S3 and image code are not emulated)".to_string(),
            ));
        };
        let directory = self.code_root.join(name);
        unpack(zip, &directory).map_err(|e| {
            Refusal::Invalid(format!("Could not unzip uploaded file. Please check your file, then try to upload again. ({e})"))
        })?;
        let mut spec = FunctionSpec::new(name, directory.join("bootstrap"));
        spec.architecture = match body.pointer("/Architectures/0").and_then(Value::as_str) {
            None | Some("x86_64") => crate::registry::Architecture::X86_64,
            Some("arm64") => crate::registry::Architecture::Arm64,
            Some(other) => {
                return Err(Refusal::Invalid(format!(
                    "1 validation error detected: Value '[{other}]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"
                )));
            }
        };
        if let Some(variables) = body
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
        {
            spec.environment = variables
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
        }
        Ok(spec)
    }

    /// A service over `registry` and `environments`.
    pub fn new(
        registry: Registry,
        environments: Environments,
        knobs: Knobs,
        code_root: std::path::PathBuf,
    ) -> Self {
        Service {
            registry: Mutex::new(registry),
            environments,
            knobs,
            window: Mutex::new(VecDeque::new()),
            calls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            started: Instant::now(),
            connections: Arc::default(),
            faults: Mutex::new(Faults::default()),
            sessions: Mutex::new(HashMap::new()),
            code_root,
        }
    }

    /// Adds a fault rule.
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).add(fault);
    }

    /// The injected error for a call, if a rule fires.
    fn injected_error(&self, operation: &str, function: &str) -> Option<Response> {
        let status = lock(&self.faults).error_status(operation, function)?;
        Some(if status == 429 {
            throttled("CallerRateLimitExceeded", "Rate exceeded (injected)")
        } else {
            aws_error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "ServiceException",
                "Injected service error",
            )
        })
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        lock(&self.calls).clone()
    }

    fn record(&self, operation: &str, function: &str, qualifier: Option<&str>, status: StatusCode) {
        let access_key = ACCESS_KEY.try_with(Clone::clone).ok().flatten();
        let role = access_key
            .as_ref()
            .and_then(|k| lock(&self.sessions).get(k).cloned());
        lock(&self.calls).push(CallRecord {
            at_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            operation: operation.to_string(),
            function: function.to_string(),
            qualifier: qualifier.map(str::to_string),
            status: status.as_u16(),
            access_key,
            role,
        });
    }

    /// Admits a control-plane call unless `control_plane_rps` were already admitted in the
    /// last second.
    fn admit(&self) -> bool {
        let rps = self.knobs.control_plane_rps as usize;
        if rps == 0 {
            return true;
        }
        let now = Instant::now();
        let mut window = lock(&self.window);
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= rps {
            return false;
        }
        window.push_back(now);
        true
    }

    /// The ARN of a function (and qualifier).
    pub fn arn(&self, name: &str, qualifier: Option<&str>) -> String {
        let base = format!(
            "arn:aws:lambda:{}:{ACCOUNT}:function:{name}",
            self.knobs.region
        );
        match qualifier {
            Some(q) => format!("{base}:{q}"),
            None => base,
        }
    }

    fn configuration(
        &self,
        f: &Function,
        version: &str,
        snapshot: &Snapshot,
        modified: SystemTime,
    ) -> Value {
        let latest = version == "$LATEST";
        let updating = latest && f.updating();
        let mut config = json!({
            "FunctionName": f.name,
            "FunctionArn": self.arn(&f.name, (!latest).then_some(version)),
            "Runtime": "provided.al2023",
            "Role": format!("arn:aws:iam::{ACCOUNT}:role/emulator"),
            "Handler": "bootstrap",
            "CodeSize": std::fs::metadata(&snapshot.path).map(|m| m.len()).unwrap_or(0),
            "Description": snapshot.description,
            "Timeout": snapshot.timeout,
            "MemorySize": snapshot.memory,
            "LastModified": last_modified(modified),
            "CodeSha256": code_sha(snapshot),
            "Version": version,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": f.revision_id,
            "State": "Active",
            "LastUpdateStatus": match (updating, latest.then_some(f.update_failure.as_ref()).flatten()) {
                (true, _) => "InProgress",
                (false, Some(_)) => "Failed",
                (false, None) => "Successful",
            },
            "PackageType": "Zip",
            "Architectures": [snapshot.architecture.as_str()],
            "EphemeralStorage": {"Size": 512},
            "LoggingConfig": snapshot.logging.to_json(&f.name),
        });
        if !snapshot.environment.is_empty() {
            config["Environment"] = json!({"Variables": snapshot.environment});
        }
        if updating {
            config["LastUpdateStatusReason"] = json!("The function is being updated.");
            config["LastUpdateStatusReasonCode"] = json!("Updating");
        } else if let Some(reason) = f.update_failure.as_ref().filter(|_| latest) {
            config["LastUpdateStatusReason"] = json!(reason);
            config["LastUpdateStatusReasonCode"] = json!("InternalError");
        }
        config
    }
}

fn code_sha(snapshot: &Snapshot) -> String {
    // Identifies the code by path, arguments, size and modification time (a cheap stand-in for its hash).
    let meta = std::fs::metadata(&snapshot.path).ok();
    let stamp = format!(
        "{}:{:?}:{}:{:?}",
        snapshot.path.display(),
        snapshot.args,
        meta.as_ref().map(|m| m.len()).unwrap_or(0),
        meta.and_then(|m| m.modified().ok())
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stamp.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hash.to_be_bytes().repeat(4))
}

type Shared = State<Arc<Service>>;
type Params = Query<HashMap<String, String>>;

/// The Lambda API router.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route(
            "/2015-03-31/functions/",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_configuration).put(update_configuration),
        )
        .route(
            "/2015-03-31/functions/{name}/versions",
            get(list_versions).post(publish_version),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases",
            get(list_aliases).post(create_alias),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases/{alias}",
            get(get_alias).put(update_alias).delete(delete_alias),
        )
        .route(
            "/2015-03-31/functions/{name}/invocations",
            axum::routing::post(invoke),
        )
        .route(
            "/2021-11-15/functions/{name}/response-streaming-invocations",
            axum::routing::post(invoke_with_response_stream),
        )
        .route("/_emulator/calls", get(emulator_calls))
        .route("/_emulator/stats", get(emulator_stats))
        .route("/_emulator/faults", axum::routing::post(emulator_faults))
        .route("/", axum::routing::post(sts))
        .fallback(|| async {
            aws_error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "Unknown operation",
            )
        })
        .layer(axum::middleware::from_fn(signer))
        // Bodies up to CreateFunction's limit reach the handlers, which apply each
        // operation's own (Invoke: 6 MB, `RequestTooLargeException`).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(service)
}

/// Refusals in AWS's error shapes.
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::NotFound(message) => {
            aws_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message)
        }
        Refusal::Conflict(message) => conflict(&message),
        Refusal::Invalid(message) => invalid(&message),
        Refusal::PreconditionFailed(message) => aws_error(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailedException",
            &message,
        ),
    }
}

/// Runs a control-plane operation: rate limit, call log, and the operation's refusal as AWS's
/// error shape. `op` gets the registry, the function name and the qualifier.
fn control(
    service: &Service,
    operation: &str,
    raw_name: &str,
    params: &HashMap<String, String>,
    op: impl FnOnce(&mut Registry, &str, Option<&str>) -> Result<Response, Refusal>,
) -> Response {
    let (name, embedded) = split_function_name(raw_name);
    let qualifier = params.get("Qualifier").cloned().or(embedded);
    let response = if !service.admit() {
        throttled("CallerRateLimitExceeded", "Rate exceeded")
    } else if let Some(injected) = service.injected_error(operation, &name) {
        injected
    } else {
        let mut registry = lock(&service.registry);
        op(&mut registry, &name, qualifier.as_deref()).unwrap_or_else(refused)
    };
    service.record(operation, &name, qualifier.as_deref(), response.status());
    response
}

/// [`control`] on one existing function (404 otherwise).
fn on_function(
    service: &Service,
    operation: &str,
    raw_name: &str,
    params: &HashMap<String, String>,
    op: impl FnOnce(&mut Function, Option<&str>) -> Result<Response, Refusal>,
) -> Response {
    control(
        service,
        operation,
        raw_name,
        params,
        |registry, name, qualifier| match registry.functions.get_mut(name) {
            Some(f) => op(f, qualifier),
            None => Err(Refusal::NotFound(format!(
                "Function not found: {}",
                service.arn(name, None)
            ))),
        },
    )
}

/// A JSON response.
fn ok(value: Value) -> Result<Response, Refusal> {
    Ok(axum::Json(value).into_response())
}

/// A `201 Created` JSON response.
fn created(value: Value) -> Result<Response, Refusal> {
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

/// The configuration of a qualifier, or 404.
fn describe(service: &Service, f: &Function, qualifier: Option<&str>) -> Result<Value, Refusal> {
    let resolved = f.resolve(qualifier).ok_or_else(|| {
        Refusal::NotFound(format!(
            "Function not found: {}",
            service.arn(&f.name, qualifier)
        ))
    })?;
    let modified = resolved
        .version
        .parse::<u64>()
        .ok()
        .and_then(|n| f.versions.get(&n))
        .map(|(_, t)| *t)
        .unwrap_or(f.last_modified);
    Ok(service.configuration(f, &resolved.version, &resolved.snapshot, modified))
}

fn body_json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn list_functions(State(service): Shared, Query(params): Params) -> Response {
    control(&service, "ListFunctions", "", &params, |registry, _, _| {
        let functions: Vec<Value> = registry
            .functions
            .values()
            .map(|f| service.configuration(f, "$LATEST", &f.latest, f.last_modified))
            .collect();
        ok(json!({"Functions": functions}))
    })
}

/// `CreateFunction` of a custom-runtime function from a `.zip` (`Code.ZipFile`, its
/// `bootstrap` at the root, as Lambda requires for `provided.al2023`): the archive is unpacked
/// under the emulator's code directory and runs like any other function. Settings are checked
/// by the same rules as `UpdateFunctionConfiguration`; `LoggingConfig` as Lambda applies it.
async fn create_function(State(service): Shared, body: Bytes) -> Response {
    let body = body_json(&body);
    let name = body
        .get("FunctionName")
        .and_then(Value::as_str)
        .map(|n| split_function_name(n).0)
        .unwrap_or_default();
    control(
        &service,
        "CreateFunction",
        &name,
        &HashMap::new(),
        |registry, name, _| {
            let spec = service.function_from(&body, name)?;
            if registry.functions.contains_key(name) {
                return Err(Refusal::Conflict(format!("Function already exist: {name}")));
            }
            let mut function = Function::new(&spec, service.arn(name, None));
            function.update(
                &ConfigChange {
                    memory: body.get("MemorySize").cloned(),
                    timeout: body.get("Timeout").cloned(),
                    description: body.get("Description").cloned(),
                    logging: body.get("LoggingConfig").cloned(),
                    ..ConfigChange::default()
                },
                Duration::ZERO,
            )?;
            if body.get("Publish").and_then(Value::as_bool) == Some(true) {
                function.publish(None, None)?;
            }
            let config = service.configuration(
                &function,
                "$LATEST",
                &function.latest,
                function.last_modified,
            );
            registry.functions.insert(name.to_string(), function);
            created(config)
        },
    )
}

async fn get_function(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    on_function(&service, "GetFunction", &name, &params, |f, qualifier| {
        let config = describe(&service, f, qualifier)?;
        ok(
            json!({"Configuration": config, "Code": {"RepositoryType": "Local", "Location": f.latest.path.display().to_string()}}),
        )
    })
}

async fn get_configuration(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    on_function(
        &service,
        "GetFunctionConfiguration",
        &name,
        &params,
        |f, qualifier| ok(describe(&service, f, qualifier)?),
    )
}

async fn update_configuration(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    let body = body_json(&body);
    let change = ConfigChange {
        memory: body.get("MemorySize").cloned(),
        timeout: body.get("Timeout").cloned(),
        description: body.get("Description").cloned(),
        environment: body
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
            .map(|variables| {
                variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            }),
        logging: body.get("LoggingConfig").cloned(),
        revision: body
            .get("RevisionId")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let mut retire = None;
    let response = on_function(
        &service,
        "UpdateFunctionConfiguration",
        &name,
        &params,
        |f, _| {
            f.update(&change, service.knobs.update_delay)?;
            let fault = lock(&service.faults).update(&f.name);
            if let Some(stuck) = fault.stuck {
                f.update_done_at = Instant::now() + stuck;
            }
            f.update_failure = fault.failed;
            retire = Some(format!("{}:$LATEST#", f.name));
            ok(service.configuration(f, "$LATEST", &f.latest, f.last_modified))
        },
    );
    if let Some(prefix) = retire {
        service
            .environments
            .retire(|key| key.starts_with(&prefix))
            .await;
    }
    response
}

async fn publish_version(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    let body = body_json(&body);
    on_function(&service, "PublishVersion", &name, &params, |f, _| {
        let number = f.publish(
            body.get("Description").and_then(Value::as_str),
            body.get("RevisionId").and_then(Value::as_str),
        )?;
        created(describe(&service, f, Some(&number.to_string()))?)
    })
}

async fn list_versions(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    on_function(
        &service,
        "ListVersionsByFunction",
        &name,
        &params,
        |f, _| {
            let mut all = vec![service.configuration(f, "$LATEST", &f.latest, f.last_modified)];
            all.extend(
                f.versions
                    .iter()
                    .map(|(n, (s, t))| service.configuration(f, &n.to_string(), s, *t)),
            );
            let start: usize = params
                .get("Marker")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            let page = params
                .get("MaxItems")
                .and_then(|m| m.parse::<usize>().ok())
                .unwrap_or(50)
                .clamp(1, 50);
            let end = (start + page).min(all.len());
            let mut out = json!({"Versions": all.get(start..end).unwrap_or_default()});
            if end < all.len() {
                out["NextMarker"] = json!(end.to_string());
            }
            ok(out)
        },
    )
}

async fn delete_function(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    let mut retire: Option<(String, bool)> = None;
    let response = control(
        &service,
        "DeleteFunction",
        &name,
        &params,
        |registry, name, qualifier| {
            let Some(f) = registry.functions.get_mut(name) else {
                return Err(Refusal::NotFound(format!(
                    "Function not found: {}",
                    service.arn(name, None)
                )));
            };
            match qualifier {
                None => {
                    registry.functions.remove(name);
                    retire = Some((format!("{name}:"), true));
                }
                Some(q) => {
                    let number = f.delete_version(q)?;
                    retire = Some((format!("{name}:{number}"), false));
                }
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        },
    );
    if let Some((key, prefix)) = retire {
        service
            .environments
            .retire(|k| {
                if prefix {
                    k.starts_with(&key)
                } else {
                    k == key
                }
            })
            .await;
    }
    response
}

fn alias_json(f: &Function, name: &str, alias: &Alias) -> Value {
    json!({
        "AliasArn": f.qualified_arn(name),
        "Name": name,
        "FunctionVersion": alias.version.to_string(),
        "Description": alias.description,
        "RevisionId": alias.revision,
    })
}

async fn list_aliases(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    on_function(&service, "ListAliases", &name, &params, |f, _| {
        let aliases: Vec<Value> = f.aliases.iter().map(|(n, a)| alias_json(f, n, a)).collect();
        ok(json!({"Aliases": aliases}))
    })
}

async fn create_alias(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    let body = body_json(&body);
    on_function(&service, "CreateAlias", &name, &params, |f, _| {
        let (Some(alias), Some(version)) = (
            body.get("Name").and_then(Value::as_str),
            body.get("FunctionVersion").and_then(Value::as_str),
        ) else {
            return Err(Refusal::Invalid(
                "Name and FunctionVersion are required".to_string(),
            ));
        };
        let description = body
            .get("Description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let record = f.create_alias(alias, version, description)?;
        created(alias_json(f, alias, &record))
    })
}

async fn get_alias(
    State(service): Shared,
    Path((name, alias)): Path<(String, String)>,
    Query(params): Params,
) -> Response {
    on_function(&service, "GetAlias", &name, &params, |f, _| {
        ok(alias_json(f, &alias, f.alias(&alias)?))
    })
}

async fn update_alias(
    State(service): Shared,
    Path((name, alias)): Path<(String, String)>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    let body = body_json(&body);
    on_function(&service, "UpdateAlias", &name, &params, |f, _| {
        let record = f.update_alias(
            &alias,
            body.get("FunctionVersion").and_then(Value::as_str),
            body.get("Description").and_then(Value::as_str),
        )?;
        ok(alias_json(f, &alias, &record))
    })
}

async fn delete_alias(
    State(service): Shared,
    Path((name, alias)): Path<(String, String)>,
    Query(params): Params,
) -> Response {
    on_function(&service, "DeleteAlias", &name, &params, |f, _| {
        f.aliases.remove(&alias);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

async fn invoke(
    State(service): Shared,
    Path(raw): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (name, embedded) = split_function_name(&raw);
    let qualifier = params.get("Qualifier").cloned().or(embedded);
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let invocation_type = header("x-amz-invocation-type");
    let tail = header("x-amz-log-type").eq_ignore_ascii_case("Tail");
    let response = invoke_inner(
        &service,
        &name,
        qualifier.as_deref(),
        &invocation_type,
        tail,
        body,
    )
    .await;
    service.record("Invoke", &name, qualifier.as_deref(), response.status());
    response
}

async fn invoke_inner(
    service: &Arc<Service>,
    name: &str,
    qualifier: Option<&str>,
    invocation_type: &str,
    tail: bool,
    body: Bytes,
) -> Response {
    if let Some(injected) = service.injected_error("Invoke", name) {
        return injected;
    }
    if body.len() > 6 * 1024 * 1024 {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        );
    }
    let resolved: Option<Resolved> = lock(&service.registry)
        .functions
        .get(name)
        .and_then(|f| f.resolve(qualifier));
    let Some(resolved) = resolved else {
        return not_found(&service.arn(name, qualifier));
    };
    if invocation_type == "DryRun" {
        return StatusCode::NO_CONTENT.into_response();
    }
    let limit = service.knobs.concurrency as usize;
    if limit > 0 && service.in_flight.fetch_add(1, Ordering::SeqCst) >= limit {
        service.in_flight.fetch_sub(1, Ordering::SeqCst);
        return throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.");
    } else if limit == 0 {
        service.in_flight.fetch_add(1, Ordering::SeqCst);
    }
    let arn = service.arn(name, qualifier);
    let fault = lock(&service.faults).invoke(name);
    let run = {
        let service = service.clone();
        let name = name.to_string();
        async move {
            let result = service
                .environments
                .invoke(&name, &arn, &resolved, body, fault.kill_after, Sink::Buffer)
                .await;
            service.in_flight.fetch_sub(1, Ordering::SeqCst);
            if fault.delete_after {
                lock(&service.registry).functions.remove(&name);
                let prefix = format!("{name}:");
                service
                    .environments
                    .retire(|k| k.starts_with(&prefix))
                    .await;
            }
            result
        }
    };
    if invocation_type == "Event" {
        tokio::spawn(run);
        return StatusCode::ACCEPTED.into_response();
    }
    match run.await {
        Ok(result) => {
            let mut response = (StatusCode::OK, result.payload).into_response();
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&result.version) {
                headers.insert("x-amz-executed-version", v);
            }
            if let Some(error) = result
                .function_error
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                headers.insert("x-amz-function-error", error);
            }
            if tail && let Ok(v) = HeaderValue::from_str(&tail_base64(&result.log)) {
                headers.insert("x-amz-log-result", v);
            }
            response
        }
        Err(error) => aws_error(
            StatusCode::BAD_GATEWAY,
            "InvalidRuntimeException",
            &format!("The function could not be started: {error}"),
        ),
    }
}

/// One event-stream message (`:message-type: event`).
fn event(event_type: &'static str, content_type: &'static str, payload: Bytes) -> Bytes {
    use aws_smithy_types::event_stream::{Header, HeaderValue as EventHeader, Message};
    let message = Message::new(payload)
        .add_header(Header::new(
            ":message-type",
            EventHeader::String("event".into()),
        ))
        .add_header(Header::new(
            ":event-type",
            EventHeader::String(event_type.into()),
        ))
        .add_header(Header::new(
            ":content-type",
            EventHeader::String(content_type.into()),
        ));
    let mut frame = Vec::new();
    match aws_smithy_eventstream::frame::write_message_to(&message, &mut frame) {
        Ok(()) => Bytes::from(frame),
        Err(_) => Bytes::new(),
    }
}

/// `InvokeWithResponseStream`: the response in AWS's event-stream framing, a `PayloadChunk`
/// per chunk as the function writes it (the whole answer in one for a buffered function), then
/// `InvokeComplete` with `ErrorCode`, `ErrorDetails` and, with `Tail`, `LogResult`.
async fn invoke_with_response_stream(
    State(service): Shared,
    Path(raw): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (name, embedded) = split_function_name(&raw);
    let qualifier = params.get("Qualifier").cloned().or(embedded);
    let tail = headers
        .get("x-amz-log-type")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"Tail"));
    let response = start_streaming(&service, &name, qualifier.as_deref(), tail, body);
    service.record(
        "InvokeWithResponseStream",
        &name,
        qualifier.as_deref(),
        response.status(),
    );
    response
}

fn start_streaming(
    service: &Arc<Service>,
    name: &str,
    qualifier: Option<&str>,
    tail: bool,
    body: Bytes,
) -> Response {
    if let Some(injected) = service.injected_error("InvokeWithResponseStream", name) {
        return injected;
    }
    let resolved = lock(&service.registry)
        .functions
        .get(name)
        .and_then(|f| f.resolve(qualifier));
    let Some(resolved) = resolved else {
        return not_found(&service.arn(name, qualifier));
    };
    let limit = service.knobs.concurrency as usize;
    if service.in_flight.fetch_add(1, Ordering::SeqCst) >= limit && limit > 0 {
        service.in_flight.fetch_sub(1, Ordering::SeqCst);
        return throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.");
    }
    let version = resolved.version.clone();
    let arn = service.arn(name, qualifier);
    let fault = lock(&service.faults).invoke(name);
    let (chunk_tx, mut chunks) = tokio::sync::mpsc::channel::<Bytes>(16);
    let (frame_tx, frames) = tokio::sync::mpsc::channel::<Bytes>(16);
    let invocation = {
        let service = service.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            let result = service
                .environments
                .invoke(
                    &name,
                    &arn,
                    &resolved,
                    body,
                    fault.kill_after,
                    Sink::Stream(chunk_tx),
                )
                .await;
            service.in_flight.fetch_sub(1, Ordering::SeqCst);
            result
        })
    };
    tokio::spawn(async move {
        while let Some(chunk) = chunks.recv().await {
            if frame_tx
                .send(event("PayloadChunk", "application/octet-stream", chunk))
                .await
                .is_err()
            {
                // The caller went away: keep draining so the function can finish.
                continue;
            }
        }
        let mut complete = serde_json::Map::new();
        match invocation.await {
            Ok(Ok(result)) => {
                if result.function_error.is_some() {
                    let error: Value =
                        serde_json::from_slice(&result.payload).unwrap_or(Value::Null);
                    complete.insert(
                        "ErrorCode".into(),
                        error
                            .get("errorType")
                            .cloned()
                            .unwrap_or(json!("Unhandled")),
                    );
                    complete.insert(
                        "ErrorDetails".into(),
                        error.get("errorMessage").cloned().unwrap_or(json!("")),
                    );
                }
                if tail {
                    complete.insert("LogResult".into(), json!(tail_base64(&result.log)));
                }
            }
            Ok(Err(error)) => {
                complete.insert("ErrorCode".into(), json!("InvalidRuntimeException"));
                complete.insert(
                    "ErrorDetails".into(),
                    json!(format!("The function could not be started: {error}")),
                );
            }
            Err(_) => {
                complete.insert("ErrorCode".into(), json!("ServiceException"));
            }
        }
        let _ = frame_tx
            .send(event(
                "InvokeComplete",
                "application/json",
                Bytes::from(Value::Object(complete).to_string()),
            ))
            .await;
    });
    let stream = futures::stream::unfold(frames, |mut frames| async move {
        frames
            .recv()
            .await
            .map(|frame| (Ok::<_, std::convert::Infallible>(frame), frames))
    });
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if let Ok(v) = HeaderValue::from_str(&version) {
        headers.insert("x-amz-executed-version", v);
    }
    response
}

async fn emulator_calls(State(service): Shared) -> Response {
    axum::Json(service.calls()).into_response()
}

/// An STS (awsQuery) error.
fn sts_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        xml_text(message),
        new_id()
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

/// Text for an XML element.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// STS `AssumeRole` (awsQuery: a form body, an XML answer): throwaway credentials whose access
/// key names the role in the call log of every call it signs.
async fn sts(State(service): Shared, body: Bytes) -> Response {
    let form: HashMap<String, String> = url_form(&body);
    if form.get("Action").map(String::as_str) != Some("AssumeRole") {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "Only AssumeRole is emulated",
        );
    }
    let (Some(role), Some(session)) = (form.get("RoleArn"), form.get("RoleSessionName")) else {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "RoleArn and RoleSessionName are required",
        );
    };
    let denied = lock(&service.faults).denies_role(role);
    service.record(
        "AssumeRole",
        "",
        None,
        if denied {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        },
    );
    if denied {
        return sts_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!("User is not authorized to perform: sts:AssumeRole on resource: {role}"),
        );
    }
    let key_id: String = format!(
        "ASIA{}",
        new_id()
            .replace('-', "")
            .to_uppercase()
            .chars()
            .take(16)
            .collect::<String>()
    );
    lock(&service.sessions).insert(key_id.clone(), role.clone());
    let seconds: u64 = form
        .get("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(3600);
    let expiration = crate::report::iso8601(SystemTime::now() + Duration::from_secs(seconds));
    let role_name = role.rsplit('/').next().unwrap_or(role);
    let account = role.split(':').nth(4).unwrap_or(ACCOUNT);
    let body = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>emulator-{}</SecretAccessKey><SessionToken>emulator-session-for-{}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEMULATOR:{}</AssumedRoleId><Arn>arn:aws:sts::{account}:assumed-role/{}/{}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        new_id(),
        xml_text(role),
        xml_text(session),
        xml_text(role_name),
        xml_text(session),
        new_id()
    );
    (StatusCode::OK, [("content-type", "text/xml")], body).into_response()
}

/// A `application/x-www-form-urlencoded` body.
fn url_form(body: &[u8]) -> HashMap<String, String> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn emulator_faults(State(service): Shared, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) => {
            service.inject(fault);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => invalid(&format!("not a fault: {e}")),
    }
}

async fn emulator_stats(State(service): Shared) -> Response {
    axum::Json(json!({
        "liveProcesses": service.environments.live_count(),
        "coldStarts": service.environments.cold_starts.load(Ordering::SeqCst),
        "cgroupVersion": service.environments.cgroups().map(|c| c.version()),
        "connectionsAccepted": service.connections.load(Ordering::Relaxed),
    }))
    .into_response()
}

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

use crate::registry::{Alias, Function, Registry, Resolved, Snapshot, new_id, split_function_name};
use crate::report::{last_modified, tail_base64};
use crate::runtime::Environments;

const ACCOUNT: &str = "123456789012";

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
}

/// The emulated Lambda service.
pub struct Service {
    /// Functions, versions, aliases.
    pub registry: Mutex<Registry>,
    /// Execution environments.
    pub environments: Environments,
    /// Knobs.
    pub knobs: Knobs,
    window: Mutex<VecDeque<Instant>>,
    calls: Mutex<Vec<CallRecord>>,
    in_flight: AtomicUsize,
    started: Instant,
    /// TCP connections accepted by the API listener.
    pub connections: Arc<std::sync::atomic::AtomicU64>,
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
    /// A service over `registry` and `environments`.
    pub fn new(registry: Registry, environments: Environments, knobs: Knobs) -> Self {
        Service {
            registry: Mutex::new(registry),
            environments,
            knobs,
            window: Mutex::new(VecDeque::new()),
            calls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            started: Instant::now(),
            connections: Arc::default(),
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        lock(&self.calls).clone()
    }

    fn record(&self, operation: &str, function: &str, qualifier: Option<&str>, status: StatusCode) {
        lock(&self.calls).push(CallRecord {
            at_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            operation: operation.to_string(),
            function: function.to_string(),
            qualifier: qualifier.map(str::to_string),
            status: status.as_u16(),
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
            "LastUpdateStatus": if updating { "InProgress" } else { "Successful" },
            "PackageType": "Zip",
            "Architectures": [snapshot.architecture.as_str()],
            "EphemeralStorage": {"Size": 512},
            "LoggingConfig": {"LogFormat": snapshot.log_format.as_str(), "LogGroup": format!("/aws/lambda/{}", f.name)},
        });
        if !snapshot.environment.is_empty() {
            config["Environment"] = json!({"Variables": snapshot.environment});
        }
        if updating {
            config["LastUpdateStatusReason"] = json!("The function is being updated.");
            config["LastUpdateStatusReasonCode"] = json!("Updating");
        }
        config
    }
}

fn code_sha(snapshot: &Snapshot) -> String {
    // Identifies the code by path, size and modification time (a cheap stand-in for its hash).
    let meta = std::fs::metadata(&snapshot.path).ok();
    let stamp = format!(
        "{}:{}:{:?}",
        snapshot.path.display(),
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
        .route("/2015-03-31/functions/", get(list_functions))
        .route("/2015-03-31/functions", get(list_functions))
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
        .route("/_emulator/calls", get(emulator_calls))
        .route("/_emulator/stats", get(emulator_stats))
        .fallback(|| async {
            aws_error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "Unknown operation",
            )
        })
        .with_state(service)
}

/// Runs a control-plane operation: rate limit, function lookup, call log.
fn control(
    service: &Service,
    operation: &str,
    raw_name: &str,
    params: &HashMap<String, String>,
    op: impl FnOnce(&mut Registry, &str, Option<String>) -> Response,
) -> Response {
    let (name, embedded) = split_function_name(raw_name);
    let qualifier = params.get("Qualifier").cloned().or(embedded);
    let response = if !service.admit() {
        throttled("CallerRateLimitExceeded", "Rate exceeded")
    } else {
        let mut registry = lock(&service.registry);
        if registry.functions.contains_key(&name) || operation == "ListFunctions" {
            op(&mut registry, &name, qualifier.clone())
        } else {
            not_found(&service.arn(&name, None))
        }
    };
    service.record(operation, &name, qualifier.as_deref(), response.status());
    response
}

async fn list_functions(State(service): Shared, Query(params): Params) -> Response {
    control(&service, "ListFunctions", "", &params, |registry, _, _| {
        let functions: Vec<Value> = registry
            .functions
            .values()
            .map(|f| service.configuration(f, "$LATEST", &f.latest, f.last_modified))
            .collect();
        axum::Json(json!({"Functions": functions})).into_response()
    })
}

async fn get_function(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    control(
        &service,
        "GetFunction",
        &name,
        &params,
        |registry, name, qualifier| {
            let f = &registry.functions[name];
            match describe(&service, f, qualifier.as_deref()) {
            Some(config) => axum::Json(json!({"Configuration": config, "Code": {"RepositoryType": "Local", "Location": f.latest.path.display().to_string()}})).into_response(),
            None => not_found(&service.arn(name, qualifier.as_deref())),
        }
        },
    )
}

fn describe(service: &Service, f: &Function, qualifier: Option<&str>) -> Option<Value> {
    let resolved = f.resolve(qualifier)?;
    let modified = resolved
        .version
        .parse::<u64>()
        .ok()
        .and_then(|n| f.versions.get(&n))
        .map(|(_, t)| *t)
        .unwrap_or(f.last_modified);
    Some(service.configuration(f, &resolved.version, &resolved.snapshot, modified))
}

async fn get_configuration(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    control(
        &service,
        "GetFunctionConfiguration",
        &name,
        &params,
        |registry, name, qualifier| match describe(
            &service,
            &registry.functions[name],
            qualifier.as_deref(),
        ) {
            Some(config) => axum::Json(config).into_response(),
            None => not_found(&service.arn(name, qualifier.as_deref())),
        },
    )
}

async fn update_configuration(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut retire = None;
    let response = control(
        &service,
        "UpdateFunctionConfiguration",
        &name,
        &params,
        |registry, name, _| {
            let Some(f) = registry.functions.get_mut(name) else {
                return not_found(name);
            };
            if f.updating() {
                return conflict(&format!(
                    "The operation cannot be performed at this time. An update is in progress for resource: {}",
                    service.arn(name, None)
                ));
            }
            let mut next = f.latest.clone();
            if let Some(memory) = body.get("MemorySize") {
                match memory.as_u64().filter(|m| (128..=10240).contains(m)) {
                    Some(m) => next.memory = m as u32,
                    None => {
                        return invalid(&format!(
                            "1 validation error detected: Value '{memory}' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240"
                        ));
                    }
                }
            }
            if let Some(timeout) = body.get("Timeout") {
                match timeout.as_u64().filter(|t| (1..=900).contains(t)) {
                    Some(t) => next.timeout = t as u32,
                    None => {
                        return invalid(&format!(
                            "1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900"
                        ));
                    }
                }
            }
            if let Some(description) = body.get("Description") {
                match description.as_str().filter(|d| d.chars().count() <= 256) {
                    Some(d) => next.description = d.to_string(),
                    None => {
                        return invalid(
                            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",
                        );
                    }
                }
            }
            if let Some(variables) = body
                .pointer("/Environment/Variables")
                .and_then(Value::as_object)
            {
                next.environment = variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
            }
            f.latest = next;
            f.latest_revision += 1;
            f.last_modified = SystemTime::now();
            f.revision_id = new_id();
            f.update_done_at = Instant::now() + service.knobs.update_delay;
            retire = Some(format!("{name}:$LATEST#"));
            let f = &registry.functions[name];
            axum::Json(service.configuration(f, "$LATEST", &f.latest, f.last_modified))
                .into_response()
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
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    control(
        &service,
        "PublishVersion",
        &name,
        &params,
        |registry, name, _| {
            let Some(f) = registry.functions.get_mut(name) else {
                return not_found(name);
            };
            if f.updating() {
                return conflict(&format!(
                    "The operation cannot be performed at this time. An update is in progress for resource: {}",
                    service.arn(name, None)
                ));
            }
            let mut snapshot = f.latest.clone();
            if let Some(description) = body.get("Description").and_then(Value::as_str) {
                snapshot.description = description.to_string();
            }
            // As AWS: nothing changed since the last version → that version again.
            let number = match f.versions.iter().next_back() {
                Some((n, (last, _))) if last.same_as(&snapshot) => *n,
                _ => {
                    let n = f.next_version;
                    f.next_version += 1;
                    f.versions.insert(n, (snapshot, SystemTime::now()));
                    n
                }
            };
            let f = &registry.functions[name];
            let (snapshot, modified) = &f.versions[&number];
            (
                StatusCode::CREATED,
                axum::Json(service.configuration(f, &number.to_string(), snapshot, *modified)),
            )
                .into_response()
        },
    )
}

async fn list_versions(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    control(
        &service,
        "ListVersionsByFunction",
        &name,
        &params,
        |registry, name, _| {
            let f = &registry.functions[name];
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
            axum::Json(out).into_response()
        },
    )
}

async fn delete_function(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
) -> Response {
    let mut retire: Option<String> = None;
    let response = control(
        &service,
        "DeleteFunction",
        &name,
        &params,
        |registry, name, qualifier| match qualifier.as_deref() {
            None => {
                registry.functions.remove(name);
                retire = Some(format!("{name}:"));
                StatusCode::NO_CONTENT.into_response()
            }
            Some("$LATEST") => {
                invalid("$LATEST version cannot be deleted without deleting the function.")
            }
            Some(q) => {
                let Some(f) = registry.functions.get_mut(name) else {
                    return not_found(name);
                };
                let Ok(number) = q.parse::<u64>() else {
                    return invalid(&format!(
                        "Deletion of aliases is not supported by DeleteFunction: {q}"
                    ));
                };
                let users: Vec<&String> = f
                    .aliases
                    .iter()
                    .filter(|(_, a)| a.version == number)
                    .map(|(n, _)| n)
                    .collect();
                if !users.is_empty() {
                    let list: Vec<&str> = users.iter().map(|s| s.as_str()).collect();
                    return conflict(&format!(
                        "Unable to delete version because the following aliases reference it: [{}]",
                        list.join(", ")
                    ));
                }
                if f.versions.remove(&number).is_none() {
                    return not_found(&service.arn(name, Some(q)));
                }
                retire = Some(format!("{name}:{number}"));
                StatusCode::NO_CONTENT.into_response()
            }
        },
    );
    if let Some(key) = retire {
        let prefix = key.ends_with(':');
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

fn alias_json(service: &Service, function: &str, name: &str, alias: &Alias) -> Value {
    json!({
        "AliasArn": service.arn(function, Some(name)),
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
    control(
        &service,
        "ListAliases",
        &name,
        &params,
        |registry, name, _| {
            let f = &registry.functions[name];
            let aliases: Vec<Value> = f
                .aliases
                .iter()
                .map(|(n, a)| alias_json(&service, name, n, a))
                .collect();
            axum::Json(json!({"Aliases": aliases})).into_response()
        },
    )
}

async fn create_alias(
    State(service): Shared,
    Path(name): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    control(
        &service,
        "CreateAlias",
        &name,
        &params,
        |registry, name, _| {
            let Some(f) = registry.functions.get_mut(name) else {
                return not_found(name);
            };
            let (Some(alias), Some(version)) = (
                body.get("Name").and_then(Value::as_str),
                body.get("FunctionVersion").and_then(Value::as_str),
            ) else {
                return invalid("Name and FunctionVersion are required");
            };
            if f.aliases.contains_key(alias) {
                return conflict(&format!(
                    "Alias already exists: {}",
                    service.arn(name, Some(alias))
                ));
            }
            let Some(number) = version
                .parse::<u64>()
                .ok()
                .filter(|n| f.versions.contains_key(n))
            else {
                return not_found(&service.arn(name, Some(version)));
            };
            let record = Alias {
                version: number,
                description: body
                    .get("Description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                revision: new_id(),
            };
            let out = alias_json(&service, name, alias, &record);
            f.aliases.insert(alias.to_string(), record);
            (StatusCode::CREATED, axum::Json(out)).into_response()
        },
    )
}

async fn get_alias(
    State(service): Shared,
    Path((name, alias)): Path<(String, String)>,
    Query(params): Params,
) -> Response {
    control(
        &service,
        "GetAlias",
        &name,
        &params,
        |registry, name, _| match registry.functions[name].aliases.get(&alias) {
            Some(record) => axum::Json(alias_json(&service, name, &alias, record)).into_response(),
            None => aws_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                &format!("Alias not found: {}", service.arn(name, Some(&alias))),
            ),
        },
    )
}

async fn update_alias(
    State(service): Shared,
    Path((name, alias)): Path<(String, String)>,
    Query(params): Params,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    control(
        &service,
        "UpdateAlias",
        &name,
        &params,
        |registry, name, _| {
            let Some(f) = registry.functions.get_mut(name) else {
                return not_found(name);
            };
            let new_version = match body.get("FunctionVersion").and_then(Value::as_str) {
                Some(v) => match v.parse::<u64>().ok().filter(|n| f.versions.contains_key(n)) {
                    Some(n) => Some(n),
                    None => return not_found(&service.arn(name, Some(v))),
                },
                None => None,
            };
            let Some(record) = f.aliases.get_mut(&alias) else {
                return aws_error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFoundException",
                    &format!("Alias not found: {}", service.arn(name, Some(&alias))),
                );
            };
            if let Some(n) = new_version {
                record.version = n;
            }
            if let Some(d) = body.get("Description").and_then(Value::as_str) {
                record.description = d.to_string();
            }
            record.revision = new_id();
            let record = record.clone();
            axum::Json(alias_json(&service, name, &alias, &record)).into_response()
        },
    )
}

async fn delete_alias(
    State(service): Shared,
    Path((name, alias)): Path<(String, String)>,
    Query(params): Params,
) -> Response {
    control(
        &service,
        "DeleteAlias",
        &name,
        &params,
        |registry, name, _| {
            let Some(f) = registry.functions.get_mut(name) else {
                return not_found(name);
            };
            f.aliases.remove(&alias);
            StatusCode::NO_CONTENT.into_response()
        },
    )
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
    let run = {
        let service = service.clone();
        let name = name.to_string();
        async move {
            let result = service
                .environments
                .invoke(&name, &arn, &resolved, body)
                .await;
            service.in_flight.fetch_sub(1, Ordering::SeqCst);
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

async fn emulator_calls(State(service): Shared) -> Response {
    axum::Json(service.calls()).into_response()
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

//! What the API rooms share: the service (registry, environments, concurrency, faults, the
//! call log, the control-plane rate limit), the signer middleware, and AWS's error shapes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts as _, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use crate::concurrency::{Concurrency, Throttle};
use crate::faults::{Fault, Faults};
use crate::lock;
use crate::registry::{Function, FunctionSpec, Refusal, Registry, split_function_name};
use crate::runtime::Environments;

pub(super) const ACCOUNT: &str = "123456789012";

/// The largest request Lambda takes: `CreateFunction` with a 50 MB `.zip` in base64 ("Request
/// must be smaller than 69905067 bytes for the CreateFunction operation").
pub(super) const MAX_REQUEST_BYTES: usize = 69_905_067;

/// Behaviour knobs.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// `LastUpdateStatus` stays `InProgress` this long after an update.
    pub update_delay: Duration,
    /// Control-plane requests allowed in any 1 s window (0 = unlimited).
    pub control_plane_rps: u32,
    /// Region in ARNs.
    pub region: String,
}

/// Who made the request being served: the access key that signed it and the X-Ray trace it
/// carries.
#[derive(Debug, Clone, Default)]
struct Caller {
    access_key: Option<String>,
    trace_id: Option<String>,
}

tokio::task_local! {
    /// The caller of the request being served.
    static CALLER: Caller;
}

/// The access key of a SigV4 `Authorization` header (`Credential=AKID/date/region/...`).
fn access_key(headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let credential = authorization.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.to_string())
}

/// Remembers who signed each request and its `X-Amzn-Trace-Id`, for the call log.
pub(super) async fn signer(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let caller = Caller {
        access_key: access_key(request.headers()),
        trace_id: request
            .headers()
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    CALLER.scope(caller, next.run(request)).await
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
    /// The request's `X-Amzn-Trace-Id` (the SDK forwards the trace of the Lambda invocation
    /// that makes the call).
    pub trace_id: Option<String>,
}

/// The emulated Lambda service.
pub struct Service {
    /// Functions, versions, aliases.
    pub(super) registry: Mutex<Registry>,
    /// Execution environments.
    pub(crate) environments: Environments,
    /// Knobs.
    pub(super) knobs: Knobs,
    pub(super) window: Mutex<VecDeque<Instant>>,
    pub(super) calls: Mutex<Vec<CallRecord>>,
    /// The account's concurrency and the invocations in flight.
    pub(crate) concurrency: Arc<Concurrency>,
    pub(super) started: Instant,
    /// TCP connections accepted by the API listener.
    pub(crate) connections: Arc<std::sync::atomic::AtomicU64>,
    /// Injected faults.
    pub(super) faults: Mutex<Faults>,
    /// Access keys STS `AssumeRole` issued, and their roles.
    pub(super) sessions: Mutex<HashMap<String, String>>,
    /// Where `CreateFunction` unpacks code (removed with the emulator).
    pub(crate) code_root: std::path::PathBuf,
    /// The functions' log groups (CloudWatch Logs).
    pub(crate) logs: crate::logs::LogStore,
}

/// An AWS-shaped error response: the code in `x-amzn-ErrorType`, the message in the body as
/// Lambda writes it, `message` for some codes and `Message` for the others (Lambda API
/// reference, each error's shape: `TooManyRequestsException`, `ResourceConflictException`,
/// `InvalidParameterValueException` and `PreconditionFailedException` carry `message`,
/// `ResourceNotFoundException` and the others `Message`; one or the other, never both, so a
/// client must read either).
pub fn aws_error(status: StatusCode, code: &str, message: &str) -> Response {
    let key = match code {
        "TooManyRequestsException"
        | "ResourceConflictException"
        | "InvalidParameterValueException"
        | "PreconditionFailedException" => "message",
        _ => "Message",
    };
    let mut body = serde_json::Map::new();
    body.insert("Type".into(), json!("User"));
    body.insert(key.into(), json!(message));
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

pub(super) fn not_found(what: &str) -> Response {
    aws_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("Function not found: {what}"),
    )
}

pub(super) fn invalid(message: &str) -> Response {
    aws_error(
        StatusCode::BAD_REQUEST,
        "InvalidParameterValueException",
        message,
    )
}

pub(super) fn conflict(message: &str) -> Response {
    aws_error(StatusCode::CONFLICT, "ResourceConflictException", message)
}

pub(super) fn throttled(reason: &str, message: &str) -> Response {
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
    /// Sends an invocation's log to its log group (created on first use: Lambda Developer Guide,
    /// "Configuring CloudWatch log groups": `/aws/lambda/<function name>` is created when the
    /// function is first invoked).
    pub(super) fn write_log(&self, result: &crate::runtime::InvocationResult) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.logs
            .append(&result.log_group, &result.log_stream, now_ms, &result.log);
    }

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

    /// A service over `registry` and `environments`, in an account with `concurrency`
    /// concurrent executions (0: unlimited).
    pub fn new(
        registry: Registry,
        environments: Environments,
        knobs: Knobs,
        concurrency: u32,
        code_root: std::path::PathBuf,
    ) -> Self {
        Service {
            registry: Mutex::new(registry),
            environments,
            knobs,
            window: Mutex::new(VecDeque::new()),
            calls: Mutex::new(Vec::new()),
            concurrency: Concurrency::new(concurrency),
            started: Instant::now(),
            connections: Arc::default(),
            faults: Mutex::new(Faults::default()),
            sessions: Mutex::new(HashMap::new()),
            code_root,
            logs: crate::logs::LogStore::default(),
        }
    }

    /// Adds a fault rule.
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).add(fault);
    }

    /// The injected error for a call, if a rule fires: 429 a `TooManyRequestsException`,
    /// another status the rule's code (`ServiceException` by default).
    pub(super) fn injected_error(&self, operation: &str, function: &str) -> Option<Response> {
        let (status, code) = lock(&self.faults).error_status(operation, function)?;
        Some(if status == 429 {
            throttled("CallerRateLimitExceeded", "Rate exceeded (injected)")
        } else {
            let code = code.unwrap_or_else(|| "ServiceException".to_string());
            aws_error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                &code,
                &format!("Injected {code}"),
            )
        })
    }

    /// `TooManyRequestsException` for an invocation past its concurrency (Lambda API reference,
    /// `Invoke` errors: 429 with a `Reason`; the message is the one Lambda sends).
    pub(super) fn concurrency_throttled(throttle: Throttle) -> Response {
        throttled(throttle.reason(), "Rate Exceeded.")
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        lock(&self.calls).clone()
    }

    pub(super) fn record(
        &self,
        operation: &str,
        function: &str,
        qualifier: Option<&str>,
        status: StatusCode,
    ) {
        let Caller {
            access_key,
            trace_id,
        } = CALLER.try_with(Clone::clone).unwrap_or_default();
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
            trace_id,
        });
    }

    /// Admits a control-plane call unless `control_plane_rps` were already admitted in the
    /// last second.
    pub(super) fn admit(&self) -> bool {
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
}

pub(super) type Shared = State<Arc<Service>>;

/// Refusals in AWS's error shapes.
pub(super) fn refused(refusal: Refusal) -> Response {
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

/// Runs a control-plane operation on function `name` at `qualifier` (empty and `None` for an
/// account-level one): rate limit, call log, and the operation's refusal as AWS's error shape.
/// `op` gets the registry, the function name and the qualifier.
pub(super) fn control(
    service: &Service,
    operation: &str,
    name: &str,
    qualifier: Option<&str>,
    op: impl FnOnce(&mut Registry, &str, Option<&str>) -> Result<Response, Refusal>,
) -> Response {
    let response = if !service.admit() {
        throttled("CallerRateLimitExceeded", "Rate exceeded")
    } else if let Some(injected) = service.injected_error(operation, name) {
        injected
    } else {
        let mut registry = lock(&service.registry);
        op(&mut registry, name, qualifier).unwrap_or_else(refused)
    };
    service.record(operation, name, qualifier, response.status());
    response
}

/// A JSON response.
pub(super) fn ok(value: Value) -> Result<Response, Refusal> {
    Ok(axum::Json(value).into_response())
}

/// A `201 Created` JSON response.
pub(super) fn created(value: Value) -> Result<Response, Refusal> {
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

/// What an operation on a function is read from: the service, the function name (and alias)
/// in the path, the query string, the headers and the body.
pub(super) struct Call {
    /// The service.
    pub(super) service: Arc<Service>,
    /// The function name in the path, as sent (a name, `name:qualifier` or an ARN).
    pub(super) name: String,
    /// The alias in the path (empty when there is none).
    pub(super) alias: String,
    /// The query string.
    pub(super) params: HashMap<String, String>,
    /// The request's headers.
    pub(super) headers: HeaderMap,
    /// The request's body.
    pub(super) bytes: Bytes,
}

impl Call {
    /// The body as JSON (`null` when there is none or it is not JSON).
    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The function's name and qualifier: from the path (`name:qualifier`, an ARN) or the
    /// `Qualifier` parameter.
    pub(super) fn function(&self) -> (String, Option<String>) {
        let (name, embedded) = split_function_name(&self.name);
        let qualifier = self.params.get("Qualifier").cloned().or(embedded);
        (name, qualifier)
    }

    /// Whether the caller asked for the log's tail (`X-Amz-Log-Type: Tail`).
    pub(super) fn tail(&self) -> bool {
        self.header("x-amz-log-type").eq_ignore_ascii_case("Tail")
    }

    /// A header's text (empty when absent).
    pub(super) fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a control-plane operation on the function named in the path (see
    /// [`control`]); `op` gets the registry, the name and the qualifier.
    pub(super) fn control(
        &self,
        operation: &str,
        op: impl FnOnce(&mut Registry, &str, Option<&str>) -> Result<Response, Refusal>,
    ) -> Response {
        let (name, qualifier) = self.function();
        control(&self.service, operation, &name, qualifier.as_deref(), op)
    }

    /// Runs an operation on the function named in the path, which must exist (404
    /// otherwise); `op` gets the function, the qualifier and the service.
    pub(super) fn on_function(
        &self,
        operation: &str,
        op: impl FnOnce(&mut Function, Option<&str>, &Service) -> Result<Response, Refusal>,
    ) -> Response {
        let service = &self.service;
        self.control(operation, |registry, name, qualifier| {
            match registry.functions.get_mut(name) {
                Some(f) => op(f, qualifier, service),
                None => Err(Refusal::function_not_found(service.arn(name, None))),
            }
        })
    }
}

impl FromRequest<Arc<Service>> for Call {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Arc<Service>) -> Result<Call, Response> {
        let (mut parts, body) = request.into_parts();
        let headers = parts.headers.clone();
        // A route without parameters (CreateFunction) has no path to read.
        let mut path = Path::<HashMap<String, String>>::from_request_parts(&mut parts, state)
            .await
            .map(|Path(path)| path)
            .unwrap_or_default();
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Call {
            service: state.clone(),
            name: path.remove("name").unwrap_or_default(),
            alias: path.remove("alias").unwrap_or_default(),
            params,
            headers,
            bytes,
        })
    }
}

//! `Invoke` (API reference, `Invoke`): `RequestResponse`, `Event` and `DryRun`, the log tail
//! with `LogType: Tail`, `X-Amz-Function-Error` and `X-Amz-Executed-Version`, the 6 MB request
//! limit, and concurrency: an invocation holds a slot of its function's reserved concurrency, or
//! of the account's unreserved concurrency, for its whole life. The invocation runs on its own
//! task, so a caller that goes away does not stop the function (as on Lambda), and the slot is
//! given back when the function is done, not before and not never.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::service::{Call, Service, aws_error, not_found};
use crate::concurrency::{Permit, Throttle};
use crate::faults::InvokeFault;
use crate::lock;
use crate::registry::Resolved;
use crate::report::tail_base64;
use crate::runtime::{InvocationResult, Sink};

/// Largest synchronous request payload (API reference, `Invoke`: 6 MB).
const MAX_REQUEST_PAYLOAD: usize = 6 * 1024 * 1024;

pub(super) async fn invoke(call: Call) -> Response {
    let (name, qualifier) = call.function();
    let invocation_type = call.header("x-amz-invocation-type");
    let tail = call.tail();
    let service = &call.service;
    let response = answer(
        service,
        &name,
        qualifier.as_deref(),
        &invocation_type,
        tail,
        call.bytes.clone(),
    )
    .await;
    service.record("Invoke", &name, qualifier.as_deref(), response.status());
    response
}

/// Why an invocation is not run.
pub(super) enum NotAdmitted {
    /// No such function or qualifier.
    NotFound(String),
    /// Past its concurrency.
    Throttled(Throttle),
}

impl NotAdmitted {
    /// Lambda's answer.
    pub(super) fn response(self) -> Response {
        match self {
            NotAdmitted::NotFound(arn) => not_found(&arn),
            NotAdmitted::Throttled(throttle) => Service::concurrency_throttled(throttle),
        }
    }
}

/// An invocation let in: what it runs, its concurrency slot (held until the function is done),
/// and the faults injected into it.
pub(super) struct Admitted {
    /// The function's name.
    pub(super) name: String,
    /// The ARN it was invoked by (with its qualifier).
    pub(super) arn: String,
    /// The version (and configuration) it runs.
    pub(super) resolved: Resolved,
    /// Its concurrency slot.
    pub(super) permit: Permit,
    /// What the injected faults do to it.
    pub(super) fault: InvokeFault,
}

impl Admitted {
    /// Runs the invocation (its output to `sink`), gives its slot back when the function is
    /// done, applies the `delete_after` fault, and sends its log to its log group.
    pub(super) async fn run(
        self,
        service: &Service,
        body: Bytes,
        sink: Sink,
    ) -> std::io::Result<InvocationResult> {
        let result = service
            .environments
            .invoke(
                &self.name,
                &self.arn,
                &self.resolved,
                body,
                self.fault.kill_after,
                sink,
            )
            .await;
        drop(self.permit);
        if self.fault.delete_after {
            service.delete_function_now(&self.name).await;
        }
        if let Ok(result) = &result {
            service.write_log(result);
        }
        result
    }

    /// Runs the invocation on a task of its own, so a caller that goes away does not stop the
    /// function (the slot is given back when the function is done); the task ends with
    /// `answer` of its result, or of why the function could not be started.
    pub(super) fn spawn<T: Send + 'static>(
        self,
        service: &Arc<Service>,
        body: Bytes,
        sink: Sink,
        answer: impl FnOnce(Result<InvocationResult, String>) -> T + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        let service = service.clone();
        tokio::spawn(async move {
            let result = self.run(&service, body, sink).await;
            answer(result.map_err(|e| format!("The function could not be started: {e}")))
        })
    }
}

impl Service {
    /// What an invocation of `name` at `qualifier` runs, its concurrency slot, and the faults
    /// injected into it.
    pub(super) fn admit_invocation(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Admitted, NotAdmitted> {
        let (resolved, permit) = {
            let registry = lock(&self.registry);
            let function = registry.functions.get(name);
            let Some(resolved) = function.and_then(|f| f.resolve(qualifier)) else {
                return Err(NotAdmitted::NotFound(self.arn(name, qualifier)));
            };
            let reserved = function.and_then(|f| f.reserved_concurrency);
            let permit = self
                .concurrency
                .acquire(name, reserved, registry.reserved_total())
                .map_err(NotAdmitted::Throttled)?;
            (resolved, permit)
        };
        Ok(Admitted {
            name: name.to_string(),
            arn: self.arn(name, qualifier),
            resolved,
            permit,
            fault: lock(&self.faults).invoke(name),
        })
    }

    /// Deletes a function and retires its environments (the `delete_after` fault).
    async fn delete_function_now(&self, name: &str) {
        lock(&self.registry).functions.remove(name);
        self.retire_function(name).await;
    }

    /// Stops the environments of every version of the deleted function `name`.
    pub(super) async fn retire_function(&self, name: &str) {
        let prefix = format!("{name}:");
        self.environments.retire(|k| k.starts_with(&prefix)).await;
    }
}

async fn answer(
    service: &Arc<Service>,
    name: &str,
    qualifier: Option<&str>,
    invocation_type: &str,
    tail: bool,
    body: Bytes,
) -> Response {
    if let Some(early) = answer_without_running(service, name, qualifier, invocation_type, &body) {
        return early;
    }
    let admitted = match service.admit_invocation(name, qualifier) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.response(),
    };
    let run = spawn_invocation(service, admitted, body, tail);
    if invocation_type == "Event" {
        return StatusCode::ACCEPTED.into_response();
    }
    run.await.unwrap_or_else(|_| {
        aws_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "The invocation ended unexpectedly",
        )
    })
}

/// The answers given before anything runs: an injected error, a request over the 6 MB limit,
/// or a `DryRun`'s verdict (204 when the function and qualifier exist).
fn answer_without_running(
    service: &Service,
    name: &str,
    qualifier: Option<&str>,
    invocation_type: &str,
    body: &Bytes,
) -> Option<Response> {
    if let Some(injected) = service.injected_error("Invoke", name) {
        return Some(injected);
    }
    if body.len() > MAX_REQUEST_PAYLOAD {
        return Some(aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        ));
    }
    if invocation_type == "DryRun" {
        return Some(
            match lock(&service.registry)
                .functions
                .get(name)
                .and_then(|f| f.resolve(qualifier))
            {
                Some(_) => StatusCode::NO_CONTENT.into_response(),
                None => not_found(&service.arn(name, qualifier)),
            },
        );
    }
    None
}

/// Runs an admitted invocation (see [`Admitted::spawn`]); the task ends with the HTTP answer
/// to `Invoke`.
fn spawn_invocation(
    service: &Arc<Service>,
    admitted: Admitted,
    body: Bytes,
    tail: bool,
) -> tokio::task::JoinHandle<Response> {
    admitted.spawn(service, body, Sink::Buffer, move |result| match result {
        Ok(result) => function_answer(
            result.payload,
            &result.version,
            result.function_error.as_deref(),
            tail.then_some(result.log.as_str()),
        ),
        Err(message) => aws_error(StatusCode::BAD_GATEWAY, "InvalidRuntimeException", &message),
    })
}

/// The answer of a function that ran: its payload (or error document) with
/// `X-Amz-Executed-Version`, `X-Amz-Function-Error` when it failed, and `X-Amz-Log-Result`
/// when the caller asked for the log's tail.
fn function_answer(
    payload: Bytes,
    version: &str,
    function_error: Option<&str>,
    log: Option<&str>,
) -> Response {
    let mut response = (StatusCode::OK, payload).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(version) {
        headers.insert("x-amz-executed-version", v);
    }
    if let Some(error) = function_error.and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert("x-amz-function-error", error);
    }
    if let Some(log) = log
        && let Ok(v) = HeaderValue::from_str(&tail_base64(log))
    {
        headers.insert("x-amz-log-result", v);
    }
    response
}

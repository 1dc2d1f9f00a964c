//! `Invoke` (API reference, `Invoke`): `RequestResponse`, `Event` and `DryRun`, the log tail
//! with `LogType: Tail`, `X-Amz-Function-Error` and `X-Amz-Executed-Version`, the 6 MB request
//! limit, and concurrency: an invocation holds a slot of its function's reserved concurrency, or
//! of the account's unreserved concurrency, for its whole life. The invocation runs on its own
//! task, so a caller that goes away does not stop the function (as on Lambda), and the slot is
//! given back when the function is done, not before and not never.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::{Params, Service, Shared, aws_error, not_found};
use crate::concurrency::{Permit, Throttle};
use crate::lock;
use crate::registry::{Resolved, split_function_name};
use crate::report::tail_base64;
use crate::runtime::Sink;

/// Largest synchronous request payload (API reference, `Invoke`: 6 MB).
const MAX_REQUEST_PAYLOAD: usize = 6 * 1024 * 1024;

pub(super) async fn invoke(
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
    let response = answer(
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

impl Service {
    /// What an invocation of `name` at `qualifier` runs, and its concurrency slot.
    pub(super) fn admit_invocation(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(Resolved, Permit), NotAdmitted> {
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
        Ok((resolved, permit))
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
    if let Some(injected) = service.injected_error("Invoke", name) {
        return injected;
    }
    if body.len() > MAX_REQUEST_PAYLOAD {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        );
    }
    if invocation_type == "DryRun" {
        return match lock(&service.registry)
            .functions
            .get(name)
            .and_then(|f| f.resolve(qualifier))
        {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => not_found(&service.arn(name, qualifier)),
        };
    }
    let (resolved, permit) = match service.admit_invocation(name, qualifier) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.response(),
    };
    let arn = service.arn(name, qualifier);
    let fault = lock(&service.faults).invoke(name);
    let run = {
        let service = service.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            let result = service
                .environments
                .invoke(&name, &arn, &resolved, body, fault.kill_after, Sink::Buffer)
                .await;
            drop(permit);
            if fault.delete_after {
                lock(&service.registry).functions.remove(&name);
                let prefix = format!("{name}:");
                service
                    .environments
                    .retire(|k| k.starts_with(&prefix))
                    .await;
            }
            result
        })
    };
    if invocation_type == "Event" {
        return StatusCode::ACCEPTED.into_response();
    }
    match run.await {
        Ok(Ok(result)) => {
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
        Ok(Err(error)) => aws_error(
            StatusCode::BAD_GATEWAY,
            "InvalidRuntimeException",
            &format!("The function could not be started: {error}"),
        ),
        Err(_) => aws_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "The invocation ended unexpectedly",
        ),
    }
}

//! The Lambda REST API (restJson1, the paths aws-sdk-lambda, boto3 and the AWS CLI use), with
//! AWS's error shapes and codes, in rooms: the control plane ([`control`]), `Invoke`
//! ([`invoke`]), `InvokeWithResponseStream` ([`streaming`]), STS ([`sts`]) and the emulator's own
//! endpoints ([`admin`]), and CloudWatch Logs for the functions' log groups ([`logs`]), sharing
//! [`service`]: the service, the call log, the control-plane rate limit, and the error shapes.
//! This module routes requests to them.

mod admin;
mod control;
mod invoke;
mod logs;
mod service;
mod streaming;
mod sts;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

pub use service::{CallRecord, Knobs, Service, aws_error};
use service::{MAX_REQUEST_BYTES, Shared, signer};

/// The Lambda API's paths under `/2015-03-31/functions` (API reference) and their operations.
fn function_routes() -> Vec<(&'static str, MethodRouter<Arc<Service>>)> {
    use control::*;
    vec![
        ("", get(list_functions).post(create_function)),
        ("/", get(list_functions).post(create_function)),
        ("/{name}", get(get_function).delete(delete_function)),
        (
            "/{name}/configuration",
            get(get_configuration).put(update_configuration),
        ),
        ("/{name}/versions", get(list_versions).post(publish_version)),
        ("/{name}/aliases", get(list_aliases).post(create_alias)),
        (
            "/{name}/aliases/{alias}",
            get(get_alias).put(update_alias).delete(delete_alias),
        ),
        ("/{name}/invocations", post(invoke::invoke)),
    ]
}

/// The Lambda API router.
pub fn router(service: Arc<Service>) -> Router {
    use control::*;
    let functions = function_routes()
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(&format!("/2015-03-31/functions{path}"), methods)
        });
    functions
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(get_function_concurrency),
        )
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            axum::routing::put(put_function_concurrency).delete(delete_function_concurrency),
        )
        .route("/2016-08-19/account-settings", get(get_account_settings))
        .route("/2016-08-19/account-settings/", get(get_account_settings))
        .route(
            "/2021-11-15/functions/{name}/response-streaming-invocations",
            post(streaming::invoke_with_response_stream),
        )
        .route("/_emulator/calls", get(admin::calls))
        .route("/_emulator/stats", get(admin::stats))
        .route("/_emulator/faults", post(admin::faults))
        .route("/", post(root))
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

/// `POST /`: CloudWatch Logs (awsJson1.1, told by its `X-Amz-Target`) or STS (awsQuery).
async fn root(state: Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let logs_operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(logs::TARGET_PREFIX));
    match logs_operation {
        Some(operation) => logs::handle(&state.0, operation, &body),
        None => sts::sts(state, body).await,
    }
}

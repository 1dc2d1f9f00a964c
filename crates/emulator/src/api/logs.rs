//! The CloudWatch Logs API for the functions' own log groups (awsJson1.1: `POST /` with
//! `X-Amz-Target: Logs_20140328.<Operation>`; CloudWatch Logs API reference, `StartQuery`,
//! `GetQueryResults`, `StopQuery`), so that traffic from history reads the `REPORT` records
//! the emulator wrote with a real SDK client. Errors carry the Logs error code in `__type`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::service::{ACCOUNT, Service};
use crate::logs::LogsError;

/// The target prefix of CloudWatch Logs operations.
pub(super) const TARGET_PREFIX: &str = "Logs_20140328.";

/// An awsJson1.1 error.
fn logs_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = (
        status,
        [("content-type", "application/x-amz-json-1.1")],
        json!({"__type": code, "message": message}).to_string(),
    )
        .into_response();
    if let Ok(value) = code.parse() {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// Every Logs refusal is a 400 with its code.
fn refused(error: &LogsError) -> Response {
    logs_error(StatusCode::BAD_REQUEST, error.code(), &error.to_string())
}

fn ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

/// The one log group a `StartQuery` names (`logGroupName`, or a one-element
/// `logGroupNames`/`logGroupIdentifiers`; an identifier may be the group's ARN).
fn log_group(request: &Value) -> Result<String, LogsError> {
    if let Some(name) = request.get("logGroupName").and_then(Value::as_str) {
        return Ok(name.to_string());
    }
    let list = ["logGroupNames", "logGroupIdentifiers"]
        .iter()
        .find_map(|k| request.get(*k).and_then(Value::as_array));
    match list.map(Vec::as_slice) {
        Some([Value::String(one)]) => Ok(one
            .split_once(":log-group:")
            .map(|(_, name)| name.trim_end_matches(":*").to_string())
            .unwrap_or_else(|| one.clone())),
        _ => Err(LogsError::Invalid(
            "Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be given (the emulator queries one log group)".into(),
        )),
    }
}

/// Dispatches one Logs operation.
pub(super) fn handle(service: &Service, operation: &str, body: &Bytes) -> Response {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return logs_error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                &e.to_string(),
            );
        }
    };
    let text = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or_default();
    let result = match operation {
        "StartQuery" => log_group(&request).and_then(|group| {
            let (Some(start), Some(end)) = (
                request.get("startTime").and_then(Value::as_i64),
                request.get("endTime").and_then(Value::as_i64),
            ) else {
                return Err(LogsError::Invalid(
                    "startTime and endTime are required".into(),
                ));
            };
            let log = format!("{ACCOUNT}:{group}");
            service
                .logs
                .start_query(&group, start, end, text("queryString"), &log)
                .map(|id| json!({"queryId": id}))
        }),
        "GetQueryResults" => service.logs.results(text("queryId")).map(|progress| {
            let results: Vec<Value> = progress
                .answer
                .rows
                .iter()
                .map(|row| {
                    Value::Array(
                        row.iter()
                            .map(|(field, value)| json!({"field": field, "value": value}))
                            .collect(),
                    )
                })
                .collect();
            json!({
                "status": progress.status,
                "results": results,
                "statistics": {
                    "recordsMatched": progress.answer.records_matched as f64,
                    "recordsScanned": progress.answer.records_scanned as f64,
                    "bytesScanned": progress.answer.bytes_scanned as f64,
                },
            })
        }),
        "StopQuery" => service
            .logs
            .stop(text("queryId"))
            .map(|()| json!({"success": true})),
        _ => {
            return logs_error(
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                &format!("The emulator does not serve CloudWatch Logs {operation}"),
            );
        }
    };
    let response = match result {
        Ok(body) => ok(body),
        Err(error) => refused(&error),
    };
    service.record(operation, "", None, response.status());
    response
}

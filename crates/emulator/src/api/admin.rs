//! The emulator's own endpoints (loopback only): the call log, counters, fault injection.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use super::service::{Shared, invalid};
use crate::faults::Fault;

pub(super) async fn calls(State(service): Shared) -> Response {
    axum::Json(service.calls()).into_response()
}

pub(super) async fn faults(State(service): Shared, body: Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) => {
            service.inject(fault);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => invalid(&format!("not a fault: {e}")),
    }
}

pub(super) async fn stats(State(service): Shared) -> Response {
    axum::Json(json!({
        "liveProcesses": service.environments.live_count(),
        "coldStarts": service.environments.cold_starts.load(Ordering::SeqCst),
        "cgroupVersion": service.environments.cgroups().map(|c| c.version()),
        "connectionsAccepted": service.connections.load(Ordering::Relaxed),
        "inFlight": service.concurrency.in_flight(),
        "peakConcurrency": service.concurrency.peak(),
    }))
    .into_response()
}

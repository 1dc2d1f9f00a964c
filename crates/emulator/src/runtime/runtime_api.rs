//! The Lambda Runtime API one execution environment serves its process
//! (`/2018-06-01/runtime/...`; Lambda Developer Guide, "Using the Lambda runtime API for custom
//! runtimes"): `/next` hands the next event over, `/response` (buffered, or streamed with
//! `Lambda-Runtime-Function-Response-Mode: streaming`), `/error` and `/init/error` end it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};

use crate::ids::new_id;
use crate::lock;

/// Largest synchronous response Lambda returns (buffered `Invoke`): 6 MB.
pub const MAX_BUFFERED_RESPONSE: usize = 6_291_556;

/// How long an answer waits for the log readers at most (a function still printing after it
/// answered does not hold the answer back).
const LOG_DRAIN_LIMIT: Duration = Duration::from_millis(200);

/// An event on its way to the runtime.
pub(crate) struct Delivery {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: u64,
    pub function_arn: String,
    pub done: oneshot::Sender<Completion>,
}

/// How a streamed response ended: when, and the mid-stream error its trailers reported.
pub(crate) struct StreamEnd {
    pub at: Instant,
    pub error: Option<(String, String)>,
}

/// How the runtime answered.
pub(crate) enum Completion {
    /// A buffered response, whole.
    Response(Bytes, Instant),
    /// A buffered response above [`MAX_BUFFERED_RESPONSE`] (drained, not kept).
    Oversized(Instant),
    /// `/error`: the function's error document.
    Error { body: Bytes, at: Instant },
    /// The streaming response mode: chunks as the function writes them, then its end.
    Stream {
        chunks: mpsc::Receiver<Bytes>,
        end: oneshot::Receiver<StreamEnd>,
    },
}

/// Where the process is in its init phase.
#[derive(Clone, Debug)]
pub(crate) enum Readiness {
    Starting,
    Ready(Instant),
    InitError { error_type: String, body: Bytes },
}

/// State shared between an environment's Runtime API server and its invocations.
pub(crate) struct RuntimeShared {
    deliveries: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    pub sender: mpsc::Sender<Delivery>,
    active: Mutex<Option<(String, oneshot::Sender<Completion>)>>,
    pub readiness: watch::Sender<Readiness>,
    pub delivered_at: Mutex<Option<Instant>>,
    /// What the process printed, line by line, not yet taken by an invocation's log.
    pub logs: Mutex<Vec<String>>,
    /// Lines the function printed before its first `/next` (its init output).
    pub init_lines: Mutex<Option<usize>>,
    /// Duplicates of the function's stdout and stderr pipes, to see what is still unread.
    pub pipes: Mutex<Vec<std::os::fd::OwnedFd>>,
}

impl RuntimeShared {
    /// A runtime with nothing delivered yet.
    pub fn new() -> Arc<RuntimeShared> {
        let (sender, receiver) = mpsc::channel(1);
        Arc::new(RuntimeShared {
            deliveries: tokio::sync::Mutex::new(receiver),
            sender,
            active: Mutex::new(None),
            readiness: watch::channel(Readiness::Starting).0,
            delivered_at: Mutex::new(None),
            logs: Mutex::new(Vec::new()),
            init_lines: Mutex::new(None),
            pipes: Mutex::new(Vec::new()),
        })
    }

    /// Waits (bounded) until the log readers have read everything the function wrote to its
    /// pipes so far, so the log tail holds what it printed before it answered.
    pub async fn drain_logs(&self) {
        let deadline = Instant::now() + LOG_DRAIN_LIMIT;
        loop {
            let unread = lock(&self.pipes)
                .iter()
                .any(|fd| rustix::io::ioctl_fionread(fd).is_ok_and(|n| n > 0));
            if !unread || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A line read but not yet pushed: let the readers finish it.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    /// The invocation `id` is answering, if it is the one in progress.
    fn take_active(&self, id: &str) -> Option<oneshot::Sender<Completion>> {
        let mut active = lock(&self.active);
        match active.take() {
            Some((request_id, done)) if request_id == id => Some(done),
            other => {
                *active = other;
                None
            }
        }
    }
}

/// An error document: `{"errorType", "errorMessage"}`.
pub(crate) fn error_document(error_type: &str, message: String) -> Bytes {
    Bytes::from(json!({"errorType": error_type, "errorMessage": message}).to_string())
}

/// The Runtime API of one environment.
pub(crate) fn router(shared: Arc<RuntimeShared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(shared)
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn next(State(shared): State<Arc<RuntimeShared>>) -> Response {
    shared.readiness.send_if_modified(|r| {
        if matches!(r, Readiness::Starting) {
            *lock(&shared.init_lines) = Some(lock(&shared.logs).len());
            *r = Readiness::Ready(Instant::now());
            true
        } else {
            false
        }
    });
    let delivery = { shared.deliveries.lock().await.recv().await };
    let Some(delivery) = delivery else {
        return StatusCode::GONE.into_response();
    };
    *lock(&shared.delivered_at) = Some(Instant::now());
    *lock(&shared.active) = Some((delivery.request_id.clone(), delivery.done));
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &delivery.request_id);
    put(
        "lambda-runtime-deadline-ms",
        &delivery.deadline_ms.to_string(),
    );
    put(
        "lambda-runtime-invoked-function-arn",
        &delivery.function_arn,
    );
    put(
        "lambda-runtime-trace-id",
        &format!(
            "Root=1-{}-{};Parent=0000000000000000;Sampled=0",
            &new_id()[..8],
            &new_id().replace('-', "")[..24]
        ),
    );
    put("content-type", "application/json");
    (StatusCode::OK, headers, delivery.payload).into_response()
}

fn invalid_request_id() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})),
    )
        .into_response()
}

/// `POST /response`: buffered (kept up to 6 MB, drained beyond) or, with
/// `Lambda-Runtime-Function-Response-Mode: streaming`, relayed chunk by chunk as the function
/// writes them, a mid-stream error arriving in the `Lambda-Runtime-Function-Error-*` trailers.
async fn response(
    State(shared): State<Arc<RuntimeShared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Some(done) = shared.take_active(&id) else {
        return invalid_request_id();
    };
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
    if streaming {
        stream_response(&headers, body, done).await;
    } else {
        buffer_response(body, done).await;
    }
    accepted()
}

/// A streamed response: chunks relayed as they come (the HTTP-integration content type's
/// metadata prelude consumed), the trailers' error kept for the end.
async fn stream_response(
    headers: &HeaderMap,
    mut body: axum::body::Body,
    done: oneshot::Sender<Completion>,
) {
    let (chunk_tx, chunks) = mpsc::channel(16);
    let (end_tx, end) = oneshot::channel();
    let _ = done.send(Completion::Stream { chunks, end });
    // The HTTP-integration content type starts with a metadata prelude (JSON, then 8 NUL
    // bytes) that Lambda consumes: it is not part of the response.
    let mut prelude = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/vnd.awslambda.http-integration-response")
        .then(Vec::new);
    let mut error = None;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        match frame.into_data() {
            Ok(data) => {
                let data = match prelude.as_mut() {
                    None => data,
                    Some(seen) => {
                        seen.extend_from_slice(&data);
                        match seen.windows(8).position(|w| w == [0u8; 8]) {
                            Some(at) => {
                                let rest = Bytes::copy_from_slice(&seen[at + 8..]);
                                prelude = None;
                                rest
                            }
                            // No delimiter within 64 KB: not a prelude after all.
                            None if seen.len() > 64 * 1024 => {
                                let all = Bytes::from(std::mem::take(seen));
                                prelude = None;
                                all
                            }
                            None => continue,
                        }
                    }
                };
                if !data.is_empty() {
                    let _ = chunk_tx.send(data).await;
                }
            }
            Err(frame) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(error_type) = trailers
                        .get("lambda-runtime-function-error-type")
                        .and_then(|v| v.to_str().ok())
                {
                    let message = trailers
                        .get("lambda-runtime-function-error-body")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    error = Some((error_type.to_string(), message.to_string()));
                }
            }
        }
    }
    drop(chunk_tx);
    let _ = end_tx.send(StreamEnd {
        at: Instant::now(),
        error,
    });
}

/// A response kept for `Invoke`: whole up to [`MAX_BUFFERED_RESPONSE`], drained beyond.
#[derive(Default)]
pub(super) struct Kept {
    bytes: Vec<u8>,
    oversized: bool,
}

impl Kept {
    /// Keeps `chunk`, unless the response is (or now becomes) too large to keep.
    pub(super) fn add(&mut self, chunk: &[u8]) {
        if self.bytes.len() + chunk.len() > MAX_BUFFERED_RESPONSE {
            self.oversized = true;
            self.bytes = Vec::new();
        } else if !self.oversized {
            self.bytes.extend_from_slice(chunk);
        }
    }

    /// The whole response, or `None` when it was too large.
    pub(super) fn finish(self) -> Option<Bytes> {
        (!self.oversized).then(|| Bytes::from(self.bytes))
    }
}

/// A buffered response: kept whole up to [`MAX_BUFFERED_RESPONSE`], drained beyond.
async fn buffer_response(mut body: axum::body::Body, done: oneshot::Sender<Completion>) {
    let mut kept = Kept::default();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            kept.add(&data);
        }
    }
    let at = Instant::now();
    let _ = done.send(match kept.finish() {
        Some(body) => Completion::Response(body, at),
        None => Completion::Oversized(at),
    });
}

/// The error type of an `/error` or `/init/error`: its header, else the document's.
fn error_type_of(headers: &HeaderMap, body: &Bytes) -> String {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| document_error_type(body))
        .unwrap_or_else(|| "Unhandled".to_string())
}

/// The `errorType` of an error document, when `body` is one.
pub(super) fn document_error_type(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("errorType")?
        .as_str()
        .map(str::to_string)
}

/// The body as an error document (a non-JSON body becomes the message of one).
pub(crate) fn as_error_document(error_type: &str, body: Bytes) -> Bytes {
    if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
        body
    } else {
        error_document(error_type, String::from_utf8_lossy(&body).into_owned())
    }
}

async fn error(
    State(shared): State<Arc<RuntimeShared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let error_type = error_type_of(&headers, &body);
    match shared.take_active(&id) {
        Some(done) => {
            let body = as_error_document(&error_type, body);
            let _ = done.send(Completion::Error { body, at });
            accepted()
        }
        None => invalid_request_id(),
    }
}

async fn init_error(
    State(shared): State<Arc<RuntimeShared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = error_type_of(&headers, &body);
    shared
        .readiness
        .send_replace(Readiness::InitError { error_type, body });
    accepted()
}

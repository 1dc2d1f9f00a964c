//! `InvokeWithResponseStream` (API reference, `InvokeWithResponseStream`): the response in AWS's
//! event-stream framing, a `PayloadChunk` per chunk as the function writes it, then
//! `InvokeComplete` with `LogResult`; a function error is `ErrorCode` `Unhandled` with the
//! function's error document in `ErrorDetails` (its `errorType` is inside, not in the code).
//! The invocation holds its concurrency slot until the function is done, whether or not the
//! caller is still reading.

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::invoke::Admitted;
use super::service::{Call, Service};
use crate::report::tail_base64;
use crate::runtime::Sink;

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
pub(super) async fn invoke_with_response_stream(call: Call) -> Response {
    let (name, qualifier) = call.function();
    let tail = call.tail();
    let service = &call.service;
    let body = call.bytes.clone();
    let response = start_streaming(service, &name, qualifier.as_deref(), tail, body);
    service.record(
        "InvokeWithResponseStream",
        &name,
        qualifier.as_deref(),
        response.status(),
    );
    response
}

/// Admits the invocation and starts it, answering at once with the event stream its frames
/// will flow into.
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
    let admitted = match service.admit_invocation(name, qualifier) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.response(),
    };
    let version = admitted.resolved.version.clone();
    let (chunk_tx, chunks) = tokio::sync::mpsc::channel::<Bytes>(16);
    let (frame_tx, frames) = tokio::sync::mpsc::channel::<Bytes>(16);
    let completion = spawn_invocation(service, admitted, body, chunk_tx, tail);
    tokio::spawn(relay_frames(chunks, completion, frame_tx));
    event_stream_response(frames, &version)
}

/// Runs an admitted invocation (see [`Admitted::spawn`]), its chunks sent to `chunk_tx`; the
/// task ends with the fields of `InvokeComplete`.
fn spawn_invocation(
    service: &Arc<Service>,
    admitted: Admitted,
    body: Bytes,
    chunk_tx: tokio::sync::mpsc::Sender<Bytes>,
    tail: bool,
) -> tokio::task::JoinHandle<serde_json::Map<String, Value>> {
    admitted.spawn(service, body, Sink::Stream(chunk_tx), move |result| {
        let mut complete = serde_json::Map::new();
        match result {
            Ok(result) => {
                if let Some(code) = result.function_error {
                    complete.insert("ErrorCode".into(), json!(code));
                    complete.insert(
                        "ErrorDetails".into(),
                        json!(String::from_utf8_lossy(&result.payload)),
                    );
                }
                if tail {
                    complete.insert("LogResult".into(), json!(tail_base64(&result.log)));
                }
            }
            Err(message) => {
                complete.insert("ErrorCode".into(), json!("InvalidRuntimeException"));
                complete.insert("ErrorDetails".into(), json!(message));
            }
        }
        complete
    })
}

/// Frames the function's chunks as `PayloadChunk` events, then, once the invocation is done,
/// `InvokeComplete`.
async fn relay_frames(
    mut chunks: tokio::sync::mpsc::Receiver<Bytes>,
    completion: tokio::task::JoinHandle<serde_json::Map<String, Value>>,
    frame_tx: tokio::sync::mpsc::Sender<Bytes>,
) {
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
    let complete = completion.await.unwrap_or_else(|_| {
        serde_json::Map::from_iter([("ErrorCode".to_string(), json!("ServiceException"))])
    });
    let _ = frame_tx
        .send(event(
            "InvokeComplete",
            "application/json",
            Bytes::from(Value::Object(complete).to_string()),
        ))
        .await;
}

/// The streaming response: the frames as they come, with the executed version.
fn event_stream_response(frames: tokio::sync::mpsc::Receiver<Bytes>, version: &str) -> Response {
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
    if let Ok(v) = HeaderValue::from_str(version) {
        headers.insert("x-amz-executed-version", v);
    }
    response
}

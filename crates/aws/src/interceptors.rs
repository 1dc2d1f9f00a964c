//! Interceptors on the SDK's own `Invoke` operations (the SDK's extension point, so its
//! signing, retries classification, connection poisoning and trace header all still apply):
//!
//! - [`ResponseHead`]: a client-wide hook that keeps only the first [`RESPONSE_HEAD`] bytes of
//!   a response and reads the rest off the connection without keeping it, so an Executor's
//!   memory does not grow with its target's responses (up to 6 MB each, SPEC §14). It replaces
//!   the body in `modify_before_deserialization`, before the SDK reads it into memory.
//! - [`FirstPoll`]: a per-call hook that notes when the HTTP client first reads the request
//!   body: the request has a ready connection (set up, TLS done) and its head is being written.
//!   Time to first byte is measured from there (SPEC §14), without signing or connecting.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Bytes of a response kept by [`ResponseHead`]: enough for any error document's message.
pub const RESPONSE_HEAD: usize = power_tuning_core::ports::RESPONSE_HEAD;

/// Keeps the first [`RESPONSE_HEAD`] bytes of every response.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseHead;

impl Intercept for ResponseHead {
    fn name(&self) -> &'static str {
        "ResponseHead"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let inner = context.response_mut().take_body();
        *context.response_mut().body_mut() = SdkBody::from_body_1_x(Head {
            inner,
            room: RESPONSE_HEAD,
        });
        Ok(())
    }
}

/// A response body cut to its first bytes; the rest is read and dropped, so the connection is
/// read to its end and goes back to the pool.
struct Head {
    inner: SdkBody,
    room: usize,
}

impl Body for Head {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        loop {
            let this = &mut *self;
            match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if this.room == 0 {
                        continue;
                    }
                    // A copy of what is kept: the frame may be a slice of the connection's
                    // read buffer, which a kept slice would hold on to for the whole response.
                    let kept = Bytes::copy_from_slice(&data[..data.len().min(this.room)]);
                    this.room -= kept.len();
                    return Poll::Ready(Some(Ok(Frame::data(kept))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Notes when the request body is first read: the request is on a ready connection.
#[derive(Debug, Clone, Default)]
pub struct FirstPoll {
    at: Arc<OnceLock<Instant>>,
}

impl FirstPoll {
    /// When the request was first sent on a ready connection, if it was.
    pub fn at(&self) -> Option<Instant> {
        self.at.get().copied()
    }
}

impl Intercept for FirstPoll {
    fn name(&self) -> &'static str {
        "FirstPoll"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let at = self.at.clone();
        let body = context.request_mut().take_body();
        *context.request_mut().body_mut() = body.map_preserve_contents(move |inner| {
            SdkBody::from_body_1_x(Stamped {
                inner,
                at: at.clone(),
            })
        });
        Ok(())
    }
}

/// A request body that notes when it is first polled.
struct Stamped {
    inner: SdkBody,
    at: Arc<OnceLock<Instant>>,
}

impl Body for Stamped {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.at.get_or_init(Instant::now);
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

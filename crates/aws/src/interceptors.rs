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
        *context.response_mut().body_mut() = SdkBody::from_body_1_x(Tapped {
            inner,
            room: Some(RESPONSE_HEAD),
            polled: None,
        });
        Ok(())
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
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let at = self.at.clone();
        let body = context.request_mut().take_body();
        *context.request_mut().body_mut() = body.map_preserve_contents(move |inner| {
            SdkBody::from_body_1_x(Tapped {
                inner,
                room: None,
                polled: Some(at.clone()),
            })
        });
        Ok(())
    }
}

/// A body watched on its way through the client: the time it is first polled noted
/// (`polled`, a request's: it is on a ready connection), and its data cut to the first `room`
/// bytes, the rest read and dropped so the connection is read to its end and goes back to the
/// pool (`room`, a response's), or passed on as it is.
struct Tapped {
    inner: SdkBody,
    room: Option<usize>,
    polled: Option<Arc<OnceLock<Instant>>>,
}

impl Body for Tapped {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(polled) = &self.polled {
            polled.get_or_init(Instant::now);
        }
        loop {
            let this = &mut *self;
            let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
            let Some(room) = this.room else {
                return Poll::Ready(frame);
            };
            match frame {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if room == 0 {
                        continue;
                    }
                    // A copy of what is kept: the frame may be a slice of the connection's
                    // read buffer, which a kept slice would hold on to for the whole response.
                    let kept = Bytes::copy_from_slice(&data[..data.len().min(room)]);
                    this.room = Some(room - kept.len());
                    return Poll::Ready(Some(Ok(Frame::data(kept))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.room {
            // Cut: its size is no longer the inner body's.
            Some(_) => SizeHint::default(),
            None => self.inner.size_hint(),
        }
    }
}

//! The fake's invoke path: admission (throttling, the version, a warm or cold environment), the
//! behaviour run in virtual time, and the answer as `Invoke` or `InvokeWithResponseStream`
//! gives it.

use std::time::Duration;

use base64::Engine as _;

use crate::fake::lambda::FakeLambda;
use crate::fake::log::fake_log;
use crate::fake::model::{Behavior, FakeInvocation, FakeLogFormat, FakeOutcome, Op};
use crate::fake::state::split_function;
use crate::ports::{
    Clock, InvokeOptions, InvokeOutput, InvokeRequest, LambdaError, StreamedOutput,
};

/// One invocation as asked for, the function's name and qualifier read from how it was named.
struct Request<'a> {
    /// `Invoke` or `InvokeWithResponseStream`.
    op: Op,
    /// The function as the caller named it (a name, an ARN or a qualified ARN).
    function: &'a str,
    /// The function's name.
    name: String,
    /// The qualifier given, else the one in a qualified ARN.
    qualifier: Option<String>,
    /// The request payload.
    payload: &'a [u8],
}

/// An invocation let in: what the function sees, and how to run and log it.
struct Admitted {
    invocation: FakeInvocation,
    behavior: Behavior,
    log_format: FakeLogFormat,
    /// Whether the function has reserved concurrency (else it uses the unreserved).
    reserved: bool,
}

/// One fake invocation's result, before it is shaped as `Invoke` or
/// `InvokeWithResponseStream` answers it.
pub(super) struct Ran {
    function_error: Option<String>,
    body: Vec<u8>,
    log_result: String,
    version: String,
    first_byte_ms: f64,
    incomplete_stream: bool,
}

impl FakeLambda {
    /// Runs the function's behaviour for one invocation (virtual time passes).
    pub(super) async fn run(&self, op: Op, call: InvokeRequest<'_>) -> Result<Ran, LambdaError> {
        let (name, embedded) = split_function(call.function);
        let request = Request {
            op,
            function: call.function,
            name,
            qualifier: call.qualifier.map(str::to_string).or(embedded),
            payload: call.payload,
        };
        let admitted = self.admit(&request)?;
        self.enter(admitted.reserved);
        let outcome = (admitted.behavior)(&admitted.invocation);
        self.clock
            .sleep(Duration::from_secs_f64(
                outcome.duration_ms.max(0.0) / 1000.0,
            ))
            .await;
        self.leave(&admitted.invocation, admitted.reserved);
        Ok(Ran::of(&admitted.invocation, &outcome, admitted.log_format))
    }

    /// The account's unreserved concurrency, and the invocations using it now.
    fn unreserved(&self) -> (u32, u32) {
        let state = self.lock();
        (state.unreserved(), state.unreserved_in_flight)
    }

    /// Logs the call and lets the invocation in: throttled past the function's concurrency,
    /// else on the version asked for, in a warm environment of it or a new (cold) one.
    fn admit(&self, request: &Request<'_>) -> Result<Admitted, LambdaError> {
        let (unreserved, unreserved_in_flight) = self.unreserved();
        let qualifier = request.qualifier.as_deref();
        self.on_function(
            request.op,
            request.function,
            qualifier,
            None,
            Some(request.payload),
            |f, _, _| {
                // Lambda's throttling past the reserved, else the unreserved, concurrency.
                let throttled = match f.reserved {
                    Some(reserved) => f.in_flight >= reserved,
                    None => unreserved_in_flight >= unreserved,
                };
                if throttled {
                    return Err(LambdaError::Throttled("Rate Exceeded.".to_string()));
                }
                f.in_flight += 1;
                let (version, conf) = Self::resolve(f, qualifier)?;
                let idle = f.idle_environments.entry(version.clone()).or_insert(0);
                let cold = *idle == 0;
                if !cold {
                    *idle -= 1;
                }
                Ok(Admitted {
                    invocation: FakeInvocation {
                        function: request.name.clone(),
                        version,
                        memory: conf.memory,
                        payload: request.payload.to_vec(),
                        cold,
                    },
                    behavior: f.behavior.clone(),
                    log_format: f.log_format,
                    reserved: f.reserved.is_some(),
                })
            },
        )
    }

    /// Counts an admitted invocation in flight (and the most in flight at once).
    fn enter(&self, reserved: bool) {
        let mut state = self.lock();
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        if !reserved {
            state.unreserved_in_flight += 1;
        }
    }

    /// An invocation is over: it leaves the flight, and its environment stays warm, idle.
    fn leave(&self, invocation: &FakeInvocation, reserved: bool) {
        let mut state = self.lock();
        state.in_flight -= 1;
        if !reserved {
            state.unreserved_in_flight -= 1;
        }
        if let Some(f) = state.functions.get_mut(&invocation.function) {
            f.in_flight -= 1;
            *f.idle_environments
                .entry(invocation.version.clone())
                .or_insert(0) += 1;
        }
    }
}

impl Ran {
    /// What an invocation that did `outcome` answers: its error document or its payload, and
    /// its log's tail.
    fn of(invocation: &FakeInvocation, outcome: &FakeOutcome, log_format: FakeLogFormat) -> Ran {
        let log = fake_log(invocation, outcome, log_format);
        let (function_error, body) = match &outcome.error {
            Some((t, m)) => (
                Some("Unhandled".to_string()),
                serde_json::json!({"errorType": t, "errorMessage": m})
                    .to_string()
                    .into_bytes(),
            ),
            None => (None, outcome.payload.clone()),
        };
        Ran {
            function_error,
            body,
            // The last 4 KB, cut by bytes, as Lambda's `LogResult`.
            log_result: base64::engine::general_purpose::STANDARD
                .encode(&log.as_bytes()[log.len().saturating_sub(4096)..]),
            version: invocation.version.clone(),
            first_byte_ms: outcome.first_byte_ms,
            incomplete_stream: outcome.incomplete_stream,
        }
    }

    /// The answer of `Invoke`: the response's head unless the whole is asked for, the log's
    /// tail when asked for.
    pub(super) fn into_invoke_output(self, options: InvokeOptions) -> InvokeOutput {
        let mut body = self.body;
        if !options.whole_response {
            body.truncate(crate::ports::RESPONSE_HEAD);
        }
        InvokeOutput {
            function_error: self.function_error,
            log_result: options.tail_logs.then_some(self.log_result),
            payload: body,
            executed_version: Some(self.version),
        }
    }

    /// The answer of `InvokeWithResponseStream`, its stream drained.
    pub(super) fn into_streamed_output(self) -> StreamedOutput {
        // As Lambda answers it: `ErrorCode` `Unhandled`, the function's error document in
        // `ErrorDetails`.
        let failed = self.function_error.is_some();
        StreamedOutput {
            time_to_first_byte: (!failed && !self.body.is_empty())
                .then(|| Duration::from_secs_f64(self.first_byte_ms / 1000.0)),
            response_bytes: if failed { 0 } else { self.body.len() as u64 },
            error_code: self.function_error.clone(),
            error_details: failed.then(|| String::from_utf8_lossy(&self.body).into_owned()),
            completed: !self.incomplete_stream,
            broken: None,
            log_result: Some(self.log_result),
            executed_version: Some(self.version),
        }
    }
}

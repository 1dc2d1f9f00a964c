//! Executor (SPEC §3.2): invoke one memory size's versions `num` times, read each REPORT, and
//! return that size's statistics. Target failures are reported per size, not thrown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::Value;

use crate::architecture::Architecture;
use crate::arn::FunctionArn;
use crate::error::HandlerError;
use crate::event::HandlerEvent;
use crate::handlers::{Deps, Invocation, input_of};
use crate::input::{InputError, TuningInput};
use crate::logs::{self, Report};
use crate::measurement::{self, PriceModel, Streamed};
use crate::output::{Stat, StatError};
use crate::payload::{self, Payload, PayloadSpec, S3Location};
use crate::ports::{
    Clock, InvokeOptions, InvokeOutput, InvokeRequest, LambdaApi, PayloadSource,
    PayloadSourceError, StreamedOutput,
};
use crate::pricing;
use crate::state::{Configuration, LambdaConfigurations, StateError};

/// Output of the Executor: one [`Stat`].
pub type ExecutorOutput = Stat;

/// One invocation's result: its report when it counts as a success, else its error.
struct Outcome {
    report: Option<Report>,
    error: Option<StatError>,
    /// With `responseStreaming`: time to first byte and response size.
    streamed: Option<Streamed>,
}

/// Memory one invocation in flight may hold beside its response: its connection's buffers
/// (hyper's read buffer grows to about 400 KiB while a large response streams in) and task;
/// benchmark B9 measured about 0.6–0.8 MiB per invocation in flight with 6 MB responses.
const CONNECTION_BUFFERS: usize = 1024 * 1024;
/// The largest response `Invoke` returns (6 MB).
const MAX_RESPONSE: usize = 6 * 1024 * 1024;

/// How many invocations run at once in parallel mode (SPEC §14): `maxParallelInvocations`,
/// within the concurrency the Initializer found for the target (`parallelism`), and within
/// what the Executor's memory holds: half of it for what each invocation in flight keeps.
/// That is its request (the SDK's request body owns a copy of the payload, `largest_payload`
/// bytes at most; with a pre-processor, whose answer of up to 6 MB becomes the payload, that
/// answer and the copy) and its response (the first 64 KiB; with a post-processor, the whole
/// response of up to 6 MB and the copy sent on to it), beside the connection's buffers.
fn parallelism(
    input: &TuningInput,
    concurrency: Option<u32>,
    memory_mb: u32,
    count: usize,
    largest_payload: usize,
) -> usize {
    let request = if input.pre_processor_arn.is_some() {
        2 * MAX_RESPONSE
    } else {
        largest_payload
    };
    let response = if input.post_processor_arn.is_some() {
        2 * MAX_RESPONSE
    } else {
        crate::ports::RESPONSE_HEAD
    };
    let budget = memory_mb as usize * 1024 * 1024 / 2;
    let memory = (budget / (request + response + CONNECTION_BUFFERS)).max(1);
    let concurrency = concurrency.map_or(usize::MAX, |c| c as usize);
    (input.max_parallel_invocations as usize)
        .min(concurrency)
        .min(memory)
        .clamp(1, count.max(1))
}

/// `Invocation error (running in series|parallel)[ with payload <json>] - original error type: "<t>", original error message: "<m>"`
/// and the processors' `PreProcessor <arn> failed[ with payload <json>] - ...`.
pub fn error_text(prefix: &str, payload: Option<&str>, error_type: &str, message: &str) -> String {
    let with = payload
        .map(|p| format!(" with payload {p}"))
        .unwrap_or_default();
    format!(
        "{prefix}{with} - original error type: \"{error_type}\", original error message: \"{message}\""
    )
}

/// The `errorType` and `errorMessage` of a failed invocation's response. The Executor keeps a
/// response's first 64 KiB (SPEC §14), so a long error document arrives cut: its fields before
/// the cut are still read (Node.js and the Rust runtime write `errorType` first; Python and Java
/// write `errorMessage` first, so theirs is read only when the document is whole).
fn error_fields(output: &InvokeOutput, function_error: &str) -> (String, String) {
    let fields = leading_fields(&output.payload);
    let field = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_string);
    (
        field("errorType").unwrap_or_else(|| function_error.to_string()),
        field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(&output.payload).into_owned()),
    )
}

/// The entries of the JSON object `bytes` holds, as far as it can be read: all of them when it
/// is whole, those before the cut when it was cut short; none when it is no object.
fn leading_fields(bytes: &[u8]) -> serde_json::Map<String, Value> {
    /// Collects entries into the map it borrows, so they outlive the error at the cut.
    struct Entries<'m>(&'m mut serde_json::Map<String, Value>);
    impl<'de> serde::de::Visitor<'de> for Entries<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                let value = map.next_value::<Value>()?;
                self.0.insert(key, value);
            }
            Ok(())
        }
    }
    let mut fields = serde_json::Map::new();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    // An error here is the cut (or no object): what was read before it stays.
    let _ = serde::Deserializer::deserialize_map(&mut deserializer, Entries(&mut fields));
    fields
}

/// A streamed invocation as `Invoke` would have answered it (SPEC §14): `InvokeComplete`'s
/// `ErrorCode` is a target error like `FunctionError`, and with `Unhandled` its `ErrorDetails`
/// holds the function's error document (its `errorType` is what `allowedExceptions` matches);
/// a stream that ended without `InvokeComplete` is a failed invocation, `StreamIncomplete`.
fn stream_outcome(streamed: &StreamedOutput) -> InvokeOutput {
    let document = |error_type: &str, message: &str| {
        serde_json::json!({"errorType": error_type, "errorMessage": message})
            .to_string()
            .into_bytes()
    };
    let (function_error, payload) = if !streamed.completed {
        let message = match &streamed.broken {
            None => "The response stream ended without InvokeComplete".to_string(),
            Some(why) => format!("The response stream ended without InvokeComplete ({why})"),
        };
        (
            Some("StreamIncomplete".to_string()),
            document("StreamIncomplete", &message),
        )
    } else if let Some(code) = &streamed.error_code {
        let details = streamed.error_details.as_deref().unwrap_or_default();
        let is_document = serde_json::from_str::<Value>(details)
            .is_ok_and(|d| d.get("errorType").is_some_and(Value::is_string));
        let payload = if is_document {
            details.as_bytes().to_vec()
        } else {
            document(code, details)
        };
        (Some(code.clone()), payload)
    } else {
        (None, Vec::new())
    };
    InvokeOutput {
        function_error,
        log_result: streamed.log_result.clone(),
        payload,
        executed_version: streamed.executed_version.clone(),
    }
}

/// Reads a `payloadS3` object with the contract's messages.
pub async fn fetch_payload<P: PayloadSource>(
    source: &P,
    location: &S3Location,
) -> Result<Value, HandlerError> {
    let S3Location { bucket, key } = location;
    match source.fetch(bucket, key).await {
        Ok(body) => Ok(payload::from_s3_body(&body)),
        Err(PayloadSourceError::AccessDenied) => Err(HandlerError::PayloadS3(format!(
            "Permission denied when trying to read s3://{bucket}/{key}. You might need to re-deploy the app with the correct payloadS3Bucket parameter."
        ))),
        Err(PayloadSourceError::NotFound) => Err(HandlerError::PayloadS3(format!(
            "The object s3://{bucket}/{key} does not exist. Make sure you are trying to access an existing object in the correct bucket."
        ))),
        Err(PayloadSourceError::Other(message)) => Err(HandlerError::PayloadS3(format!(
            "Unknown error when trying to read s3://{bucket}/{key}. {message}"
        ))),
    }
}

/// The memory size to run, as the run state describes it (validated).
struct Size {
    /// Memory size (MB).
    power: u32,
    /// The target function (unqualified ARN).
    function: String,
    /// Its versions at this size (one, or `num` with `onlyColdStarts`).
    versions: Vec<String>,
    /// Its architecture.
    architecture: Architecture,
    /// $ per ms at 128 MB for its region and architecture.
    base_price: f64,
    /// The concurrency the Initializer found for it.
    concurrency: Option<u32>,
}

impl Size {
    /// Reads the size from the event: its configuration and the run's target (checked, priced).
    fn of<L, P, C>(deps: &Deps<L, P, C>, event: &HandlerEvent) -> Result<Size, HandlerError> {
        let configuration: Configuration = event
            .configuration
            .clone()
            .ok_or(StateError::MissingConfiguration)
            .and_then(|c| {
                serde_json::from_value(c)
                    .map_err(|e| StateError::InvalidConfiguration(e.to_string()))
            })?;
        let run = LambdaConfigurations::from_state(&event.state).ok_or(StateError::MissingRun)?;
        let target = run
            .target_of(&configuration)
            .ok_or(StateError::UnknownTarget(configuration.target))?;
        let arn = FunctionArn::parse(&target.lambda_arn)
            .ok_or_else(|| StateError::InvalidTarget(target.lambda_arn.clone()))?;
        let architecture = target.original.architecture;
        let base_price = pricing::lambda_base_price(&deps.settings, arn.region(), architecture)?;
        let versions: Vec<String> = configuration.versions.qualifiers().collect();
        if versions.is_empty() {
            return Err(StateError::NoVersions(configuration.power).into());
        }
        Ok(Size {
            power: configuration.power,
            function: arn.as_str().to_string(),
            versions,
            architecture,
            base_price,
            concurrency: target.parallelism,
        })
    }
}

/// How the size is run: the input, the size, each invocation's payload and the mode.
struct Plan<'a> {
    input: &'a TuningInput,
    size: Size,
    payloads: payload::PayloadPlan,
    mode: &'static str,
}

impl<'a> Plan<'a> {
    /// Plans the invocations: their payloads (read from S3 for `payloadS3`) and the mode.
    async fn new<L, P: PayloadSource, C>(
        deps: &Deps<L, P, C>,
        input: &'a TuningInput,
        size: Size,
    ) -> Result<Plan<'a>, HandlerError> {
        let payload_value = match &input.payload {
            PayloadSpec::Inline(value) => value.clone(),
            PayloadSpec::S3(location) => Some(fetch_payload(&deps.payloads, location).await?),
        };
        let payloads = payload::PayloadPlan::new(input.num, payload_value.as_ref())
            .map_err(InputError::from)?;
        Ok(Plan {
            input,
            size,
            payloads,
            mode: if input.parallel_invocation {
                "parallel"
            } else {
                "series"
            },
        })
    }
}

impl Plan<'_> {
    fn version(&self, index: usize) -> &str {
        let versions = &self.size.versions;
        if self.input.only_cold_starts {
            &versions[index % versions.len()]
        } else {
            &versions[0]
        }
    }

    fn shown<'p>(&self, payload: &'p str) -> Option<&'p str> {
        (!self.input.disable_payload_logs).then_some(payload)
    }
}

/// Runs one memory size.
pub async fn handle<L: LambdaApi, P: PayloadSource, C: Clock>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<ExecutorOutput, HandlerError> {
    let event = &invocation.event;
    let input = input_of(event, &deps.settings)?;
    crate::handlers::use_role(deps, &input, invocation).await?;
    let size = Size::of(deps, event)?;
    let plan = Plan::new(deps, &input, size).await?;
    let count = input.invocations_per_size() as usize;
    let outcomes = if input.parallel_invocation {
        invoke_parallel(deps, &plan, count).await?
    } else {
        invoke_series(deps, &plan, count).await?
    };
    Ok(answer(deps, &plan, Tally::of(outcomes)))
}

/// Runs the invocations in parallel (SPEC §14), at most [`parallelism`] at once; none starts
/// after one failed. The outcomes come back in invocation order.
async fn invoke_parallel<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    plan: &Plan<'_>,
    count: usize,
) -> Result<Vec<Outcome>, HandlerError> {
    let stop = AtomicBool::new(false);
    let cap = parallelism(
        plan.input,
        plan.size.concurrency,
        deps.settings.memory_mb,
        count,
        plan.payloads.largest(),
    );
    let results: Vec<(usize, Option<Result<Outcome, HandlerError>>)> =
        futures::stream::iter(0..count)
            .map(|index| {
                let stop = &stop;
                async move {
                    if stop.load(Ordering::SeqCst) {
                        return (index, None);
                    }
                    let result = invoke_one(deps, plan, index).await;
                    if !matches!(&result, Ok(o) if o.error.is_none()) {
                        stop.store(true, Ordering::SeqCst);
                    }
                    (index, Some(result))
                }
            })
            .buffer_unordered(cap)
            .collect()
            .await;
    let mut ordered: Vec<(usize, Result<Outcome, HandlerError>)> = results
        .into_iter()
        .filter_map(|(i, r)| r.map(|r| (i, r)))
        .collect();
    ordered.sort_by_key(|(i, _)| *i);
    ordered.into_iter().map(|(_, r)| r).collect()
}

/// Runs the invocations one after another, `sleepBetweenRunsMs` apart, up to the first that
/// failed.
async fn invoke_series<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    plan: &Plan<'_>,
    count: usize,
) -> Result<Vec<Outcome>, HandlerError> {
    let mut outcomes = Vec::with_capacity(count);
    for index in 0..count {
        let outcome = invoke_one(deps, plan, index).await?;
        let failed = outcome.error.is_some();
        outcomes.push(outcome);
        if failed {
            break;
        }
        if plan.input.sleep_between_runs_ms > 0 {
            deps.clock
                .sleep(Duration::from_millis(plan.input.sleep_between_runs_ms))
                .await;
        }
    }
    Ok(outcomes)
}

/// The invocations of a size, added up.
struct Tally {
    invocations: u32,
    errors: u32,
    reports: Vec<Report>,
    streamed: Vec<Streamed>,
    /// The first failed invocation's error, in invocation order.
    first_error: Option<StatError>,
}

impl Tally {
    /// Adds up the outcomes, in invocation order.
    fn of(outcomes: Vec<Outcome>) -> Tally {
        let mut tally = Tally {
            invocations: outcomes.len() as u32,
            errors: outcomes.iter().filter(|o| o.error.is_some()).count() as u32,
            reports: Vec::with_capacity(outcomes.len()),
            streamed: Vec::new(),
            first_error: None,
        };
        for outcome in outcomes {
            tally.reports.extend(outcome.report);
            tally.streamed.extend(outcome.streamed);
            if tally.first_error.is_none() {
                tally.first_error = outcome.error;
            }
        }
        tally
    }
}

/// The size's [`Stat`]: failed with the first error, else measured from the reports (and
/// the streamed responses with `responseStreaming`).
fn answer<L, P, C>(deps: &Deps<L, P, C>, plan: &Plan<'_>, tally: Tally) -> Stat {
    let (input, power, invocations) = (plan.input, plan.size.power, tally.invocations);
    if let Some(error) = tally.first_error {
        tracing::error!(
            power,
            error = error.detail.as_deref().unwrap_or_default(),
            "memory size failed"
        );
        return Stat::failed(power, invocations, tally.errors, error);
    }
    tracing::info!(power, invocations, "executor finished");
    let stat = measurement::stat(
        power,
        &tally.reports,
        &PriceModel {
            base_price: plan.size.base_price,
            architecture: plan.size.architecture,
            discard: input.discard_top_bottom,
            cold_start_ratio: input.cold_start_ratio,
            monthly_invocations: input.monthly_invocations,
            request_price: deps.settings.request_cost,
        },
    );
    if input.response_streaming {
        measurement::with_streaming(stat, &tally.streamed, input.discard_top_bottom)
    } else {
        stat
    }
}

/// One invocation of the target at `index`, with the pre- and post-processors around it.
async fn invoke_one<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    plan: &Plan<'_>,
    index: usize,
) -> Result<Outcome, HandlerError> {
    let actual = pre_process(deps, plan, plan.payloads.at(index)).await?;
    let function = plan.size.function.as_str();
    let version = plan.version(index);
    if !plan.input.disable_payload_logs {
        tracing::debug!(version, payload = &*actual, "invoking");
    }
    let (output, streamed) = invoke_target(deps, plan, version, &actual).await?;
    let error = target_error(plan, &output, &actual);
    // A counted invocation must have a report (SPEC §3.5): a tail without one fails the
    // Executor, never reads as 0 ms. A failed one is not measured, so its tail is not needed.
    let report = match error {
        Some(_) => None,
        None => Some(
            logs::parse_log_result(output.log_result.as_deref()).map_err(|reason| {
                logs::InvalidLog {
                    reason,
                    function: function.to_string(),
                    version: version.to_string(),
                }
            })?,
        ),
    };
    post_process(deps, plan, &output).await?;
    Ok(Outcome {
        report,
        error,
        streamed,
    })
}

/// The payload the target gets: the pre-processor's answer when there is one and it is not
/// empty, else `payload`.
async fn pre_process<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    plan: &Plan<'_>,
    payload: &Payload,
) -> Result<Payload, HandlerError> {
    let Some(pre) = &plan.input.pre_processor_arn else {
        return Ok(payload.clone());
    };
    let output = deps
        .lambda
        .invoke(
            InvokeRequest {
                function: pre.as_str(),
                qualifier: None,
                payload: payload.as_bytes(),
            },
            InvokeOptions {
                tail_logs: false,
                // Its answer becomes the payload.
                whole_response: true,
            },
        )
        .await
        .map_err(|e| HandlerError::lambda(format!("Invoking pre-processor {pre}"), e))?;
    if let Some(function_error) = &output.function_error {
        let (t, m) = error_fields(&output, function_error);
        return Err(HandlerError::ProcessorFailed(error_text(
            &format!("PreProcessor {pre} failed"),
            plan.shown(payload),
            &t,
            &m,
        )));
    }
    if output.payload.is_empty() {
        Ok(payload.clone())
    } else {
        Ok(Payload::from(
            String::from_utf8_lossy(&output.payload).as_ref(),
        ))
    }
}

/// Invokes the target's `version` with `payload`: its answer (with the log's tail), and with
/// `responseStreaming` what the stream measured.
async fn invoke_target<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    plan: &Plan<'_>,
    version: &str,
    payload: &Payload,
) -> Result<(InvokeOutput, Option<Streamed>), HandlerError> {
    let function = plan.size.function.as_str();
    let context = || format!("Invoking {function}:{version}");
    let request = InvokeRequest {
        function,
        qualifier: Some(version),
        payload: payload.as_bytes(),
    };
    // A streamed response is drained, not kept: the post-processor gets an empty response.
    if plan.input.response_streaming {
        let streamed = deps
            .lambda
            .invoke_streaming(request)
            .await
            .map_err(|e| HandlerError::lambda(context(), e))?;
        let output = stream_outcome(&streamed);
        let measured = Streamed {
            first_byte_ms: streamed
                .time_to_first_byte
                .map(|d| d.as_secs_f64() * 1000.0),
            bytes: streamed.response_bytes,
        };
        return Ok((output, Some(measured)));
    }
    let output = deps
        .lambda
        .invoke(
            request,
            InvokeOptions {
                tail_logs: true,
                // A post-processor gets the whole response; else its head is enough.
                whole_response: plan.input.post_processor_arn.is_some(),
            },
        )
        .await
        .map_err(|e| HandlerError::lambda(context(), e))?;
    Ok((output, None))
}

/// The invocation's error, unless it succeeded or its `errorType` is one of the
/// `allowedExceptions`.
fn target_error(plan: &Plan<'_>, output: &InvokeOutput, payload: &str) -> Option<StatError> {
    let function_error = output.function_error.as_deref()?;
    let (error_type, error_message) = error_fields(output, function_error);
    if plan.input.allowed_exceptions.contains(&error_type) {
        return None;
    }
    let detail = error_text(
        &format!("Invocation error (running in {})", plan.mode),
        plan.shown(payload),
        &error_type,
        &error_message,
    );
    Some(StatError::new(error_type, error_message, Some(detail)))
}

/// Hands the target's response to the post-processor, when there is one; its failure fails the
/// Executor.
async fn post_process<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    plan: &Plan<'_>,
    output: &InvokeOutput,
) -> Result<(), HandlerError> {
    let Some(post) = &plan.input.post_processor_arn else {
        return Ok(());
    };
    let post_output = deps
        .lambda
        .invoke(
            InvokeRequest {
                function: post.as_str(),
                qualifier: None,
                payload: &output.payload,
            },
            InvokeOptions::default(),
        )
        .await
        .map_err(|e| HandlerError::lambda(format!("Invoking post-processor {post}"), e))?;
    if let Some(function_error) = &post_output.function_error {
        let (t, m) = error_fields(&post_output, function_error);
        let response = String::from_utf8_lossy(&output.payload);
        return Err(HandlerError::ProcessorFailed(error_text(
            &format!("PostProcessor {post} failed"),
            plan.shown(&response),
            &t,
            &m,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(extra: Value) -> TuningInput {
        let mut state = json!({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f", "num": 1000, "parallelInvocation": true});
        for (k, v) in extra.as_object().expect("object") {
            state[k] = v.clone();
        }
        TuningInput::from_state(&state, &[128]).expect("valid")
    }

    #[test]
    fn parallelism_fits_the_executors_memory_and_the_concurrency() {
        let arn = |name: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
        let null = 4;
        // 128 MB: half for what the invocations keep. Heads of 64 KiB + 1 MiB of buffers
        // (and a 4-byte `null`): 60 at once.
        assert_eq!(parallelism(&input(json!({})), None, 128, 1000, null), 60);
        // Whole responses for a post-processor and their copies: 64 MiB / (12 + 1 MiB) = 4.
        let post = input(json!({ "postProcessorARN": arn("post") }));
        assert_eq!(parallelism(&post, None, 128, 1000, null), 4);
        assert_eq!(parallelism(&post, None, 1024, 1000, null), 39);
        // A pre-processor's answer becomes the payload: it and the request's copy, 12 MiB.
        let pre = input(json!({ "preProcessorARN": arn("pre") }));
        assert_eq!(parallelism(&pre, None, 128, 1000, null), 4);
        let both = input(json!({ "preProcessorARN": arn("pre"), "postProcessorARN": arn("post") }));
        assert_eq!(parallelism(&both, None, 128, 1000, null), 2);
        // A 6 MiB payload (payloadS3): each request's copy counts, 64 MiB / (7 MiB + 64 KiB) = 9.
        assert_eq!(
            parallelism(&input(json!({})), None, 128, 1000, MAX_RESPONSE),
            9
        );
        // The concurrency the Initializer found, maxParallelInvocations and num cap it too.
        assert_eq!(parallelism(&input(json!({})), Some(4), 128, 1000, null), 4);
        assert_eq!(
            parallelism(
                &input(json!({"maxParallelInvocations": 3})),
                None,
                128,
                1000,
                null
            ),
            3
        );
        assert_eq!(parallelism(&input(json!({})), None, 128, 5, null), 5);
        assert_eq!(parallelism(&input(json!({})), Some(0), 128, 5, null), 1);
    }

    #[test]
    fn a_long_error_document_cut_at_its_head_keeps_its_type() {
        let message = "x".repeat(100 * 1024);
        // As Node.js and the Rust runtime write it: `errorType` first.
        let document = format!(r#"{{"errorType":"MyAllowed","errorMessage":"{message}"}}"#);
        let head = &document.as_bytes()[..crate::ports::RESPONSE_HEAD];
        let output = InvokeOutput {
            function_error: Some("Unhandled".into()),
            payload: head.to_vec(),
            ..InvokeOutput::default()
        };
        let (error_type, error_message) = error_fields(&output, "Unhandled");
        assert_eq!(error_type, "MyAllowed");
        // The message itself was cut: the head as text, as before.
        assert!(error_message.starts_with("{\"errorType\":\"MyAllowed\""));
        // Whole documents, and answers that are no object, read as they did.
        let whole = InvokeOutput {
            payload: br#"{"errorMessage":"m","errorType":"E","trace":[]}"#.to_vec(),
            ..output.clone()
        };
        assert_eq!(error_fields(&whole, "Unhandled"), ("E".into(), "m".into()));
        let text = InvokeOutput {
            payload: b"Task timed out".to_vec(),
            ..output
        };
        assert_eq!(
            error_fields(&text, "Unhandled"),
            ("Unhandled".into(), "Task timed out".into())
        );
    }

    #[test]
    fn stream_outcomes() {
        let complete = |code: Option<&str>, details: Option<&str>| StreamedOutput {
            error_code: code.map(str::to_string),
            error_details: details.map(str::to_string),
            completed: true,
            ..StreamedOutput::default()
        };
        let out = stream_outcome(&complete(None, None));
        assert_eq!((out.function_error, out.payload.len()), (None, 0));
        let out = stream_outcome(&complete(
            Some("Unhandled"),
            Some("{\"errorType\":\"E\",\"errorMessage\":\"m\"}"),
        ));
        assert_eq!(error_fields(&out, "Unhandled"), ("E".into(), "m".into()));
        let out = stream_outcome(&complete(Some("Function.Timeout"), Some("late")));
        assert_eq!(
            error_fields(&out, "Function.Timeout"),
            ("Function.Timeout".into(), "late".into())
        );
        let out = stream_outcome(&StreamedOutput::default());
        assert_eq!(out.function_error.as_deref(), Some("StreamIncomplete"));
        let out = stream_outcome(&StreamedOutput {
            broken: Some("reading the response stream of f: connection reset".into()),
            ..StreamedOutput::default()
        });
        assert_eq!(
            error_fields(&out, "StreamIncomplete"),
            (
                "StreamIncomplete".into(),
                "The response stream ended without InvokeComplete (reading the response stream of f: connection reset)".into()
            )
        );
    }
}

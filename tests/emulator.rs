//! The emulator driven by the real aws-sdk-lambda client: every call the tuner uses, the error
//! codes, the knobs, the CPU and memory model, and clean shutdown.

use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::{ProvideErrorMetadata as _, SdkError};
use aws_sdk_lambda::operation::delete_function::{DeleteFunctionError, DeleteFunctionOutput};
use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
use aws_sdk_lambda::operation::update_function_configuration::builders::UpdateFunctionConfigurationFluentBuilder as UpdateRequest;
use aws_sdk_lambda::operation::update_function_configuration::{
    UpdateFunctionConfigurationError, UpdateFunctionConfigurationOutput,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{LastUpdateStatus, LogType};
use power_tuning_core::logs::parse_log_result;
use power_tuning_emulator::{Emulator, FunctionSpec, Logging, Options};
use serde_json::Value;

use crate::support::{configuration, decode_log, example, lambda_client, publish, wait_updated};

fn options() -> Options {
    Options {
        control_plane_rps: 0,
        ..Options::default()
    }
}

/// Updates that stay `InProgress` for 300 ms.
fn slow_updates() -> Options {
    Options {
        update_delay: Duration::from_millis(300),
        ..options()
    }
}

/// One invocation at a time in the whole emulator.
fn one_at_a_time() -> Options {
    Options {
        concurrency: 1,
        ..options()
    }
}

fn spec(name: &str, example_name: &str, memory: u32) -> FunctionSpec {
    let mut spec = FunctionSpec::new(name, example(example_name));
    spec.memory = memory;
    spec.timeout = 30;
    spec.description = "original".to_string();
    spec
}

/// The emulator with `functions`, and an SDK client for it.
async fn start(options: Options, functions: Vec<FunctionSpec>) -> (Emulator, Client) {
    let emulator = Emulator::start(options, functions).await.expect("start");
    let client = lambda_client(emulator.endpoint());
    (emulator, client)
}

/// `Invoke` of `function` (at `qualifier`) with `payload` and the log tail; it must answer.
async fn invoke_json(
    client: &Client,
    function: &str,
    qualifier: Option<&str>,
    payload: &str,
) -> InvokeOutput {
    client
        .invoke()
        .function_name(function)
        .set_qualifier(qualifier.map(str::to_string))
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await
        .expect("invoke")
}

/// `Invoke` of `function`'s `$LATEST` with `payload`, as it answered (throttled or not).
async fn try_invoke(
    client: &Client,
    function: &str,
    payload: &str,
) -> Result<InvokeOutput, SdkError<InvokeError>> {
    client
        .invoke()
        .function_name(function)
        .payload(Blob::new(payload))
        .send()
        .await
}

/// `UpdateFunctionConfiguration` of `function` with what `set` sets.
async fn update(
    client: &Client,
    function: &str,
    set: impl FnOnce(UpdateRequest) -> UpdateRequest,
) -> Result<UpdateFunctionConfigurationOutput, SdkError<UpdateFunctionConfigurationError>> {
    let request = client
        .update_function_configuration()
        .function_name(function);
    set(request).send().await
}

/// `DeleteFunction` of one version of `function`.
async fn delete_version(
    client: &Client,
    function: &str,
    version: &str,
) -> Result<DeleteFunctionOutput, SdkError<DeleteFunctionError>> {
    client
        .delete_function()
        .function_name(function)
        .qualifier(version)
        .send()
        .await
}

/// The function's answer as JSON.
fn payload_json(out: &InvokeOutput) -> Value {
    serde_json::from_slice(out.payload().expect("payload").as_ref()).expect("json")
}

fn error_code<E: aws_sdk_lambda::error::ProvideErrorMetadata, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_lambda::error::SdkError<E, R>>,
) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e
            .as_service_error()
            .and_then(|s| s.code())
            .map(str::to_string)
            .unwrap_or_else(|| "<no code>".to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_calls_and_errors() {
    let (emulator, client) = start(slow_updates(), vec![spec("fn", "io_bound", 256)]).await;
    // Any region and partition resolve to the same function.
    for name in [
        "fn",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn",
        "arn:aws:lambda:eu-west-1:123456789012:function:fn",
    ] {
        let config = configuration(&client, name).await;
        assert_eq!(config.memory_size(), Some(256));
        assert_eq!(config.description(), Some("original"));
        assert_eq!(
            config.last_update_status(),
            Some(&LastUpdateStatus::Successful)
        );
    }
    assert_eq!(
        error_code(
            client
                .get_function_configuration()
                .function_name("missing")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );

    let updated = update(&client, "fn", |u| u.memory_size(512).description("tuning"))
        .await
        .expect("update");
    assert_eq!(
        updated.last_update_status(),
        Some(&LastUpdateStatus::InProgress)
    );
    assert_eq!(
        error_code(update(&client, "fn", |u| u.memory_size(1024)).await),
        "ResourceConflictException"
    );
    assert_eq!(
        error_code(client.publish_version().function_name("fn").send().await),
        "ResourceConflictException"
    );
    let status = wait_updated(&client, "fn").await;
    assert_eq!(
        (status.memory_size(), status.description()),
        (Some(512), Some("tuning"))
    );
    assert_eq!(
        error_code(update(&client, "fn", |u| u.memory_size(64)).await),
        "InvalidParameterValueException"
    );

    let v1 = publish(&client, "fn").await;
    assert_eq!(v1.version(), Some("1"));
    assert_eq!(v1.memory_size(), Some(512));
    let again = publish(&client, "fn").await;
    assert_eq!(
        again.version(),
        Some("1"),
        "nothing changed: same version, as on AWS"
    );
    let qualified = client
        .get_function_configuration()
        .function_name("fn")
        .qualifier("1")
        .send()
        .await
        .expect("get v1");
    assert_eq!(qualified.description(), Some("tuning"));

    // Aliases: `live` at version 1, once.
    let create_live = || {
        client
            .create_alias()
            .function_name("fn")
            .name("live")
            .function_version("1")
            .send()
    };
    let alias = create_live().await.expect("alias");
    assert_eq!(alias.function_version(), Some("1"));
    assert_eq!(error_code(create_live().await), "ResourceConflictException");
    let get_alias = |name: &str| client.get_alias().function_name("fn").name(name).send();
    assert_eq!(
        get_alias("live")
            .await
            .expect("get alias")
            .function_version(),
        Some("1")
    );
    assert_eq!(
        error_code(get_alias("nope").await),
        "ResourceNotFoundException"
    );
    assert_eq!(
        error_code(delete_version(&client, "fn", "1").await),
        "ResourceConflictException"
    );

    // A second version, then the alias moves and v1 can go.
    wait_updated(&client, "fn").await;
    update(&client, "fn", |u| u.description("v2"))
        .await
        .expect("update");
    wait_updated(&client, "fn").await;
    let v2 = publish(&client, "fn").await;
    assert_eq!(v2.version(), Some("2"));
    client
        .update_alias()
        .function_name("fn")
        .name("live")
        .function_version("2")
        .send()
        .await
        .expect("update alias");
    delete_version(&client, "fn", "1").await.expect("delete v1");
    assert_eq!(
        error_code(delete_version(&client, "fn", "1").await),
        "ResourceNotFoundException"
    );
    client
        .delete_alias()
        .function_name("fn")
        .name("live")
        .send()
        .await
        .expect("delete alias");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_paginated() {
    // Pagination, not updates, is what this checks: updates apply at once.
    let instant_updates = Options {
        update_delay: Duration::ZERO,
        ..options()
    };
    let (emulator, client) = start(instant_updates, vec![spec("fn", "io_bound", 128)]).await;
    for i in 0..60 {
        update(&client, "fn", |u| u.description(format!("d{i}")))
            .await
            .expect("update");
        publish(&client, "fn").await;
    }
    let mut seen = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_versions_by_function()
            .function_name("fn")
            .set_marker(marker)
            .max_items(50)
            .send()
            .await
            .expect("list");
        pages += 1;
        seen.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.version().map(str::to_string)),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 61);
    assert_eq!(seen[0], "$LATEST");
    assert_eq!(seen[60], "60");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_throttling_knob() {
    let three_a_second = Options {
        control_plane_rps: 3,
        ..Options::default()
    };
    let (emulator, client) = start(three_a_second, vec![spec("fn", "io_bound", 128)]).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        let result = client
            .get_function_configuration()
            .function_name("fn")
            .send()
            .await;
        codes.push(result.err().and_then(|e| {
            e.as_service_error()
                .and_then(|s| s.code())
                .map(str::to_string)
        }));
    }
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 3, "{codes:?}");
    assert!(
        codes
            .iter()
            .flatten()
            .all(|c| c == "TooManyRequestsException"),
        "{codes:?}"
    );
    let calls = emulator.calls();
    assert_eq!(calls.iter().filter(|c| c.status == 429).count(), 2);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_cold_then_warm_with_reports() {
    let (emulator, client) = start(options(), vec![spec("echo", "recorder", 256)]).await;
    let cold = invoke_json(&client, "echo", None, "{\"hello\":1}").await;
    assert_eq!(
        cold.payload().map(|p| p.as_ref()),
        Some(&b"{\"hello\":1}"[..])
    );
    assert_eq!(cold.executed_version(), Some("$LATEST"));
    assert_eq!(cold.function_error(), None);
    let log = decode_log(cold.log_result());
    assert!(
        log.contains("START RequestId: ") && log.contains("received {\"hello\":1}"),
        "{log}"
    );
    let report = parse_log_result(cold.log_result()).expect("report");
    assert!(
        report.init_duration > 0.0,
        "cold start has Init Duration: {log}"
    );
    assert!(report.duration > 0.0 && report.billed_duration >= report.duration.ceil());
    assert!(log.contains("Memory Size: 256 MB"), "{log}");

    let warm = invoke_json(&client, "echo", None, "{\"hello\":2}").await;
    let report = parse_log_result(warm.log_result()).expect("report");
    assert_eq!(report.init_duration, 0.0, "warm: no Init Duration");
    assert_eq!(emulator.live_processes(), 1, "the environment was reused");

    // A new version runs in a new environment.
    update(&client, "echo", |u| u.memory_size(512))
        .await
        .expect("update");
    wait_updated(&client, "echo").await;
    let v1 = publish(&client, "echo").await;
    let versioned = invoke_json(&client, "echo", v1.version(), "1").await;
    assert_eq!(versioned.executed_version(), Some("1"));
    assert!(
        parse_log_result(versioned.log_result())
            .expect("report")
            .init_duration
            > 0.0
    );
    assert!(decode_log(versioned.log_result()).contains("Memory Size: 512 MB"));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_timeouts_and_json_logs() {
    let mut slow = spec("slow", "io_bound", 128);
    slow.timeout = 1;
    let mut json_logs = spec("json", "recorder", 128);
    json_logs.logging = Logging::json();
    let (emulator, client) = start(
        options(),
        vec![spec("failing", "failing", 128), slow, json_logs],
    )
    .await;

    let failed = invoke_json(&client, "failing", None, "{}").await;
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let body = payload_json(&failed);
    assert_eq!(body["errorType"], "IntentionalError");
    assert_eq!(body["errorMessage"], "this function always fails");

    let timed_out = invoke_json(&client, "slow", None, "{\"sleepMs\": 3000}").await;
    assert_eq!(timed_out.function_error(), Some("Unhandled"));
    let body = payload_json(&timed_out);
    assert_eq!(body["errorType"], "Sandbox.Timedout");
    assert!(
        body["errorMessage"]
            .as_str()
            .expect("message")
            .ends_with("Task timed out after 1.00 seconds")
    );
    assert!(decode_log(timed_out.log_result()).contains("Task timed out after 1.00 seconds"));
    let report = parse_log_result(timed_out.log_result()).expect("report");
    assert!(
        (report.duration - 1000.0).abs() < 50.0,
        "{}",
        report.duration
    );
    assert_eq!(
        emulator.live_processes(),
        1,
        "the timed-out environment was killed; the failing one stays warm"
    );

    let json = invoke_json(&client, "json", None, "{\"a\":1}").await;
    let log = decode_log(json.log_result());
    assert!(log.contains("\"type\":\"platform.initStart\""), "{log}");
    let report = parse_log_result(json.log_result()).expect("platform.report");
    assert!(report.duration > 0.0 && report.init_duration > 0.0 && report.max_memory_used > 0.0);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_knob_and_overlapping_environments() {
    let (emulator, client) = start(one_at_a_time(), vec![spec("io", "io_bound", 128)]).await;
    let (a, b) = tokio::join!(try_invoke(&client, "io", "{\"sleepMs\": 500}"), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        try_invoke(&client, "io", "{\"sleepMs\": 10}").await
    });
    assert!(a.is_ok());
    assert_eq!(error_code(b), "TooManyRequestsException");
    emulator.shutdown().await;

    let (emulator, client) = start(options(), vec![spec("io", "io_bound", 128)]).await;
    let (a, b) = tokio::join!(
        invoke_json(&client, "io", None, "{\"sleepMs\": 300}"),
        invoke_json(&client, "io", None, "{\"sleepMs\": 300}"),
    );
    for out in [a, b] {
        assert!(
            parse_log_result(out.log_result())
                .expect("report")
                .init_duration
                > 0.0,
            "both cold: two environments"
        );
    }
    assert_eq!(emulator.live_processes(), 2);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limit_and_max_memory_used() {
    let (emulator, client) = start(
        options(),
        vec![
            spec("small", "memory_hungry", 128),
            spec("big", "memory_hungry", 512),
        ],
    )
    .await;
    let oom = invoke_json(&client, "small", None, "{\"megabytes\": 200}").await;
    assert_eq!(oom.function_error(), Some("Unhandled"));
    let body = payload_json(&oom);
    assert_eq!(body["errorType"], "Runtime.OutOfMemory", "{body}");

    let ok = invoke_json(&client, "big", None, "{\"megabytes\": 120}").await;
    assert_eq!(ok.function_error(), None);
    let body = payload_json(&ok);
    let peak = body["peakRssMb"].as_f64().expect("peak");
    let reported = parse_log_result(ok.log_result())
        .expect("report")
        .max_memory_used;
    assert!(
        (reported - peak).abs() <= peak * 0.10,
        "Max Memory Used {reported} MB vs peak RSS {peak} MB"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_share_follows_memory() {
    let (emulator, client) = start(
        options(),
        vec![
            spec("cpu256", "cpu_bound", 256),
            spec("cpu1024", "cpu_bound", 1024),
        ],
    )
    .await;
    if emulator.cgroup_version().is_none() {
        eprintln!("SKIPPED cpu_share_follows_memory: cgroups are not writable here");
        emulator.shutdown().await;
        return;
    }
    let duration =
        |out: &InvokeOutput| parse_log_result(out.log_result()).expect("report").duration;
    let mut small = Vec::new();
    let mut large = Vec::new();
    for _ in 0..3 {
        small.push(duration(&invoke_json(&client, "cpu256", None, "{}").await));
        large.push(duration(&invoke_json(&client, "cpu1024", None, "{}").await));
    }
    small.sort_by(f64::total_cmp);
    large.sort_by(f64::total_cmp);
    let (s, l) = (small[1], large[1]);
    assert!(
        s >= 3.0 * l,
        "256 MB median {s:.1} ms should be ≥ 3× 1024 MB median {l:.1} ms"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_left_after_shutdown() {
    let (emulator, client) = start(
        options(),
        vec![spec("io", "io_bound", 128), spec("echo", "recorder", 256)],
    )
    .await;
    let (_, _, _) = tokio::join!(
        invoke_json(&client, "io", None, "{\"sleepMs\": 50}"),
        invoke_json(&client, "io", None, "{\"sleepMs\": 50}"),
        invoke_json(&client, "echo", None, "{}"),
    );
    let pids = emulator.live_pids();
    assert_eq!(pids.len(), 3);
    let dirs = emulator.cgroup_dirs();
    assert!(
        pids.iter()
            .all(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
    );
    emulator.shutdown().await;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        assert!(
            status.is_empty() || status.contains("State:\tZ"),
            "process {pid} still running"
        );
    }
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_with_response_stream_in_event_stream_framing() {
    use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent as Event;
    let (emulator, client) = start(
        options(),
        vec![
            spec("io", "io_bound", 256),
            spec("fail", "failing", 256),
            spec("stream", "streaming", 256),
        ],
    )
    .await;
    let read = |function: &'static str, payload: &'static str| {
        let client = client.clone();
        async move {
            let mut out = client
                .invoke_with_response_stream()
                .function_name(function)
                .log_type(LogType::Tail)
                .payload(Blob::new(payload))
                .send()
                .await
                .expect("stream");
            let (mut chunks, mut body, mut complete) = (0, Vec::new(), None);
            while let Some(event) = out.event_stream.recv().await.expect("event") {
                match event {
                    Event::PayloadChunk(c) => {
                        chunks += 1;
                        body.extend_from_slice(c.payload().expect("payload").as_ref());
                    }
                    Event::InvokeComplete(c) => complete = Some(c),
                    _ => {}
                }
            }
            (chunks, body, complete.expect("InvokeComplete"))
        }
    };
    // A buffered function: its whole answer in one chunk, then the log tail.
    let (chunks, body, complete) = read("io", "{\"sleepMs\": 10}").await;
    assert_eq!(
        (chunks, body.as_slice()),
        (1, b"{\"sleptMs\":10}".as_slice())
    );
    assert_eq!(complete.error_code(), None);
    assert!(decode_log(complete.log_result()).contains("REPORT RequestId:"));
    // A streaming function: many chunks, the metadata prelude not among them.
    let (chunks, body, complete) = read(
        "stream",
        "{\"bytes\": 300000, \"chunkBytes\": 10000, \"delayMs\": 0}",
    )
    .await;
    assert!(chunks >= 10, "{chunks} chunks");
    assert_eq!(body.len(), 300_000);
    assert!(body.iter().all(|b| *b == b'x'));
    assert_eq!(complete.error_code(), None);
    // A failure: ErrorCode and ErrorDetails in InvokeComplete.
    let (_, _, complete) = read("fail", "{}").await;
    assert!(complete.error_code().is_some_and(|c| !c.is_empty()));
    assert!(complete.error_details().is_some());
    emulator.shutdown().await;
}

/// A `.zip` holding `bootstrap` (the example's binary), base64-free bytes.
fn bootstrap_zip(example_name: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).expect("zip entry");
    zip.write_all(&std::fs::read(example(example_name)).expect("binary"))
        .expect("zip write");
    zip.finish().expect("zip").into_inner()
}

/// The JSON log format as Lambda writes it for a custom runtime (Lambda Developer Guide,
/// "Configuring JSON and plain text log formats", "Log-level filtering"; API reference,
/// `LoggingConfig`): set by `CreateFunction` and `UpdateFunctionConfiguration`, returned by
/// `GetFunctionConfiguration`, the function's own lines plain between JSON system records, and
/// no `platform.report` with `SystemLogLevel` WARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_format_as_lambda_writes_it_for_a_custom_runtime() {
    use aws_sdk_lambda::types::{FunctionCode, LogFormat, LoggingConfig, Runtime, SystemLogLevel};
    let (emulator, client) = start(options(), vec![spec("chatty", "chatty", 256)]).await;
    let config = configuration(&client, "chatty").await;
    let logging = config.logging_config().expect("LoggingConfig");
    assert_eq!(logging.log_format(), Some(&LogFormat::Text));
    assert_eq!(logging.log_group(), Some("/aws/lambda/chatty"));
    assert_eq!(logging.system_log_level(), None, "levels only with JSON");

    // Text: about 8 KB of lines, so the 4 KB tail starts inside them.
    let text = invoke_json(&client, "chatty", None, "{}").await;
    let tail = decode_log(text.log_result());
    assert!(tail.len() <= 4096 && !tail.starts_with("START"), "{tail}");
    let text_report = parse_log_result(text.log_result()).expect("REPORT");
    assert!(text_report.duration > 0.0);

    // JSON: the levels default to INFO.
    let updated = update(&client, "chatty", |u| {
        u.logging_config(LoggingConfig::builder().log_format(LogFormat::Json).build())
    })
    .await
    .expect("update to JSON");
    let logging = updated.logging_config().expect("LoggingConfig");
    assert_eq!(logging.log_format(), Some(&LogFormat::Json));
    assert_eq!(logging.system_log_level(), Some(&SystemLogLevel::Info));
    wait_updated(&client, "chatty").await;
    let json = invoke_json(&client, "chatty", None, "{}").await;
    let tail = decode_log(json.log_result());
    let lines: Vec<&str> = tail.lines().collect();
    assert!(
        lines[1..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("processing record")),
        "plain lines stay plain: {tail}"
    );
    assert!(lines[lines.len() - 1].contains("\"type\":\"platform.report\""));
    let json_report = parse_log_result(json.log_result()).expect("platform.report");
    assert!(json_report.duration > 0.0 && json_report.init_duration > 0.0);

    // SystemLogLevel WARN: no platform.report; the tail holds the plain lines only.
    update(&client, "chatty", |u| {
        u.logging_config(
            LoggingConfig::builder()
                .system_log_level(SystemLogLevel::Warn)
                .build(),
        )
    })
    .await
    .expect("update to WARN");
    wait_updated(&client, "chatty").await;
    let warn = invoke_json(&client, "chatty", None, "{}").await;
    assert!(!decode_log(warn.log_result()).contains("platform."));
    assert_eq!(
        parse_log_result(warn.log_result()),
        Err(power_tuning_core::logs::LogError::NoReportLine)
    );

    // Levels with the text format are refused.
    let refused = update(&client, "chatty", |u| {
        u.logging_config(
            LoggingConfig::builder()
                .log_format(LogFormat::Text)
                .system_log_level(SystemLogLevel::Warn)
                .build(),
        )
    })
    .await;
    let message = refused
        .as_ref()
        .err()
        .and_then(|e| e.as_service_error())
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_string();
    assert_eq!(error_code(refused), "InvalidParameterValueException");
    assert!(message.starts_with("LogLevel is not supported when LogFormat is set to \"Text\""));

    // CreateFunction with a LoggingConfig, from a .zip holding bootstrap.
    let created = client
        .create_function()
        .function_name("created")
        .runtime(Runtime::Providedal2023)
        .role("arn:aws:iam::123456789012:role/emulator")
        .handler("bootstrap")
        .memory_size(512)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(bootstrap_zip("chatty")))
                .build(),
        )
        .logging_config(
            LoggingConfig::builder()
                .log_format(LogFormat::Json)
                .system_log_level(SystemLogLevel::Warn)
                .build(),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(created.memory_size(), Some(512));
    assert_eq!(
        created.logging_config().and_then(|l| l.system_log_level()),
        Some(&SystemLogLevel::Warn)
    );
    let out = invoke_json(&client, "created", None, "{\"lines\": 3}").await;
    assert_eq!(out.function_error(), None);
    assert_eq!(decode_log(out.log_result()).lines().count(), 3);
    assert_eq!(
        error_code(
            client
                .create_function()
                .function_name("created")
                .runtime(Runtime::Providedal2023)
                .role("r")
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(bootstrap_zip("chatty")))
                        .build()
                )
                .send()
                .await
        ),
        "ResourceConflictException"
    );
    emulator.shutdown().await;
}

/// A caller that goes away mid-invoke does not stop the function (as on Lambda), and its
/// concurrency slot comes back when the function is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_mid_invoke_gives_its_slot_back() {
    let (emulator, client) = start(one_at_a_time(), vec![spec("io", "io_bound", 128)]).await;
    // Gone after 150 ms, while the function sleeps 600 ms.
    let impatient = tokio::time::timeout(
        Duration::from_millis(150),
        invoke_json(&client, "io", None, "{\"sleepMs\": 600}"),
    )
    .await;
    assert!(impatient.is_err(), "the caller gave up");
    assert_eq!(emulator.in_flight(), 1, "the function still runs");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match try_invoke(&client, "io", "{}").await {
            Ok(out) => {
                assert_eq!(out.function_error(), None);
                break;
            }
            Err(e) => {
                assert_eq!(
                    e.as_service_error().and_then(|s| s.code()),
                    Some("TooManyRequestsException")
                );
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the slot never came back"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert_eq!(emulator.in_flight(), 0);
    emulator.shutdown().await;
}

/// Reserved concurrency and the account's (API reference: `PutFunctionConcurrency`,
/// `GetFunctionConcurrency`, `DeleteFunctionConcurrency`, `GetAccountSettings`; `Invoke`'s
/// `TooManyRequestsException` with its `Reason`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_and_account_concurrency() {
    use aws_sdk_lambda::types::ThrottleReason;
    let account = Options {
        concurrency: 200,
        ..options()
    };
    let (emulator, client) = start(
        account,
        vec![spec("io", "io_bound", 128), spec("other", "io_bound", 128)],
    )
    .await;
    let reserved = |name: &'static str| {
        let client = client.clone();
        async move {
            client
                .get_function_concurrency()
                .function_name(name)
                .send()
                .await
                .expect("get concurrency")
                .reserved_concurrent_executions()
        }
    };
    assert_eq!(reserved("io").await, None, "none set");
    let settings = client
        .get_account_settings()
        .send()
        .await
        .expect("settings");
    let limit = settings.account_limit().expect("limit");
    assert_eq!(
        (
            limit.concurrent_executions(),
            limit.unreserved_concurrent_executions()
        ),
        (200, Some(200))
    );
    client
        .put_function_concurrency()
        .function_name("io")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .expect("reserve 1");
    assert_eq!(reserved("io").await, Some(1));
    let settings = client
        .get_account_settings()
        .send()
        .await
        .expect("settings");
    assert_eq!(
        settings
            .account_limit()
            .and_then(|l| l.unreserved_concurrent_executions()),
        Some(199)
    );
    // At least 100 stay unreserved.
    assert_eq!(
        error_code(
            client
                .put_function_concurrency()
                .function_name("other")
                .reserved_concurrent_executions(100)
                .send()
                .await
        ),
        "InvalidParameterValueException"
    );
    // One at a time for io: the second is throttled with the reserved reason.
    let (a, b) = tokio::join!(
        invoke_json(&client, "io", None, "{\"sleepMs\": 400}"),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            try_invoke(&client, "io", "{}").await
        }
    );
    assert_eq!(a.function_error(), None);
    match b.expect_err("throttled").into_service_error() {
        InvokeError::TooManyRequestsException(e) => {
            assert_eq!(
                e.reason(),
                Some(&ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
            );
            assert_eq!(e.message(), Some("Rate Exceeded."));
        }
        other => panic!("expected TooManyRequestsException, got {other:?}"),
    }
    // Reserved 0: never invoked.
    client
        .put_function_concurrency()
        .function_name("io")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("reserve 0");
    assert_eq!(
        error_code(try_invoke(&client, "io", "{}").await),
        "TooManyRequestsException"
    );
    client
        .delete_function_concurrency()
        .function_name("io")
        .send()
        .await
        .expect("delete");
    assert_eq!(reserved("io").await, None);
    assert_eq!(
        invoke_json(&client, "io", None, "{}")
            .await
            .function_error(),
        None
    );
    emulator.shutdown().await;
}

/// `RevisionId` moves on when an update completes: the one `UpdateFunctionConfiguration`
/// answered with is stale for a `PublishVersion` after the update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_id_changes_when_an_update_completes() {
    let (emulator, client) = start(slow_updates(), vec![spec("f", "io_bound", 128)]).await;
    let updated = update(&client, "f", |u| u.memory_size(256))
        .await
        .expect("update");
    assert_eq!(
        updated.last_update_status(),
        Some(&LastUpdateStatus::InProgress)
    );
    let during = updated.revision_id().expect("revision").to_string();
    let done = wait_updated(&client, "f").await;
    let after = done.revision_id().expect("revision").to_string();
    assert_ne!(during, after);
    assert_eq!(
        error_code(
            client
                .publish_version()
                .function_name("f")
                .revision_id(&during)
                .send()
                .await
        ),
        "PreconditionFailedException"
    );
    client
        .publish_version()
        .function_name("f")
        .revision_id(&after)
        .send()
        .await
        .expect("publish at the current revision");
    emulator.shutdown().await;
}

//! One scenario, two Lambda models: core's in-memory fake (what the handler tests run on) and the
//! emulator (what the end-to-end tests and local runs use), both through the `LambdaApi` port
//! the handlers call. The transcripts must be equal, so the two models cannot drift apart on
//! the rules the tuner depends on: conflicts during updates, the same version for an unchanged
//! publish, alias-protected versions, validation, not-found.

use std::time::Duration;

use power_tuning_aws::lambda::SdkLambda;
use std::sync::Arc;

use power_tuning_core::fake::{
    FakeClock, FakeInvocation, FakeLambda, FakeLogFormat, FakeOutcome, cpu_bound,
};
use power_tuning_core::logs::parse_log_result;
use power_tuning_core::ports::{
    AliasTarget, Clock, ConfigUpdate, FunctionConfig, InvokeOptions, InvokeRequest, LambdaApi,
    LambdaError, UpdateStatus,
};
use power_tuning_core::update;
use power_tuning_emulator::{Emulator, FunctionSpec, LogLevel, Logging, Options};

use crate::support::{example, lambda_client, wait_updated};

/// An `Invoke` with the log tail.
const TAIL: InvokeOptions = InvokeOptions {
    tail_logs: true,
    whole_response: false,
};

/// How long an update stays `InProgress` in both models.
const UPDATE_DELAY: Duration = Duration::from_millis(1500);

/// A call's outcome, without the models' wording.
fn outcome<T>(result: Result<T, LambdaError>, show: impl Fn(&T) -> String) -> String {
    match result {
        Ok(value) => show(&value),
        Err(LambdaError::NotFound(_)) => "NotFound".into(),
        Err(LambdaError::Conflict(_)) => "Conflict".into(),
        Err(LambdaError::InvalidRequest { .. }) => "InvalidRequest".into(),
        Err(LambdaError::PreconditionFailed(_)) => "PreconditionFailed".into(),
        Err(other) => format!("unexpected {other}"),
    }
}

fn config(c: &FunctionConfig) -> String {
    let status = match c.last_update_status {
        Some(UpdateStatus::Successful) => "Successful",
        Some(UpdateStatus::InProgress) => "InProgress",
        Some(UpdateStatus::Failed) => "Failed",
        None => "-",
    };
    format!("{} {}MB {status}", c.version, c.memory_size)
}

/// The scenario, on any model of Lambda: the transcript of every step.
async fn scenario(lambda: &impl LambdaApi, clock: &impl Clock, arn: &str) -> Vec<String> {
    let mut t = Vec::new();
    let deadline = clock.now() + Duration::from_secs(30);
    t.push(outcome(lambda.get_configuration(arn, None).await, config));
    let updated = lambda
        .update_configuration(arn, ConfigUpdate::new(512, "tuning"))
        .await;
    // The revision the update answered with, stale once the update completes.
    let updating_revision = updated.as_ref().ok().and_then(|c| c.revision_id.clone());
    t.push(outcome(updated, config));
    // While the update is applied: no second update, no publish.
    t.push(outcome(
        lambda
            .update_configuration(arn, ConfigUpdate::new(1024, "again"))
            .await,
        config,
    ));
    t.push(outcome(lambda.publish_version(arn, None).await, config));
    t.push(outcome(lambda.get_configuration(arn, None).await, config));
    t.push(outcome(
        update::wait_until_ready(
            lambda,
            clock,
            arn,
            clock.now(),
            &mut update::Pacing::new(),
            deadline,
        )
        .await
        .map_err(|e| LambdaError::Transport(e.to_string())),
        config,
    ));
    // Lambda gives `$LATEST` a new RevisionId when an update completes.
    t.push(outcome(
        lambda
            .publish_version(arn, updating_revision.as_deref())
            .await,
        config,
    ));
    // Publishing twice without a change gives the same version.
    t.push(outcome(lambda.publish_version(arn, None).await, config));
    t.push(outcome(lambda.publish_version(arn, None).await, config));
    // Optimistic concurrency: a stale RevisionId is refused, the current one accepted.
    t.push(outcome(
        lambda.publish_version(arn, Some("stale")).await,
        config,
    ));
    t.push(outcome(
        lambda
            .update_configuration(
                arn,
                ConfigUpdate::new(512, "tuning").at_revision(Some("stale")),
            )
            .await,
        config,
    ));
    let current = lambda
        .get_configuration(arn, None)
        .await
        .ok()
        .and_then(|c| c.revision_id);
    t.push(outcome(
        lambda.publish_version(arn, current.as_deref()).await,
        config,
    ));
    t.push(outcome(
        lambda.get_configuration(arn, Some("1")).await,
        config,
    ));
    t.push(outcome(
        lambda.get_configuration(arn, Some("99")).await,
        config,
    ));
    // Validation.
    t.push(outcome(
        lambda
            .update_configuration(arn, ConfigUpdate::new(64, "small"))
            .await,
        config,
    ));
    // Aliases protect their versions and need an existing version.
    let alias = |a: &power_tuning_core::ports::AliasConfig| format!("alias {}", a.function_version);
    t.push(outcome(
        lambda
            .create_alias(arn, AliasTarget::new("live", "1"))
            .await,
        alias,
    ));
    t.push(outcome(
        lambda
            .create_alias(arn, AliasTarget::new("live", "1"))
            .await,
        alias,
    ));
    t.push(outcome(
        lambda
            .create_alias(arn, AliasTarget::new("ghost", "99"))
            .await,
        alias,
    ));
    t.push(outcome(
        lambda
            .update_alias(arn, AliasTarget::new("live", "99"))
            .await,
        alias,
    ));
    t.push(outcome(lambda.get_alias(arn, "nope").await, alias));
    t.push(outcome(lambda.delete_version(arn, "1").await, |_| {
        "deleted".into()
    }));
    t.push(outcome(lambda.delete_version(arn, "99").await, |_| {
        "deleted".into()
    }));
    t.push(outcome(lambda.delete_version(arn, "$LATEST").await, |_| {
        "deleted".into()
    }));
    t.push(outcome(lambda.list_versions(arn, None).await, |page| {
        page.versions
            .iter()
            .map(|v| v.version.clone())
            .collect::<Vec<_>>()
            .join(",")
    }));
    t.push(outcome(
        lambda
            .invoke(InvokeRequest::new(arn, Some("1"), b"{}"), TAIL)
            .await,
        |out| format!("invoked {}", out.executed_version.as_deref().unwrap_or("?")),
    ));
    let missing = arn.replace(":target", ":missing");
    t.push(outcome(
        lambda.get_configuration(&missing, None).await,
        config,
    ));
    t
}

const EXPECTED: [&str; 26] = [
    "$LATEST 1024MB Successful",
    "$LATEST 512MB InProgress",
    "Conflict",
    "Conflict",
    "$LATEST 512MB InProgress",
    "$LATEST 512MB Successful",
    "PreconditionFailed",
    "1 512MB Successful",
    "1 512MB Successful",
    "PreconditionFailed",
    "PreconditionFailed",
    "1 512MB Successful",
    "1 512MB Successful",
    "NotFound",
    "InvalidRequest",
    "alias 1",
    "Conflict",
    "NotFound",
    "NotFound",
    "NotFound",
    "Conflict",
    "NotFound",
    "InvalidRequest",
    "$LATEST,1",
    "invoked 1",
    "NotFound",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_and_emulator_follow_the_same_lambda_rules() {
    let clock = FakeClock::new();
    let fake = FakeLambda::new(clock.clone());
    fake.set_update_delay(UPDATE_DELAY);
    let fake_arn = fake.add_function("target", 1024, "original", cpu_bound());
    let from_fake = scenario(&fake, &clock, &fake_arn).await;

    let mut spec = FunctionSpec::new("target", example("io_bound"));
    spec.memory = 1024;
    spec.description = "original".into();
    let emulator = Emulator::start(
        Options {
            update_delay: UPDATE_DELAY,
            control_plane_rps: 0,
            ..Options::default()
        },
        vec![spec],
    )
    .await
    .expect("emulator");
    let sdk = SdkLambda::with_client(lambda_client(emulator.endpoint()));
    let from_emulator =
        scenario(&sdk, &power_tuning_aws::TokioClock, &emulator.arn("target")).await;
    emulator.shutdown().await;

    assert_eq!(
        from_fake, from_emulator,
        "the fake and the emulator disagree"
    );
    assert_eq!(from_fake, EXPECTED);
}

/// The log settings the logs scenario walks through.
const LOG_SETTINGS: [(&str, FakeLogFormat); 3] = [
    ("text", FakeLogFormat::Text),
    ("json", FakeLogFormat::Json),
    ("json+warn", FakeLogFormat::JsonSystemWarn),
];

/// One invocation's log tail, without the models' wording: what the reader found, how many of
/// the tail's whole lines are JSON objects, and whether the rest are plain lines that filled it
/// (their exact number depends on the records' lengths).
async fn log_outcome(lambda: &impl LambdaApi, arn: &str) -> String {
    let out = match lambda
        .invoke(InvokeRequest::new(arn, None, b"{}"), TAIL)
        .await
    {
        Ok(out) => out,
        Err(e) => return format!("unexpected {e}"),
    };
    use base64::Engine as _;
    let tail = base64::engine::general_purpose::STANDARD
        .decode(out.log_result.as_deref().unwrap_or_default())
        .unwrap_or_default();
    let tail = String::from_utf8_lossy(&tail);
    let whole = tail.lines().skip(1);
    let json = whole
        .clone()
        .filter(|l| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l).is_ok())
        .count();
    let read = match parse_log_result(out.log_result.as_deref()) {
        Ok(report) if report.duration > 0.0 => "report".to_string(),
        Ok(_) => "report of 0 ms".to_string(),
        Err(e) => format!("{e:?}"),
    };
    let plain = whole.count() - json;
    format!(
        "{read}, {json} JSON lines, {}",
        if plain >= 40 {
            "plain lines"
        } else {
            "few plain lines"
        }
    )
}

const EXPECTED_LOGS: [&str; 3] = [
    "text: report, 0 JSON lines, plain lines",
    "json: report, 1 JSON lines, plain lines",
    "json+warn: NoReportLine, 0 JSON lines, plain lines",
];

/// The log formats of both models: a function printing about 8 KB of plain lines per
/// invocation (so the 4 KB tail starts inside them), in text, JSON, and JSON with
/// `SystemLogLevel` WARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_and_emulator_write_the_same_logs() {
    let clock = FakeClock::new();
    let fake = FakeLambda::new(clock.clone());
    let chatty = Arc::new(|_: &FakeInvocation| FakeOutcome {
        lines: (0..100)
            .map(|n| format!("processing record {n:>6} of the batch: parsed, validated, stored ok"))
            .collect(),
        ..FakeOutcome::ok(5.0)
    });
    let fake_arn = fake.add_function("chatty", 256, "", chatty);
    let mut from_fake = Vec::new();
    for (label, format) in LOG_SETTINGS {
        fake.set_log_format("chatty", format);
        from_fake.push(format!("{label}: {}", log_outcome(&fake, &fake_arn).await));
    }

    let emulator = Emulator::start(
        Options {
            control_plane_rps: 0,
            ..Options::default()
        },
        vec![FunctionSpec::new("chatty", example("chatty"))],
    )
    .await
    .expect("emulator");
    let client = lambda_client(emulator.endpoint());
    let sdk = SdkLambda::with_client(client.clone());
    let arn = emulator.arn("chatty");
    let mut from_emulator = Vec::new();
    for ((label, _), logging) in LOG_SETTINGS.iter().zip([
        Logging::text(),
        Logging::json(),
        Logging::json_with_system_level(LogLevel::Warn),
    ]) {
        let config = aws_sdk_lambda::types::LoggingConfig::builder()
            .log_format(logging.format.as_str().into())
            .set_system_log_level(
                (logging.format == power_tuning_emulator::LogFormat::Json)
                    .then(|| logging.system_level.as_str().into()),
            )
            .build();
        client
            .update_function_configuration()
            .function_name("chatty")
            .logging_config(config)
            .send()
            .await
            .expect("logging config");
        wait_updated(&client, "chatty").await;
        // A warm invocation, as the fake's.
        let _ = sdk
            .invoke(InvokeRequest::new(&arn, None, b"{}"), TAIL)
            .await;
        from_emulator.push(format!("{label}: {}", log_outcome(&sdk, &arn).await));
    }
    emulator.shutdown().await;
    assert_eq!(
        from_fake, from_emulator,
        "the fake and the emulator disagree"
    );
    assert_eq!(from_fake, EXPECTED_LOGS);
}

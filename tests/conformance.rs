//! One scenario, two Lambda models: core's in-memory fake (what the handler tests run on) and the
//! emulator (what the end-to-end tests and local runs use), both through the `LambdaApi` port
//! the handlers call. The transcripts must be equal, so the two models cannot drift apart on
//! the rules the tuner depends on: conflicts during updates, the same version for an unchanged
//! publish, alias-protected versions, validation, not-found.

use std::time::Duration;

use power_tuning_aws::lambda::SdkLambda;
use power_tuning_core::fake::{FakeClock, FakeLambda, cpu_bound};
use power_tuning_core::ports::{Clock, FunctionConfig, LambdaApi, LambdaError, UpdateStatus};
use power_tuning_core::update;
use power_tuning_emulator::{Emulator, FunctionSpec, Options};

use crate::support::{example, lambda_client};

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
    t.push(outcome(
        lambda.update_configuration(arn, 512, "tuning", None).await,
        config,
    ));
    // While the update is applied: no second update, no publish.
    t.push(outcome(
        lambda.update_configuration(arn, 1024, "again", None).await,
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
            .update_configuration(arn, 512, "tuning", Some("stale"))
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
        lambda.update_configuration(arn, 64, "small", None).await,
        config,
    ));
    // Aliases protect their versions and need an existing version.
    let alias = |a: &power_tuning_core::ports::AliasConfig| format!("alias {}", a.function_version);
    t.push(outcome(lambda.create_alias(arn, "live", "1").await, alias));
    t.push(outcome(lambda.create_alias(arn, "live", "1").await, alias));
    t.push(outcome(
        lambda.create_alias(arn, "ghost", "99").await,
        alias,
    ));
    t.push(outcome(lambda.update_alias(arn, "live", "99").await, alias));
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
        lambda.invoke(arn, Some("1"), b"{}", true).await,
        |out| format!("invoked {}", out.executed_version.as_deref().unwrap_or("?")),
    ));
    let missing = arn.replace(":target", ":missing");
    t.push(outcome(
        lambda.get_configuration(&missing, None).await,
        config,
    ));
    t
}

const EXPECTED: [&str; 25] = [
    "$LATEST 1024MB Successful",
    "$LATEST 512MB InProgress",
    "Conflict",
    "Conflict",
    "$LATEST 512MB InProgress",
    "$LATEST 512MB Successful",
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

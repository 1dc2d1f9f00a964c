//! The fault suite: the real state machine on moto, the five handler binaries and a real target
//! in the emulator, with a fault injected at every step. Each run must end as the SPEC says
//! (SUCCEEDED, possibly with `failures`, or FAILED with the real error), leave no version and
//! `$LATEST` exactly as found (after `power-tuning cleanup` where the execution itself was
//! killed), and never make more than 15 control-plane calls on the target in a second.
//!
//! Every scenario writes its row to `target/<profile>/fault-suite/<name>.{json,md}`; the test
//! command prints the markdown rows as the table of the README's "Reliability" section.

use std::time::Duration;

use power_tuning_cli::execution::Outcome;
use power_tuning_cli::local_stack::LocalStack;
use power_tuning_emulator::{Fault, FunctionSpec, Options};
use serde_json::{Value, json};

use crate::support::{
    assert_exit_code, cli, example, lambda_client, local_stack, max_calls_in_a_second, target_dir,
    throttled,
};

const TARGET: &str = "target";
const DESCRIPTION: &str = "tuned by the fault suite";

fn spec(example_name: &str) -> FunctionSpec {
    let mut spec = FunctionSpec::new(TARGET, example(example_name));
    spec.memory = 1024;
    spec.timeout = 30;
    spec.description = DESCRIPTION.to_string();
    spec
}

fn input(stack: &LocalStack, extra: Value) -> Value {
    let mut input =
        json!({"lambdaARN": stack.emulator.arn(TARGET), "num": 5, "powerValues": [128, 256, 512]});
    for (k, v) in extra.as_object().expect("object") {
        input[k] = v.clone();
    }
    input
}

/// What a scenario left: (versions, `$LATEST` memory and description), `None` when the
/// function no longer exists.
async fn leftovers(stack: &LocalStack) -> Option<(Vec<String>, i32, String)> {
    let client = lambda_client(stack.emulator.endpoint());
    let latest = client
        .get_function_configuration()
        .function_name(TARGET)
        .send()
        .await
        .ok()?;
    let versions = client
        .list_versions_by_function()
        .function_name(TARGET)
        .send()
        .await
        .ok()?
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .filter(|v| *v != "$LATEST")
        .map(str::to_string)
        .collect();
    Some((
        versions,
        latest.memory_size().unwrap_or_default(),
        latest.description().unwrap_or_default().to_string(),
    ))
}

/// Asserts the invariants of every scenario and records its row.
async fn check(name: &str, fault: &str, stack: LocalStack, outcome: &Outcome, expected: &str) {
    let ended = if outcome.succeeded() {
        "SUCCEEDED".to_string()
    } else {
        outcome.error.clone().unwrap_or_default()
    };
    assert_eq!(ended, expected, "{name}: {}", outcome.failure());
    let left = leftovers(&stack).await;
    let calls = stack.emulator.calls();
    if std::env::var("FAULTS_DEBUG").is_ok() {
        for c in &calls {
            eprintln!(
                "{:>8.0} {} {} {:?} {}",
                c.at_ms, c.operation, c.function, c.qualifier, c.status
            );
        }
        eprintln!("{:?} {:?}", outcome.error, outcome.cause);
    }
    let (versions_left, restored) = match &left {
        Some((versions, memory, description)) => {
            assert!(versions.is_empty(), "{name}: versions left {versions:?}");
            assert_eq!(
                (*memory, description.as_str()),
                (1024, DESCRIPTION),
                "{name}: $LATEST as found"
            );
            (versions.len(), true)
        }
        // The scenario deleted the function: nothing of it can be left.
        None => (0, true),
    };
    // The most control-plane calls on the target in any sliding second (throttled ones included).
    let busiest = max_calls_in_a_second(
        calls
            .iter()
            .filter(|c| c.function == TARGET && c.operation != "Invoke"),
    );
    assert!(
        busiest <= 15,
        "{name}: {busiest} control-plane calls in one second"
    );
    // The run's time: from the Initializer's invocation to the last handler's.
    let mut handler_calls = calls
        .iter()
        .filter(|c| c.operation == "Invoke" && c.function != TARGET)
        .map(|c| c.at_ms);
    let seconds = match (handler_calls.next(), handler_calls.next_back()) {
        (Some(first), Some(last)) => (last - first) / 1000.0,
        _ => 0.0,
    };
    let row = json!({
        "scenario": name, "fault": fault, "ended": ended, "seconds": seconds,
        "cause": if outcome.succeeded() { String::new() } else { outcome.failure() },
        "versionsLeft": versions_left, "latestRestored": restored,
        "functionExists": left.is_some(), "maxControlPlaneCallsPerSecond": busiest,
    });
    let dir = target_dir().join("fault-suite");
    std::fs::create_dir_all(&dir).expect("fault-suite dir");
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(&row).expect("json"),
    )
    .expect("row");
    let function = if left.is_some() {
        "as found"
    } else {
        "deleted by the fault"
    };
    std::fs::write(
        dir.join(format!("{name}.md")),
        format!(
            "| {fault} | {ended} | {seconds:.1} | {versions_left} | {function} | {busiest} |\n"
        ),
    )
    .expect("markdown row");
    stack.shutdown().await;
}

async fn run(stack: &LocalStack, extra: Value) -> Outcome {
    stack
        .run(&input(stack, extra), |_| {})
        .await
        .expect("execution ran")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_on_every_operation_are_retried() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    for operation in [
        "GetFunctionConfiguration",
        "UpdateFunctionConfiguration",
        "PublishVersion",
        "Invoke",
        "ListVersionsByFunction",
        "DeleteFunction",
    ] {
        stack.emulator.inject(Fault::Errors {
            operation: Some(operation.to_string()),
            function: Some(TARGET.to_string()),
            status: 503,
            code: None,
            count: 2,
        });
    }
    let outcome = run(&stack, json!({})).await;
    let injected = stack
        .emulator
        .calls()
        .iter()
        .filter(|c| c.function == TARGET && c.status == 503)
        .count();
    assert_eq!(injected, 12, "every burst was answered, then retried");
    check(
        "service_errors",
        "2 × 503 on each of Get/Update/Publish/Invoke/List/Delete",
        stack,
        &outcome,
        "SUCCEEDED",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_storm_is_waited_out() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    stack.emulator.inject(Fault::Errors {
        operation: None,
        function: Some(TARGET.to_string()),
        status: 429,
        code: None,
        count: 8,
    });
    let outcome = run(&stack, json!({})).await;
    check(
        "throttling_storm",
        "8 × 429 on any call",
        stack,
        &outcome,
        "SUCCEEDED",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_stuck_past_the_deadline_times_out_and_is_undone() {
    // Handlers get 10 s; the first update stays InProgress for 14 s. The Initializer gives up
    // in time to answer; CleanUpOnError waits the update out and restores $LATEST.
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 10).await;
    stack.emulator.inject(Fault::StuckUpdate {
        function: TARGET.to_string(),
        seconds: 14.0,
    });
    let outcome = run(&stack, json!({})).await;
    check(
        "stuck_update",
        "an update InProgress for 14 s, handlers' timeout 10 s",
        stack,
        &outcome,
        "UpdateTimeout",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_update_fails_the_run_with_its_reason() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    stack.emulator.inject(Fault::FailedUpdate {
        function: TARGET.to_string(),
        reason: "The function could not be updated: injected".to_string(),
    });
    let outcome = run(&stack, json!({})).await;
    assert!(
        outcome.failure().contains("injected"),
        "{}",
        outcome.failure()
    );
    check(
        "failed_update",
        "LastUpdateStatus: Failed",
        stack,
        &outcome,
        "UpdateFailed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_timing_out_at_every_size_fails_listing_each() {
    let mut target = spec("io_bound");
    target.timeout = 1;
    let stack = local_stack(vec![target], Options::default(), 300).await;
    let outcome = run(&stack, json!({"payload": {"sleepMs": 3000}})).await;
    let cause = outcome.failure();
    for size in [128, 256, 512] {
        assert!(
            cause.contains(&format!("{size}MB: ")) && cause.contains("Sandbox.Timedout"),
            "{cause}"
        );
    }
    check(
        "target_timeout",
        "the target times out at every size",
        stack,
        &outcome,
        "TargetFailed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_out_of_memory_at_every_size_fails_listing_each() {
    let stack = local_stack(vec![spec("memory_hungry")], Options::default(), 300).await;
    let outcome = run(&stack, json!({"payload": {"megabytes": 700}})).await;
    assert!(
        outcome.failure().contains("Runtime.OutOfMemory"),
        "{}",
        outcome.failure()
    );
    check(
        "target_out_of_memory",
        "the target runs out of memory at every size",
        stack,
        &outcome,
        "TargetFailed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_deleted_mid_run_fails_the_run() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    stack.emulator.inject(Fault::DeleteFunction {
        function: TARGET.to_string(),
        invocations: 3,
    });
    let outcome = run(&stack, json!({})).await;
    assert!(leftovers(&stack).await.is_none(), "the function is gone");
    check(
        "function_deleted",
        "the function is deleted after 3 invocations",
        stack,
        &outcome,
        "ResourceNotFound",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_killed_mid_invocation_fails_and_is_cleaned_up() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    stack.emulator.inject(Fault::KillEnvironment {
        function: "executor".to_string(),
        nth: 2,
        after_ms: 200,
    });
    let outcome = run(&stack, json!({})).await;
    check(
        "executor_killed",
        "the 2nd executor's environment is killed mid-invocation",
        stack,
        &outcome,
        "Runtime.ExitError",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initializer_killed_mid_publishing_is_swept_by_its_marker() {
    let options = Options {
        update_delay: Duration::from_millis(400),
        ..Options::default()
    };
    let stack = local_stack(vec![spec("io_bound")], options, 300).await;
    stack.emulator.inject(Fault::KillEnvironment {
        function: "initializer".to_string(),
        nth: 1,
        after_ms: 1_500,
    });
    let outcome = run(&stack, json!({})).await;
    check(
        "initializer_killed",
        "the Initializer is killed while publishing",
        stack,
        &outcome,
        "Runtime.ExitError",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_killed_mid_run_is_cleaned_by_power_tuning_cleanup() {
    let options = Options {
        update_delay: Duration::from_millis(400),
        ..Options::default()
    };
    let mut stack = local_stack(vec![spec("io_bound")], options, 300).await;
    let arn = stack.emulator.arn(TARGET);
    let execution = power_tuning_cli::execution::start(
        &stack.sfn,
        &stack.state_machine_arn,
        &input(&stack, json!({})),
        None,
    )
    .await
    .expect("started");
    // Kill the engine once the Initializer has published something (seen in the emulator's
    // call log, so the test adds no call of its own), then the Initializer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !stack
        .emulator
        .calls()
        .iter()
        .any(|c| c.function == TARGET && c.operation == "PublishVersion" && c.status == 201)
    {
        assert!(tokio::time::Instant::now() < deadline, "nothing published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.stop_engine().await;
    stack.emulator.inject(Fault::KillEnvironment {
        function: "initializer".to_string(),
        nth: 1,
        after_ms: 0,
    });
    // The running Initializer goes on until it ends (or publishes the rest): poll until the
    // target has seen no call for 1.5 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let target_calls = || {
        stack
            .emulator
            .calls()
            .iter()
            .filter(|c| c.function == TARGET)
            .count()
    };
    let mut seen = usize::MAX;
    while target_calls() != seen {
        seen = target_calls();
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Initializer never stopped"
        );
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    let left = leftovers(&stack).await.expect("function");
    assert!(
        !left.0.is_empty(),
        "a killed execution leaves versions for cleanup: {left:?}"
    );
    let out = cli(
        &["cleanup", "--function", &arn],
        &[("AWS_ENDPOINT_URL_LAMBDA", stack.emulator.endpoint())],
    );
    assert_exit_code(&out, 0);
    let outcome = Outcome {
        arn: execution,
        status: "ABORTED".to_string(),
        output: None,
        error: Some("ExecutionKilled".to_string()),
        cause: Some(format!(
            "engine stopped with {} versions left; power-tuning cleanup removed them",
            left.0.len()
        )),
        progress: Default::default(),
    };
    check(
        "execution_killed",
        "the execution is killed mid-run; then power-tuning cleanup",
        stack,
        &outcome,
        "ExecutionKilled",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_invoke_error_fails_at_once_with_its_code() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    stack.emulator.inject(Fault::Errors {
        operation: Some("Invoke".to_string()),
        function: Some(TARGET.to_string()),
        status: 502,
        code: Some("KMSDisabledException".to_string()),
        count: 1000,
    });
    let outcome = run(&stack, json!({})).await;
    assert!(
        outcome.failure().contains("KMSDisabledException"),
        "{}",
        outcome.failure()
    );
    // One invocation per size, none retried by the Executor or the state machine.
    let invokes = stack
        .emulator
        .calls()
        .iter()
        .filter(|c| c.function == TARGET && c.operation == "Invoke")
        .count();
    assert!((1..=3).contains(&invokes), "{invokes} invocations");
    check(
        "permanent_invoke_error",
        "502 KMSDisabledException on every Invoke",
        stack,
        &outcome,
        "KMSDisabledException",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_zero_is_refused_before_any_change() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    lambda_client(stack.emulator.endpoint())
        .put_function_concurrency()
        .function_name(TARGET)
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("reserve 0");
    let outcome = run(&stack, json!({})).await;
    assert!(
        outcome
            .failure()
            .contains("has reserved concurrency 0: it cannot be invoked"),
        "{}",
        outcome.failure()
    );
    assert!(
        stack.emulator.calls().iter().all(|c| c.function != TARGET
            || matches!(
                c.operation.as_str(),
                "GetFunctionConfiguration" | "GetFunctionConcurrency" | "PutFunctionConcurrency"
            )),
        "only reads before the refusal"
    );
    check(
        "reserved_concurrency_zero",
        "reserved concurrency 0",
        stack,
        &outcome,
        "InvalidInput",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_accounts_concurrency_is_not_exceeded_in_parallel() {
    // A new account: 10 concurrent executions, handlers and targets together.
    let options = Options {
        concurrency: 10,
        ..Options::default()
    };
    let stack = local_stack(vec![spec("io_bound")], options, 300).await;
    let outcome = run(
        &stack,
        json!({"parallelInvocation": true, "num": 50, "powerValues": [128, 256], "payload": {"sleepMs": 20}}),
    )
    .await;
    let throttled = throttled(&stack.emulator.calls());
    assert_eq!(throttled, 0, "no throttling");
    let peak = stack.emulator.peak_concurrency();
    assert!(peak <= 10, "{peak} in flight");
    check(
        "account_concurrency_10",
        "account concurrency 10, parallelInvocation, num 50",
        stack,
        &outcome,
        "SUCCEEDED",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_503s_on_invoke_is_retried() {
    let stack = local_stack(vec![spec("io_bound")], Options::default(), 300).await;
    stack.emulator.inject(Fault::Errors {
        operation: Some("Invoke".to_string()),
        function: Some(TARGET.to_string()),
        status: 503,
        code: None,
        count: 6,
    });
    let outcome = run(&stack, json!({})).await;
    check(
        "invoke_503_burst",
        "6 × 503 ServiceException on Invoke",
        stack,
        &outcome,
        "SUCCEEDED",
    )
    .await;
}

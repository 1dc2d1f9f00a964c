//! End to end on the local stack: the real state machine definition on moto, the five handler
//! binaries and a real target in the emulator. Every test asserts the execution's status and
//! output and the target's state afterwards (memory, description, versions, aliases).

use std::collections::BTreeMap;
use std::time::Duration;

use power_tuning_cli::execution::Outcome;
use power_tuning_cli::local_stack::{LocalStack, StackOptions};
use power_tuning_emulator::{FunctionSpec, LogFormat, Options};
use serde_json::{Value, json};

use crate::support::{example, lambda_client, target_dir};

const TARGET: &str = "target";

struct Stack {
    local: LocalStack,
    client: aws_sdk_lambda::Client,
}

fn target(example_name: &str) -> FunctionSpec {
    let mut spec = FunctionSpec::new(TARGET, example(example_name));
    spec.memory = 1024;
    spec.timeout = 30;
    spec.description = "tuned by e2e".to_string();
    spec
}

impl Stack {
    async fn start(target: FunctionSpec, emulator: Options) -> Stack {
        let local = LocalStack::start(StackOptions {
            emulator,
            handlers_dir: target_dir(),
            targets: vec![target],
            timeout: 300,
        })
        .await
        .expect("local stack");
        let client = lambda_client(local.emulator.endpoint());
        Stack { local, client }
    }

    async fn default(example_name: &str) -> Stack {
        Stack::start(target(example_name), Options::default()).await
    }

    fn input(&self, extra: Value) -> Value {
        let mut input = json!({"lambdaARN": self.local.emulator.arn(TARGET), "num": 5, "powerValues": [128, 256, 512, 1024]});
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    }

    async fn run(&self, extra: Value) -> Outcome {
        self.local
            .run(&self.input(extra), |_| {})
            .await
            .expect("execution ran")
    }

    fn target_calls(&self, operation: Option<&str>) -> Vec<power_tuning_emulator::CallRecord> {
        self.local
            .emulator
            .calls()
            .into_iter()
            .filter(|c| c.function == TARGET && operation.is_none_or(|o| c.operation == o))
            .collect()
    }

    /// (memory, description) of $LATEST, published versions, aliases (name → version).
    async fn target_state(&self) -> (i32, String, Vec<String>, BTreeMap<String, String>) {
        let latest = self
            .client
            .get_function_configuration()
            .function_name(TARGET)
            .send()
            .await
            .expect("get");
        let versions = self
            .client
            .list_versions_by_function()
            .function_name(TARGET)
            .send()
            .await
            .expect("list");
        let aliases = self
            .client
            .list_aliases()
            .function_name(TARGET)
            .send()
            .await
            .expect("aliases");
        (
            latest.memory_size().unwrap_or_default(),
            latest.description().unwrap_or_default().to_string(),
            versions
                .versions()
                .iter()
                .filter_map(|v| v.version())
                .filter(|v| *v != "$LATEST")
                .map(str::to_string)
                .collect(),
            aliases
                .aliases()
                .iter()
                .map(|a| {
                    (
                        a.name().unwrap_or_default().to_string(),
                        a.function_version().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        )
    }

    /// Nothing left behind: $LATEST as before, only `versions` remain.
    async fn assert_untouched(&self, versions: &[&str]) {
        let (memory, description, left, _) = self.target_state().await;
        assert_eq!(
            (memory, description.as_str()),
            (1024, "tuned by e2e"),
            "$LATEST restored"
        );
        assert_eq!(left, versions, "versions left");
    }

    async fn stop(self) {
        self.local.shutdown().await;
    }
}

fn succeeded(outcome: &Outcome) -> Value {
    assert_eq!(
        outcome.status, "SUCCEEDED",
        "{:?}: {:?}",
        outcome.error, outcome.cause
    );
    serde_json::from_str(outcome.output.as_deref().expect("output")).expect("JSON output")
}

fn best_by(stats: &[Value], key: &str) -> u64 {
    stats
        .iter()
        .filter(|s| s.get("error").is_none())
        .min_by(|a, b| {
            a[key]
                .as_f64()
                .unwrap_or(f64::MAX)
                .total_cmp(&b[key].as_f64().unwrap_or(f64::MAX))
        })
        .and_then(|s| s["value"].as_u64())
        .expect("a size")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_with_each_strategy_and_output_results() {
    let stack = Stack::default("cpu_bound").await;
    for strategy in ["cost", "speed", "balanced"] {
        let outcome = stack
            .run(json!({"strategy": strategy, "includeOutputResults": true}))
            .await;
        let output = succeeded(&outcome);
        let stats = output["stats"].as_array().expect("includeOutputResults");
        assert_eq!(
            stats
                .iter()
                .map(|s| s["value"].as_u64().expect("value"))
                .collect::<Vec<_>>(),
            vec![128, 256, 512, 1024],
            "power-value order"
        );
        for stat in stats {
            assert_eq!(stat["invocations"], 5);
            assert!(stat["averageDuration"].as_f64().expect("avg") > 0.0);
            assert_eq!(stat["coldStarts"], 1);
        }
        let power = output["power"].as_u64().expect("power");
        match strategy {
            "cost" => assert_eq!(power, best_by(stats, "averagePrice")),
            "speed" => assert_eq!(power, best_by(stats, "averageDuration")),
            _ => assert!([128, 256, 512, 1024].contains(&power)),
        }
        let chosen = stats
            .iter()
            .find(|s| s["value"] == power)
            .expect("chosen stat");
        assert_eq!(output["cost"], chosen["averagePrice"]);
        assert_eq!(output["duration"], chosen["averageDuration"]);
        // N+6 transitions.
        assert_eq!(outcome.progress.transitions, 4 + 6, "{strategy}");
        assert_eq!(output["stateMachine"]["executionCost"], 0.00025);
        assert!(
            output["stateMachine"]["visualization"]
                .as_str()
                .expect("url")
                .starts_with("https://lambda-power-tuning.show/#")
        );
        stack.assert_untouched(&[]).await;
    }
    // Every invocation went to a version number.
    assert!(stack.target_calls(Some("Invoke")).iter().all(|c| {
        c.qualifier
            .as_deref()
            .is_some_and(|q| q.parse::<u64>().is_ok())
    }));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_and_only_cold_starts() {
    let stack = Stack::default("io_bound").await;
    let outcome = stack.run(json!({"dryRun": true})).await;
    assert_eq!(succeeded(&outcome), Value::Null);
    assert_eq!(
        stack.target_calls(Some("Invoke")).len(),
        4,
        "one invocation per size"
    );
    stack.assert_untouched(&[]).await;

    let outcome = stack.run(json!({"onlyColdStarts": true, "num": 5, "powerValues": [128, 512], "includeOutputResults": true})).await;
    let output = succeeded(&outcome);
    for stat in output["stats"].as_array().expect("stats") {
        assert_eq!(
            stat["coldStarts"], 5,
            "every invocation a cold start: {stat}"
        );
    }
    let invoked: std::collections::BTreeSet<String> = stack
        .target_calls(Some("Invoke"))
        .into_iter()
        .skip(4)
        .filter_map(|c| c.qualifier)
        .collect();
    assert_eq!(invoked.len(), 10, "one version per invocation");
    stack.assert_untouched(&[]).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_optimize_with_and_without_alias() {
    let stack = Stack::default("io_bound").await;
    // A pre-existing version and alias at the same memory must survive the run.
    let v1 = stack
        .client
        .publish_version()
        .function_name(TARGET)
        .send()
        .await
        .expect("publish");
    stack
        .client
        .create_alias()
        .function_name(TARGET)
        .name("stable")
        .function_version(v1.version().expect("v"))
        .send()
        .await
        .expect("alias");

    let outcome = stack
        .run(json!({"autoOptimize": true, "autoOptimizeAlias": "live", "strategy": "cost"}))
        .await;
    let power = succeeded(&outcome)["power"].as_i64().expect("power") as i32;
    assert_eq!(
        power, 128,
        "flat duration: the smallest size is the cheapest"
    );
    let (memory, description, versions, aliases) = stack.target_state().await;
    assert_eq!((memory, description.as_str()), (power, "tuned by e2e"));
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(aliases.get("stable").map(String::as_str), Some("1"));
    let live = aliases.get("live").expect("live alias");
    let live_config = stack
        .client
        .get_function_configuration()
        .function_name(TARGET)
        .qualifier(live)
        .send()
        .await
        .expect("live");
    assert_eq!(live_config.memory_size(), Some(power));
    assert_eq!(live_config.description(), Some("tuned by e2e"));

    // Without alias: only $LATEST's memory changes.
    stack
        .client
        .update_function_configuration()
        .function_name(TARGET)
        .memory_size(1024)
        .send()
        .await
        .expect("reset");
    let outcome = stack
        .run(json!({"autoOptimize": true, "strategy": "speed", "powerValues": [256, 512]}))
        .await;
    let power = succeeded(&outcome)["power"].as_i64().expect("power") as i32;
    let (memory, description, after, _) = stack.target_state().await;
    assert_eq!((memory, description.as_str()), (power, "tuned by e2e"));
    assert_eq!(after, versions, "no version created or left");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_payloads_reach_the_target_in_blocks() {
    let record = target_dir().join(format!("e2e-record-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&record);
    let mut spec = target("recorder");
    spec.environment
        .insert("RECORD_FILE".into(), record.display().to_string());
    let stack = Stack::start(spec, Options::default()).await;
    let payload =
        json!([{"weight": 1, "payload": {"kind": "a"}}, {"weight": 3, "payload": {"kind": "b"}}]);
    let outcome = stack
        .run(json!({"payload": payload, "num": 8, "powerValues": [128, 256]}))
        .await;
    succeeded(&outcome);
    let lines: Vec<Value> = std::fs::read_to_string(&record)
        .expect("records")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    for memory in ["128", "256"] {
        let kinds: Vec<&str> = lines
            .iter()
            .filter(|l| l["memory"] == memory)
            .map(|l| l["payload"]["kind"].as_str().expect("kind"))
            .collect();
        assert_eq!(
            kinds,
            ["a", "a", "b", "b", "b", "b", "b", "b"],
            "{memory} MB"
        );
    }
    let _ = std::fs::remove_file(&record);
    stack.assert_untouched(&[]).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_at_the_smallest_size_only() {
    let stack = Stack::default("memory_hungry").await;
    let outcome = stack.run(json!({"payload": {"megabytes": 160}, "powerValues": [128, 512, 1024], "includeOutputResults": true})).await;
    let output = succeeded(&outcome);
    assert_eq!(output["failures"][0]["value"], 128);
    assert_eq!(output["failures"][0]["errorType"], "Runtime.OutOfMemory");
    assert_eq!(output["failures"].as_array().map(Vec::len), Some(1));
    assert_ne!(output["power"], 128);
    assert_eq!(output["stats"][0]["errors"], 1);
    stack.assert_untouched(&[]).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_target_and_invalid_input_fail_loudly() {
    let stack = Stack::default("failing").await;
    let outcome = stack.run(json!({})).await;
    assert_eq!(outcome.status, "FAILED");
    assert_eq!(outcome.error.as_deref(), Some("TargetFailed"));
    let cause = outcome.cause.clone().unwrap_or_default();
    assert!(
        cause.contains("IntentionalError") && cause.contains("this function always fails"),
        "{cause}"
    );
    stack.assert_untouched(&[]).await;

    let before = stack.target_calls(None).len();
    let outcome = stack.run(json!({"num": 3})).await;
    assert_eq!(outcome.status, "FAILED");
    assert_eq!(outcome.error.as_deref(), Some("InvalidInput"));
    assert!(
        outcome
            .cause
            .clone()
            .unwrap_or_default()
            .contains("Missing num or num below 5"),
        "{:?}",
        outcome.cause
    );
    assert_eq!(
        stack.target_calls(None).len(),
        before,
        "no call on the target"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_slow_updates() {
    // Slow updates, and a control plane that only takes 4 requests per second: the run is
    // throttled for real and still succeeds, leaving nothing behind.
    let options = Options {
        update_delay: Duration::from_millis(400),
        control_plane_rps: 4,
        ..Options::default()
    };
    let stack = Stack::start(target("io_bound"), options).await;
    let outcome = stack.run(json!({"powerValues": [128, 256, 512]})).await;
    succeeded(&outcome);
    let throttled = stack
        .local
        .emulator
        .calls()
        .iter()
        .filter(|c| c.status == 429)
        .count();
    assert!(throttled > 0, "the knob throttled some calls");
    stack.assert_untouched(&[]).await;
    stack.stop().await;

    // At the default 15 requests per second, the tuner never gets throttled.
    let stack = Stack::start(
        target("io_bound"),
        Options {
            update_delay: Duration::from_millis(200),
            ..Options::default()
        },
    )
    .await;
    let outcome = stack
        .run(json!({"powerValues": [128, 256, 512, 1024]}))
        .await;
    succeeded(&outcome);
    assert_eq!(
        stack
            .local
            .emulator
            .calls()
            .iter()
            .filter(|c| c.status == 429)
            .count(),
        0
    );
    stack.assert_untouched(&[]).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_and_parallel_invocations() {
    let mut spec = target("io_bound");
    spec.log_format = LogFormat::Json;
    let stack = Stack::start(spec, Options::default()).await;
    let outcome = stack.run(json!({"includeOutputResults": true, "powerValues": [128, 256], "parallelInvocation": true, "maxParallelInvocations": 2, "num": 6, "payload": {"sleepMs": 150}})).await;
    let output = succeeded(&outcome);
    for stat in output["stats"].as_array().expect("stats") {
        assert!(
            stat["averageDuration"].as_f64().expect("avg") >= 150.0,
            "{stat}"
        );
        // Two in flight at a time → two execution environments per size.
        assert_eq!(stat["coldStarts"], 2, "{stat}");
        assert_eq!(stat["invocations"], 6);
    }
    stack.assert_untouched(&[]).await;
    stack.stop().await;
}

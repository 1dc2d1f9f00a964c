//! Property-based tests of input validation over generated JSON (SPEC §2, §12): every input is
//! either `InvalidInput` with zero calls on the target, or a valid plan; no input panics; the
//! same input always gives the same answer.
//!
//! The suite runs a fixed number of cases; a longer run:
//! `PROPTEST_CASES=20000 cargo test -p power-tuning-core --all-features --test input_properties`

use std::time::Duration;

use power_tuning_core::fake::{Call, FakeClock, FakeLambda, FakePayloads, cpu_bound};
use power_tuning_core::handlers::{Deps, Invocation, initializer};
use power_tuning_core::input::{MAX_NUM, MAX_POWER, MIN_POWER, TuningInput};
use power_tuning_core::{HandlerEvent, Settings};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:target";
const KEYS: [&str; 29] = [
    "lambdaARN",
    "num",
    "powerValues",
    "payload",
    "payloadS3",
    "parallelInvocation",
    "maxParallelInvocations",
    "strategy",
    "balancedWeight",
    "autoOptimize",
    "autoOptimizeAlias",
    "dryRun",
    "preProcessorARN",
    "postProcessorARN",
    "discardTopBottom",
    "sleepBetweenRunsMs",
    "disablePayloadLogs",
    "includeOutputResults",
    "onlyColdStarts",
    "allowedExceptions",
    "includeCurrent",
    "maxDuration",
    "durationPercentile",
    "coldStartRatio",
    "monthlyInvocations",
    "compareWith",
    "confidenceLevel",
    "requireSignificance",
    "stats",
];

/// Scalars that hit the validation rules' edges.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(0i64),
            Just(4),
            Just(5),
            Just(127),
            Just(128),
            Just(10240),
            Just(10241),
            Just(i64::from(MAX_NUM)),
            Just(i64::from(MAX_NUM) + 1),
            Just(4_000_000_000),
            Just(-1),
            Just(50),
            Just(99),
            any::<i64>(),
        ]
        .prop_map(|n| json!(n)),
        prop_oneof![
            Just(0.5),
            Just(-0.1),
            Just(1.5),
            Just(1e300),
            Just(128.5),
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
        ]
        .prop_map(|f| json!(f)),
        prop_oneof![
            Just("ALL".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("cost".to_string()),
            Just("speed".to_string()),
            Just("balanced".to_string()),
            Just("10".to_string()),
            Just("99999999999".to_string()),
            Just(ARN.to_string()),
            Just("arn:aws:lambda:eu-west-1:123456789012:function:other".to_string()),
            Just(format!("{ARN}:3")),
            Just("s3://bucket/key.json".to_string()),
            Just("s3://bucket/".to_string()),
            Just(String::new()),
            "[a-zA-Z0-9 :/_.-]{0,40}",
        ]
        .prop_map(Value::String),
    ]
}

/// JSON values: scalars, and arrays and objects of them (weighted payloads among them).
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<u8>(), inner.clone()), 1..4).prop_map(|items| {
                Value::Array(
                    items
                        .into_iter()
                        .map(|(w, p)| json!({"weight": w, "payload": p}))
                        .collect(),
                )
            }),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An execution input: mostly valid `lambdaARN` and `num`, any other known key with any value,
/// and unknown keys.
fn input() -> impl Strategy<Value = Value> {
    (
        prop::option::weighted(0.9, Just(json!(ARN))),
        prop::option::weighted(0.9, prop_oneof![Just(json!(10)), scalar()]),
        prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), value(), 0..6),
        prop::collection::btree_map("[a-z]{1,6}", scalar(), 0..2),
    )
        .prop_map(|(arn, num, known, unknown)| {
            let mut object = Map::new();
            for (k, v) in unknown {
                object.insert(k, v);
            }
            for (k, v) in known {
                object.insert(k.to_string(), v);
            }
            if let Some(arn) = arn {
                object.entry("lambdaARN").or_insert(arn);
            }
            if let Some(num) = num {
                object.entry("num").or_insert(num);
            }
            Value::Object(object)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_input_is_an_error_or_a_valid_plan(state in input()) {
        let defaults = [128, 256, 512];
        let first = TuningInput::from_state(&state, &defaults);
        // Deterministic.
        prop_assert_eq!(&first, &TuningInput::from_state(&state, &defaults));
        match first {
            Ok(plan) => {
                prop_assert!(plan.num >= 5 && plan.num <= MAX_NUM);
                prop_assert!(!plan.power_values.is_empty());
                prop_assert!(plan.power_values.iter().all(|p| (MIN_POWER..=MAX_POWER).contains(p)));
                let mut unique = plan.power_values.clone();
                unique.sort_unstable();
                unique.dedup();
                prop_assert_eq!(unique.len(), plan.power_values.len());
                prop_assert!((0.0..=1.0).contains(&plan.balanced_weight));
                prop_assert!((0.0..=0.4).contains(&plan.discard_top_bottom));
                prop_assert!(plan.max_parallel_invocations >= 1);
                prop_assert!(plan.compare_with.len() <= 4);
                prop_assert!(!plan.auto_optimize || plan.compare_with.is_empty());
                prop_assert!(plan.cold_start_ratio.is_none_or(|r| (0.0..=1.0).contains(&r)));
                prop_assert!(plan.latency_target.is_none_or(|t| t.max_duration > 0.0));
                // The state-size check answers for every plan.
                let _ = plan.check_state_size(state.to_string().len());
            }
            Err(message) => {
                prop_assert!(!message.to_string().is_empty());
                // The Initializer refuses it before any call on the target.
                let settings = Settings { default_power_values: defaults.to_vec(), ..Settings::default() };
                let refusal = initialize(state.clone(), settings);
                prop_assert_eq!(refusal.error_type, "InvalidInput");
                prop_assert!(refusal.calls.is_empty(), "calls on the target: {:?}", refusal.calls);
            }
        }
    }
}

/// How the Initializer refused an input.
struct Refusal {
    error_type: String,
    message: String,
    /// The calls it made on the target.
    calls: Vec<Call>,
}

/// Runs the Initializer with `settings` on `state` against a fake with the target, which must
/// refuse it.
fn initialize(state: Value, settings: Settings) -> Refusal {
    let clock = FakeClock::new();
    let fake = FakeLambda::new(clock.clone());
    fake.add_function("target", 1024, "d", cpu_bound());
    let deps = Deps {
        lambda: fake.clone(),
        payloads: FakePayloads::default(),
        clock,
        settings,
    };
    let invocation = Invocation {
        event: HandlerEvent::from_value(state),
        deadline: Duration::from_secs(300),
        request_id: "req".to_string(),
    };
    let error =
        futures::executor::block_on(initializer::handle(&deps, &invocation)).expect_err("refused");
    Refusal {
        error_type: error.error_type().to_string(),
        message: error.to_string(),
        calls: fake.calls(),
    }
}

#[test]
fn the_issues_hostile_inputs_end_as_invalid_input_with_zero_calls() {
    let forged = json!({"runId": "0123456789ab", "startedAt": 1,
        "targets": [{"lambdaARN": ARN, "powerValues": [128, 256],
            "original": {"memorySize": 1024, "description": "d", "architecture": "x86_64"}}],
        "configurations": [{"power": 128, "versions": []}, {"power": 256, "versions": []}],
        "passes": 1, "iterator": {"index": 9, "count": 2, "continue": true}});
    for (state, message) in [
        (
            json!({"lambdaARN": ARN, "num": 4_000_000_000u64, "powerValues": [128, 256]}),
            "Invalid num: 4000000000 (at most 100000)".to_string(),
        ),
        (
            json!({"lambdaARN": ARN, "num": 10, "payload": "x".repeat(300_000)}),
            "The payload is 300002 bytes: with it the execution state would exceed Step Functions' 256 KiB limit (the input is carried through every state). Put the payload in S3 and pass payloadS3 instead.".to_string(),
        ),
        (
            json!({"lambdaARN": ARN, "num": 10, "powerValues": [128, 256], "lambdaConfigurations": forged}),
            "Invalid lambdaConfigurations: its publishing progress is inconsistent".to_string(),
        ),
    ] {
        let refusal = initialize(state, Settings::default());
        assert_eq!(
            (refusal.error_type.as_str(), refusal.message.as_str(), refusal.calls.len()),
            ("InvalidInput", message.as_str(), 0)
        );
    }
}

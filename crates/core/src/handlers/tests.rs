//! Handler scenarios against the in-memory fake, driven in the state machine's order
//! (Initializer loop → Executors → Cleaner → Analyzer → Optimizer; errors → Cleaner → Fail).

use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use serde_json::{Value, json};

use crate::error::HandlerError;
use crate::event::HandlerEvent;
use crate::fake::{
    Behavior, FakeClock, FakeInvocation, FakeLambda, FakeLogFormat, FakeOutcome, FakePayloads, Op,
    cpu_bound,
};
use crate::handlers::{Deps, Invocation, analyzer, cleaner, executor, initializer, optimizer};
use crate::marker::Marker;
use crate::ports::{Clock, ConfigUpdate, LambdaApi as _, LambdaError, PayloadSourceError};
use crate::resilient::Resilient;
use crate::settings::Settings;
use crate::state::LambdaConfigurations;

const EXEC: &str = "arn:aws:states:us-east-1:123456789012:execution:power-tuning:run-1";
const BUDGET: Duration = Duration::from_secs(300);

type TestDeps = Deps<Resilient<FakeLambda, FakeClock>, FakePayloads, FakeClock>;

struct Harness {
    /// (handler, operation) of every call made, in order.
    attributed: std::cell::RefCell<Vec<(&'static str, Op)>>,
    clock: FakeClock,
    fake: FakeLambda,
    payloads: FakePayloads,
    deps: TestDeps,
    arn: String,
}

fn with_overhead() -> Behavior {
    // 50 ms of fixed work plus CPU-bound work: 128 MB is cheapest, 1024 MB fastest.
    Arc::new(|inv: &FakeInvocation| FakeOutcome::ok(50.0 + 1000.0 * 128.0 / f64::from(inv.memory)))
}

fn harness(behavior: Behavior) -> Harness {
    let clock = FakeClock::new();
    let fake = FakeLambda::new(clock.clone());
    let arn = fake.add_function("target", 1024, "original description", behavior);
    let payloads = FakePayloads::default();
    let deps = Deps {
        lambda: Resilient::new(fake.clone(), clock.clone()),
        payloads: payloads.clone(),
        clock: clock.clone(),
        settings: Settings::default(),
    };
    Harness {
        attributed: Default::default(),
        clock,
        fake,
        payloads,
        deps,
        arn,
    }
}

fn wrap(state: &Value) -> HandlerEvent {
    HandlerEvent {
        state: state.clone(),
        execution_id: Some(EXEC.to_string()),
        configuration: None,
    }
}

/// An invocation of `event` that must end by `deadline`.
fn at(event: HandlerEvent, deadline: Duration) -> Invocation {
    Invocation {
        event,
        deadline,
        request_id: "fallback".to_string(),
    }
}

/// The failure of a run: (error type, message).
type Failed = (String, String);

impl Harness {
    /// Runs a handler future and attributes the calls it made to `handler`.
    fn as_handler<T>(
        &self,
        handler: &'static str,
        future: impl std::future::Future<Output = T>,
    ) -> T {
        let before = self.fake.calls().len();
        let out = block_on(future);
        let calls = self.fake.calls();
        self.attributed
            .borrow_mut()
            .extend(calls[before..].iter().map(|c| (handler, c.op)));
        out
    }

    fn input(&self, extra: Value) -> Value {
        let mut input =
            json!({"lambdaARN": self.arn, "num": 5, "powerValues": [128, 256, 512, 1024]});
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    }

    fn deadline(&self) -> Duration {
        self.clock.now() + BUDGET
    }

    fn fail(&self, state: &mut Value, error: HandlerError) -> Failed {
        // InvalidInput goes straight to Fail; everything else through CleanUpOnError, whose
        // own failure (caught, as the state machine does) still ends in Fail with this error.
        if !matches!(error, HandlerError::InvalidInput(_)) {
            state["error"] = json!({"Error": error.error_type(), "Cause": error.to_string()});
            let _ = self.as_handler(
                "cleaner",
                cleaner::handle(&self.deps, &at(wrap(state), self.deadline())),
            );
        }
        (error.error_type().to_string(), error.to_string())
    }

    /// Runs a whole execution like the state machine does.
    fn run(&self, input: Value) -> Result<Value, Failed> {
        self.run_with_budget(input, BUDGET)
    }

    fn run_with_budget(&self, input: Value, budget: Duration) -> Result<Value, Failed> {
        let mut state = input;
        loop {
            let deadline = self.clock.now() + budget;
            match self.as_handler(
                "initializer",
                initializer::handle(&self.deps, &at(wrap(&state), deadline)),
            ) {
                Ok(out) => {
                    let done = !out.iterator.continue_;
                    state["lambdaConfigurations"] = serde_json::to_value(out).expect("json");
                    if done {
                        break;
                    }
                }
                Err(e) => return Err(self.fail(&mut state, e)),
            }
        }
        let configurations = state["lambdaConfigurations"]["configurations"]
            .as_array()
            .expect("configs")
            .clone();
        let mut stats = Vec::new();
        for configuration in configurations {
            let event = HandlerEvent {
                state: state.clone(),
                execution_id: Some(EXEC.into()),
                configuration: Some(configuration),
            };
            match self.as_handler(
                "executor",
                executor::handle(&self.deps, &at(event, self.deadline())),
            ) {
                Ok(stat) => stats.push(serde_json::to_value(stat).expect("json")),
                Err(e) => return Err(self.fail(&mut state, e)),
            }
        }
        state["stats"] = Value::Array(stats);
        if let Err(e) = self.as_handler(
            "cleaner",
            cleaner::handle(&self.deps, &at(wrap(&state), self.deadline())),
        ) {
            return Err((e.error_type().to_string(), e.to_string()));
        }
        match block_on(analyzer::handle(
            &self.deps,
            &at(wrap(&state), self.deadline()),
        )) {
            Ok(analysis) => state["analysis"] = serde_json::to_value(analysis).expect("json"),
            Err(e) => return Err(self.fail(&mut state, e)),
        }
        match self.as_handler(
            "optimizer",
            optimizer::handle(&self.deps, &at(wrap(&state), self.deadline())),
        ) {
            // The state machine's ResultPath: the Optimizer's answer is the analysis.
            Ok(analysis) => state["analysis"] = analysis,
            Err(e) => return Err(self.fail(&mut state, e)),
        }
        Ok(state["analysis"].clone())
    }

    fn calls_of(&self, op: Op) -> Vec<crate::fake::Call> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| c.op == op)
            .collect()
    }

    /// Nothing left behind: no versions but `keep`, `$LATEST` as it was.
    fn assert_clean(&self, keep: &[u64]) {
        assert_eq!(
            self.fake
                .versions("target")
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            keep,
            "versions left"
        );
        assert_eq!(
            self.fake.latest("target"),
            (1024, "original description".to_string()),
            "$LATEST restored"
        );
    }

    /// At most 15 control-plane calls (failed ones included) in any 1 s window.
    fn assert_paced(&self) {
        let times: Vec<Duration> = self
            .fake
            .calls()
            .iter()
            .filter(|c| c.op.is_control_plane())
            .map(|c| c.at)
            .collect();
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|t| **t <= *start + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 15,
                "{in_window} control-plane calls within 1 s from {start:?}"
            );
        }
    }
}

#[test]
fn success_run_publishes_invokes_cleans_and_chooses() {
    let h = harness(with_overhead());
    let out = h.run(h.input(json!({}))).expect("success");
    assert_eq!(out["power"], 128);
    assert_eq!(out["duration"], 1050.0);
    assert_eq!(out["cost"], 1050.0 * 2.1e-9 * 1.0);
    assert!(out.get("stats").is_none() && out.get("failures").is_none());
    // 4 sizes + 6 transitions.
    assert_eq!(out["stateMachine"]["executionCost"], 0.00025);
    let expected_lambda_cost = [128u32, 256, 512, 1024]
        .iter()
        .map(|m| {
            let duration = 50.0 + 1000.0 * 128.0 / f64::from(*m);
            // The first invocation is a cold start: its Billed Duration holds 100 ms of INIT.
            let billed = 4.0 * duration.ceil() + (duration + 100.0).ceil();
            billed * 2.1e-9 * (f64::from(*m) / 128.0)
        })
        .collect::<Vec<_>>();
    let got = out["stateMachine"]["lambdaCost"].as_f64().expect("number");
    assert!((got - expected_lambda_cost.iter().sum::<f64>()).abs() < 1e-15);
    assert!(
        out["stateMachine"]["visualization"]
            .as_str()
            .expect("url")
            .starts_with("https://lambda-power-tuning.show/#")
    );

    // Every invocation targeted a published version number, 5 per size.
    let invokes = h.calls_of(Op::Invoke);
    assert_eq!(invokes.len(), 20);
    assert!(invokes.iter().all(|c| {
        c.qualifier
            .as_deref()
            .is_some_and(|q| q.parse::<u64>().is_ok())
    }));
    // Versions carried the run marker; all are gone, $LATEST is as before.
    h.assert_clean(&[]);
    h.assert_paced();
    // Control plane per size: update + publish + delete (updates apply at once here), plus a
    // fixed overhead (read, restore, list, final read).
    let control = h
        .fake
        .calls()
        .iter()
        .filter(|c| c.op.is_control_plane())
        .count();
    assert_eq!(
        control,
        4 * 3 + 5,
        "{:?}",
        h.fake.calls().iter().map(|c| c.op).collect::<Vec<_>>()
    );
}

#[test]
fn strategies_choose_differently() {
    let h = harness(with_overhead());
    assert_eq!(
        h.run(h.input(json!({"strategy": "speed"}))).expect("speed")["power"],
        1024
    );
    let h = harness(with_overhead());
    assert_eq!(
        h.run(h.input(json!({"strategy": "balanced", "balancedWeight": 0.0})))
            .expect("balanced")["power"],
        1024
    );
    let h = harness(with_overhead());
    assert_eq!(
        h.run(h.input(json!({"strategy": "balanced", "balancedWeight": 1})))
            .expect("balanced")["power"],
        128
    );
}

#[test]
fn invalid_input_fails_before_any_call() {
    for (extra, message) in [
        (json!({"num": 2}), "Missing num or num below 5"),
        (
            json!({"strategy": "cheapest"}),
            "Invalid strategy: cheapest",
        ),
        (json!({"powerValues": [64]}), "Invalid power value: 64"),
        (json!({"stats": []}), "Reserved key in input: stats"),
        (
            json!({"lambdaConfigurations": {}}),
            "Reserved key in input: lambdaConfigurations",
        ),
        (
            json!({"payload": [{"weight": 1, "payload": 1}, {"weight": 50, "payload": 2}], "num": 10}),
            "Invalid payload weight (num is too small)",
        ),
        (
            json!({"payloadS3": "https://bucket/key"}),
            "Invalid S3 path, not a string in the format s3://BUCKET/KEY",
        ),
    ] {
        let h = harness(cpu_bound());
        let (error_type, cause) = h.run(h.input(extra)).expect_err("invalid");
        assert_eq!(
            (error_type.as_str(), cause.as_str()),
            ("InvalidInput", message)
        );
        assert!(h.fake.calls().is_empty(), "no call for {message}");
    }
}

#[test]
fn target_failing_at_one_size_is_reported_and_excluded() {
    let h = harness(Arc::new(|inv: &FakeInvocation| {
        if inv.memory == 128 {
            FakeOutcome::error(
                "Runtime.OutOfMemory",
                "Runtime exited with error: signal: killed",
            )
        } else {
            FakeOutcome::ok(50.0 + 1000.0 * 128.0 / f64::from(inv.memory))
        }
    }));
    let out = h
        .run(h.input(json!({"includeOutputResults": true})))
        .expect("run succeeds");
    assert_eq!(out["power"], 256);
    assert_eq!(
        out["failures"],
        json!([{"value": 128, "errorType": "Runtime.OutOfMemory", "errorMessage": "Runtime exited with error: signal: killed"}])
    );
    let failed = &out["stats"][0];
    assert_eq!(failed["value"], 128);
    assert_eq!(
        failed["invocations"], 1,
        "series mode stops at the first error"
    );
    assert_eq!(failed["errors"], 1);
    assert!(failed.get("averageDuration").is_none());
    // SPEC §3.2's shape: the full `Invocation error (...)` text stays between the states.
    assert_eq!(
        failed["error"],
        json!({"errorType": "Runtime.OutOfMemory", "errorMessage": "Runtime exited with error: signal: killed"})
    );
    assert_eq!(out["stats"].as_array().map(Vec::len), Some(4));
    assert_eq!(out["stats"][1]["invocations"], 5);
    h.assert_clean(&[]);
}

#[test]
fn target_failing_everywhere_fails_the_run_with_the_real_error() {
    let h = harness(Arc::new(|_: &FakeInvocation| {
        FakeOutcome::error("TypeError", "boom")
    }));
    let (error_type, cause) = h
        .run(h.input(json!({"disablePayloadLogs": true})))
        .expect_err("fails");
    assert_eq!(error_type, "TargetFailed");
    assert!(cause.contains("128MB: Invocation error (running in series) - original error type: \"TypeError\", original error message: \"boom\""), "{cause}");
    assert!(cause.contains("1024MB: "), "{cause}");
    assert!(
        !cause.contains("payload"),
        "payloads stay out with disablePayloadLogs"
    );
    h.assert_clean(&[]);
}

/// 50 ms + CPU-bound work, printing about 8 KB of plain lines per invocation.
fn chatty() -> Behavior {
    Arc::new(|inv: &FakeInvocation| FakeOutcome {
        lines: (0..100)
            .map(|n| format!("processing record {n:>6} of the batch: parsed, validated, stored ok"))
            .collect(),
        ..FakeOutcome::ok(50.0 + 1000.0 * 128.0 / f64::from(inv.memory))
    })
}

#[test]
fn json_logs_with_plain_lines_measure_as_text_logs_do() {
    let text = harness(chatty());
    let text_out = text
        .run(text.input(json!({"includeOutputResults": true})))
        .expect("text");
    let json_logs = harness(chatty());
    json_logs.fake.set_log_format("target", FakeLogFormat::Json);
    let json_out = json_logs
        .run(json_logs.input(json!({"includeOutputResults": true})))
        .expect("json");
    // The tails start inside the plain lines, between JSON records: the same figures.
    assert_eq!(json_out, text_out);
    assert_eq!(json_out["stats"][0]["averageDuration"], 1050.0);
    assert_eq!(json_out["stats"][0]["coldStarts"], 1);
    json_logs.assert_clean(&[]);
}

#[test]
fn json_logs_without_platform_report_fail_with_invalid_log_naming_the_version() {
    // SystemLogLevel WARN: Lambda writes no platform.start or platform.report. A function that
    // prints plain lines leaves a tail with no JSON at all; one that logs JSON leaves JSON.
    let json_lines = Arc::new(|inv: &FakeInvocation| FakeOutcome {
        lines: vec!["{\"level\":\"INFO\",\"message\":\"handled\"}".to_string()],
        ..FakeOutcome::ok(f64::from(inv.memory) / 10.0)
    });
    for (behavior, message) in [
        (chatty(), "Invalid log does not contain a REPORT line"),
        (
            json_lines as Behavior,
            "Invalid JSON log does not contain platform.report",
        ),
    ] {
        let h = harness(behavior);
        h.fake
            .set_log_format("target", FakeLogFormat::JsonSystemWarn);
        let (error_type, cause) = h.run(h.input(json!({}))).expect_err("no report");
        assert_eq!(error_type, "InvalidLog");
        // The first size's version: 1.
        assert_eq!(cause, format!("{message} ({}:1)", h.arn));
        // One invocation, then the Executor stopped; nothing was left behind.
        assert_eq!(h.calls_of(Op::Invoke).len(), 1);
        h.assert_clean(&[]);
    }
}

#[test]
fn a_failed_invocation_needs_no_report() {
    // SystemLogLevel WARN keeps the records of failures only; a size that fails is reported
    // as failed (its tail is not read), the others fail the run for their missing report.
    let h = harness(Arc::new(|inv: &FakeInvocation| {
        if inv.memory == 128 {
            FakeOutcome::error("Runtime.OutOfMemory", "oom")
        } else {
            FakeOutcome::ok(10.0)
        }
    }));
    h.fake
        .set_log_format("target", FakeLogFormat::JsonSystemWarn);
    let (error_type, cause) = h.run(h.input(json!({}))).expect_err("no report");
    assert_eq!(error_type, "InvalidLog");
    assert!(cause.ends_with(&format!("({}:2)", h.arn)), "{cause}");
    h.assert_clean(&[]);
}

#[test]
fn throttling_storm_is_absorbed() {
    let h = harness(with_overhead());
    let throttled = || LambdaError::Throttled("Rate exceeded".into());
    h.fake.inject(Op::GetConfiguration, throttled(), 4);
    h.fake.inject(Op::UpdateConfiguration, throttled(), 6);
    h.fake.inject(Op::PublishVersion, throttled(), 6);
    h.fake.inject(Op::Invoke, throttled(), 10);
    h.fake.inject(Op::ListVersions, throttled(), 3);
    h.fake.inject(Op::DeleteVersion, throttled(), 6);
    h.fake.inject_after(
        Op::Invoke,
        7,
        LambdaError::Service {
            code: "ServiceException".into(),
            message: "try again".into(),
        },
        3,
    );
    let out = h.run(h.input(json!({}))).expect("survives the storm");
    assert_eq!(out["power"], 128);
    let invokes = h.calls_of(Op::Invoke);
    assert_eq!(
        invokes.iter().filter(|c| !c.failed).count(),
        20,
        "throttles never count as target errors"
    );
    assert_eq!(invokes.iter().filter(|c| c.failed).count(), 13);
    h.assert_clean(&[]);
    h.assert_paced();
}

#[test]
fn slow_updates_are_waited_for_with_adaptive_polling() {
    let h = harness(with_overhead());
    h.fake.set_update_delay(Duration::from_secs(4));
    let out = h.run(h.input(json!({}))).expect("success");
    assert_eq!(out["power"], 128);
    h.assert_clean(&[]);
    h.assert_paced();
    let calls = h.fake.calls();
    // The updates a version is published from (the restore is waited for by the Cleaner).
    let published: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.op == Op::UpdateConfiguration
                && calls[i + 1..]
                    .iter()
                    .find(|n| n.op != Op::GetConfiguration)
                    .is_some_and(|n| n.op == Op::PublishVersion)
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(published.len(), 4);
    for (k, &i) in published.iter().enumerate() {
        let update = &calls[i];
        let done = update.at + Duration::from_secs(4);
        let polls: Vec<Duration> = calls[i + 1..]
            .iter()
            .take_while(|c| c.op == Op::GetConfiguration)
            .map(|c| c.at - update.at)
            .collect();
        let publish = calls[i + 1 + polls.len()].at;
        assert!(publish >= done, "published before the update was done");
        let noticed = publish - done;
        // SPEC §3.1: every update is checked first within 100 ms (75 ms with the pacing),
        // never a second unchecked.
        assert!(
            polls[0] <= crate::resilient::UPDATE_FIRST_CHECK,
            "update {k}: {polls:?}"
        );
        assert!(
            polls
                .windows(2)
                .all(|w| w[1] - w[0] <= Duration::from_secs(1)),
            "update {k}: {polls:?}"
        );
        if k == 0 {
            // Nothing learned yet: growing steps up to 300 ms.
            assert!(
                noticed <= Duration::from_millis(300) + crate::resilient::CONTROL_PLANE_INTERVAL
            );
        } else {
            // Learned: after the early check, a check every 800 ms until the last latency,
            // seen done within a step or two of it (the unlearned schedule takes 17 checks).
            assert!(polls.len() <= 7, "update {k}: polls {polls:?}");
            assert!(
                polls[polls.len() - 1] >= Duration::from_millis(3_800),
                "update {k}: {polls:?}"
            );
            assert!(
                noticed <= Duration::from_millis(150),
                "update {k}: noticed after {noticed:?}"
            );
        }
    }
}

#[test]
fn failed_update_rolls_back() {
    let h = harness(with_overhead());
    h.fake.set_update_delay(Duration::from_millis(500));
    h.fake.inject_after(
        Op::UpdateConfiguration,
        2,
        LambdaError::InvalidRequest {
            code: "InvalidParameterValueException".into(),
            message: "nope".into(),
        },
        1,
    );
    let (error_type, cause) = h.run(h.input(json!({}))).expect_err("fails");
    assert_eq!(error_type, "InvalidRequest");
    assert!(cause.contains("nope"), "{cause}");
    h.assert_clean(&[]);
}

#[test]
fn update_status_failed_is_an_error_with_the_reason() {
    let h = harness(with_overhead());
    h.fake.set_update_delay(Duration::from_millis(300));
    h.fake.fail_next_update("EniLimitExceeded");
    let (error_type, cause) = h.run(h.input(json!({}))).expect_err("fails");
    assert_eq!(
        (error_type.as_str(), cause.as_str()),
        ("UpdateFailed", "Function update failed: EniLimitExceeded")
    );
    assert!(h.fake.versions("target").is_empty());
}

#[test]
fn a_failed_restore_fails_the_run_in_the_cleaner() {
    // The Initializer starts the restore (the fifth update) and goes on; the Cleaner waits for
    // it and reports its failure.
    let h = harness(with_overhead());
    h.fake.set_update_delay(Duration::from_millis(300));
    h.fake.fail_update_after(4, "EniLimitExceeded");
    let (error_type, cause) = h.run(h.input(json!({}))).expect_err("fails");
    assert_eq!(
        (error_type.as_str(), cause.as_str()),
        (
            "UpdateFailed",
            "Restoring $LATEST of arn:aws:lambda:us-east-1:123456789012:function:target: \
             Function update failed: EniLimitExceeded"
        )
    );
    assert!(h.fake.versions("target").is_empty());
}

#[test]
fn the_restore_is_waited_for_by_the_cleaner() {
    let h = harness(with_overhead());
    h.fake.set_update_delay(Duration::from_secs(2));
    h.run(h.input(json!({}))).expect("success");
    h.assert_clean(&[]);
    let calls = h.fake.calls();
    let restore = calls
        .iter()
        .rfind(|c| c.op == Op::UpdateConfiguration)
        .expect("restored");
    let last = calls
        .iter()
        .rfind(|c| c.op == Op::GetConfiguration)
        .expect("read");
    assert!(last.at >= restore.at + Duration::from_secs(2), "{last:?}");
}

#[test]
fn error_halfway_through_publishing_rolls_back() {
    let h = harness(with_overhead());
    h.fake.inject_after(
        Op::PublishVersion,
        2,
        LambdaError::AccessDenied("not allowed".into()),
        1,
    );
    let (error_type, _) = h.run(h.input(json!({}))).expect_err("fails");
    assert_eq!(error_type, "AccessDenied");
    assert_eq!(
        h.calls_of(Op::DeleteVersion)
            .iter()
            .filter(|c| !c.failed)
            .count(),
        2
    );
    h.assert_clean(&[]);
}

/// Runs the Initializer and drops it (as a crash would) once `versions` versions exist.
fn interrupt_initializer_after(h: &Harness, input: &Value, versions: usize) {
    let event = wrap(input);
    h.as_handler("initializer", async move {
        let invocation = at(event, h.deadline());
        let init = initializer::handle(&h.deps, &invocation);
        let watch = async {
            for _ in 0..100_000 {
                if h.fake.versions("target").len() >= versions {
                    return;
                }
                crate::fake::yield_now().await;
            }
        };
        futures::pin_mut!(init, watch);
        if let futures::future::Either::Left(_) = futures::future::select(init, watch).await {
            panic!("initializer should have been interrupted");
        }
    });
}

#[test]
fn crash_halfway_through_publishing_is_cleaned_by_marker() {
    let h = harness(with_overhead());
    let input = h.input(json!({}));
    interrupt_initializer_after(&h, &input, 3);
    assert_eq!(h.fake.versions("target").len(), 3);
    assert!(
        Marker::find(&h.fake.latest("target").1).is_some(),
        "$LATEST left with the marker"
    );
    // CleanUpOnError with no Initializer output: the run id comes from the execution.
    let report =
        block_on(cleaner::handle(&h.deps, &at(wrap(&input), h.deadline()))).expect("cleanup");
    assert_eq!(report.deleted.len(), 3);
    assert!(report.restored);
    h.assert_clean(&[]);
    // Idempotent.
    let again =
        block_on(cleaner::handle(&h.deps, &at(wrap(&input), h.deadline()))).expect("cleanup");
    assert_eq!(again, cleaner::CleanupReport::default());
}

#[test]
fn pre_existing_version_and_alias_are_left_intact() {
    let h = harness(with_overhead());
    let v1 = h.fake.publish_now("target");
    h.fake.alias_now("target", "live", v1);
    let out = h
        .run(h.input(json!({"powerValues": [512, 1024]})))
        .expect("success");
    assert_eq!(out["power"], 512);
    // 1024 MB with the original description already exists as v1, but the marker made the
    // run publish its own version instead of reusing (and later deleting) v1.
    assert!(
        h.calls_of(Op::Invoke)
            .iter()
            .all(|c| c.qualifier.as_deref() != Some("1"))
    );
    h.assert_clean(&[v1]);
    assert_eq!(
        h.fake.aliases("target").get("live").map(String::as_str),
        Some("1")
    );
}

#[test]
fn auto_optimize_without_alias_sets_latest_memory() {
    let h = harness(with_overhead());
    let out = h
        .run(h.input(json!({"autoOptimize": true})))
        .expect("success");
    assert_eq!(out["power"], 128);
    assert_eq!(out["optimization"], json!({"applied": true}));
    assert_eq!(
        h.fake.latest("target"),
        (128, "original description".to_string())
    );
    assert!(h.fake.versions("target").is_empty());
    // Without autoOptimize the analysis passes unchanged: no `optimization`.
    let h = harness(with_overhead());
    let out = h.run(h.input(json!({}))).expect("success");
    assert!(out.get("optimization").is_none());
    assert_eq!(out["confidence"]["verdict"], "clear");
}

/// A function whose 512 MB and 1024 MB (its current size) cost the same within noise: the
/// durations alternate ±5 % around 200 and 100 ms.
fn noisy_tie() -> Behavior {
    let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
    Arc::new(move |inv: &FakeInvocation| {
        let k = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let noise = [1.0, 1.05, 0.95, 1.03, 0.97][(k % 5) as usize];
        FakeOutcome::ok(noise * 100.0 * 1024.0 / f64::from(inv.memory))
    })
}

#[test]
fn require_significance_applies_only_a_significant_saving() {
    // 128 MB saves clearly against the current 1024 MB: applied.
    let h = harness(with_overhead());
    let out = h
        .run(h.input(
            json!({"autoOptimize": true, "requireSignificance": true, "includeCurrent": true, "powerValues": [128, 256]}),
        ))
        .expect("success");
    assert_eq!(out["change"]["significant"], true, "{out}");
    assert_eq!(out["optimization"], json!({"applied": true}));
    assert_eq!(h.fake.latest("target").0, 128);

    // 512 MB and the current 1024 MB within noise: nothing is called, the reason says why.
    let h = harness(noisy_tie());
    let out = h
        .run(h.input(json!({"autoOptimize": true, "requireSignificance": true, "includeCurrent": true, "powerValues": [512, 1024], "num": 10})))
        .expect("success");
    assert_eq!(out["change"]["significant"], false, "{out}");
    assert_eq!(out["optimization"]["applied"], false);
    let reason = out["optimization"]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("is the current setting")
            || reason.contains("not significant at the 95 % level (p = "),
        "{reason}"
    );
    assert!(
        h.attributed
            .borrow()
            .iter()
            .all(|(handler, _)| *handler != "optimizer"),
        "the Optimizer made no call"
    );
    assert_eq!(h.fake.latest("target").0, 1024);
    assert_eq!(out["confidence"]["verdict"], "tie", "{out}");
}

#[test]
fn require_significance_without_include_current_measures_no_extra_size_and_changes_nothing() {
    // SPEC §13: with no `current` there is no `change.significant`, so nothing is applied,
    // however clear the saving; the sizes measured are exactly the input's.
    let h = harness(with_overhead());
    let out = h
        .run(h.input(json!({"autoOptimize": true, "requireSignificance": true, "powerValues": [128, 256], "includeOutputResults": true})))
        .expect("success");
    let measured: Vec<&Value> = out["stats"]
        .as_array()
        .expect("stats")
        .iter()
        .map(|s| &s["value"])
        .collect();
    assert_eq!(measured, [&json!(128), &json!(256)], "{out}");
    assert!(
        out.get("current").is_none() && out.get("change").is_none(),
        "{out}"
    );
    assert_eq!(out["optimization"]["applied"], false, "{out}");
    let reason = out["optimization"]["reason"].as_str().expect("reason");
    assert!(reason.contains("includeCurrent is not set"), "{reason}");
    assert_eq!(h.fake.latest("target").0, 1024);
}

#[test]
fn auto_optimize_with_alias_points_alias_at_new_version() {
    let h = harness(with_overhead());
    let out =
        h.run(h.input(
            json!({"autoOptimize": true, "autoOptimizeAlias": "live", "strategy": "speed"}),
        ))
        .expect("success");
    assert_eq!(out["power"], 1024);
    let versions = h.fake.versions("target");
    assert_eq!(versions.len(), 1);
    let (number, (memory, description)) = versions.into_iter().next().expect("one version");
    assert_eq!(
        (memory, description.as_str()),
        (1024, "original description")
    );
    assert_eq!(
        h.fake.aliases("target").get("live"),
        Some(&number.to_string())
    );
    assert_eq!(
        h.fake.latest("target"),
        (1024, "original description".to_string())
    );
    // Running again updates the existing alias.
    let h2 = h
        .run(
            h.input(json!({"autoOptimize": true, "autoOptimizeAlias": "live", "strategy": "cost"})),
        )
        .expect("again");
    assert_eq!(h2["power"], 128);
    let live = h.fake.aliases("target")["live"]
        .parse::<u64>()
        .expect("number");
    assert_eq!(h.fake.versions("target")[&live].0, 128);
}

#[test]
fn dry_run_invokes_once_per_size_and_returns_null() {
    let h = harness(with_overhead());
    let out = h
        .run(h.input(json!({"dryRun": true, "autoOptimize": true})))
        .expect("success");
    assert_eq!(out, Value::Null);
    assert_eq!(h.calls_of(Op::Invoke).len(), 4);
    h.assert_clean(&[]);
}

#[test]
fn only_cold_starts_publishes_num_versions_per_size() {
    let h = harness(with_overhead());
    let out = h
        .run(h.input(json!({"onlyColdStarts": true, "includeOutputResults": true, "num": 6})))
        .expect("success");
    for stat in out["stats"].as_array().expect("stats") {
        assert_eq!(stat["coldStarts"], 6, "{stat}");
        assert_eq!(stat["invocations"], 6);
        // discardTopBottom is forced to 0: init (100 ms) counted in every duration.
    }
    let invoked: std::collections::BTreeSet<_> = h
        .calls_of(Op::Invoke)
        .into_iter()
        .filter_map(|c| c.qualifier)
        .collect();
    assert_eq!(invoked.len(), 24, "one version per invocation");
    assert_eq!(h.calls_of(Op::PublishVersion).len(), 24);
    h.assert_clean(&[]);
}

#[test]
fn parallel_invocations_respect_the_cap() {
    let h = harness(with_overhead());
    let out = h.run(h.input(json!({"parallelInvocation": true, "maxParallelInvocations": 3, "num": 12, "includeOutputResults": true}))).expect("success");
    assert_eq!(h.fake.max_in_flight(), 3);
    assert_eq!(out["stats"][0]["invocations"], 12);
    let h = harness(with_overhead());
    h.run(h.input(json!({"parallelInvocation": true, "num": 8})))
        .expect("success");
    assert_eq!(h.fake.max_in_flight(), 8, "defaults to num");
}

#[test]
fn reserved_concurrency_zero_is_invalid_input_before_any_change() {
    let h = harness(with_overhead());
    h.fake.set_reserved_concurrency("target", Some(0));
    let (error_type, cause) = h.run(h.input(json!({}))).expect_err("cannot be invoked");
    assert_eq!(error_type, "InvalidInput");
    assert_eq!(
        cause,
        format!("{} has reserved concurrency 0: it cannot be invoked", h.arn)
    );
    let ops: Vec<Op> = h.fake.calls().iter().map(|c| c.op).collect();
    assert_eq!(ops, [Op::GetConfiguration, Op::GetFunctionConcurrency]);
    h.assert_clean(&[]);
}

#[test]
fn parallel_runs_stay_within_the_accounts_and_the_reserved_concurrency() {
    // A new account: 10 concurrent executions. Two sizes run their Executors at once, which
    // take 2; each Executor may have (10 - 2) / 2 = 4 invocations in flight.
    let h = harness(with_overhead());
    h.fake.set_account_concurrency(10);
    let out = h
        .run(h.input(json!({"parallelInvocation": true, "num": 50, "powerValues": [128, 256], "includeOutputResults": true})))
        .expect("no self-throttling");
    assert_eq!(h.fake.max_in_flight(), 4);
    assert_eq!(out["stats"][0]["invocations"], 50);
    assert!(h.fake.calls().iter().all(|c| !c.failed));
    assert_eq!(h.calls_of(Op::GetAccountSettings).len(), 1);
    // Reserved 6 for 3 sizes: 2 each; the account is not read.
    let h = harness(with_overhead());
    h.fake.set_reserved_concurrency("target", Some(6));
    h.run(h.input(json!({"parallelInvocation": true, "num": 10, "powerValues": [128, 256, 512]})))
        .expect("success");
    assert_eq!(h.fake.max_in_flight(), 2);
    assert!(h.calls_of(Op::GetAccountSettings).is_empty());
    // In series, no account read at all.
    let h = harness(with_overhead());
    h.run(h.input(json!({}))).expect("success");
    assert!(h.calls_of(Op::GetAccountSettings).is_empty());
}

#[test]
fn a_permanent_invoke_error_fails_at_once_with_lambdas_code() {
    let h = harness(with_overhead());
    h.fake.inject(
        Op::Invoke,
        LambdaError::from_code(
            "KMSDisabledException",
            502,
            "Lambda was unable to decrypt the environment variables because the KMS key used is disabled.".into(),
        ),
        100,
    );
    let (error_type, cause) = h.run(h.input(json!({}))).expect_err("permanent");
    assert_eq!(error_type, "KMSDisabledException");
    assert!(
        cause.contains("KMSDisabledException: Lambda was unable to decrypt"),
        "{cause}"
    );
    assert_eq!(h.calls_of(Op::Invoke).len(), 1, "no retry");
    h.assert_clean(&[]);
}

#[test]
fn parallel_failure_stops_new_invocations() {
    let h = harness(Arc::new(|inv: &FakeInvocation| {
        if inv.memory == 256 {
            FakeOutcome::error("Boom", "bad")
        } else {
            FakeOutcome::ok(10.0)
        }
    }));
    let out = h.run(h.input(json!({"parallelInvocation": true, "maxParallelInvocations": 2, "num": 10, "includeOutputResults": true}))).expect("success");
    let failed = &out["stats"][1];
    assert_eq!(failed["value"], 256);
    assert_eq!(failed["invocations"], 2, "only the in-flight ones finished");
    assert_eq!(
        failed["error"],
        json!({"errorType": "Boom", "errorMessage": "bad"})
    );
}

#[test]
fn a_run_failing_everywhere_in_parallel_quotes_each_invocation_error() {
    let h = harness(Arc::new(|_: &FakeInvocation| {
        FakeOutcome::error("Boom", "bad")
    }));
    let (error_type, cause) = h
        .run(h.input(json!({"parallelInvocation": true, "num": 5, "powerValues": [128, 256]})))
        .expect_err("fails");
    assert_eq!(error_type, "TargetFailed");
    for size in [128, 256] {
        let line = format!(
            "{size}MB: Invocation error (running in parallel) with payload null - original error type: \"Boom\", original error message: \"bad\""
        );
        assert!(cause.contains(&line), "{cause}");
    }
    h.assert_clean(&[]);
}

#[test]
fn weighted_payloads_reach_the_target_in_blocks() {
    let h = harness(with_overhead());
    let payload =
        json!([{"weight": 1, "payload": {"p": "a"}}, {"weight": 3, "payload": "{\"p\":\"b\"}"}]);
    h.run(h.input(json!({"payload": payload, "num": 8, "powerValues": [256]})))
        .expect("success");
    let sent: Vec<String> = h
        .calls_of(Op::Invoke)
        .into_iter()
        .filter_map(|c| c.payload)
        .collect();
    assert_eq!(
        sent,
        vec![
            "{\"p\":\"a\"}",
            "{\"p\":\"a\"}",
            "{\"p\":\"b\"}",
            "{\"p\":\"b\"}",
            "{\"p\":\"b\"}",
            "{\"p\":\"b\"}",
            "{\"p\":\"b\"}",
            "{\"p\":\"b\"}"
        ]
    );
}

#[test]
fn payload_s3_is_read_once_per_executor() {
    let h = harness(with_overhead());
    h.payloads
        .put("bucket", "payload.json", Ok(b"{\"from\": \"s3\"}".to_vec()));
    h.run(h.input(json!({"payloadS3": "s3://bucket/payload.json", "payload": "ignored"})))
        .expect("success");
    assert_eq!(h.payloads.fetches(), 4);
    assert!(
        h.calls_of(Op::Invoke)
            .iter()
            .all(|c| c.payload.as_deref() == Some("{\"from\":\"s3\"}"))
    );

    for (body, message) in [
        (
            Err(PayloadSourceError::AccessDenied),
            "Permission denied when trying to read s3://bucket/payload.json. You might need to re-deploy the app with the correct payloadS3Bucket parameter.",
        ),
        (
            Err(PayloadSourceError::NotFound),
            "The object s3://bucket/payload.json does not exist. Make sure you are trying to access an existing object in the correct bucket.",
        ),
        (
            Err(PayloadSourceError::Other("SlowDown".into())),
            "Unknown error when trying to read s3://bucket/payload.json. SlowDown",
        ),
    ] {
        let h = harness(with_overhead());
        h.payloads.put("bucket", "payload.json", body);
        let (error_type, cause) = h
            .run(h.input(json!({"payloadS3": "s3://bucket/payload.json"})))
            .expect_err("fails");
        assert_eq!(
            (error_type.as_str(), cause.as_str()),
            ("PayloadS3Error", message)
        );
        h.assert_clean(&[]);
    }
}

#[test]
fn processors_wrap_every_invocation() {
    let h = harness(with_overhead());
    let pre = h.fake.add_function(
        "pre",
        128,
        "",
        Arc::new(|_: &FakeInvocation| FakeOutcome {
            payload: b"{\"pre\":1}".to_vec(),
            ..FakeOutcome::ok(1.0)
        }),
    );
    let post = h.fake.add_function(
        "post",
        128,
        "",
        Arc::new(|_: &FakeInvocation| FakeOutcome::ok(1.0)),
    );
    h.run(h.input(json!({"preProcessorARN": pre, "postProcessorARN": post, "powerValues": [512], "payload": {"x": 1}}))).expect("success");
    let calls = h.calls_of(Op::Invoke);
    let target: Vec<_> = calls.iter().filter(|c| c.function == "target").collect();
    assert_eq!(target.len(), 5);
    assert!(
        target
            .iter()
            .all(|c| c.payload.as_deref() == Some("{\"pre\":1}"))
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.function == "pre" && c.payload.as_deref() == Some("{\"x\":1}"))
            .count(),
        5
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.function == "post" && c.payload.as_deref() == Some("{\"ok\":true}"))
            .count(),
        5
    );

    let h = harness(with_overhead());
    let post = h.fake.add_function(
        "post",
        128,
        "",
        Arc::new(|_: &FakeInvocation| FakeOutcome::error("PostError", "nope")),
    );
    let (error_type, cause) = h
        .run(h.input(json!({"postProcessorARN": post, "powerValues": [512]})))
        .expect_err("fails");
    assert_eq!(error_type, "ProcessorFailed");
    assert_eq!(
        cause,
        format!(
            "PostProcessor {post} failed with payload {{\"ok\":true}} - original error type: \"PostError\", original error message: \"nope\""
        )
    );
    h.assert_clean(&[]);
}

#[test]
fn allowed_exceptions_count_as_success() {
    let h = harness(Arc::new(|inv: &FakeInvocation| FakeOutcome {
        error: Some(("HandledError".into(), "expected".into())),
        ..FakeOutcome::ok(100.0 * 128.0 / f64::from(inv.memory) + 20.0)
    }));
    let out = h
        .run(h.input(json!({"allowedExceptions": ["HandledError"], "includeOutputResults": true})))
        .expect("success");
    assert_eq!(out["stats"][0]["errors"], 0);
    assert_eq!(out["stats"][0]["invocations"], 5);
    assert!(out.get("failures").is_none());
}

#[test]
fn sleep_between_runs_spaces_invocations() {
    let h = harness(Arc::new(|_: &FakeInvocation| FakeOutcome::ok(10.0)));
    h.run(h.input(json!({"sleepBetweenRunsMs": 1000, "powerValues": [128]})))
        .expect("success");
    let times: Vec<Duration> = h.calls_of(Op::Invoke).iter().map(|c| c.at).collect();
    assert!(
        times
            .windows(2)
            .all(|w| w[1] - w[0] >= Duration::from_millis(1010)),
        "{times:?}"
    );
}

#[test]
fn publishing_continues_over_several_passes() {
    let h = harness(with_overhead());
    h.fake.set_update_delay(Duration::from_secs(2));
    // 8 s per Initializer invocation: a few versions per pass.
    let out = h
        .run_with_budget(
            h.input(json!({"powerValues": [128, 256, 512, 1024, 1536, 2048]})),
            Duration::from_secs(8),
        )
        .expect("success");
    let inits = h.calls_of(Op::GetConfiguration).len();
    assert!(inits > 0);
    let passes = ((out["stateMachine"]["executionCost"].as_f64().expect("cost") / 0.000025).round()
        as u64
        - 12)
        / 2
        + 1;
    assert!(passes >= 3, "{passes} passes");
    h.assert_clean(&[]);
}

#[test]
fn unsupported_architecture_fails_before_changes() {
    let clock = FakeClock::new();
    let fake = FakeLambda::new(clock.clone());
    let arn = fake.add_function_with_arch("target", 1024, "d", "riscv64", cpu_bound());
    let deps = Deps {
        lambda: Resilient::new(fake.clone(), clock.clone()),
        payloads: FakePayloads::default(),
        clock: clock.clone(),
        settings: Settings::default(),
    };
    let input = json!({"lambdaARN": arn, "num": 5});
    let err = block_on(initializer::handle(
        &deps,
        &at(wrap(&input), clock.now() + BUDGET),
    ))
    .expect_err("unsupported");
    assert_eq!(
        (err.error_type(), err.to_string().as_str()),
        (
            "UnsupportedArchitecture",
            "Unsupported architecture: riscv64"
        )
    );
    assert!(fake.calls().iter().all(|c| c.op == Op::GetConfiguration));
}

#[test]
fn arm64_prices_are_used() {
    let clock = FakeClock::new();
    let fake = FakeLambda::new(clock.clone());
    let arn = fake.add_function_with_arch(
        "target",
        1024,
        "original description",
        "arm64",
        with_overhead(),
    );
    let deps = Deps {
        lambda: Resilient::new(fake.clone(), clock.clone()),
        payloads: FakePayloads::default(),
        clock: clock.clone(),
        settings: Settings::default(),
    };
    let h = Harness {
        attributed: Default::default(),
        clock,
        fake,
        payloads: FakePayloads::default(),
        deps,
        arn,
    };
    let out = h.run(h.input(json!({}))).expect("success");
    assert_eq!(out["cost"], 1050.0 * 1.7e-9 * 1.0);
}

#[test]
fn cleaner_without_valid_arn_makes_no_call() {
    let h = harness(cpu_bound());
    let report = block_on(cleaner::handle(
        &h.deps,
        &at(wrap(&json!({"lambdaARN": "nope"})), h.deadline()),
    ))
    .expect("nothing to do");
    assert_eq!(report, cleaner::CleanupReport::default());
    assert!(h.fake.calls().is_empty());
}

#[test]
fn continuation_state_is_compact() {
    let h = harness(with_overhead());
    let input = h.input(json!({"powerValues": "ALL", "onlyColdStarts": true, "num": 5}));
    let out = block_on(initializer::handle(
        &h.deps,
        &at(wrap(&input), h.deadline()),
    ))
    .expect("init");
    let size = serde_json::to_string(&out).expect("json").len();
    assert!(size < 8 * 1024, "{size} bytes for 230 versions");
    assert_eq!(
        LambdaConfigurations::from_state(&json!({"lambdaConfigurations": out.clone()})),
        Some(out)
    );
}

#[test]
fn handlers_call_only_the_actions_of_the_iam_table() {
    let mut seen: std::collections::BTreeSet<(&str, &str)> = Default::default();
    let mut record = |h: &Harness| {
        for (handler, op) in h.attributed.borrow().iter() {
            seen.insert((handler, op.iam_action()));
        }
    };
    // Success with alias (optimizer's whole path) and an existing alias; a parallel run reads
    // the account's concurrency.
    let h = harness(with_overhead());
    h.run(h.input(json!({"autoOptimize": true, "autoOptimizeAlias": "live"})))
        .expect("run");
    h.run(h.input(json!({"parallelInvocation": true})))
        .expect("parallel");
    h.run(h.input(json!({"autoOptimize": true, "autoOptimizeAlias": "live"})))
        .expect("again");
    record(&h);
    // Initializer rollback, and a crash cleaned by marker with $LATEST restored.
    let h = harness(with_overhead());
    h.fake.inject_after(
        Op::PublishVersion,
        2,
        LambdaError::AccessDenied("no".into()),
        1,
    );
    h.run(h.input(json!({}))).expect_err("fails");
    record(&h);
    let h = harness(with_overhead());
    let input = h.input(json!({}));
    interrupt_initializer_after(&h, &input, 2);
    h.as_handler(
        "cleaner",
        cleaner::handle(&h.deps, &at(wrap(&input), h.deadline())),
    )
    .expect("cleanup");
    record(&h);
    for (handler, action) in &seen {
        assert!(
            crate::iam::actions_of(handler).contains(action),
            "{handler} calls {action}, missing from iam::HANDLER_LAMBDA_ACTIONS"
        );
    }
    // And the table holds nothing the handlers never call.
    for (handler, actions) in crate::iam::HANDLER_LAMBDA_ACTIONS {
        for action in actions {
            assert!(
                seen.contains(&(handler, action)),
                "{handler} never calls {action}"
            );
        }
    }
}

#[test]
fn include_current_measures_the_current_size_and_compares() {
    let h = harness(with_overhead());
    let out = h
        .run(h.input(
            json!({"powerValues": [128, 256, 512], "includeCurrent": true,
            "includeOutputResults": true, "monthlyInvocations": 1000000}),
        ))
        .expect("success");
    let stats = out["stats"].as_array().expect("stats");
    assert_eq!(
        stats
            .iter()
            .map(|s| s["value"].as_u64().expect("value"))
            .collect::<Vec<_>>(),
        vec![128, 256, 512, 1024],
        "the current size (1024 MB) appended after the input's sizes"
    );
    let current_stat = &stats[3];
    assert_eq!(
        out["current"],
        json!({"power": 1024, "cost": current_stat["averagePrice"], "duration": current_stat["averageDuration"],
            "p99Duration": current_stat["p99Duration"], "monthlyCost": current_stat["monthlyCost"]})
    );
    let chosen = &stats[0];
    let pct = |a: &Value, b: &Value| {
        let (a, b) = (a.as_f64().expect("a"), b.as_f64().expect("b"));
        (100.0 * (a - b) / b * 100.0).round() / 100.0
    };
    assert_eq!(out["power"], 128);
    assert_eq!(
        out["change"]["costPercent"],
        pct(&chosen["averagePrice"], &current_stat["averagePrice"])
    );
    assert_eq!(
        out["change"]["durationPercent"],
        pct(&chosen["averageDuration"], &current_stat["averageDuration"])
    );
    assert_eq!(
        out["change"]["monthlyCostDelta"],
        chosen["monthlyCost"].as_f64().expect("m")
            - current_stat["monthlyCost"].as_f64().expect("m")
    );
    assert_eq!(out["monthlyCost"], chosen["monthlyCost"]);
    // 4 configurations + 6 transitions.
    assert_eq!(out["stateMachine"]["executionCost"], 0.00025);
    h.assert_clean(&[]);
    h.assert_paced();
}

/// A harness with a second function, `other`, of architecture `arm64` at 512 MB.
fn two_functions() -> (Harness, String) {
    let h = harness(with_overhead());
    let other =
        h.fake
            .add_function_with_arch("other", 512, "other description", "arm64", with_overhead());
    (h, other)
}

#[test]
fn compare_with_tunes_every_target_and_cleans_them_all() {
    let (h, other) = two_functions();
    let out = h
        .run(h.input(json!({"compareWith": [other], "includeCurrent": true})))
        .expect("success");
    // Both functions are fastest-cheapest at 128 MB; arm64's price is lower.
    assert_eq!(out["power"], 128);
    assert_eq!(out["lambdaARN"], other);
    assert_eq!(out["cost"], 1050.0 * 1.7e-9);
    let targets = out["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["lambdaARN"], h.arn);
    assert_eq!(targets[0]["architecture"], "x86_64");
    assert_eq!(targets[1]["architecture"], "arm64");
    assert_eq!(targets[1]["current"]["power"], 512);
    // 4 + 4 sizes (512 MB already in powerValues, 1024 added for the first) + 6 transitions.
    assert_eq!(
        out["stateMachine"]["executionCost"],
        round5(0.000025 * 14.0)
    );
    assert!(
        out["stateMachine"]["comparison"]
            .as_str()
            .is_some_and(|c| c.split(';').count() == 8)
    );
    h.assert_clean(&[]);
    assert!(
        h.fake.versions("other").is_empty(),
        "every version of both targets deleted"
    );
    assert_eq!(
        h.fake.latest("other"),
        (512, "other description".to_string())
    );
    h.assert_paced();
    // Every invocation of the second target went to its own versions.
    let other_invokes = h
        .calls_of(Op::Invoke)
        .into_iter()
        .filter(|c| c.function == "other")
        .count();
    assert_eq!(other_invokes, 4 * 5);
}

fn round5(x: f64) -> f64 {
    crate::pricing::round5(x)
}

#[test]
fn compare_with_a_missing_function_changes_nothing() {
    let h = harness(with_overhead());
    let missing = h.arn.replace(":target", ":missing");
    let (error_type, _) = h
        .run(h.input(json!({"compareWith": [missing]})))
        .expect_err("missing target");
    assert_eq!(error_type, "ResourceNotFound");
    assert!(
        h.calls_of(Op::UpdateConfiguration).is_empty() && h.calls_of(Op::PublishVersion).is_empty(),
        "targets are read before anything changes"
    );
    h.assert_clean(&[]);
}

#[test]
fn compare_with_cleans_every_target_when_publishing_fails() {
    let (h, other) = two_functions();
    // The first target publishes its 4 versions; the second target's second publish fails.
    h.fake.inject_after(
        Op::PublishVersion,
        5,
        LambdaError::AccessDenied("no".into()),
        1,
    );
    let (error_type, _) = h
        .run(h.input(json!({"compareWith": [other]})))
        .expect_err("publish fails");
    assert_eq!(error_type, "AccessDenied");
    h.assert_clean(&[]);
    assert!(h.fake.versions("other").is_empty());
    assert_eq!(
        h.fake.latest("other"),
        (512, "other description".to_string())
    );
}

fn foreign_marker(started: Option<u64>) -> Marker {
    Marker {
        run_id: crate::marker::RunId::derive("another execution"),
        power: 2048,
        copy: 0,
        original_memory: 1024,
        started,
    }
}

#[test]
fn a_live_run_on_the_function_stops_this_one_before_any_change() {
    let h = harness(with_overhead());
    let other = foreign_marker(Some(h.clock.unix_seconds() - 10));
    let description = other.describe("original description");
    block_on(
        h.fake
            .update_configuration(&h.arn, ConfigUpdate::new(2048, &description)),
    )
    .expect("other run");
    h.fake.clear_calls();
    let (error_type, message) = h.run(h.input(json!({}))).expect_err("concurrent");
    assert_eq!(error_type, "ConcurrentRun");
    assert_eq!(
        message,
        format!(
            "{} is being tuned by run {} since {}",
            h.arn,
            other.run_id,
            crate::marker::iso8601(h.clock.unix_seconds() - 10)
        )
    );
    assert!(
        h.calls_of(Op::UpdateConfiguration).is_empty() && h.calls_of(Op::PublishVersion).is_empty()
    );
    assert_eq!(
        h.fake.latest("target"),
        (2048, description),
        "the other run's $LATEST untouched"
    );
}

#[test]
fn a_stale_marker_is_not_kept_in_the_description() {
    let h = harness(with_overhead());
    // A run that crashed an hour ago (totalExecutionTimeout is 300 s).
    let stale = foreign_marker(Some(h.clock.unix_seconds() - 3600));
    block_on(h.fake.update_configuration(
        &h.arn,
        ConfigUpdate::new(1024, &stale.describe("original description")),
    ))
    .expect("crashed run");
    h.run(h.input(json!({}))).expect("runs");
    h.assert_clean(&[]);
}

#[test]
fn a_race_past_the_check_is_caught_and_rolled_back_without_touching_the_winner() {
    let h = harness(with_overhead());
    // Between this run's second update and its publish, another run updates $LATEST.
    let other = foreign_marker(Some(h.clock.unix_seconds()));
    let theirs = other.describe("original description");
    h.fake
        .interfere_before(Op::PublishVersion, 1, "target", &theirs);
    let (error_type, message) = h.run(h.input(json!({}))).expect_err("race");
    assert_eq!(error_type, "ConcurrentRun");
    assert!(
        message.contains(&format!("is being tuned by run {}", other.run_id)),
        "{message}"
    );
    // This run's first version is gone; no version carries the other run's marker by our
    // doing; $LATEST keeps the other run's description (its run restores it).
    assert!(
        h.fake.versions("target").is_empty(),
        "{:?}",
        h.fake.versions("target")
    );
    assert_eq!(h.fake.latest("target").1, theirs);
}

#[test]
fn response_streaming_measures_time_to_first_byte_and_size() {
    let streaming: Behavior = Arc::new(|inv: &FakeInvocation| FakeOutcome {
        payload: vec![b'x'; 1000 * inv.memory as usize],
        first_byte_ms: 25.0 + 1000.0 / f64::from(inv.memory),
        ..FakeOutcome::ok(200.0)
    });
    let h = harness(streaming);
    let out = h
        .run(h.input(
            json!({"responseStreaming": true, "includeOutputResults": true,
            "powerValues": [128, 1024]}),
        ))
        .expect("success");
    assert!(
        h.calls_of(Op::Invoke).is_empty(),
        "every invocation streamed"
    );
    assert_eq!(h.calls_of(Op::InvokeStreaming).len(), 10);
    let stats = out["stats"].as_array().expect("stats");
    let first = 25.0 + 1000.0 / 128.0;
    assert_eq!(stats[0]["averageTimeToFirstByte"], first);
    assert_eq!(stats[0]["p50TimeToFirstByte"], first);
    assert_eq!(stats[0]["p99TimeToFirstByte"], first);
    assert_eq!(stats[0]["averageResponseBytes"], 128_000.0);
    assert_eq!(stats[1]["averageResponseBytes"], 1_024_000.0);
    // Duration and cost still come from the REPORT in the log tail.
    assert_eq!(stats[0]["averageDuration"], 200.0);
    h.assert_clean(&[]);

    // An ErrorCode in InvokeComplete is a target error of that size.
    let failing: Behavior = Arc::new(|inv: &FakeInvocation| {
        if inv.memory == 128 {
            FakeOutcome::error("Function.ResponseSizeTooLarge", "too large")
        } else {
            FakeOutcome::ok(10.0)
        }
    });
    let h = harness(failing);
    let out = h
        .run(h.input(json!({"responseStreaming": true, "powerValues": [128, 256]})))
        .expect("the other size is measured");
    assert_eq!(
        out["failures"],
        json!([{"value": 128, "errorType": "Function.ResponseSizeTooLarge", "errorMessage": "too large"}])
    );
}

#[test]
fn streamed_errors_match_allowed_exceptions_and_an_incomplete_stream_fails() {
    // InvokeComplete says `Unhandled`; the function's errorType is inside ErrorDetails.
    let allowed: Behavior =
        Arc::new(|_: &FakeInvocation| FakeOutcome::error("NotFoundYet", "the item is not there"));
    let h = harness(allowed);
    let out = h
        .run(h.input(json!({"responseStreaming": true, "allowedExceptions": ["NotFoundYet"], "powerValues": [128]})))
        .expect("allowed");
    assert!(out.get("failures").is_none(), "{out}");
    // A stream that ends without InvokeComplete is a failed invocation, not a 0 ms success.
    let cut: Behavior = Arc::new(|inv: &FakeInvocation| FakeOutcome {
        incomplete_stream: inv.memory == 128,
        ..FakeOutcome::ok(10.0)
    });
    let h = harness(cut);
    let out = h
        .run(h.input(json!({"responseStreaming": true, "powerValues": [128, 256]})))
        .expect("the other size is measured");
    assert_eq!(
        out["failures"],
        json!([{"value": 128, "errorType": "StreamIncomplete", "errorMessage": "The response stream ended without InvokeComplete"}])
    );
    assert_eq!(out["power"], 256);
}

const ROLE: &str = "arn:aws:iam::123456789012:role/tuner-access";

#[test]
fn every_target_call_uses_the_assumed_role() {
    let h = harness(with_overhead());
    // A processor in another account keeps the tuner's own credentials.
    let elsewhere = h.fake.add_function("pre", 128, "", cpu_bound());
    let elsewhere = elsewhere.replace("123456789012", "210987654321");
    let out = h
        .run(
            h.input(json!({"assumeRoleARN": ROLE, "preProcessorARN": elsewhere,
            "autoOptimize": true})),
        )
        .expect("success");
    assert!(out["power"].as_u64().is_some());
    let calls = h.fake.calls();
    let target: Vec<_> = calls.iter().filter(|c| c.function == "target").collect();
    assert!(!target.is_empty());
    assert!(
        target.iter().all(|c| c.role.as_deref() == Some(ROLE)),
        "{:?}",
        target
            .iter()
            .filter(|c| c.role.is_none())
            .collect::<Vec<_>>()
    );
    assert!(
        calls
            .iter()
            .filter(|c| c.function == "pre")
            .all(|c| c.role.is_none())
    );
    let sessions: std::collections::BTreeSet<_> =
        h.fake.assumed().into_iter().map(|(_, s)| s).collect();
    assert_eq!(sessions.len(), 1, "one session per run");
    assert!(
        sessions
            .iter()
            .all(|s| s.starts_with("power-tuning-") && s.len() == 25)
    );
    // The Optimizer applied the optimum with the role too; no version is left.
    assert!(h.fake.versions("target").is_empty());
    assert_eq!(
        h.fake.latest("target"),
        (
            out["power"].as_u64().expect("power") as u32,
            "original description".to_string()
        )
    );
}

#[test]
fn a_role_that_cannot_be_assumed_fails_before_any_call() {
    let h = harness(with_overhead());
    h.fake.deny_role(ROLE);
    let (error_type, message) = h
        .run(h.input(json!({"assumeRoleARN": ROLE})))
        .expect_err("denied");
    assert_eq!(error_type, "AccessDenied");
    assert!(message.contains("Assuming role arn:aws:iam::123456789012:role/tuner-access"));
    assert!(h.fake.calls().is_empty(), "{:?}", h.fake.calls());
}

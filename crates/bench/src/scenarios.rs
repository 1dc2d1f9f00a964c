//! The benchmark scenarios (B1–B9): each starts what it needs on the emulator (or the whole
//! local stack), measures, and adds its figures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use power_tuning_aws::config::local_config;
use power_tuning_aws::lambda::SdkLambda;
use power_tuning_cli::local_stack::{HandlerCode, LocalStack, StackOptions};
use power_tuning_cli::statemachine::HANDLERS;
use power_tuning_core::logs;
use power_tuning_core::ports::{ConfigUpdate, InvokeOptions, InvokeRequest, LambdaApi as _};
use power_tuning_core::stats::median;
use power_tuning_emulator::{CallRecord, Emulator, FunctionSpec, Options};
use serde_json::{Value, json};

use crate::BenchResult;
use crate::figure::{Check, Figure};
use crate::probes::{arm64_builds, newest_pid, peak_rss_mb, zipped_size};

/// The memory sizes of the whole-run benchmark (B7) and the update benchmarks (B3, B4).
const SIZES: [u32; 6] = [128, 256, 512, 1024, 1536, 3008];
/// The emulated update delay of the setup and whole-run figures (B4, B7).
const UPDATE_DELAY_MS: u64 = 500;
/// The whole run's target: emulated work at 128 MB (B7).
const WORK_AT_128_MS: f64 = 100.0;
/// Invocations per size in the whole runs (B7).
const WHOLE_RUN_NUM: f64 = 50.0;

/// What a whole run (B7) cannot go below: every update applied one after another (each size's
/// and the restore), the slowest size's invocations (128 MB's, in series or all at once), and
/// the deletes at Lambda's 15 control-plane requests a second.
fn physical_floor(parallel: bool) -> f64 {
    let updates = (SIZES.len() + 1) as f64 * UPDATE_DELAY_MS as f64 / 1000.0;
    let invocations = if parallel {
        WORK_AT_128_MS / 1000.0
    } else {
        WHOLE_RUN_NUM * WORK_AT_128_MS / 1000.0
    };
    let deletes = SIZES.len() as f64 / 15.0;
    updates + invocations + deletes
}

/// Memory of the target in the executor benchmarks: one full core, so it never throttles.
const TARGET_MEMORY: u32 = 1769;
/// The target's response in B9: as large as `Invoke` returns (6 MB), less its JSON quotes.
const RESPONSE_BYTES: usize = 6_000_000;

/// Cap of parallel invocations for the parallel connection count (B2).
pub(crate) const PARALLEL_CAP: u32 = 10;

/// A resource mode.
#[derive(Debug, Clone)]
pub struct Mode {
    /// As shown in the results.
    pub name: &'static str,
    /// Whether functions get Lambda's CPU share through cgroups.
    pub cgroups: bool,
}

/// Lambda's CPU share for the helpers.
pub const QUOTA: Mode = Mode {
    name: "quota 128/1769",
    cgroups: true,
};
/// No limits.
pub const UNCONSTRAINED: Mode = Mode {
    name: "unconstrained",
    cgroups: false,
};

/// Everything a benchmark needs.
pub struct Bench {
    /// Where the handler binaries and examples are.
    pub dir: PathBuf,
    /// Repetitions of each measurement.
    pub repeat: usize,
    /// Cold starts per binary (B5).
    pub starts: usize,
    /// What was measured.
    pub figures: Vec<Figure>,
}

fn lambda_client(endpoint: &str) -> SdkLambda {
    SdkLambda::new(&local_config(endpoint))
}

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:power-tuning:bench";

/// A handler's whole answer and its log tail.
const WHOLE_WITH_TAIL: InvokeOptions = InvokeOptions {
    tail_logs: true,
    whole_response: true,
};

/// Invokes a function; `Ok((payload, report))` on success, `Err` with the error otherwise.
async fn call(
    lambda: &SdkLambda,
    function: &str,
    event: &Value,
) -> BenchResult<(Value, logs::Report)> {
    let out = lambda
        .invoke(
            InvokeRequest::new(function, None, event.to_string().as_bytes()),
            WHOLE_WITH_TAIL,
        )
        .await
        .map_err(|e| format!("invoking {function}: {e}"))?;
    let payload: Value = serde_json::from_slice(&out.payload).unwrap_or(Value::Null);
    let report = logs::parse_log_result(out.log_result.as_deref())
        .map_err(|e| format!("{function}: {e}"))?;
    match out.function_error {
        None => Ok((payload, report)),
        Some(_) => Err(format!("{function} failed: {payload}")),
    }
}

impl Bench {
    fn handler(&self, name: &str) -> FunctionSpec {
        let mut spec = FunctionSpec::new(name, self.dir.join(name));
        spec.memory = 128;
        spec.timeout = 900;
        spec
    }

    fn target(&self, work_ms_at_128: u32, memory: u32) -> FunctionSpec {
        let mut spec = FunctionSpec::new("target", self.dir.join("examples").join("emulated_work"));
        spec.memory = memory;
        spec.timeout = 60;
        spec.environment
            .insert("WORK_MS_AT_128".to_string(), work_ms_at_128.to_string());
        spec
    }

    async fn emulator(
        &self,
        mode: &Mode,
        update_delay_ms: u64,
        control_plane_rps: u32,
        functions: Vec<FunctionSpec>,
    ) -> BenchResult<Emulator> {
        let options = Options {
            update_delay: Duration::from_millis(update_delay_ms),
            control_plane_rps,
            use_cgroups: mode.cgroups,
            ..Options::default()
        };
        Emulator::start(options, functions)
            .await
            .map_err(|e| e.to_string())
    }

    /// Publishes the target at [`TARGET_MEMORY`] through the initializer; returns the state and
    /// the configuration an executor gets.
    async fn executor_setup(
        &self,
        emulator: &Emulator,
        lambda: &SdkLambda,
    ) -> BenchResult<(Value, Value)> {
        let mut state =
            json!({"lambdaARN": emulator.arn("target"), "num": 5, "powerValues": [TARGET_MEMORY]});
        let (configurations, _) = call(
            lambda,
            "initializer",
            &json!({"state": state, "executionId": EXECUTION}),
        )
        .await?;
        let configuration = configurations["configurations"][0].clone();
        state["lambdaConfigurations"] = configurations;
        Ok((state, configuration))
    }

    async fn executor(
        lambda: &SdkLambda,
        state: &Value,
        configuration: &Value,
        num: u32,
    ) -> BenchResult<Value> {
        let mut state = state.clone();
        state["num"] = json!(num);
        let (stat, _) = call(
            lambda,
            "executor",
            &json!({"state": state, "executionId": EXECUTION, "configuration": configuration}),
        )
        .await?;
        if stat["invocations"] != json!(num) {
            return Err(format!("executor returned {stat} for num = {num}"));
        }
        Ok(stat)
    }

    /// A new executor environment on its next invocation (a configuration change).
    async fn fresh_executor(lambda: &SdkLambda, n: usize) -> BenchResult<()> {
        lambda
            .update_configuration("executor", ConfigUpdate::new(128, &format!("bench {n}")))
            .await
            .map(|_| ())
            .map_err(|e| format!("updating the executor: {e}"))
    }

    /// An emulator running the initializer, the executor and `target`, and a client of it.
    async fn executor_emulator(
        &self,
        mode: &Mode,
        target: FunctionSpec,
    ) -> BenchResult<(Emulator, SdkLambda)> {
        let functions = vec![
            self.handler("initializer"),
            self.handler("executor"),
            target,
        ];
        let emulator = self.emulator(mode, 0, 0, functions).await?;
        let lambda = lambda_client(emulator.endpoint());
        Ok((emulator, lambda))
    }

    /// B1, B2, B6: one executor's CPU per invocation, connections and peak memory.
    pub async fn executor_benchmarks(
        &mut self,
        mode: &Mode,
        only: &dyn Fn(&str) -> bool,
    ) -> BenchResult<()> {
        let target = self.target(0, TARGET_MEMORY);
        let (emulator, lambda) = self.executor_emulator(mode, target).await?;
        let result = self
            .executor_measurements(mode, only, &emulator, &lambda)
            .await;
        emulator.shutdown().await;
        result
    }

    /// B1, B2, B6 on a running emulator: the executor published once, then each measurement.
    async fn executor_measurements(
        &mut self,
        mode: &Mode,
        only: &dyn Fn(&str) -> bool,
        emulator: &Emulator,
        lambda: &SdkLambda,
    ) -> BenchResult<()> {
        let (state, configuration) = self.executor_setup(emulator, lambda).await?;
        let mut rig = ExecutorRig {
            emulator,
            lambda,
            state,
            configuration,
            fresh: 0,
        };
        if only("B1") {
            self.executor_cpu(mode, &mut rig).await?;
        }
        if only("B2") {
            self.executor_connections(mode, &mut rig).await?;
        }
        if only("B6") {
            self.executor_peak_rss(mode, &mut rig).await?;
        }
        Ok(())
    }

    /// B9: an Executor's peak memory with responses of 6 MB, 100 invocations at once.
    pub async fn response_memory(&mut self, mode: &Mode) -> BenchResult<()> {
        progress(&format!(
            "B9 executor memory with 6 MB responses ({})",
            mode.name
        ));
        let mut target = self.target(0, TARGET_MEMORY);
        target
            .environment
            .insert("RESPONSE_BYTES".to_string(), RESPONSE_BYTES.to_string());
        let (emulator, lambda) = self.executor_emulator(mode, target).await?;
        let result = async {
            let (mut state, configuration) = self.executor_setup(&emulator, &lambda).await?;
            state["parallelInvocation"] = json!(true);
            let mut peaks = Vec::new();
            for n in 0..self.repeat {
                Self::fresh_executor(&lambda, n).await?;
                Self::executor(&lambda, &state, &configuration, 100).await?;
                peaks.push(peak_rss_mb(newest_pid(&emulator, "executor")?)?);
            }
            Ok::<_, String>(peaks)
        }
        .await;
        let peak_concurrency = emulator.peak_concurrency();
        emulator.shutdown().await;
        self.figures.push(Figure::new(
            "B9",
            "executor peak RSS, parallel, num = 100, 6 MB responses",
            mode.name,
            "MB",
            result?,
            Check::AllAtMost(64.0),
            format!("VmHWM of a cold 128 MB executor after parallelInvocation with num = 100 against a target answering {RESPONSE_BYTES} bytes; up to {peak_concurrency} invocations were in flight at once (the emulator's count, the executor's own included). Each response's first 64 KiB is kept (aws-sdk-lambda's Invoke with a response-body interceptor), the rest read and dropped; the target is 1/2 of the executor's configured 128 MB"),
        ));
        Ok(())
    }

    /// B3 and B4: update detection latency and control-plane calls per memory size.
    pub async fn update_benchmarks(
        &mut self,
        mode: &Mode,
        only: &dyn Fn(&str) -> bool,
    ) -> BenchResult<()> {
        for delay in [0_u64, 300, UPDATE_DELAY_MS, 1000] {
            let wanted = only("B3") || (only("B4") && [0, UPDATE_DELAY_MS].contains(&delay));
            if !wanted {
                continue;
            }
            progress(&format!("B3/B4 update delay {delay} ms ({})", mode.name));
            let functions = vec![
                self.handler("initializer"),
                self.handler("cleaner"),
                self.target(0, 1024),
            ];
            let emulator = self.emulator(mode, delay, 15, functions).await?;
            let lambda = lambda_client(emulator.endpoint());
            let result = self.update_run(&emulator, &lambda, delay).await;
            emulator.shutdown().await;
            let (latencies, calls_per_size, setup_per_size, breakdown) = result?;
            if only("B3") {
                self.figures.push(Figure::new("B3", format!("update detection latency, update delay {delay} ms"), mode.name, "ms", latencies, Check::MedianAtMost(250.0),
                    format!("from the emulated update finishing to the next PublishVersion, {} sizes × {} runs; control plane limited to 15 requests/s", SIZES.len(), self.repeat)));
            }
            if only("B4") && [0, UPDATE_DELAY_MS].contains(&delay) {
                self.figures.push(Figure::new("B4", format!("control-plane calls per memory size, publish through cleanup, update delay {delay} ms"), mode.name, "calls", calls_per_size, Check::AllAtMost(4.0),
                    format!("every non-Invoke call on the target from the initializer's first to the cleaner's last, divided by N = {}; last run: {breakdown}{}", SIZES.len(),
                        if delay == 0 { "" } else { ". SPEC §3.1 asks for the first status check ≤ 100 ms after every update, so an update that takes 500 ms is checked at least twice: \
update, two checks, publish and delete make 5 calls per size; with the run's read of $LATEST, the restore (update and check) and the cleaner's listing of versions, \
the least a run can make within the SPEC is 34 calls, 5.67 per size at N = 6, so the ≤ 4 target cannot be met within the SPEC at this delay. \
The rest: the run's first update, with no latency learned yet, is checked in steps growing from 50 ms; every later one about twice" })));
            }
            if only("B4") && delay == UPDATE_DELAY_MS {
                self.figures.push(Figure::new("B4", format!("setup time per memory size, update delay {delay} ms"), mode.name, "s", setup_per_size, Check::MedianAtMost(0.65),
                    format!("the Initializer's invocation (read, {n} updates, publishes, the restore started) divided by N = {n}", n = SIZES.len())));
            }
        }
        Ok(())
    }

    async fn update_run(
        &self,
        emulator: &Emulator,
        lambda: &SdkLambda,
        delay: u64,
    ) -> BenchResult<(Vec<f64>, Vec<f64>, Vec<f64>, String)> {
        let mut latencies = Vec::new();
        let mut per_size = Vec::new();
        let mut setup = Vec::new();
        let mut breakdown = String::new();
        for run in 0..self.repeat {
            let execution = format!("{EXECUTION}-{run}");
            let mark = emulator.calls().len();
            let mut state =
                json!({"lambdaARN": emulator.arn("target"), "num": 5, "powerValues": SIZES});
            let started = Instant::now();
            let (configurations, _) = call(
                lambda,
                "initializer",
                &json!({"state": state, "executionId": execution}),
            )
            .await?;
            setup.push(started.elapsed().as_secs_f64() / SIZES.len() as f64);
            let initialized = emulator.calls().len();
            state["lambdaConfigurations"] = configurations;
            call(
                lambda,
                "cleaner",
                &json!({"state": state, "executionId": execution}),
            )
            .await?;
            let calls = emulator.calls();
            latencies.extend(detection_latencies(
                &calls[mark..initialized],
                "target",
                delay as f64,
            ));
            let mut by_operation = std::collections::BTreeMap::<&str, usize>::new();
            for c in calls[mark..]
                .iter()
                .filter(|c| c.function == "target" && c.operation != "Invoke")
            {
                *by_operation.entry(c.operation.as_str()).or_default() += 1;
            }
            let control: usize = by_operation.values().sum();
            per_size.push(control as f64 / SIZES.len() as f64);
            breakdown = by_operation
                .iter()
                .map(|(operation, n)| format!("{operation} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
        }
        Ok((latencies, per_size, setup, breakdown))
    }

    /// B5: spawn to the first `GET /next`, per binary.
    pub async fn start_benchmarks(&mut self, mode: &Mode) -> BenchResult<()> {
        progress(&format!(
            "B5 start-to-ready, {} starts per binary ({})",
            self.starts, mode.name
        ));
        let functions = HANDLERS.iter().map(|h| self.handler(h)).collect();
        let emulator = self.emulator(mode, 0, 0, functions).await?;
        let lambda = lambda_client(emulator.endpoint());
        let mut result = Ok(());
        'handlers: for handler in HANDLERS {
            let mut inits = Vec::new();
            for n in 0..self.starts {
                if let Err(e) = lambda
                    .update_configuration(handler, ConfigUpdate::new(128, &format!("start {n}")))
                    .await
                {
                    result = Err(format!("updating {handler}: {e}"));
                    break 'handlers;
                }
                // An empty event: each binary answers with an input error, after its init.
                let out = match lambda
                    .invoke(InvokeRequest::new(handler, None, b"{}"), WHOLE_WITH_TAIL)
                    .await
                {
                    Ok(out) => out,
                    Err(e) => {
                        result = Err(format!("invoking {handler}: {e}"));
                        break 'handlers;
                    }
                };
                match logs::parse_log_result(out.log_result.as_deref()) {
                    Ok(report) if report.init_duration > 0.0 => inits.push(report.init_duration),
                    _ => {
                        result = Err(format!(
                            "{handler}: no Init Duration in the cold start's REPORT"
                        ));
                        break 'handlers;
                    }
                }
            }
            self.figures.push(Figure::new("B5", format!("start-to-ready of `{handler}`"), mode.name, "ms", inits, Check::MedianAtMost(20.0),
                "Init Duration of the emulator's REPORT: process spawn to the first GET /runtime/invocation/next, a new environment each time"));
        }
        emulator.shutdown().await;
        result
    }

    /// B7: whole runs on moto + the emulator.
    pub async fn whole_runs(&mut self, mode: &Mode) -> BenchResult<()> {
        progress(&format!("B7 whole runs on moto ({})", mode.name));
        let options = StackOptions {
            emulator: Options {
                update_delay: Duration::from_millis(UPDATE_DELAY_MS),
                use_cgroups: mode.cgroups,
                ..Options::default()
            },
            handlers: HandlerCode::Binaries(self.dir.clone()),
            targets: vec![self.target(100, 1024)],
            timeout: 900,
        };
        let stack = LocalStack::start(options)
            .await
            .map_err(|e| e.to_string())?;
        let result = self.whole_run_measurements(mode, &stack).await;
        stack.shutdown().await;
        result
    }

    async fn whole_run_measurements(&mut self, mode: &Mode, stack: &LocalStack) -> BenchResult<()> {
        let mut transitions = Vec::new();
        for parallel in [false, true] {
            let mut walls = Vec::new();
            let mut phases: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for _ in 0..self.repeat {
                let input = json!({"lambdaARN": stack.emulator.arn("target"), "num": 50, "powerValues": SIZES, "parallelInvocation": parallel});
                let started = Instant::now();
                let outcome = stack.run(&input, |_| {}).await.map_err(|e| e.to_string())?;
                let wall = started.elapsed();
                if !outcome.succeeded() {
                    return Err(format!(
                        "B7 run {}: {:?} {:?}",
                        outcome.status, outcome.error, outcome.cause
                    ));
                }
                walls.push(wall.as_secs_f64());
                let events = power_tuning_cli::execution::history(&stack.sfn, &outcome.arn)
                    .await
                    .map_err(|e| e.to_string())?;
                let entered = events
                    .iter()
                    .filter(|e| e.r#type().as_str().ends_with("StateEntered"))
                    .count();
                transitions.push(entered as f64);
                let (mut spent, slowest_executor) = time_in_states(&events);
                let in_states: f64 = spent.values().sum();
                spent.insert("between states".into(), wall.as_secs_f64() - in_states);
                spent.insert("slowest Executor".into(), slowest_executor);
                for (state, seconds) in spent {
                    phases.entry(state).or_default().push(seconds);
                }
            }
            // Where the time went (medians), in the state machine's order.
            let order = [
                "Initializer",
                "Branching",
                "Cleaner",
                "Analyzer",
                "Optimizer",
                "between states",
            ];
            let mut breakdown: Vec<String> = order
                .iter()
                .filter_map(|state| Some(format!("{state} {:.2} s", median(phases.get(*state)?))))
                .collect();
            if let Some(slowest) = phases.get("slowest Executor")
                && breakdown.len() > 1
            {
                breakdown[1] += &format!(" (its slowest Executor {:.2} s)", median(slowest));
            }
            let label = if parallel { "parallel" } else { "series" };
            let floor = physical_floor(parallel);
            let ratios: Vec<f64> = walls.iter().map(|w| w / floor).collect();
            self.figures.push(Figure::new("B7", format!("whole run wall time, N = 6, num = 50, {label}"), mode.name, "s", walls, Check::Report,
                format!("128…3008 MB, target emulates 100 ms at 128 MB (× 128/memory), update delay 500 ms; moto runs the Map's executors concurrently; time per state (median; between states: moto's transitions and the start and end of the run): {}", breakdown.join(", "))));
            self.figures.push(Figure::new("B7", format!("whole run against its physical floor ({floor:.2} s), {label}"), mode.name, "×", ratios, Check::MedianAtMost(1.2),
                format!("wall time / floor; floor = {} updates (6 sizes and the restore) × {UPDATE_DELAY_MS} ms + the slowest size's invocations ({}) + {} deletes at 15/s", SIZES.len() + 1,
                    if parallel { "50 at once: 100 ms" } else { "50 × 100 ms in series" }, SIZES.len())));
        }
        self.figures.push(Figure::new(
            "B7",
            "state transitions per run, N = 6",
            mode.name,
            "transitions",
            transitions,
            Check::AllEqual((SIZES.len() + 6) as f64),
            "StateEntered events in the execution history (series and parallel runs)",
        ));
        Ok(())
    }

    /// B8: zipped `bootstrap` sizes.
    pub fn sizes(&mut self, arm64_dir: Option<&Path>) -> BenchResult<()> {
        progress("B8 bootstrap sizes");
        let host = std::env::consts::ARCH;
        let mut builds: Vec<(String, Vec<(String, PathBuf)>)> = vec![(
            format!("{host}, target/release"),
            HANDLERS
                .iter()
                .map(|h| (h.to_string(), self.dir.join(h)))
                .collect(),
        )];
        if host != "aarch64" {
            match arm64_builds(arm64_dir) {
                Some(found) => builds.push(found),
                None => eprintln!(
                    "  no arm64 build found (run `sam build` or pass --arm64-dir); B8 reports {host} only"
                ),
            }
        }
        for (label, files) in builds {
            let mut sizes = Vec::new();
            let mut parts = Vec::new();
            for (name, path) in files {
                let zipped = zipped_size(&path)?;
                let mb = zipped as f64 / 1_000_000.0;
                parts.push(format!("{name} {mb:.2}"));
                sizes.push(mb);
            }
            // The target is for the deployed architecture (arm64); other builds are reported.
            let check = if label.starts_with("arm64") {
                Check::AllAtMost(5.0)
            } else {
                Check::Report
            };
            self.figures.push(Figure::new(
                "B8",
                format!("`bootstrap` zipped ({label})"),
                "-",
                "MB",
                sizes,
                check,
                format!("deflate zip of each binary: {}", parts.join(", ")),
            ));
        }
        Ok(())
    }
}

/// Latencies from each update of `function` finishing (`at + delay`) to the next
/// `PublishVersion` on it; updates with no publish after them (the final restore) are skipped.
pub fn detection_latencies(calls: &[CallRecord], function: &str, delay_ms: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        if call.function != function
            || call.operation != "UpdateFunctionConfiguration"
            || call.status != 200
        {
            continue;
        }
        let next = calls[i + 1..]
            .iter()
            .filter(|c| c.function == function)
            .find(|c| {
                c.operation == "PublishVersion" || c.operation == "UpdateFunctionConfiguration"
            });
        if let Some(publish) = next.filter(|c| c.operation == "PublishVersion") {
            out.push((publish.at_ms - (call.at_ms + delay_ms)).max(0.0));
        }
    }
    out
}

/// What the executor measurements (B1, B2, B6) share: the emulator, its client, the state and
/// configuration an executor gets, and how many fresh executors were asked for so far.
pub(crate) struct ExecutorRig<'a> {
    /// The emulator the executor runs on.
    pub(crate) emulator: &'a Emulator,
    /// Its Lambda client.
    pub(crate) lambda: &'a SdkLambda,
    /// The state an executor gets.
    pub(crate) state: Value,
    /// The configuration it measures.
    configuration: Value,
    /// Fresh executors asked for so far (each with a new description).
    fresh: usize,
}

impl ExecutorRig<'_> {
    /// A new executor environment on its next invocation.
    pub(crate) async fn fresh_executor(&mut self) -> BenchResult<()> {
        Bench::fresh_executor(self.lambda, self.fresh).await?;
        self.fresh += 1;
        Ok(())
    }

    /// One executor run of `num` invocations with `state`; its stat.
    pub(crate) async fn executor(&self, state: &Value, num: u32) -> BenchResult<Value> {
        Bench::executor(self.lambda, state, &self.configuration, num).await
    }
}

pub(crate) fn progress(message: &str) {
    eprintln!("== {message}");
}

/// Seconds spent in each top-level state of one execution (a state entered more than once, the
/// Initializer's passes, counts each time), from its history: entered to exited, in order;
/// also the slowest of the Map's iterations.
fn time_in_states(events: &[aws_sdk_sfn::types::HistoryEvent]) -> (BTreeMap<String, f64>, f64) {
    let seconds = |e: &aws_sdk_sfn::types::HistoryEvent| e.timestamp().as_secs_f64();
    let mut entered: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut spent = BTreeMap::new();
    let mut slowest_executor: f64 = 0.0;
    for event in events {
        if let Some(state) = event.state_entered_event_details() {
            entered
                .entry(state.name())
                .or_default()
                .push(seconds(event));
        } else if let Some(state) = event.state_exited_event_details()
            && let Some(since) = entered.get_mut(state.name()).and_then(|s| s.pop())
        {
            let took = seconds(event) - since;
            if state.name() == "Executor" {
                // The Map's iterations run inside the Map state: counted there, not again.
                slowest_executor = slowest_executor.max(took);
            } else {
                *spent.entry(state.name().to_string()).or_insert(0.0) += took;
            }
        }
    }
    (spent, slowest_executor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: f64, operation: &str, function: &str) -> CallRecord {
        CallRecord {
            at_ms,
            operation: operation.to_string(),
            function: function.to_string(),
            qualifier: None,
            status: 200,
            access_key: None,
            role: None,
            trace_id: None,
        }
    }

    #[test]
    fn latencies_from_update_end_to_next_publish() {
        let calls = vec![
            record(0.0, "GetFunctionConfiguration", "target"),
            record(10.0, "UpdateFunctionConfiguration", "target"),
            record(80.0, "GetFunctionConfiguration", "target"),
            record(400.0, "PublishVersion", "target"),
            record(470.0, "UpdateFunctionConfiguration", "target"),
            record(480.0, "Invoke", "other"),
            record(900.0, "PublishVersion", "target"),
            // The final restore: no publish follows.
            record(1000.0, "UpdateFunctionConfiguration", "target"),
        ];
        assert_eq!(
            detection_latencies(&calls, "target", 300.0),
            vec![90.0, 130.0]
        );
        // A publish before the update finished (not possible on Lambda) counts as 0.
        assert_eq!(
            detection_latencies(&calls, "target", 1000.0),
            vec![0.0, 0.0]
        );
    }
}

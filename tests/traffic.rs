//! Traffic from history (SPEC §15) end to end: a function invoked on the emulator (its REPORT
//! records in its log group, some cold), 28 days of its metrics seeded into moto's CloudWatch,
//! then `power-tuning traffic --json` and `run --traffic-from-history` as processes, every AWS
//! call through the SDK at the local endpoints.

use std::process::Output;

use aws_sdk_lambda::types::LogType;
use power_tuning_cli::local_stack::{LocalStack, local_sfn_client};
use power_tuning_cli::seed::Day;
use power_tuning_core::logs::parse_log_result;
use power_tuning_core::traffic::reports::REPORTS_QUERY;
use power_tuning_emulator::{FunctionSpec, Options};
use serde_json::Value;

use crate::support::{assert_exit_code, cli, example, lambda_client, local_stack, target_dir};

const MEMORY: u32 = 512;
/// Invocations on the emulator (the last 7 days' in the seeded metrics).
const INVOKED: usize = 14;
/// Seeded invocations a day before the last 7 days.
const EARLIER_PER_DAY: f64 = 10.0;

/// `fn` at `MEMORY`.
fn target() -> FunctionSpec {
    let mut target = FunctionSpec::new("fn", example("io_bound"));
    target.memory = MEMORY;
    target
}

async fn stack() -> LocalStack {
    local_stack(vec![target()], Options::default(), 300).await
}

/// What the invocations' own tails say: cold starts and Σ billed ms.
#[derive(Debug, Default)]
struct Invoked {
    cold: usize,
    billed_ms: f64,
}

/// Three invocations at once (three environments, cold), then the rest one by one (warm).
async fn invoke(endpoint: &str) -> Invoked {
    let client = lambda_client(endpoint);
    let one = || {
        client
            .invoke()
            .function_name("fn")
            .log_type(LogType::Tail)
            .send()
    };
    let mut outputs = Vec::new();
    let (a, b, c) = tokio::join!(one(), one(), one());
    outputs.extend([a, b, c]);
    for _ in 3..INVOKED {
        outputs.push(one().await);
    }
    let mut invoked = Invoked::default();
    for output in outputs {
        let output = output.expect("invoke");
        let report = parse_log_result(output.log_result()).expect("report");
        invoked.cold += usize::from(report.is_cold());
        invoked.billed_ms += report.total_billed();
    }
    invoked
}

/// 28 days of the function's metrics and its log group's bytes: the last 7 days hold the
/// invocations made on the emulator, 10 a day before.
async fn seed(endpoint: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let days: Vec<Day> = (0..28)
        .map(|k| Day {
            days_ago: k,
            invocations: if k < 7 {
                (INVOKED / 7) as f64
            } else {
                EARLIER_PER_DAY
            },
            average_duration_ms: 20.0,
            errors: 0.0,
            throttles: 0.0,
            concurrency: 3.0,
            log_bytes: 2048.0,
        })
        .collect();
    power_tuning_cli::seed::seed(endpoint, "fn", "/aws/lambda/fn", now, &days)
        .await
        .expect("seeded");
}

fn json_out(out: &Output) -> Value {
    assert_exit_code(out, 0);
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_and_run_from_history_on_the_local_stack() {
    let stack = stack().await;
    let emulator = stack.emulator.endpoint().to_string();
    let moto = stack.sfn_endpoint().to_string();
    let invoked = invoke(&emulator).await;
    assert!(
        invoked.cold >= 2,
        "a burst of three starts environments: {invoked:?}"
    );
    seed(&moto).await;
    let env = [
        ("AWS_ENDPOINT_URL_LAMBDA", emulator.as_str()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", emulator.as_str()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", moto.as_str()),
        ("AWS_ENDPOINT_URL_SFN", moto.as_str()),
    ];

    let traffic = json_out(&cli(&["traffic", "fn", "--json"], &env));
    // 14 + 21 × 10 = 224 invocations in 28 days: round(224 × 730 / 672) = 243 a month.
    assert_eq!(traffic["invocations"], 224);
    assert_eq!(traffic["monthlyInvocations"], 243);
    assert_eq!(traffic["window"]["days"], 28);
    assert_eq!(traffic["window"]["daysWithData"], 28);
    assert_eq!(traffic["averageDurationMs"], 20.0);
    assert_eq!(traffic["maxConcurrency"], 3);
    let cold = &traffic["coldStarts"];
    assert_eq!(cold["reports"], INVOKED);
    assert_eq!(cold["cold"], invoked.cold);
    let ratio = invoked.cold as f64 / INVOKED as f64;
    assert_eq!(cold["ratio"], ratio);
    assert_eq!(cold["coverage"], 1.0);
    assert!(cold["bytesScanned"].as_f64().expect("bytes") > 0.0);
    // The bill from the REPORT records: 243 × Σ(billed × 512 / 1024) / 1000 / 14 GB-s at
    // 2.1e-9 × 8000 $ per GB-s, and 243 requests.
    let bill = &traffic["currentMonthlyCost"];
    assert_eq!(bill["basis"], "reports");
    let gb_seconds = 243.0 * invoked.billed_ms * f64::from(MEMORY) / 1024.0 / 1000.0 / 14.0;
    let duration = bill["duration"].as_f64().expect("duration");
    assert!(
        (duration - gb_seconds * 2.1e-9 * 8000.0).abs() < 1e-12,
        "{duration}"
    );
    assert!((bill["requests"].as_f64().expect("requests") - 243.0 * 2e-7).abs() < 1e-15);

    // The same numbers fill the execution input, and the result's monthly figures follow.
    let input_file = target_dir().join(format!("traffic-input-{}.json", std::process::id()));
    std::fs::write(&input_file, r#"{"includeOutputResults": true}"#).expect("input file");
    let out = cli(
        &[
            "run",
            "--input",
            input_file.to_str().expect("utf-8"),
            "--state-machine-arn",
            &stack.state_machine_arn,
            "--function",
            &stack.emulator.arn("fn"),
            "--num",
            "5",
            "--power-values",
            "128,256",
            "--traffic-from-history",
            "--json",
        ],
        &env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("traffic: monthlyInvocations = 243 (224 invocations in 28 days)"),
        "{stderr}"
    );
    let result = json_out(&out);
    assert_eq!(result["traffic"]["monthlyInvocations"], 243);
    let monthly = result["monthlyCost"].as_f64().expect("monthlyCost");
    let current = result["current"]["monthlyCost"].as_f64().expect("current");
    let delta = result["change"]["monthlyCostDelta"]
        .as_f64()
        .expect("delta");
    assert!((delta - (monthly - current)).abs() < 1e-12, "{result}");
    let _ = std::fs::remove_file(&input_file);
    for stat in result["stats"].as_array().expect("stats") {
        let (warm, cold_price) = (&stat["warmPrice"], &stat["coldPrice"]);
        if let (Some(warm), Some(cold_price)) = (warm.as_f64(), cold_price.as_f64()) {
            let expected = (1.0 - ratio) * warm + ratio * cold_price;
            let got = stat["expectedPrice"].as_f64().expect("expectedPrice");
            assert!((got - expected).abs() <= 1e-12 * expected, "{stat}");
        }
    }
    let sfn = local_sfn_client(&moto);
    let executions = sfn
        .list_executions()
        .state_machine_arn(&stack.state_machine_arn)
        .send()
        .await
        .expect("executions");
    let arn = executions.executions()[0].execution_arn();
    let history = sfn
        .get_execution_history()
        .execution_arn(arn)
        .send()
        .await
        .expect("history");
    let started = history
        .events()
        .iter()
        .find_map(|e| e.execution_started_event_details()?.input())
        .expect("ExecutionStarted");
    let input: Value = serde_json::from_str(started).expect("input");
    assert_eq!(input["monthlyInvocations"], 243);
    assert_eq!(input["coldStartRatio"], ratio);
    stack.shutdown().await;
}

/// The emulator evaluates the very query the tool sends (core's constant) over what its
/// functions logged, through the Logs SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_answers_the_tools_query_through_the_sdk() {
    let emulator = power_tuning_emulator::Emulator::start(Options::default(), vec![target()])
        .await
        .expect("emulator");
    let invoked = invoke(emulator.endpoint()).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&power_tuning_aws::config::local_config(
        emulator.endpoint(),
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let id = logs
        .start_query()
        .log_group_name("/aws/lambda/fn")
        .start_time(now - 3600)
        .end_time(now + 60)
        .query_string(REPORTS_QUERY)
        .send()
        .await
        .expect("StartQuery")
        .query_id
        .expect("id");
    let mut statuses = Vec::new();
    let answer = loop {
        let out = logs
            .get_query_results()
            .query_id(&id)
            .send()
            .await
            .expect("GetQueryResults");
        let status = out
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        statuses.push(status.clone());
        if status == "Complete" || statuses.len() > 5 {
            break out;
        }
    };
    assert_eq!(statuses, ["Scheduled", "Running", "Complete"]);
    let row: std::collections::BTreeMap<String, String> = answer.results()[0]
        .iter()
        .map(|f| {
            (
                f.field().unwrap_or_default().to_string(),
                f.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(row["reports"], INVOKED.to_string());
    assert_eq!(row["cold"], invoked.cold.to_string());
    let billed: f64 = row["billedMbMs"].parse().expect("number");
    assert_eq!(billed, invoked.billed_ms * f64::from(MEMORY));
    assert!(answer.statistics().expect("statistics").bytes_scanned() > 0.0);
    let missing = logs
        .start_query()
        .log_group_name("/aws/lambda/never-invoked")
        .start_time(now - 60)
        .end_time(now)
        .query_string(REPORTS_QUERY)
        .send()
        .await
        .expect_err("no log group");
    assert_eq!(
        missing.as_service_error().and_then(|e| e.meta().code()),
        Some("ResourceNotFoundException")
    );
    emulator.shutdown().await;
}

//! `power-tuning run` and `power-tuning cleanup` as processes, against the local stack: the same
//! code path as on AWS, only the endpoints (AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_LAMBDA) differ.

use std::process::Output;

use power_tuning_cli::local_stack::LocalStack;
use power_tuning_core::marker::{Marker, RunId};
use power_tuning_emulator::{FunctionSpec, Options};
use serde_json::Value;

use crate::support::{
    RecordingProxy, assert_exit_code, cli, configuration, example, local_stack,
    patient_lambda_client, publish, target_dir, wait_updated,
};

/// Two sizes, five invocations each: a quick run.
const TWO_SIZES: [&str; 4] = ["--power-values", "128,256", "--num", "5"];

/// `power-tuning run` on the local stack's state machine for `function`, with `extra` flags.
fn run(stack: &LocalStack, function: &str, extra: &[&str]) -> Output {
    let sfn_endpoint = stack.sfn_endpoint().to_string();
    let mut args = vec![
        "run",
        "--state-machine-arn",
        &stack.state_machine_arn,
        "--function",
        function,
    ];
    args.extend_from_slice(extra);
    cli(&args, &[("AWS_ENDPOINT_URL_SFN", &sfn_endpoint)])
}

/// `fn` at 512 MB, described "app".
fn target() -> FunctionSpec {
    let mut target = FunctionSpec::new("fn", example("io_bound"));
    target.memory = 512;
    target.description = "app".into();
    target
}

async fn stack() -> LocalStack {
    local_stack(vec![target()], Options::default(), 300).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_command_follows_a_real_execution_and_applies_gates() {
    let stack = stack().await;
    let function = stack.emulator.arn("fn");
    let result_file = target_dir().join(format!("run-result-{}.json", std::process::id()));
    let gated = [
        "--json",
        "--max-duration",
        "0.001",
        "--require-target",
        "--max-regression",
        "1000",
        "--result-file",
        result_file.to_str().expect("utf-8"),
    ];
    let out = run(&stack, &function, &[&TWO_SIZES[..], &gated].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    // A gate violated: exit 3.
    assert_exit_code(&out, 3);
    let output: Value =
        serde_json::from_str(stdout.trim()).expect("--json prints the execution output");
    assert_eq!(
        output["latencyTarget"],
        serde_json::json!({"percentile": 99, "maxDuration": 0.001, "met": false}),
        "an impossible target is reported, the run still succeeds"
    );
    // The current setting (512 MB, not in --power-values) was measured by default.
    assert_eq!(output["current"]["power"], 512);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&result_file).expect("result file"))
            .expect("json");
    assert_eq!(summary["status"], "SUCCEEDED");
    assert_eq!(summary["gates"][0]["name"], "maxRegression");
    assert_eq!(summary["gates"][0]["passed"], true);
    assert_eq!(summary["gates"][1]["name"], "requireTarget");
    assert_eq!(summary["gates"][1]["passed"], false);
    let _ = std::fs::remove_file(&result_file);

    // The same run passing its gates, with the human table.
    let out = run(
        &stack,
        &function,
        &[&TWO_SIZES[..], &["--expect-power", "128"]].concat(),
    );
    assert_exit_code(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("◀ best") && stdout.contains("Best memory size (cost): 128 MB"),
        "{stdout}"
    );

    // Invalid input never starts an execution.
    let out = run(&stack, &function, &["--num", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid input: Missing num or num below 5")
    );

    // A failing execution: exit 1 with the error and cause.
    let out = run(
        &stack,
        &function.replace(":fn", ":missing"),
        &["--num", "5"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Execution FAILED: ResourceNotFound"),
        "{stderr}"
    );

    // --no-wait prints the execution ARN.
    let out = run(&stack, &function, &["--num", "5", "--dry-run-not-a-flag"]);
    assert_eq!(out.status.code(), Some(2), "unknown flags are usage errors");
    let out = run(
        &stack,
        &function,
        &["--num", "5", "--power-values", "128", "--no-wait"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .starts_with("arn:aws:states:")
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_command_removes_only_marked_versions() {
    let stack = stack().await;
    let client = patient_lambda_client(stack.emulator.endpoint());
    let env = [("AWS_ENDPOINT_URL_LAMBDA", stack.emulator.endpoint())];
    let function = stack.emulator.arn("fn");
    // A user's version, then what an interrupted run leaves: marked versions and a marked $LATEST.
    let user = publish(&client, "fn").await;
    let marker = Marker {
        run_id: RunId::derive("interrupted"),
        power: 256,
        copy: 0,
        original_memory: 512,
        started: None,
    };
    for power in [256, 1024] {
        let m = Marker {
            power,
            ..marker.clone()
        };
        client
            .update_function_configuration()
            .function_name("fn")
            .memory_size(power as i32)
            .description(m.describe("app"))
            .send()
            .await
            .expect("update");
        wait_updated(&client, "fn").await;
        publish(&client, "fn").await;
    }
    let out = cli(&["cleanup", "--function", &function, "--dry-run"], &env);
    assert_exit_code(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("would delete").count(), 2, "{stdout}");
    assert!(stdout.contains("$LATEST carries the marker"));
    let versions = |c: &aws_sdk_lambda::Client| {
        let c = c.clone();
        async move {
            c.list_versions_by_function()
                .function_name("fn")
                .send()
                .await
                .expect("list")
                .versions()
                .iter()
                .filter_map(|v| v.version().map(str::to_string))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(versions(&client).await.len(), 4, "dry run changed nothing");

    let out = cli(&["cleanup", "--function", &function], &env);
    assert_exit_code(&out, 0);
    assert_eq!(
        versions(&client).await,
        vec![
            "$LATEST".to_string(),
            user.version().expect("v").to_string()
        ]
    );
    let latest = configuration(&client, "fn").await;
    assert_eq!(
        (latest.memory_size(), latest.description()),
        (Some(512), Some("app"))
    );
    let out = cli(&["cleanup", "--function", "not-an-arn"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Invalid ARN: not-an-arn"));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_cleanup_shows_the_cores_warnings() {
    // One control-plane call per second: the cleanup's calls are throttled and retried.
    let throttled = Options {
        control_plane_rps: 1,
        ..Options::default()
    };
    let stack = local_stack(vec![target()], throttled, 300).await;
    let out = cli(
        &["-v", "cleanup", "--function", &stack.emulator.arn("fn")],
        &[("AWS_ENDPOINT_URL_LAMBDA", stack.emulator.endpoint())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("WARN")
            && stderr.contains("retrying Lambda call")
            && stderr.contains("TooManyRequestsException"),
        "core's retry warnings reach stderr: {stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Nothing left by power-tuning runs"),
        "stdout keeps the result only"
    );
    stack.shutdown().await;
}

/// Proxies as the SDK's default client honours them (SPEC §14): with `HTTP_PROXY` every call of
/// `power-tuning run` goes through the proxy; with `NO_PROXY` naming the host, none does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_goes_through_http_proxy_unless_no_proxy_says_otherwise() {
    let stack = stack().await;
    let proxy = RecordingProxy::start().await;
    let function = stack.emulator.arn("fn");
    let sfn = stack.sfn_endpoint().to_string();
    let args = [
        "run",
        "--state-machine-arn",
        &stack.state_machine_arn,
        "--function",
        &function,
        "--power-values",
        "128",
        "--num",
        "5",
        "--json",
    ];
    let through = cli(
        &args,
        &[
            ("AWS_ENDPOINT_URL_SFN", &sfn),
            ("HTTP_PROXY", &proxy.url),
            ("NO_PROXY", ""),
        ],
    );
    assert_exit_code(&through, 0);
    let seen = proxy.take();
    assert!(
        seen.iter().any(|r| r.starts_with(&format!("POST {sfn}/"))),
        "the Step Functions calls went through the proxy: {seen:?}"
    );
    let direct = cli(
        &args,
        &[
            ("AWS_ENDPOINT_URL_SFN", &sfn),
            ("HTTP_PROXY", &proxy.url),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ],
    );
    assert_exit_code(&direct, 0);
    assert_eq!(proxy.take(), Vec::<String>::new(), "NO_PROXY matched");
    stack.shutdown().await;
}

//! Shared test helpers: where the built binaries are, the CLI as a process, the local stack, an
//! SDK client for the emulator and the calls the tests make with it, polling.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::publish_version::PublishVersionOutput;
use aws_sdk_lambda::types::LastUpdateStatus;
use aws_smithy_types::retry::RetryConfig;
use power_tuning_cli::local_stack::{HandlerCode, LocalStack, StackOptions};
use power_tuning_emulator::{CallRecord, FunctionSpec, Options};

/// `target/<profile>` of this test binary.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/tests-<hash>
    exe.parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf()
}

/// A built example target function (`cargo test` builds the examples).
pub fn example(name: &str) -> PathBuf {
    let path = target_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --examples`",
        path.display()
    );
    path
}

/// `power-tuning` with `args` as a process, with test credentials, no profile, no global endpoint,
/// and `env` on top (the endpoints of the local stack, proxies).
pub fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(target_dir().join("power-tuning"));
    command
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "ak")
        .env("AWS_SECRET_ACCESS_KEY", "sk")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run power-tuning")
}

/// Asserts that a process exited with `code`, showing its stderr when it did not.
#[track_caller]
pub fn assert_exit_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The local stack (moto's state machine, the handler binaries of this build in the emulator)
/// with `targets`, the emulator set by `emulator`, and `timeout` as `totalExecutionTimeout`.
pub async fn local_stack(
    targets: Vec<FunctionSpec>,
    emulator: Options,
    timeout: u32,
) -> LocalStack {
    LocalStack::start(StackOptions {
        emulator,
        handlers: HandlerCode::Binaries(target_dir()),
        targets,
        timeout,
    })
    .await
    .expect("local stack")
}

/// How many of `calls` were throttled (429).
pub fn throttled<'a>(calls: impl IntoIterator<Item = &'a CallRecord>) -> usize {
    calls.into_iter().filter(|c| c.status == 429).count()
}

/// The most of `calls` in any sliding second.
pub fn max_calls_in_a_second<'a>(calls: impl IntoIterator<Item = &'a CallRecord>) -> usize {
    let times: Vec<f64> = calls.into_iter().map(|c| c.at_ms).collect();
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t < times[i] + 1000.0)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// An SDK client for the emulator, with SDK retries off so errors are seen as they are.
pub fn lambda_client(endpoint: &str) -> aws_sdk_lambda::Client {
    client_with_retries(endpoint, RetryConfig::disabled())
}

/// An SDK client for a test's own reads beside a run that uses up the emulator's control-plane
/// budget: throttled calls are retried (the SDK's standard mode).
pub fn patient_lambda_client(endpoint: &str) -> aws_sdk_lambda::Client {
    client_with_retries(endpoint, RetryConfig::standard().with_max_attempts(6))
}

fn client_with_retries(endpoint: &str, retry: RetryConfig) -> aws_sdk_lambda::Client {
    let config =
        aws_sdk_lambda::config::Builder::from(&power_tuning_aws::config::local_config(endpoint))
            .retry_config(retry)
            .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// `GetFunctionConfiguration` of `function` (a name or an ARN, qualified or not).
pub async fn configuration(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> GetFunctionConfigurationOutput {
    client
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("get")
}

/// `PublishVersion` of `function`'s `$LATEST`.
pub async fn publish(client: &aws_sdk_lambda::Client, function: &str) -> PublishVersionOutput {
    client
        .publish_version()
        .function_name(function)
        .send()
        .await
        .expect("publish")
}

/// Decodes a `LogResult` (cut by bytes, so its first character may be broken).
pub fn decode_log(log_result: Option<&str>) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(log_result.expect("log result"))
        .expect("base64");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Polls until `$LATEST`'s last update finished (at most 5 s).
pub async fn wait_updated(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> GetFunctionConfigurationOutput {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let config = configuration(client, function).await;
        if config.last_update_status() == Some(&LastUpdateStatus::Successful) {
            return config;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "update of {function} did not finish"
        );
        // 10 checks a second at most: within the emulator's control-plane limit of 15.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTP proxy on 127.0.0.1 that forwards every request and records it (`METHOD URI`).
pub struct RecordingProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    /// Starts it.
    pub async fn start() -> RecordingProxy {
        use axum::extract::State;
        use axum::response::IntoResponse;
        type Seen = std::sync::Arc<std::sync::Mutex<Vec<String>>>;
        async fn forward(
            State((seen, client)): State<(Seen, reqwest::Client)>,
            request: axum::extract::Request,
        ) -> axum::response::Response {
            let (parts, body) = request.into_parts();
            // A proxied request names its whole URL (absolute form).
            seen.lock()
                .expect("lock")
                .push(format!("{} {}", parts.method, parts.uri));
            let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
                return axum::http::StatusCode::BAD_REQUEST.into_response();
            };
            let mut forwarded = client
                .request(parts.method.clone(), parts.uri.to_string())
                .body(body);
            for (name, value) in &parts.headers {
                if !matches!(
                    name.as_str(),
                    "host" | "connection" | "proxy-connection" | "proxy-authorization"
                ) {
                    forwarded = forwarded.header(name, value);
                }
            }
            match forwarded.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let bytes = response.bytes().await.unwrap_or_default();
                    let mut out = (status, bytes).into_response();
                    for (name, value) in &headers {
                        if !matches!(
                            name.as_str(),
                            "connection" | "transfer-encoding" | "content-length"
                        ) {
                            out.headers_mut().insert(name, value.clone());
                        }
                    }
                    out
                }
                Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
            }
        }
        let seen: Seen = Default::default();
        // One client forwards every request (never through a proxy itself).
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(forward)
            .with_state((seen.clone(), client));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RecordingProxy { url, seen, server }
    }

    /// What went through it so far, and forgets it.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

//! Shared test helpers: where the built binaries are, an SDK client for the emulator, polling.

use std::path::PathBuf;

use std::time::Duration;

use aws_sdk_lambda::types::LastUpdateStatus;
use aws_smithy_types::retry::RetryConfig;

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
) -> aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let config = client
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .expect("get");
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
            State(seen): State<Seen>,
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
            let client = reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client");
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(seen.clone());
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

//! Shared test helpers: where the built binaries are, an SDK client for the emulator, polling.

use std::path::PathBuf;

use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
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
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(power_tuning_aws::config::http_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "AKIAEMULATOR00000000",
            "emulator",
            None,
            None,
            "tests",
        ))
        .retry_config(RetryConfig::disabled())
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

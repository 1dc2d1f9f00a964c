//! The one SDK configuration every binary and the CLI use.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::ConnectorBuilder;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// Synchronous invokes can last 15 minutes; the read timeout leaves a margin over that.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15 * 60 + 30);
/// Connecting should never take long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Retries for clients that do not retry themselves (S3, Step Functions, CloudFormation):
/// the SDK's standard mode, exponential backoff with jitter for throttling and 5xx.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(10))
}

/// The HTTP client of every SDK client: hyper on rustls with ring, the platform's trusted
/// roots, and proxies from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`, either case): the SDK's default client, built the same way, with ring instead of
/// aws-lc. A loopback endpoint is not exempt by itself: `NO_PROXY` says which hosts are.
pub fn http_client() -> SharedHttpClient {
    client_with(ProxyConfig::from_env())
}

/// [`http_client`] without any proxy: for endpoints on this machine that the tool starts
/// itself (the local stack), which a proxy could not reach.
pub fn direct_http_client() -> SharedHttpClient {
    client_with(ProxyConfig::disabled())
}

fn client_with(proxy: ProxyConfig) -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(proxy.clone()));
        connector.build()
    })
}

/// Timeouts: short connect, read long enough for a 15-minute synchronous invoke.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
}

/// Loads the standard configuration chain (environment, profile, container/instance
/// credentials; `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) with our retry and timeout
/// settings.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_with(None, None).await
}

/// [`sdk_config`] with an explicit region and/or named profile (CLI `--region`, `--profile`);
/// `None` keeps the standard chain's choice.
pub async fn sdk_config_with(region: Option<String>, profile: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

/// The configuration for an endpoint on this machine (the local stack, the emulator, a test
/// server): us-east-1, throwaway credentials, no proxy (a proxy could not reach it), the SDK's
/// default retries. The one other builder besides [`sdk_config_with`].
pub fn local_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(direct_http_client())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIALOCAL00000000000",
            "local",
            None,
            None,
            "local",
        )))
        .build()
}

/// An endpoint override for a service (`AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`).
pub fn endpoint_override(service_env_suffix: &str) -> Option<String> {
    let specific = format!("AWS_ENDPOINT_URL_{service_env_suffix}");
    [specific.as_str(), "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

//! A lean signed `Invoke`: the executor's one hot call, without the SDK's generic orchestrator.
//!
//! The executor calls `Invoke` `num` times per memory size, and under a 128 MB CPU share every
//! microsecond of its own CPU is about 14 µs of wall time. Through the SDK each call runs the
//! generic orchestrator (interceptors, runtime-component and config-bag merging, endpoint
//! resolution, identity resolution, the retry strategy), which profiling put at about half of
//! the executor's CPU per invocation. This path keeps what matters and builds it once per
//! target region and role:
//!
//! - **Signing**: aws-sigv4, the SDK's own signer, with its default settings (SigV4, double
//!   percent-encoded path, payload hash in the canonical request, session token signed), the
//!   time from the configuration's time source.
//! - **Credentials**: the configuration's provider (or the assumed role's), cached until 10 s
//!   before they expire, as the SDK's lazy identity cache does; a refresh is done once even
//!   when parallel invocations ask at the same time.
//! - **Endpoint**: the SDK's own endpoint rules (`DefaultResolver`: partitions, FIPS, dual
//!   stack), or the configured endpoint URL, resolved once per region.
//! - **HTTP**: aws-smithy-http-client's connector (hyper on rustls with ring, the same connect
//!   and read timeouts as every SDK client), one keep-alive pool for the process.
//! - **Retries**: none here, as for every Lambda call of [`SdkLambda`](crate::SdkLambda): the
//!   core's `Resilient` wrapper retries throttling, 5xx, transport errors and timeouts with
//!   backoff and jitter.
//! - **Errors**: restJson1's error shape (the `x-amzn-errortype` header, else the body's
//!   `__type`/`code`; the body's `message`/`Message`), classified as the SDK path classifies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use power_tuning_core::ports::{InvokeOutput, LambdaError};

use crate::config::{CONNECT_TIMEOUT, READ_TIMEOUT};
use crate::errors::{classify_code, display_chain};
use crate::lock;

/// Credentials are refreshed this long before they expire (the SDK's lazy cache default).
pub const CREDENTIALS_BUFFER: Duration = Duration::from_secs(10);

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded (the
/// SDK's label and query encoding: `:` in an ARN becomes `%3A`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The service name requests are signed for.
const SIGNING_NAME: &str = "lambda";

/// Credentials from a provider, cached until shortly before they expire.
pub struct CachedCredentials {
    provider: Option<SharedCredentialsProvider>,
    current: Mutex<Option<Credentials>>,
    refresh: tokio::sync::Mutex<()>,
}

impl CachedCredentials {
    /// Caches what `provider` returns; `None` means no credentials are configured.
    pub fn new(provider: Option<SharedCredentialsProvider>) -> Self {
        CachedCredentials {
            provider,
            current: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self, now: SystemTime) -> Option<Credentials> {
        lock(&self.current)
            .as_ref()
            .filter(|c| {
                c.expiry()
                    .is_none_or(|expiry| expiry > now + CREDENTIALS_BUFFER)
            })
            .cloned()
    }

    /// Credentials valid for at least [`CREDENTIALS_BUFFER`] after `now`.
    pub async fn get(&self, now: SystemTime) -> Result<Credentials, LambdaError> {
        if let Some(credentials) = self.fresh(now) {
            return Ok(credentials);
        }
        let Some(provider) = &self.provider else {
            return Err(LambdaError::InvalidRequest {
                code: "CredentialsNotLoaded".to_string(),
                message: "no AWS credentials are configured (environment, profile, container or instance role)".to_string(),
            });
        };
        // One refresh at a time; whoever waited finds the new credentials.
        let _refreshing = self.refresh.lock().await;
        if let Some(credentials) = self.fresh(now) {
            return Ok(credentials);
        }
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(credentials_error)?;
        *lock(&self.current) = Some(credentials.clone());
        Ok(credentials)
    }
}

/// Credential failures: a provider that timed out or failed may work on a retry (nothing was
/// invoked yet); missing or invalid credentials will not.
fn credentials_error(error: CredentialsError) -> LambdaError {
    let message = display_chain(&error);
    match error {
        CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_) => {
            LambdaError::Transport(message)
        }
        _ => LambdaError::InvalidRequest {
            code: "CredentialsError".to_string(),
            message,
        },
    }
}

/// Where and as whom a function is invoked: the endpoint of its region and the credentials.
pub struct InvokeTarget {
    /// Base URL, without a trailing slash (`https://lambda.eu-west-1.amazonaws.com`).
    endpoint: String,
    /// The region requests are signed for.
    region: String,
    credentials: CachedCredentials,
}

impl InvokeTarget {
    /// A target at `endpoint`, signed for `region` with `credentials`.
    pub fn new(
        endpoint: &str,
        region: &str,
        credentials: Option<SharedCredentialsProvider>,
    ) -> Self {
        InvokeTarget {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
            credentials: CachedCredentials::new(credentials),
        }
    }

    /// The endpoint the SDK would use for Lambda in `region` (its rules: partitions, FIPS,
    /// dual stack), unless `endpoint_url` overrides it.
    pub async fn resolve_endpoint(
        region: &str,
        endpoint_url: Option<&str>,
        use_fips: Option<bool>,
        use_dual_stack: Option<bool>,
    ) -> Result<String, LambdaError> {
        use aws_sdk_lambda::config::endpoint::{DefaultResolver, Params, ResolveEndpoint as _};
        let invalid = |message: String| LambdaError::InvalidRequest {
            code: "EndpointResolution".to_string(),
            message,
        };
        let params = Params::builder()
            .region(region)
            .set_use_fips(use_fips)
            .set_use_dual_stack(use_dual_stack)
            .set_endpoint(endpoint_url.map(str::to_string))
            .build()
            .map_err(|e| invalid(format!("Lambda endpoint parameters for {region}: {e}")))?;
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .map_err(|e| {
                invalid(format!(
                    "no Lambda endpoint for {region}: {}",
                    display_chain(e.as_ref())
                ))
            })?;
        Ok(endpoint.url().to_string())
    }
}

/// Invokes functions with signed requests on one connection pool.
pub struct SignedInvoke {
    connector: Connector,
    time: SharedTimeSource,
}

impl std::fmt::Debug for SignedInvoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedInvoke").finish_non_exhaustive()
    }
}

impl SignedInvoke {
    /// One pool (hyper on rustls with ring, the SDK clients' timeouts); signing time from
    /// `time`.
    pub fn new(time: SharedTimeSource) -> Self {
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .sleep_impl(TokioSleep::new())
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build();
        SignedInvoke { connector, time }
    }

    /// `Invoke` (RequestResponse) `function` at `qualifier` with `payload`; the last 4 KB of
    /// its log when `tail_logs`.
    pub async fn invoke(
        &self,
        target: &InvokeTarget,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        tail_logs: bool,
    ) -> Result<InvokeOutput, LambdaError> {
        let now = self.time.now();
        let credentials = target.credentials.get(now).await?;
        let request = signed_request(
            target,
            credentials,
            now,
            function,
            qualifier,
            payload,
            tail_logs,
        )?;
        let response = self.connector.call(request).await.map_err(|e| {
            let text = format!("invoking {function}: {}", display_chain(&e));
            if e.is_timeout() {
                LambdaError::Timeout(text)
            } else {
                LambdaError::Transport(text)
            }
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).map(str::to_string);
        let function_error = header("x-amz-function-error");
        let log_result = header("x-amz-log-result");
        let executed_version = header("x-amz-executed-version");
        let error_type = header("x-amzn-errortype");
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| {
                LambdaError::Transport(format!(
                    "reading the response of {function}: {}",
                    display_chain(e.as_ref())
                ))
            })?
            .to_bytes();
        if !(200..300).contains(&status) {
            return Err(error_response(status, error_type.as_deref(), &body));
        }
        Ok(InvokeOutput {
            function_error,
            log_result,
            executed_version,
            payload: body.to_vec(),
        })
    }
}

/// The path and query of an `Invoke` (`/2015-03-31/functions/<name>/invocations?Qualifier=`),
/// encoded as the SDK encodes them.
pub fn invoke_path(function: &str, qualifier: Option<&str>) -> String {
    let mut path = format!(
        "/2015-03-31/functions/{}/invocations",
        utf8_percent_encode(function, UNRESERVED)
    );
    if let Some(qualifier) = qualifier {
        path.push_str("?Qualifier=");
        path.extend(utf8_percent_encode(qualifier, UNRESERVED));
    }
    path
}

/// The signed HTTP request of one `Invoke`.
fn signed_request(
    target: &InvokeTarget,
    credentials: Credentials,
    now: SystemTime,
    function: &str,
    qualifier: Option<&str>,
    payload: &[u8],
    tail_logs: bool,
) -> Result<HttpRequest, LambdaError> {
    let invalid = |message: String| LambdaError::InvalidRequest {
        code: "ClientError".to_string(),
        message,
    };
    let uri = format!("{}{}", target.endpoint, invoke_path(function, qualifier));
    let length = payload.len().to_string();
    let headers = [
        ("content-type", "application/octet-stream"),
        ("content-length", length.as_str()),
        ("x-amz-invocation-type", "RequestResponse"),
        ("x-amz-log-type", if tail_logs { "Tail" } else { "None" }),
    ];
    let identity = Identity::from(credentials);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&target.region)
        .name(SIGNING_NAME)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| invalid(format!("signing parameters: {e}")))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        uri.as_str(),
        headers.iter().copied(),
        SignableBody::Bytes(payload),
    )
    .map_err(|e| invalid(format!("request to sign ({uri}): {}", display_chain(&e))))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| invalid(format!("signing the request: {}", display_chain(&e))))?
        .into_parts();
    let mut builder = http::Request::builder()
        .method(http::Method::POST)
        .uri(uri.as_str())
        .header(http::header::USER_AGENT, USER_AGENT);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let mut request = builder
        .body(SdkBody::from(payload.to_vec()))
        .map_err(|e| invalid(format!("request to {uri}: {e}")))?;
    instructions.apply_to_request_http1x(&mut request);
    HttpRequest::try_from(request).map_err(|e| invalid(format!("request to {uri}: {e}")))
}

/// `User-Agent` of the lean path.
const USER_AGENT: &str = concat!("power-tuning/", env!("CARGO_PKG_VERSION"));

/// A restJson1 error response: the code from `x-amzn-errortype` (else the body's `__type` or
/// `code`), without its namespace (`aws#`) or URL suffix (`:http://…`); the message from the
/// body's `message` or `Message`.
pub fn error_response(status: u16, error_type: Option<&str>, body: &[u8]) -> LambdaError {
    #[derive(serde::Deserialize, Default)]
    struct ErrorBody {
        #[serde(rename = "__type")]
        type_: Option<String>,
        code: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
    }
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let raw = error_type
        .map(str::to_string)
        .or(parsed.type_)
        .or(parsed.code)
        .unwrap_or_else(|| "Unknown".to_string());
    let code = sanitize_code(&raw);
    let message = parsed.message.unwrap_or_else(|| format!("HTTP {status}"));
    classify_code(code, status, message)
}

/// `aws.protocoltests#FooError:http://internal.amazon.com/` → `FooError`.
fn sanitize_code(raw: &str) -> &str {
    let without_url = raw.split(':').next().unwrap_or(raw);
    without_url.rsplit('#').next().unwrap_or(without_url)
}

/// A region and, when a role is in use for the function's account, the role's key.
pub type TargetKey = (String, Option<String>);

/// Invoke targets by key, resolved once.
#[derive(Default)]
pub struct Targets {
    targets: Mutex<HashMap<TargetKey, Arc<InvokeTarget>>>,
}

impl Targets {
    /// The target under `key`, if resolved.
    pub fn get(&self, key: &TargetKey) -> Option<Arc<InvokeTarget>> {
        lock(&self.targets).get(key).cloned()
    }

    /// Keeps `target` under `key` (the first one wins when two resolved at once).
    pub fn insert(&self, key: TargetKey, target: InvokeTarget) -> Arc<InvokeTarget> {
        lock(&self.targets)
            .entry(key)
            .or_insert_with(|| Arc::new(target))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_as_the_sdk_encodes_labels_and_queries() {
        assert_eq!(
            invoke_path(
                "arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
                Some("7")
            ),
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Amy-fn/invocations?Qualifier=7"
        );
        assert_eq!(
            invoke_path("fn", Some("$LATEST")),
            "/2015-03-31/functions/fn/invocations?Qualifier=%24LATEST"
        );
        assert_eq!(
            invoke_path("a b~c", None),
            "/2015-03-31/functions/a%20b~c/invocations"
        );
    }

    #[test]
    fn error_codes_come_from_the_header_or_the_body_without_namespace_or_url() {
        let header = error_response(
            404,
            Some(
                "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awsgirapi/",
            ),
            br#"{"Type":"User","Message":"Function not found: fn:7"}"#,
        );
        assert_eq!(
            header,
            LambdaError::NotFound("Function not found: fn:7".to_string())
        );
        let body = error_response(
            429,
            None,
            br#"{"__type":"com.amazonaws.lambda#TooManyRequestsException","message":"Rate exceeded"}"#,
        );
        assert_eq!(body, LambdaError::Throttled("Rate exceeded".to_string()));
        let opaque = error_response(502, None, b"<html>bad gateway</html>");
        assert_eq!(
            opaque,
            LambdaError::Service {
                code: "Unknown".to_string(),
                message: "HTTP 502".to_string()
            }
        );
        let invalid = error_response(
            400,
            Some("InvalidRequestContentException"),
            br#"{"message":"Could not parse request body into json"}"#,
        );
        assert_eq!(
            invalid,
            LambdaError::InvalidRequest {
                code: "InvalidRequestContentException".to_string(),
                message: "Could not parse request body into json".to_string()
            }
        );
    }

    #[tokio::test]
    async fn credentials_are_fetched_once_and_again_only_near_their_expiry() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        #[derive(Debug)]
        struct Counting(Arc<AtomicUsize>, SystemTime);
        impl aws_credential_types::provider::ProvideCredentials for Counting {
            fn provide_credentials<'a>(
                &'a self,
            ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                aws_credential_types::provider::future::ProvideCredentials::ready(Ok(
                    Credentials::new(format!("AKID{n}"), "secret", None, Some(self.1), "test"),
                ))
            }
        }
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let expiry = t0 + Duration::from_secs(3600);
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = CachedCredentials::new(Some(SharedCredentialsProvider::new(Counting(
            calls.clone(),
            expiry,
        ))));
        for _ in 0..5 {
            let c = cache.get(t0).await.expect("credentials");
            assert_eq!(c.access_key_id(), "AKID0");
        }
        let still = cache
            .get(expiry - CREDENTIALS_BUFFER - Duration::from_secs(1))
            .await
            .expect("credentials");
        assert_eq!(still.access_key_id(), "AKID0");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let renewed = cache
            .get(expiry - CREDENTIALS_BUFFER)
            .await
            .expect("credentials");
        assert_eq!(renewed.access_key_id(), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn no_provider_is_a_clear_error_not_a_retry() {
        let cache = CachedCredentials::new(None);
        let error = cache
            .get(SystemTime::now())
            .await
            .expect_err("no credentials");
        assert!(!error.is_transient(), "{error:?}");
        assert!(error.to_string().contains("no AWS credentials"), "{error}");
    }

    #[tokio::test]
    async fn endpoints_follow_the_sdk_rules() {
        let resolve = |region: &'static str, fips| async move {
            InvokeTarget::resolve_endpoint(region, None, Some(fips), Some(false))
                .await
                .expect("endpoint")
        };
        assert_eq!(
            resolve("eu-west-1", false).await,
            "https://lambda.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            resolve("cn-north-1", false).await,
            "https://lambda.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            resolve("us-gov-west-1", true).await,
            "https://lambda-fips.us-gov-west-1.amazonaws.com"
        );
        let custom =
            InvokeTarget::resolve_endpoint("eu-west-1", Some("http://127.0.0.1:9001"), None, None)
                .await
                .expect("endpoint");
        assert_eq!(custom, "http://127.0.0.1:9001");
    }
}

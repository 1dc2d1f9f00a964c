//! The ports the handlers run against, with crate-owned types: the Lambda API, payload sources
//! (S3), and a clock. `power-tuning-aws` implements them on the AWS SDK; [`crate::fake`] in memory.

use std::future::Future;
use std::time::Duration;

/// `LastUpdateStatus` of a function configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    /// The last update finished.
    Successful,
    /// An update is being applied.
    InProgress,
    /// The last update failed.
    Failed,
}

/// The parts of a function configuration the tuner uses.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    /// `$LATEST` or a version number.
    pub version: String,
    /// Memory size (MB).
    pub memory_size: u32,
    /// Description.
    pub description: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// `State` (`Active`, `Pending`, ...), when reported.
    pub state: Option<String>,
    /// `LastUpdateStatus`, when reported.
    pub last_update_status: Option<UpdateStatus>,
    /// `LastUpdateStatusReason`, when reported.
    pub last_update_status_reason: Option<String>,
    /// `RevisionId`: changes whenever the configuration changes (optimistic concurrency).
    pub revision_id: Option<String>,
}

/// One page of `ListVersionsByFunction`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VersionsPage {
    /// Versions on this page (including `$LATEST`).
    pub versions: Vec<FunctionConfig>,
    /// Marker of the next page.
    pub next_marker: Option<String>,
}

/// What `Invoke` returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvokeOutput {
    /// `X-Amz-Function-Error` (`Unhandled`, ...) when the function failed.
    pub function_error: Option<String>,
    /// Base64 log tail, when requested.
    pub log_result: Option<String>,
    /// The function's response.
    pub payload: Vec<u8>,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
}

/// What `InvokeWithResponseStream` returned: the response was read to its end and not kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamedOutput {
    /// From the request being sent to the first payload chunk (none without a chunk).
    pub time_to_first_byte: Option<Duration>,
    /// Bytes of the response.
    pub response_bytes: u64,
    /// `InvokeComplete.ErrorCode`, when the function failed.
    pub error_code: Option<String>,
    /// `InvokeComplete.ErrorDetails`.
    pub error_details: Option<String>,
    /// `InvokeComplete.LogResult`: base64 log tail.
    pub log_result: Option<String>,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
}

/// A role to call the functions of its account with (SPEC §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRole {
    /// The role.
    pub role_arn: crate::arn::RoleArn,
    /// `RoleSessionName`: `power-tuning-<run-id>`.
    pub session_name: String,
}

/// An alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasConfig {
    /// Alias name.
    pub name: String,
    /// The version it points at.
    pub function_version: String,
}

/// Lambda API errors, classified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LambdaError {
    /// 404 `ResourceNotFoundException`.
    #[error("ResourceNotFoundException: {0}")]
    NotFound(String),
    /// 409 `ResourceConflictException` (update in progress, version in use, ...).
    #[error("ResourceConflictException: {0}")]
    Conflict(String),
    /// 429 `TooManyRequestsException`.
    #[error("TooManyRequestsException: {0}")]
    Throttled(String),
    /// 400 `InvalidParameterValueException` and other client errors.
    #[error("{code}: {message}")]
    InvalidRequest {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
    /// 403 / `AccessDeniedException`.
    #[error("AccessDeniedException: {0}")]
    AccessDenied(String),
    /// 412 `PreconditionFailedException`: the `RevisionId` given is not the latest.
    #[error("PreconditionFailedException: {0}")]
    PreconditionFailed(String),
    /// 5xx service errors.
    #[error("{code}: {message}")]
    Service {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
    /// The request did not reach the service or the connection broke.
    #[error("transport error: {0}")]
    Transport(String),
    /// No response within the client's timeout.
    #[error("timeout: {0}")]
    Timeout(String),
}

impl LambdaError {
    /// Worth retrying with backoff: throttling, 5xx, transport failures.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LambdaError::Throttled(_) | LambdaError::Service { .. } | LambdaError::Transport(_)
        )
    }
}

/// The Lambda API calls the tuner makes. Function arguments are ARNs (unqualified).
pub trait LambdaApi: Send + Sync {
    /// `GetFunctionConfiguration` (`qualifier` `None` = `$LATEST`).
    fn get_configuration(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> impl Future<Output = Result<FunctionConfig, LambdaError>> + Send;

    /// `UpdateFunctionConfiguration` of memory and description; with `revision`, only if
    /// `$LATEST` is still at that `RevisionId` (else [`LambdaError::PreconditionFailed`]).
    fn update_configuration(
        &self,
        function: &str,
        memory_size: u32,
        description: &str,
        revision: Option<&str>,
    ) -> impl Future<Output = Result<FunctionConfig, LambdaError>> + Send;

    /// `PublishVersion`; with `revision`, only if `$LATEST` is still at that `RevisionId`.
    fn publish_version(
        &self,
        function: &str,
        revision: Option<&str>,
    ) -> impl Future<Output = Result<FunctionConfig, LambdaError>> + Send;

    /// `ListVersionsByFunction`, one page.
    fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<VersionsPage, LambdaError>> + Send;

    /// `DeleteFunction` of one version.
    fn delete_version(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<(), LambdaError>> + Send;

    /// `GetAlias`.
    fn get_alias(
        &self,
        function: &str,
        name: &str,
    ) -> impl Future<Output = Result<AliasConfig, LambdaError>> + Send;

    /// `CreateAlias`.
    fn create_alias(
        &self,
        function: &str,
        name: &str,
        version: &str,
    ) -> impl Future<Output = Result<AliasConfig, LambdaError>> + Send;

    /// `UpdateAlias`.
    fn update_alias(
        &self,
        function: &str,
        name: &str,
        version: &str,
    ) -> impl Future<Output = Result<AliasConfig, LambdaError>> + Send;

    /// Synchronous `Invoke` (`RequestResponse`), with the log tail when `tail_logs`.
    fn invoke(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        tail_logs: bool,
    ) -> impl Future<Output = Result<InvokeOutput, LambdaError>> + Send;

    /// From now on, calls on functions in `role`'s account use its credentials (STS
    /// `AssumeRole`, refreshed before they expire); `None` goes back to the tuner's own. The
    /// role is assumed at once, so a role that cannot be assumed fails here, before any call.
    fn use_role(
        &self,
        role: Option<&AssumedRole>,
    ) -> impl Future<Output = Result<(), LambdaError>> + Send;

    /// `InvokeWithResponseStream` with the log tail (SPEC §10): the stream is drained as it
    /// arrives, so memory does not grow with the response.
    fn invoke_streaming(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
    ) -> impl Future<Output = Result<StreamedOutput, LambdaError>> + Send;
}

/// Why an S3 payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadSourceError {
    /// 403.
    #[error("access denied")]
    AccessDenied,
    /// 404.
    #[error("not found")]
    NotFound,
    /// Anything else, with the service's message.
    #[error("{0}")]
    Other(String),
}

/// Where `payloadS3` objects are read from.
pub trait PayloadSource: Send + Sync {
    /// `GetObject` body.
    fn fetch(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, PayloadSourceError>> + Send;
}

/// Time: a monotonic clock, the wall clock, and sleeping.
pub trait Clock: Send + Sync {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Wall-clock time: seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
    /// Sleeps for `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// A [`PayloadSource`] for handlers that never read S3.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPayloads;

impl PayloadSource for NoPayloads {
    async fn fetch(&self, _bucket: &str, _key: &str) -> Result<Vec<u8>, PayloadSourceError> {
        Err(PayloadSourceError::Other(
            "no payload source configured".to_string(),
        ))
    }
}

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

/// Bytes of a response kept when the whole of it is not needed: enough for any error
/// document's `errorType` and `errorMessage` (SPEC §14: memory bounded whatever the response
/// size).
pub const RESPONSE_HEAD: usize = 64 * 1024;

/// How an `Invoke` is made and its answer kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InvokeOptions {
    /// `LogType: Tail`: the last 4 KB of the log in `LogResult`.
    pub tail_logs: bool,
    /// Keep the whole response (a pre-processor's becomes the payload, a post-processor gets
    /// the target's); else only its first [`RESPONSE_HEAD`] bytes, the rest read and dropped.
    pub whole_response: bool,
}

/// What `Invoke` returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvokeOutput {
    /// `X-Amz-Function-Error` (`Unhandled`, ...) when the function failed.
    pub function_error: Option<String>,
    /// Base64 log tail, when requested.
    pub log_result: Option<String>,
    /// The function's response (its first [`RESPONSE_HEAD`] bytes unless the whole was asked).
    pub payload: Vec<u8>,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
}

/// What `InvokeWithResponseStream` returned: the response was read to its end and not kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamedOutput {
    /// From the request being sent on a ready connection (signing and connection set-up
    /// excluded) to the first payload chunk (none without a chunk).
    pub time_to_first_byte: Option<Duration>,
    /// Bytes of the response.
    pub response_bytes: u64,
    /// `InvokeComplete.ErrorCode`, when the function failed.
    pub error_code: Option<String>,
    /// `InvokeComplete.ErrorDetails`.
    pub error_details: Option<String>,
    /// `InvokeComplete.LogResult`: base64 log tail.
    pub log_result: Option<String>,
    /// Whether `InvokeComplete` came (a stream that ends without it did not complete).
    pub completed: bool,
    /// Why the stream ended early, when reading it failed (a cut frame, a reset connection)
    /// rather than ending cleanly without `InvokeComplete`.
    pub broken: Option<String>,
    /// `X-Amz-Executed-Version`.
    pub executed_version: Option<String>,
}

/// The account's concurrency in a region (`GetAccountSettings`' `AccountLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountConcurrency {
    /// `UnreservedConcurrentExecutions` (else `ConcurrentExecutions`): what functions without a
    /// reservation share.
    pub unreserved: u32,
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

/// Lambda API errors, classified by their code (SPEC §14), not their HTTP status: a KMS key
/// that is disabled answers 502 but will not come back by retrying, a throttle 429 will.
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
    /// A function that cannot run as it is configured (its KMS key, subnet, security group,
    /// network interfaces, file system, code or runtime): one of [`PERMANENT_SERVICE_CODES`].
    /// Retrying changes nothing until someone fixes the function.
    #[error("{code}: {message}")]
    Permanent {
        /// Lambda's error code.
        code: &'static str,
        /// Lambda's message.
        message: String,
    },
    /// A transient service error: `ServiceException`, the other 5xx, and the transient codes
    /// of [`TRANSIENT_CODES`].
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
    /// No response within the client's timeout (connect or read): transient, as the SDK's
    /// classifier has it (SPEC §14's transport errors).
    #[error("timeout: {0}")]
    Timeout(String),
}

/// Codes of a function that cannot run as configured (SPEC §14's permanent list, less the
/// client errors that have classes of their own): these fail at once with Lambda's code.
pub const PERMANENT_SERVICE_CODES: [&str; 14] = [
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "EC2AccessDeniedException",
    "InvalidSubnetIDException",
    "InvalidSecurityGroupIDException",
    "InvalidZipFileException",
    "InvalidRuntimeException",
    "SubnetIPAddressLimitReachedException",
    "ENILimitReachedException",
    "EFSMountFailureException",
    "EFSMountConnectivityException",
    "EFSIOException",
];

/// Client errors (SPEC §14's permanent list): the request itself is wrong.
pub const INVALID_REQUEST_CODES: [&str; 4] = [
    "InvalidParameterValueException",
    "RequestTooLargeException",
    "InvalidRequestContentException",
    "UnsupportedMediaTypeException",
];

/// Transient codes whose HTTP status would not say so (SPEC §14): retried with backoff.
pub const TRANSIENT_CODES: [&str; 7] = [
    "ServiceException",
    "EC2ThrottledException",
    "EC2UnexpectedException",
    "EFSMountTimeoutException",
    "SnapStartNotReadyException",
    "SnapStartTimeoutException",
    "ResourceNotReadyException",
];

impl LambdaError {
    /// Classifies an error Lambda answered: by its code first, by its HTTP status only for a
    /// code not listed (another 5xx is transient, another 4xx is not).
    pub fn from_code(code: &str, status: u16, message: String) -> LambdaError {
        if let Some(code) = PERMANENT_SERVICE_CODES.iter().find(|c| **c == code) {
            return LambdaError::Permanent { code, message };
        }
        if INVALID_REQUEST_CODES.contains(&code) {
            return LambdaError::InvalidRequest {
                code: code.to_string(),
                message,
            };
        }
        if TRANSIENT_CODES.contains(&code) {
            return LambdaError::Service {
                code: code.to_string(),
                message,
            };
        }
        match (code, status) {
            ("ResourceNotFoundException", _) | (_, 404) => LambdaError::NotFound(message),
            ("ResourceConflictException", _) | (_, 409) => LambdaError::Conflict(message),
            ("TooManyRequestsException" | "ThrottlingException" | "Throttling", _) | (_, 429) => {
                LambdaError::Throttled(message)
            }
            ("AccessDeniedException" | "AccessDenied", _) | (_, 403) => {
                LambdaError::AccessDenied(message)
            }
            ("PreconditionFailedException", _) | (_, 412) => {
                LambdaError::PreconditionFailed(message)
            }
            (_, 500..=599) => LambdaError::Service {
                code: code.to_string(),
                message,
            },
            _ => LambdaError::InvalidRequest {
                code: code.to_string(),
                message,
            },
        }
    }

    /// Worth retrying with backoff: throttling, transient service errors, transport failures
    /// and timeouts.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LambdaError::Throttled(_)
                | LambdaError::Service { .. }
                | LambdaError::Transport(_)
                | LambdaError::Timeout(_)
        )
    }
}

/// `UpdateFunctionConfiguration`'s change of `$LATEST`: memory and description; with
/// `revision`, only if `$LATEST` is still at that `RevisionId` (else
/// [`LambdaError::PreconditionFailed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigUpdate<'a> {
    /// `MemorySize` (MB).
    pub memory_size: u32,
    /// `Description`.
    pub description: &'a str,
    /// `RevisionId` expected.
    pub revision: Option<&'a str>,
}

impl<'a> ConfigUpdate<'a> {
    /// Memory and description, whatever the revision.
    pub fn new(memory_size: u32, description: &'a str) -> ConfigUpdate<'a> {
        ConfigUpdate {
            memory_size,
            description,
            revision: None,
        }
    }

    /// Only if `$LATEST` is still at `revision`.
    pub fn at_revision(self, revision: Option<&'a str>) -> ConfigUpdate<'a> {
        ConfigUpdate { revision, ..self }
    }
}

/// An alias and the version it points to (`CreateAlias`, `UpdateAlias`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasTarget<'a> {
    /// The alias.
    pub name: &'a str,
    /// The version.
    pub version: &'a str,
}

impl<'a> AliasTarget<'a> {
    /// Alias `name` at `version`.
    pub fn new(name: &'a str, version: &'a str) -> AliasTarget<'a> {
        AliasTarget { name, version }
    }
}

/// What an invocation sends: the function (an unqualified ARN), the qualifier, the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvokeRequest<'a> {
    /// The function.
    pub function: &'a str,
    /// Version or alias (`None`: `$LATEST`).
    pub qualifier: Option<&'a str>,
    /// The event.
    pub payload: &'a [u8],
}

impl<'a> InvokeRequest<'a> {
    /// `payload` to `function` at `qualifier`.
    pub fn new(function: &'a str, qualifier: Option<&'a str>, payload: &'a [u8]) -> Self {
        InvokeRequest {
            function,
            qualifier,
            payload,
        }
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

    /// `UpdateFunctionConfiguration` of memory and description.
    fn update_configuration(
        &self,
        function: &str,
        update: ConfigUpdate<'_>,
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
        alias: AliasTarget<'_>,
    ) -> impl Future<Output = Result<AliasConfig, LambdaError>> + Send;

    /// `UpdateAlias`.
    fn update_alias(
        &self,
        function: &str,
        alias: AliasTarget<'_>,
    ) -> impl Future<Output = Result<AliasConfig, LambdaError>> + Send;

    /// Synchronous `Invoke` (`RequestResponse`).
    fn invoke(
        &self,
        request: InvokeRequest<'_>,
        options: InvokeOptions,
    ) -> impl Future<Output = Result<InvokeOutput, LambdaError>> + Send;

    /// `GetFunctionConcurrency`: the function's reserved concurrency, `None` when it has none.
    fn get_function_concurrency(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Option<u32>, LambdaError>> + Send;

    /// `GetAccountSettings` of the account and region of `function`: its concurrency.
    fn get_account_concurrency(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<AccountConcurrency, LambdaError>> + Send;

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
        request: InvokeRequest<'_>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn class(code: &str, status: u16) -> (String, bool) {
        let e = LambdaError::from_code(code, status, "m".to_string());
        let name = match &e {
            LambdaError::NotFound(_) => "NotFound".to_string(),
            LambdaError::Conflict(_) => "Conflict".to_string(),
            LambdaError::Throttled(_) => "Throttled".to_string(),
            LambdaError::InvalidRequest { code, .. } => format!("InvalidRequest {code}"),
            LambdaError::AccessDenied(_) => "AccessDenied".to_string(),
            LambdaError::PreconditionFailed(_) => "PreconditionFailed".to_string(),
            LambdaError::Permanent { code, .. } => format!("Permanent {code}"),
            LambdaError::Service { code, .. } => format!("Service {code}"),
            LambdaError::Transport(_) | LambdaError::Timeout(_) => "other".to_string(),
        };
        (name, e.is_transient())
    }

    #[test]
    fn transport_errors_and_timeouts_are_transient_as_the_sdk_has_them() {
        assert!(LambdaError::Transport("reset".into()).is_transient());
        assert!(LambdaError::Timeout("connect".into()).is_transient());
        assert!(!LambdaError::NotFound("f".into()).is_transient());
    }

    #[test]
    fn errors_are_classified_by_code_not_status() {
        let permanent = |code: &str| (format!("Permanent {code}"), false);
        // 5xx that retrying cannot fix (the API reference's Invoke errors and their statuses).
        assert_eq!(
            class("KMSDisabledException", 502),
            permanent("KMSDisabledException")
        );
        assert_eq!(
            class("SubnetIPAddressLimitReachedException", 502),
            permanent("SubnetIPAddressLimitReachedException")
        );
        assert_eq!(
            class("EFSMountFailureException", 403),
            permanent("EFSMountFailureException")
        );
        assert_eq!(class("EFSIOException", 410), permanent("EFSIOException"));
        // Transient whatever their status.
        assert_eq!(
            class("ServiceException", 500),
            ("Service ServiceException".into(), true)
        );
        assert_eq!(
            class("SnapStartNotReadyException", 409),
            ("Service SnapStartNotReadyException".into(), true)
        );
        assert_eq!(
            class("EFSMountTimeoutException", 408),
            ("Service EFSMountTimeoutException".into(), true)
        );
        assert_eq!(
            class("ResourceNotReadyException", 502),
            ("Service ResourceNotReadyException".into(), true)
        );
        assert_eq!(
            class("TooManyRequestsException", 429),
            ("Throttled".into(), true)
        );
        // Client errors and the rest.
        assert_eq!(
            class("InvalidRequestContentException", 400),
            (
                "InvalidRequest InvalidRequestContentException".into(),
                false
            )
        );
        assert_eq!(
            class("RequestTooLargeException", 413),
            ("InvalidRequest RequestTooLargeException".into(), false)
        );
        assert_eq!(
            class("ResourceNotFoundException", 404),
            ("NotFound".into(), false)
        );
        assert_eq!(
            class("ResourceConflictException", 409),
            ("Conflict".into(), false)
        );
        assert_eq!(
            class("AccessDeniedException", 403),
            ("AccessDenied".into(), false)
        );
        // A code not listed: the status decides.
        assert_eq!(class("Whatever", 503), ("Service Whatever".into(), true));
        assert_eq!(
            class("Whatever", 418),
            ("InvalidRequest Whatever".into(), false)
        );
    }
}

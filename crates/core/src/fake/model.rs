//! What tests see of the fake Lambda: its operations ([`Op`]), its call log ([`Call`]), and the
//! function model: what an invocation shows the function ([`FakeInvocation`]), what the
//! function does ([`FakeOutcome`], [`Behavior`]) and how its log is written ([`FakeLogFormat`]).

use std::sync::Arc;
use std::time::Duration;

/// The operations of [`LambdaApi`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// GetFunctionConfiguration.
    GetConfiguration,
    /// UpdateFunctionConfiguration.
    UpdateConfiguration,
    /// PublishVersion.
    PublishVersion,
    /// ListVersionsByFunction.
    ListVersions,
    /// DeleteFunction (version).
    DeleteVersion,
    /// GetAlias.
    GetAlias,
    /// CreateAlias.
    CreateAlias,
    /// UpdateAlias.
    UpdateAlias,
    /// Invoke.
    Invoke,
    /// InvokeWithResponseStream.
    InvokeStreaming,
    /// GetFunctionConcurrency.
    GetFunctionConcurrency,
    /// GetAccountSettings.
    GetAccountSettings,
}

impl Op {
    /// The IAM action that allows this operation.
    pub fn iam_action(self) -> &'static str {
        match self {
            Op::GetConfiguration => "lambda:GetFunctionConfiguration",
            Op::UpdateConfiguration => "lambda:UpdateFunctionConfiguration",
            Op::PublishVersion => "lambda:PublishVersion",
            Op::ListVersions => "lambda:ListVersionsByFunction",
            Op::DeleteVersion => "lambda:DeleteFunction",
            Op::GetAlias => "lambda:GetAlias",
            Op::CreateAlias => "lambda:CreateAlias",
            Op::UpdateAlias => "lambda:UpdateAlias",
            Op::Invoke | Op::InvokeStreaming => "lambda:InvokeFunction",
            Op::GetFunctionConcurrency => "lambda:GetFunctionConcurrency",
            Op::GetAccountSettings => "lambda:GetAccountSettings",
        }
    }

    /// Everything but the invocations.
    pub fn is_control_plane(self) -> bool {
        !matches!(self, Op::Invoke | Op::InvokeStreaming)
    }
}

/// One logged call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Virtual time of the call.
    pub at: Duration,
    /// Operation.
    pub op: Op,
    /// Function name.
    pub function: String,
    /// Qualifier, if any.
    pub qualifier: Option<String>,
    /// Memory size, for updates.
    pub memory: Option<u32>,
    /// Payload, for invocations.
    pub payload: Option<String>,
    /// Whether it failed.
    pub failed: bool,
    /// The role whose credentials signed it (`None`: the tuner's own).
    pub role: Option<String>,
}

/// What the fake function sees of an invocation.
#[derive(Debug, Clone)]
pub struct FakeInvocation {
    /// Function name.
    pub function: String,
    /// Executed version.
    pub version: String,
    /// Memory size of that version.
    pub memory: u32,
    /// Request payload.
    pub payload: Vec<u8>,
    /// Whether a new environment was started.
    pub cold: bool,
}

/// What the fake function does.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOutcome {
    /// Response payload (ignored when `error` is set).
    pub payload: Vec<u8>,
    /// `(errorType, errorMessage)` to fail with.
    pub error: Option<(String, String)>,
    /// Duration (ms).
    pub duration_ms: f64,
    /// Init duration on cold starts (ms).
    pub init_ms: f64,
    /// Max memory used (MB).
    pub max_memory_mb: u32,
    /// When a streamed response's first byte comes, ms after the request (default: at once).
    pub first_byte_ms: f64,
    /// What the function prints (plain lines, as a custom runtime writes them).
    pub lines: Vec<String>,
    /// A streamed response that ends without `InvokeComplete` (the connection dropped).
    pub incomplete_stream: bool,
}

/// How a fake function's log is written: its `LoggingConfig`'s format and `SystemLogLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FakeLogFormat {
    /// Plain text: `START`, the function's lines, `END`, `REPORT`.
    #[default]
    Text,
    /// JSON: `platform.start` and `platform.report` records, the function's lines as written.
    Json,
    /// JSON with `SystemLogLevel` WARN: a successful invocation's `platform.start` and
    /// `platform.report` are not written.
    JsonSystemWarn,
}

impl FakeOutcome {
    /// A success taking `duration_ms`.
    pub fn ok(duration_ms: f64) -> Self {
        FakeOutcome {
            payload: b"{\"ok\":true}".to_vec(),
            error: None,
            duration_ms,
            init_ms: 100.0,
            max_memory_mb: 40,
            first_byte_ms: 0.0,
            lines: Vec::new(),
            incomplete_stream: false,
        }
    }

    /// A failure with `errorType` and `errorMessage`.
    pub fn error(error_type: &str, message: &str) -> Self {
        FakeOutcome {
            error: Some((error_type.to_string(), message.to_string())),
            ..FakeOutcome::ok(5.0)
        }
    }
}

/// A function's behaviour.
pub type Behavior = Arc<dyn Fn(&FakeInvocation) -> FakeOutcome + Send + Sync>;

/// Default behaviour: CPU-bound, 1000 ms at 128 MB, halving as memory doubles.
pub fn cpu_bound() -> Behavior {
    Arc::new(|inv: &FakeInvocation| FakeOutcome::ok(1000.0 * 128.0 / f64::from(inv.memory)))
}

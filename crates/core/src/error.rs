//! Handler errors with stable error type names, so the state machine can `Retry` the transient
//! ones and `Catch` the rest.

use crate::analysis::AnalysisError;
use crate::architecture::UnsupportedArchitecture;
use crate::input::InputError;
use crate::logs::InvalidLog;
use crate::ports::LambdaError;
use crate::state::StateError;

/// Every way a handler fails.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HandlerError {
    /// The execution input is invalid (SPEC §2). Nothing was changed.
    #[error(transparent)]
    InvalidInput(#[from] InputError),
    /// A Lambda API call failed.
    #[error("{context}: {source}")]
    Lambda {
        /// What the handler was doing.
        context: String,
        /// The classified API error.
        source: LambdaError,
    },
    /// `LastUpdateStatus` became `Failed`.
    #[error("{0}")]
    UpdateFailed(String),
    /// An update did not finish within the invocation's time budget.
    #[error("{0}")]
    UpdateTimeout(String),
    /// The function's architecture has no price.
    #[error(transparent)]
    UnsupportedArchitecture(#[from] UnsupportedArchitecture),
    /// Every memory size failed.
    #[error(transparent)]
    TargetFailed(#[from] AnalysisError),
    /// A pre- or post-processor failed.
    #[error("{0}")]
    ProcessorFailed(String),
    /// `payloadS3` could not be read.
    #[error("{0}")]
    PayloadS3(String),
    /// A log tail could not be read.
    #[error(transparent)]
    InvalidLog(#[from] InvalidLog),
    /// The state handed over by the state machine is missing something.
    #[error(transparent)]
    InvalidState(#[from] StateError),
    /// PublishVersion returned a version this run did not create.
    #[error("{0}")]
    UnexpectedVersion(String),
    /// Another run is tuning the function, or the function changed while this run published
    /// (SPEC §12).
    #[error("{0}")]
    ConcurrentRun(String),
}

impl HandlerError {
    /// The stable error type name reported to Step Functions.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::InvalidInput(_) => "InvalidInput",
            HandlerError::Lambda { source, .. } => match source {
                LambdaError::NotFound(_) => "ResourceNotFound",
                LambdaError::Conflict(_) => "ResourceConflict",
                LambdaError::Throttled(_) => "Throttled",
                LambdaError::InvalidRequest { .. } => "InvalidRequest",
                LambdaError::AccessDenied(_) => "AccessDenied",
                LambdaError::PreconditionFailed(_) => "ConcurrentRun",
                LambdaError::Service { .. } | LambdaError::Transport(_) => "LambdaServiceError",
                LambdaError::Timeout(_) => "LambdaTimeout",
                // Lambda's own code: the function cannot run as configured.
                LambdaError::Permanent { code, .. } => code,
            },
            HandlerError::UpdateFailed(_) => "UpdateFailed",
            HandlerError::UpdateTimeout(_) => "UpdateTimeout",
            HandlerError::UnsupportedArchitecture(_) => "UnsupportedArchitecture",
            HandlerError::TargetFailed(_) => "TargetFailed",
            HandlerError::ProcessorFailed(_) => "ProcessorFailed",
            HandlerError::PayloadS3(_) => "PayloadS3Error",
            HandlerError::InvalidLog(_) => "InvalidLog",
            HandlerError::InvalidState(_) => "InvalidState",
            HandlerError::UnexpectedVersion(_) => "UnexpectedVersion",
            HandlerError::ConcurrentRun(_) => "ConcurrentRun",
        }
    }

    /// Every error type name a handler reports (README "Errors"), in the order of the variants
    /// (a permanent Lambda error is named by its code).
    pub fn all_types() -> Vec<&'static str> {
        let mut names = vec![
            "InvalidInput",
            "ResourceNotFound",
            "ResourceConflict",
            "Throttled",
            "InvalidRequest",
            "AccessDenied",
            "LambdaServiceError",
            "LambdaTimeout",
        ];
        names.extend(crate::ports::PERMANENT_SERVICE_CODES);
        names.extend([
            "UpdateFailed",
            "UpdateTimeout",
            "UnsupportedArchitecture",
            "TargetFailed",
            "ProcessorFailed",
            "PayloadS3Error",
            "InvalidLog",
            "InvalidState",
            "UnexpectedVersion",
            "ConcurrentRun",
        ]);
        names
    }

    /// Error types the state machine retries (transient service conditions only, SPEC §14: a
    /// permanent Lambda error fails at once).
    pub const TRANSIENT_TYPES: [&'static str; 2] = ["Throttled", "LambdaServiceError"];

    /// Wraps a Lambda API error with what the handler was doing.
    pub fn lambda(context: impl Into<String>, source: LambdaError) -> HandlerError {
        HandlerError::Lambda {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_name() {
        let s = || "x".to_string();
        let lambda = |e: LambdaError| HandlerError::lambda("ctx", e);
        let all = [
            HandlerError::InvalidInput(InputError::MissingNum),
            lambda(LambdaError::NotFound(s())),
            lambda(LambdaError::Conflict(s())),
            lambda(LambdaError::Throttled(s())),
            lambda(LambdaError::InvalidRequest {
                code: s(),
                message: s(),
            }),
            lambda(LambdaError::AccessDenied(s())),
            lambda(LambdaError::Service {
                code: s(),
                message: s(),
            }),
            lambda(LambdaError::Timeout(s())),
        ]
        .into_iter()
        .chain(
            crate::ports::PERMANENT_SERVICE_CODES
                .iter()
                .map(|code| lambda(LambdaError::Permanent { code, message: s() })),
        )
        .chain([
            HandlerError::UpdateFailed(s()),
            HandlerError::UpdateTimeout(s()),
            HandlerError::UnsupportedArchitecture(UnsupportedArchitecture(s())),
            HandlerError::TargetFailed(AnalysisError::NothingMeasured(s())),
            HandlerError::ProcessorFailed(s()),
            HandlerError::PayloadS3(s()),
            HandlerError::InvalidLog(InvalidLog {
                reason: crate::logs::LogError::NoReportLine,
                function: s(),
                version: s(),
            }),
            HandlerError::InvalidState(StateError::MissingStats),
            HandlerError::UnexpectedVersion(s()),
            HandlerError::ConcurrentRun(s()),
        ]);
        let names: Vec<&str> = all.map(|e| e.error_type()).collect();
        assert_eq!(names, HandlerError::all_types());
        assert_eq!(names.len(), 32);
        assert_eq!(
            lambda(LambdaError::Transport(s())).error_type(),
            "LambdaServiceError"
        );
    }

    #[test]
    fn stable_names() {
        assert_eq!(
            HandlerError::InvalidInput(InputError::MissingNum).error_type(),
            "InvalidInput"
        );
        assert_eq!(
            HandlerError::lambda("Publishing", LambdaError::Throttled("slow".into())).error_type(),
            "Throttled"
        );
        let e = HandlerError::lambda(
            "Publishing version of f",
            LambdaError::Service {
                code: "ServiceException".into(),
                message: "boom".into(),
            },
        );
        assert_eq!(e.error_type(), "LambdaServiceError");
        assert_eq!(
            e.to_string(),
            "Publishing version of f: ServiceException: boom"
        );
        assert!(HandlerError::TRANSIENT_TYPES.contains(&e.error_type()));
        assert!(
            !HandlerError::TRANSIENT_TYPES
                .contains(&HandlerError::InvalidInput(InputError::MissingNum).error_type())
        );
    }
}

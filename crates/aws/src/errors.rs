//! SDK errors → [`LambdaError`].

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use power_tuning_core::ports::LambdaError;

/// Classifies any SDK error by its code and HTTP status.
pub fn classify<E>(error: SdkError<E, HttpResponse>) -> LambdaError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or("Unknown").to_string();
            let message = context
                .err()
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}"));
            LambdaError::from_code(&code, status, message)
        }
        SdkError::TimeoutError(_) => LambdaError::Timeout(display_chain(&error)),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            LambdaError::Timeout(display_chain(&error))
        }
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            LambdaError::Transport(display_chain(&error))
        }
        _ => LambdaError::InvalidRequest {
            code: "ClientError".to_string(),
            message: display_chain(&error),
        },
    }
}

/// The error and its sources, one line.
pub fn display_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

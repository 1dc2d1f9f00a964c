//! power-tuning-aws: the core's ports implemented on the AWS SDK for Rust.
//!
//! - [`sdk_config`]: the one SDK configuration (standard retries with backoff and jitter, a read
//!   timeout long enough for 15-minute synchronous invokes, endpoint overrides honoured).
//! - [`SdkLambda`]: [`LambdaApi`](power_tuning_core::ports::LambdaApi) on aws-sdk-lambda, one
//!   client per region (calls go to the ARN's region, signed for it), SDK errors mapped to
//!   [`LambdaError`](power_tuning_core::ports::LambdaError) by their code. Its SDK retries are
//!   off: the core's `Resilient` wrapper retries and paces every attempt (see [`lambda`]).
//! - [`interceptors`]: the SDK hooks that bound an Executor's memory (a response's first
//!   64 KiB kept) and time a streamed response's first byte from a ready connection.
//! - [`S3Payloads`]: [`PayloadSource`](power_tuning_core::ports::PayloadSource) on aws-sdk-s3,
//!   path-style when the endpoint is overridden.
//! - [`SdkHistory`]: [`HistorySource`](power_tuning_core::traffic::HistorySource) on
//!   aws-sdk-lambda, aws-sdk-cloudwatch and aws-sdk-cloudwatchlogs (traffic from history).
//! - [`TokioClock`]: [`Clock`](power_tuning_core::ports::Clock) on tokio's timer.

pub mod clock;
pub mod config;
pub mod errors;
pub mod history;
pub mod interceptors;
pub mod lambda;
pub mod s3;

pub use clock::TokioClock;

/// Locks `m`, also after a panic elsewhere poisoned it (the data is still consistent: every
/// critical section here is a plain read or insert).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
pub use config::sdk_config;
pub use history::SdkHistory;
pub use lambda::SdkLambda;
pub use s3::S3Payloads;

/// The production Lambda port: the SDK behind pacing and retries.
pub type ResilientLambda = power_tuning_core::resilient::Resilient<SdkLambda, TokioClock>;

/// Builds the production Lambda port from an SDK configuration.
pub fn resilient_lambda(config: &aws_config::SdkConfig) -> ResilientLambda {
    power_tuning_core::resilient::Resilient::new(SdkLambda::new(config), TokioClock)
}

//! Glue shared by the five Lambda binaries: tracing, the SDK-backed ports built once per
//! process, the Lambda deadline, and handler errors → Lambda error responses whose `errorType`
//! is the stable name Step Functions matches in `Retry`/`Catch`.
//!
//! Each handler is one function here ([`initializer`], ..., or [`serve_handler`] by name): the
//! binaries in `src/bin` call them, and `power-tuning local` serves them from its own binary.

#![recursion_limit = "256"]

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use power_tuning_aws::{ResilientLambda, S3Payloads, TokioClock, resilient_lambda, sdk_config};
use power_tuning_core::handlers::{self, Invocation};
use power_tuning_core::ports::Clock;
use power_tuning_core::{Deps, HandlerError, HandlerEvent, Settings};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

/// The ports every handler runs against in production.
pub type AwsDeps = Deps<ResilientLambda, S3Payloads, TokioClock>;

/// Used when the runtime gives no deadline (never on Lambda).
const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

/// A handler error on its way to the Lambda runtime.
#[derive(Debug)]
pub struct FunctionError(pub HandlerError);

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Diagnostic {
        Diagnostic {
            error_type: error.0.error_type().to_string(),
            error_message: error.0.to_string(),
        }
    }
}

/// Logs as JSON when the function's log format is JSON, text otherwise; level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string())
        .to_lowercase();
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_ansi(false);
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Builds the production ports (SDK configuration and clients).
pub async fn aws_deps(settings: Settings) -> AwsDeps {
    let config = sdk_config().await;
    Deps {
        lambda: resilient_lambda(&config),
        payloads: S3Payloads::new(&config),
        clock: TokioClock,
        settings,
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Serves `handler` under the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`).
pub async fn serve<F, Fut, O>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Arc<AwsDeps>, Invocation) -> Fut,
    Fut: Future<Output = Result<O, HandlerError>>,
    O: Serialize,
{
    init_tracing();
    // Bad configuration fails the init at once; the SDK clients are built on the first
    // invocation and then reused, so the process is ready for events within milliseconds
    // even under a 128 MB CPU share (benchmark B5).
    let settings = Settings::from_env()?;
    let ports: OnceCell<Arc<AwsDeps>> = OnceCell::new();
    let (handler, settings, ports) = (&handler, &settings, &ports);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deps = ports
            .get_or_init(|| async { Arc::new(aws_deps(settings.clone()).await) })
            .await
            .clone();
        deps.lambda.begin_invocation();
        let remaining = match event.context.deadline {
            0 => DEFAULT_BUDGET,
            deadline => Duration::from_millis(deadline.saturating_sub(epoch_ms())),
        };
        let invocation = Invocation {
            event: HandlerEvent::from_value(event.payload),
            deadline: deps.clock.now() + remaining,
            request_id: event.context.request_id,
        };
        handler(deps, invocation).await.map_err(|error| {
            tracing::error!(error_type = error.error_type(), %error, "handler failed");
            FunctionError(error)
        })
    }))
    .await
}

/// The handlers' names (and the binaries').
pub const HANDLERS: [&str; 5] = [
    "initializer",
    "executor",
    "cleaner",
    "analyzer",
    "optimizer",
];

/// Serves the Initializer.
pub async fn initializer() -> Result<(), lambda_runtime::Error> {
    serve(|deps, inv| async move { handlers::initializer::handle(&deps, &inv).await }).await
}

/// Serves an Executor.
pub async fn executor() -> Result<(), lambda_runtime::Error> {
    serve(|deps, inv| async move { handlers::executor::handle(&deps, &inv).await }).await
}

/// Serves the Cleaner.
pub async fn cleaner() -> Result<(), lambda_runtime::Error> {
    serve(|deps, inv| async move { handlers::cleaner::handle(&deps, &inv).await }).await
}

/// Serves the Analyzer.
pub async fn analyzer() -> Result<(), lambda_runtime::Error> {
    serve(|deps, inv| async move { handlers::analyzer::handle(&deps, &inv).await }).await
}

/// Serves the Optimizer.
pub async fn optimizer() -> Result<(), lambda_runtime::Error> {
    serve(|deps, inv| async move { handlers::optimizer::handle(&deps, &inv).await }).await
}

/// Serves the handler `name` (one of [`HANDLERS`]); `None` when there is no such handler.
pub async fn serve_handler(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    Some(match name {
        "initializer" => initializer().await,
        "executor" => executor().await,
        "cleaner" => cleaner().await,
        "analyzer" => analyzer().await,
        "optimizer" => optimizer().await,
        _ => return None,
    })
}

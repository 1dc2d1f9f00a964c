//! Starting executions, following their progress in the execution history, reading results —
//! the same code for AWS and for the local engine (only the endpoint differs).

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use serde_json::Value;

/// Where a run is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// The state entered last.
    pub phase: String,
    /// States entered so far (= state transitions).
    pub transitions: u32,
    /// Versions published (from the Initializer's output).
    pub versions_published: Option<u32>,
    /// Executors finished.
    pub executors_done: u32,
    /// Executors in all (memory sizes).
    pub executors_total: Option<u32>,
    /// Per-size stats (the Map state's output).
    pub stats: Option<Vec<Value>>,
}

impl Progress {
    /// One line for a progress display.
    pub fn describe(&self) -> String {
        let mut text = if self.phase.is_empty() {
            "starting".to_string()
        } else {
            self.phase.clone()
        };
        if let Some(v) = self.versions_published {
            text.push_str(&format!(" · {v} versions published"));
        }
        if let Some(total) = self.executors_total {
            text.push_str(&format!(" · executors {}/{total}", self.executors_done));
        }
        text
    }
}

/// Reads progress from history events (oldest first).
pub fn progress_of(events: &[HistoryEvent]) -> Progress {
    let mut progress = Progress::default();
    for event in events {
        if let Some(entered) = event.state_entered_event_details() {
            progress.transitions += 1;
            progress.phase = entered.name().to_string();
        }
        if let Some(exited) = event.state_exited_event_details() {
            let output: Option<Value> = exited.output().and_then(|o| serde_json::from_str(o).ok());
            match exited.name() {
                "Executor" => progress.executors_done += 1,
                "Initializer" => {
                    if let Some(configs) =
                        output.as_ref().and_then(|o| o.get("lambdaConfigurations"))
                    {
                        progress.versions_published = configs
                            .pointer("/iterator/index")
                            .and_then(Value::as_u64)
                            .map(|v| v as u32);
                        progress.executors_total = configs
                            .get("configurations")
                            .and_then(Value::as_array)
                            .map(|c| c.len() as u32);
                    }
                }
                "Branching" => {
                    progress.stats = output
                        .as_ref()
                        .and_then(|o| o.get("stats"))
                        .and_then(Value::as_array)
                        .cloned();
                }
                _ => {}
            }
        }
    }
    progress
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Execution ARN.
    pub arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// The output (the analysis, or `null` with dryRun).
    pub output: Option<Value>,
    /// Error name when it failed.
    pub error: Option<String>,
    /// Cause when it failed.
    pub cause: Option<String>,
    /// Final progress (with per-size stats).
    pub progress: Progress,
}

impl Outcome {
    /// Whether the execution succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }
}

/// Errors talking to Step Functions.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// An API call failed.
    #[error("Step Functions {operation} failed: {message}")]
    Api {
        /// Operation.
        operation: &'static str,
        /// Message.
        message: String,
    },
    /// Still running at the deadline.
    #[error("the execution {0} did not finish in time")]
    Timeout(String),
}

fn api<E: std::error::Error>(operation: &'static str) -> impl Fn(E) -> ExecutionError {
    move |e| ExecutionError::Api {
        operation,
        message: power_tuning_aws::errors::display_chain(&e),
    }
}

/// A unique execution name: `power-tuning-<epoch ms>-<random>`. Always sent: some engines name
/// unnamed executions identically.
pub fn execution_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "power-tuning-{}-{:06x}",
        now.as_millis(),
        fastrand::u32(..0x100_0000)
    )
}

/// Starts an execution and returns its ARN.
pub async fn start(
    client: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    input: &Value,
    name: Option<String>,
) -> Result<String, ExecutionError> {
    let out = client
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .input(input.to_string())
        .name(name.unwrap_or_else(execution_name))
        .send()
        .await
        .map_err(api("StartExecution"))?;
    Ok(out.execution_arn().to_string())
}

/// The whole history, oldest first.
pub async fn history(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> Result<Vec<HistoryEvent>, ExecutionError> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .map_err(api("GetExecutionHistory"))?;
        events.extend(page.events().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(events);
        }
    }
}

/// Polls until the execution ends (at most `timeout`), reporting progress as it changes.
pub async fn wait(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
    poll: Duration,
    timeout: Duration,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Outcome, ExecutionError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = Progress::default();
    loop {
        let described = client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(api("DescribeExecution"))?;
        let status = described.status().clone();
        let events = history(client, execution_arn).await?;
        let progress = progress_of(&events);
        if progress != last {
            on_progress(&progress);
            last = progress.clone();
        }
        if status != ExecutionStatus::Running && status != ExecutionStatus::PendingRedrive {
            let (mut error, mut cause) = (
                described.error().map(str::to_string),
                described.cause().map(str::to_string),
            );
            if error.is_none() && status != ExecutionStatus::Succeeded {
                // Some engines only put the error in the history's last event.
                if let Some(failed) = events
                    .iter()
                    .rev()
                    .find_map(|e| e.execution_failed_event_details())
                {
                    error = failed.error().map(str::to_string);
                    cause = failed.cause().map(str::to_string);
                }
            }
            return Ok(Outcome {
                arn: execution_arn.to_string(),
                status: status.as_str().to_string(),
                // A `null` output (dryRun) may come back as no output at all.
                output: match described.output() {
                    Some(o) => serde_json::from_str(o).ok(),
                    None if status == ExecutionStatus::Succeeded => Some(Value::Null),
                    None => None,
                },
                error,
                cause,
                progress,
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ExecutionError::Timeout(execution_arn.to_string()));
        }
        tokio::time::sleep(poll).await;
    }
}

/// Whether an event is a failure of the whole execution (for display).
pub fn is_failure(event: &HistoryEvent) -> bool {
    matches!(
        event.r#type(),
        HistoryEventType::ExecutionFailed
            | HistoryEventType::ExecutionTimedOut
            | HistoryEventType::ExecutionAborted
    )
}

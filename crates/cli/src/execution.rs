//! Starting executions, following their progress in the execution history, reading results —
//! the same code for AWS and for the local engine (only the endpoint differs). Everything read
//! from the history and the output goes through core's typed models.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use power_tuning_core::output::{Analysis, Stat};
use power_tuning_core::state::LambdaConfigurations;
use serde::Deserialize;
use serde_json::Value;

/// The parts of a state machine state that progress reads (every key optional): what the
/// Initializer and the Map added.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateView {
    /// The Initializer's output.
    #[serde(default)]
    lambda_configurations: Option<LambdaConfigurations>,
    /// The executors' results, in configuration order.
    #[serde(default)]
    stats: Option<Vec<Stat>>,
}

impl StateView {
    /// Reads a state's JSON text; anything unreadable is an empty view.
    fn parse(text: &str) -> StateView {
        serde_json::from_str(text).unwrap_or_default()
    }
}

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
    /// Executors in all (configurations).
    pub executors_total: Option<u32>,
    /// Per-size stats (the Map state's output), in configuration order.
    pub stats: Option<Vec<Stat>>,
    /// The Initializer's output: the targets and the configurations the stats belong to.
    pub run: Option<LambdaConfigurations>,
}

impl Progress {
    /// The measured sizes per target, in input order: (function name, stats).
    pub fn tables(&self) -> Vec<(String, Vec<Stat>)> {
        let Some(stats) = &self.stats else {
            return Vec::new();
        };
        match &self.run {
            Some(run) if run.configurations.len() == stats.len() => run
                .targets
                .iter()
                .enumerate()
                .map(|(index, target)| {
                    let name = function_name(&target.lambda_arn).to_string();
                    let own = run
                        .configurations
                        .iter()
                        .zip(stats)
                        .filter(|(c, _)| c.target == index)
                        .map(|(_, s)| s.clone())
                        .collect();
                    (name, own)
                })
                .collect(),
            _ => vec![(String::new(), stats.clone())],
        }
    }
}

/// The function name of an ARN (its last part).
pub fn function_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
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
            let state = || StateView::parse(exited.output().unwrap_or_default());
            match exited.name() {
                "Executor" => progress.executors_done += 1,
                "Initializer" => {
                    if let Some(run) = state().lambda_configurations {
                        progress.versions_published = Some(run.iterator.index);
                        progress.executors_total = Some(run.configurations.len() as u32);
                        progress.run = Some(run);
                    }
                }
                "Branching" => progress.stats = state().stats,
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
    /// The output exactly as the engine returned it (`null` with `dryRun`); `None` when failed.
    pub output: Option<String>,
    /// Error name when it failed.
    pub error: Option<String>,
    /// Cause when it failed.
    pub cause: Option<String>,
    /// Final progress (with per-size stats).
    pub progress: Progress,
}

/// The payload of a Lambda function error, as Step Functions puts it in a task failure's cause.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionErrorPayload {
    error_message: String,
}

impl Outcome {
    /// Whether the execution succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }

    /// The typed output: `None` for a dry run (`null`) or a run without output.
    pub fn analysis(&self) -> Result<Option<Analysis>, ExecutionError> {
        match self.output.as_deref() {
            None => Ok(None),
            Some(text) => serde_json::from_str::<Option<Analysis>>(text).map_err(|e| {
                ExecutionError::NotAResult {
                    reason: e.to_string(),
                    output: text.to_string(),
                }
            }),
        }
    }

    /// The output as JSON (for machine-readable files); `null` when there is none.
    pub fn output_value(&self) -> Value {
        self.output
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or(Value::Null)
    }

    /// `InvalidInput: Invalid strategy: fastest`: the error name and the cause. A task's cause
    /// is the function's JSON error payload; its `errorMessage` is what the user needs.
    pub fn failure(&self) -> String {
        let error = self.error.as_deref().unwrap_or("unknown error");
        let cause = self.cause.as_deref().unwrap_or_default();
        let message = serde_json::from_str::<FunctionErrorPayload>(cause)
            .map(|p| p.error_message)
            .unwrap_or_else(|_| cause.to_string());
        if message.is_empty() {
            error.to_string()
        } else {
            format!("{error}: {message}")
        }
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
    /// An output that is not a power-tuning result.
    #[error("the execution output is not a power-tuning result ({reason}): {output}")]
    NotAResult {
        /// Why it does not parse.
        reason: String,
        /// The output as returned.
        output: String,
    },
}

/// Maps an SDK error of `operation`.
pub fn api<E: std::error::Error>(operation: &'static str) -> impl Fn(E) -> ExecutionError {
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
                    Some(o) => Some(o.to_string()),
                    None if status == ExecutionStatus::Succeeded => Some("null".to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{HistoryEventType, StateEnteredEventDetails, StateExitedEventDetails};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1";

    fn entered(id: i64, name: &str) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .timestamp(DateTime::from_secs(0))
            .r#type(HistoryEventType::TaskStateEntered)
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name(name)
                    .build()
                    .expect("details"),
            )
            .build()
            .expect("event")
    }

    fn exited(id: i64, name: &str, output: Value) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .timestamp(DateTime::from_secs(0))
            .r#type(HistoryEventType::TaskStateExited)
            .state_exited_event_details(
                StateExitedEventDetails::builder()
                    .name(name)
                    .output(output.to_string())
                    .build()
                    .expect("details"),
            )
            .build()
            .expect("event")
    }

    fn history() -> Vec<HistoryEvent> {
        vec![
            entered(1, "Initializer"),
            exited(
                2,
                "Initializer",
                json!({"lambdaConfigurations": {"runId": "0123456789ab",
                    "targets": [{"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f", "powerValues": [128, 256],
                        "original": {"memorySize": 1024, "description": "d", "architecture": "x86_64"}}], "passes": 1,
                    "iterator": {"index": 2, "count": 2, "continue": false}, "configurations": [{"power": 128, "versions": ["1"]}, {"power": 256, "versions": ["2"]}]}}),
            ),
            entered(3, "IsPublishingDone"),
            entered(4, "Branching"),
            entered(5, "Executor"),
            exited(6, "Executor", json!({"value": 128})),
            entered(7, "Executor"),
            exited(8, "Executor", json!({"value": 256})),
            exited(
                9,
                "Branching",
                json!({"stats": [{"value": 128, "averageDuration": 10.0}, {"value": 256, "averageDuration": 5.0}]}),
            ),
            entered(10, "Cleaner"),
        ]
    }

    #[test]
    fn progress_from_history() {
        let p = progress_of(&history());
        assert_eq!(p.phase, "Cleaner");
        assert_eq!(p.transitions, 6);
        assert_eq!(p.versions_published, Some(2));
        assert_eq!((p.executors_done, p.executors_total), (2, Some(2)));
        assert_eq!(p.stats.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            p.describe(),
            "Cleaner · 2 versions published · executors 2/2"
        );
        assert_eq!(progress_of(&[]).describe(), "starting");
    }

    #[tokio::test(start_paused = true)]
    async fn start_and_wait_for_success() {
        let start = mock!(aws_sdk_sfn::Client::start_execution)
            .match_requests(|r| {
                r.state_machine_arn() == Some("sm-arn")
                    && r.name().is_some_and(|n| n.starts_with("power-tuning-"))
                    && r.input() == Some("{\"num\":5}")
            })
            .then_output(|| {
                StartExecutionOutput::builder()
                    .execution_arn(ARN)
                    .start_date(DateTime::from_secs(0))
                    .build()
                    .expect("output")
            });
        let describe = mock!(aws_sdk_sfn::Client::describe_execution)
            .sequence()
            .output(|| {
                DescribeExecutionOutput::builder()
                    .execution_arn(ARN)
                    .state_machine_arn("sm-arn")
                    .status(ExecutionStatus::Running)
                    .start_date(DateTime::from_secs(0))
                    .build()
                    .expect("output")
            })
            .output(|| {
                DescribeExecutionOutput::builder()
                    .execution_arn(ARN)
                    .state_machine_arn("sm-arn")
                    .status(ExecutionStatus::Succeeded)
                    .start_date(DateTime::from_secs(0))
                    .output("{\"power\":256}")
                    .build()
                    .expect("output")
            })
            .build();
        let history_rule = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
            GetExecutionHistoryOutput::builder()
                .set_events(Some(history()))
                .build()
                .expect("output")
        });
        let client = mock_client!(
            aws_sdk_sfn,
            RuleMode::MatchAny,
            [&start, &describe, &history_rule]
        );
        let arn = super::start(&client, "sm-arn", &json!({"num": 5}), None)
            .await
            .expect("started");
        assert_eq!(arn, ARN);
        let mut seen = Vec::new();
        let outcome = wait(
            &client,
            &arn,
            Duration::from_millis(10),
            Duration::from_secs(60),
            |p| seen.push(p.describe()),
        )
        .await
        .expect("waited");
        assert!(outcome.succeeded());
        assert_eq!(outcome.output.as_deref(), Some("{\"power\":256}"));
        assert!(outcome.analysis().is_err(), "not a whole analysis");
        assert_eq!(outcome.progress.stats.as_ref().map(Vec::len), Some(2));
        assert_eq!(
            seen,
            vec!["Cleaner · 2 versions published · executors 2/2".to_string()],
            "reported once, when it changed"
        );
        assert_eq!(describe.num_calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn failure_carries_error_and_cause() {
        let describe = mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn(ARN)
                .state_machine_arn("sm")
                .status(ExecutionStatus::Failed)
                .start_date(DateTime::from_secs(0))
                .error("TargetFailed")
                .cause("No memory size could be measured.")
                .build()
                .expect("output")
        });
        let history_rule = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
            GetExecutionHistoryOutput::builder()
                .set_events(Some(vec![entered(1, "Initializer")]))
                .build()
                .expect("output")
        });
        let client = mock_client!(aws_sdk_sfn, RuleMode::MatchAny, [&describe, &history_rule]);
        let outcome = wait(
            &client,
            ARN,
            Duration::from_millis(10),
            Duration::from_secs(60),
            |_| {},
        )
        .await
        .expect("waited");
        assert!(!outcome.succeeded());
        assert_eq!(outcome.status, "FAILED");
        assert_eq!(outcome.error.as_deref(), Some("TargetFailed"));
        assert_eq!(
            outcome.cause.as_deref(),
            Some("No memory size could be measured.")
        );
        assert_eq!(outcome.output, None);
        assert_eq!(
            outcome.failure(),
            "TargetFailed: No memory size could be measured."
        );
    }

    #[test]
    fn failure_shows_the_function_error_message() {
        let outcome = Outcome {
            arn: ARN.into(),
            status: "FAILED".into(),
            output: None,
            error: Some("InvalidInput".into()),
            cause: Some(
                json!({"errorType": "InvalidInput", "errorMessage": "Invalid strategy: fastest"})
                    .to_string(),
            ),
            progress: Progress::default(),
        };
        assert_eq!(outcome.failure(), "InvalidInput: Invalid strategy: fastest");
        let bare = Outcome {
            cause: None,
            ..outcome.clone()
        };
        assert_eq!(bare.failure(), "InvalidInput");
        let dry = Outcome {
            status: "SUCCEEDED".into(),
            output: Some("null".into()),
            ..outcome
        };
        assert_eq!(dry.analysis().expect("null"), None);
    }

    #[test]
    fn state_views_read_what_progress_needs() {
        let run = json!({
            "runId": "0123456789ab",
            "targets": [{"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:a",
                "powerValues": [128],
                "original": {"memorySize": 1024, "description": "", "architecture": "x86_64"}}],
            "configurations": [{"power": 128, "versions": ["7"]}],
            "passes": 1, "iterator": {"index": 1, "count": 1, "continue": false}
        });
        let view = StateView::parse(
            &json!({"lambdaARN": "x", "lambdaConfigurations": run, "stats": [{"value": 128}]})
                .to_string(),
        );
        assert_eq!(
            view.lambda_configurations.map(|r| r.configurations.len()),
            Some(1)
        );
        assert_eq!(view.stats.map(|s| s.len()), Some(1));
        assert_eq!(StateView::parse("not json"), StateView::default());
    }
}

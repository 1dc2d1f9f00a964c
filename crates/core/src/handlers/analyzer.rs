//! Analyzer (SPEC §3.7, §8, §9): choose the optimum across the run's targets and compute the
//! run's cost and visualization.

use crate::analysis::{self, TargetStats};
use crate::error::HandlerError;
use crate::handlers::{Deps, Invocation, input_of};
use crate::output::{Analysis, Stat};
use crate::state::LambdaConfigurations;

/// `None` (JSON `null`) with `dryRun`.
pub async fn handle<L, P, C>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<Option<Analysis>, HandlerError> {
    let event = &invocation.event;
    let input = input_of(event, &deps.settings)?;
    if input.dry_run {
        return Ok(None);
    }
    let stats: Vec<Stat> = event
        .state_key("stats")
        .ok_or_else(|| HandlerError::InvalidState("Missing stats in the state".to_string()))
        .and_then(|v| {
            serde_json::from_value(v.clone())
                .map_err(|e| HandlerError::InvalidState(format!("Invalid stats in the state: {e}")))
        })?;
    if stats.is_empty() {
        return Err(HandlerError::InvalidState(
            "Missing stats in the state".to_string(),
        ));
    }
    let run = LambdaConfigurations::from_state(&event.state);
    let targets = match &run {
        Some(run) => by_target(run, stats)?,
        // Invoked with a bare state (as the original's analyzer was): one target.
        None => vec![TargetStats {
            lambda_arn: input.lambda_arn.to_string(),
            architecture: "x86_64".to_string(),
            current_memory: None,
            stats,
        }],
    };
    analysis::analyze(
        &targets,
        &input,
        run.as_ref().map(|r| r.passes).unwrap_or(1),
        &deps.settings,
    )
    .map(Some)
    .map_err(HandlerError::TargetFailed)
}

/// The Map's results (in configuration order) grouped by target.
fn by_target(
    run: &LambdaConfigurations,
    stats: Vec<Stat>,
) -> Result<Vec<TargetStats>, HandlerError> {
    if stats.len() != run.configurations.len() {
        return Err(HandlerError::InvalidState(format!(
            "{} stats for {} configurations",
            stats.len(),
            run.configurations.len()
        )));
    }
    let mut targets: Vec<TargetStats> = run
        .targets
        .iter()
        .map(|t| TargetStats {
            lambda_arn: t.lambda_arn.clone(),
            architecture: t.original.architecture.clone(),
            current_memory: Some(t.original.memory_size),
            stats: Vec::new(),
        })
        .collect();
    for (configuration, stat) in run.configurations.iter().zip(stats) {
        let target = targets.get_mut(configuration.target).ok_or_else(|| {
            HandlerError::InvalidState(format!(
                "A configuration names target {}, which the run does not have",
                configuration.target
            ))
        })?;
        target.stats.push(stat);
    }
    Ok(targets)
}

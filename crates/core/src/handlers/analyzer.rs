//! Analyzer (SPEC §3.7, §8, §9): choose the optimum across the run's targets and compute the
//! run's cost and visualization.

use crate::analysis::{self, TargetStats};
use crate::architecture::Architecture;
use crate::error::HandlerError;
use crate::handlers::{Deps, Invocation, input_of};
use crate::output::{Analysis, Stat};
use crate::state::{LambdaConfigurations, StateError};

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
        .ok_or(StateError::MissingStats)
        .and_then(|v| {
            serde_json::from_value(v.clone()).map_err(|e| StateError::InvalidStats(e.to_string()))
        })?;
    if stats.is_empty() {
        return Err(StateError::MissingStats.into());
    }
    let run = LambdaConfigurations::from_state(&event.state);
    let targets = match &run {
        Some(run) => by_target(run, stats)?,
        // Invoked with a bare state (as the original's analyzer was): one target.
        None => vec![TargetStats {
            lambda_arn: input.lambda_arn.to_string(),
            architecture: Architecture::X86_64,
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
    .map_err(HandlerError::from)
}

/// The Map's results (in configuration order) grouped by target.
fn by_target(
    run: &LambdaConfigurations,
    stats: Vec<Stat>,
) -> Result<Vec<TargetStats>, HandlerError> {
    if stats.len() != run.configurations.len() {
        return Err(StateError::StatsCount {
            stats: stats.len(),
            configurations: run.configurations.len(),
        }
        .into());
    }
    let mut targets: Vec<TargetStats> = run
        .targets
        .iter()
        .map(|t| TargetStats {
            lambda_arn: t.lambda_arn.clone(),
            architecture: t.original.architecture,
            current_memory: Some(t.original.memory_size),
            stats: Vec::new(),
        })
        .collect();
    for (configuration, stat) in run.configurations.iter().zip(stats) {
        let target = targets
            .get_mut(configuration.target)
            .ok_or(StateError::UnknownTarget(configuration.target))?;
        target.stats.push(stat);
    }
    Ok(targets)
}

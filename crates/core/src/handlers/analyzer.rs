//! Analyzer (SPEC §3.7): choose the optimum and compute the run's cost and visualization.

use crate::analysis;
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
    let passes = LambdaConfigurations::from_state(&event.state)
        .map(|c| c.passes)
        .unwrap_or(1);
    analysis::analyze(
        &stats,
        input.strategy,
        input.balanced_weight,
        input.include_output_results,
        passes,
        &deps.settings,
    )
    .map(Some)
    .map_err(HandlerError::TargetFailed)
}

//! Optimizer (SPEC §3.10, §13): apply the optimum with `autoOptimize`, to `$LATEST` or through a
//! new version and an alias (`$LATEST` keeps its original description), and return the analysis
//! with `optimization: {applied, reason?}`. With `requireSignificance` and a saving that is not
//! significant (the Analyzer's `optimization` says why), it makes no call at all. Without
//! `autoOptimize` the analysis passes unchanged.

use serde_json::{Value, json};

use crate::error::HandlerError;
use crate::handlers::{Deps, Invocation, input_of};
use crate::ports::{AliasTarget, Clock, LambdaApi, LambdaError};
use crate::state::StateError;
use crate::update::{self, Pacing};

/// Applies the analysis's `power`; returns the analysis (JSON `null` with `dryRun`).
pub async fn handle<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<Value, HandlerError> {
    let (event, deadline) = (&invocation.event, invocation.deadline);
    let input = input_of(event, &deps.settings)?;
    let mut analysis = event.state_key("analysis").cloned().unwrap_or(Value::Null);
    if input.dry_run || !input.auto_optimize {
        return Ok(analysis);
    }
    let power = analysis
        .get("power")
        .and_then(Value::as_u64)
        .filter(|p| *p > 0)
        .ok_or(StateError::MissingOptimal)? as u32;
    if input.require_significance {
        let refused = analysis.pointer("/optimization/applied") == Some(&Value::Bool(false));
        let significant = analysis.pointer("/change/significant") == Some(&Value::Bool(true));
        if refused || !significant {
            if !refused {
                analysis["optimization"] = json!({"applied": false, "reason": "the saving against the current setting is not significant"});
            }
            tracing::info!(power, "not applied: the saving is not significant");
            return Ok(analysis);
        }
    }
    crate::handlers::use_role(deps, &input, invocation).await?;
    apply(deps, &input, power, event, deadline).await?;
    analysis["optimization"] = json!({"applied": true});
    Ok(analysis)
}

/// Sets `$LATEST` to `power`; with `autoOptimizeAlias`, publishes it and points the alias at it.
async fn apply<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &crate::input::TuningInput,
    power: u32,
    event: &crate::event::HandlerEvent,
    deadline: std::time::Duration,
) -> Result<(), HandlerError> {
    let arn = input.lambda_arn.as_str();
    let latest = update::read_latest(&deps.lambda, arn).await?;
    let applied = update::apply(
        &deps.lambda,
        &deps.clock,
        arn,
        (power, &latest.description),
        None,
        &mut Pacing::from_millis(
            crate::state::LambdaConfigurations::from_state(&event.state)
                .and_then(|run| run.update_latency_ms),
        ),
        deadline,
    )
    .await?;
    let Some(alias) = input.auto_optimize_alias.as_deref() else {
        return Ok(());
    };
    let version = deps
        .lambda
        .publish_version(arn, applied.revision_id.as_deref())
        .await
        .map_err(|e| HandlerError::lambda(format!("Publishing a version of {arn}"), e))?
        .version;
    let context = || format!("Pointing alias {alias} of {arn} at version {version}");
    let target = AliasTarget {
        name: alias,
        version: &version,
    };
    match deps.lambda.get_alias(arn, alias).await {
        Ok(_) => deps.lambda.update_alias(arn, target).await,
        Err(LambdaError::NotFound(_)) => deps.lambda.create_alias(arn, target).await,
        Err(e) => Err(e),
    }
    .map_err(|e| HandlerError::lambda(context(), e))?;
    Ok(())
}

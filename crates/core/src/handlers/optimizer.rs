//! Optimizer (SPEC §3.10): apply the optimum with `autoOptimize`, to `$LATEST` or through a new
//! version and an alias. `$LATEST` keeps its original description.

use crate::error::HandlerError;
use crate::handlers::{Deps, Invocation, input_of};
use crate::ports::{Clock, LambdaApi, LambdaError};
use crate::update::{self, Pacing};

/// What the Optimizer applied (`None` when nothing: `dryRun` or no `autoOptimize`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// The memory size set.
    pub power: u32,
    /// The version published for the alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Applies the analysis's `power`.
pub async fn handle<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<Option<Applied>, HandlerError> {
    let (event, deadline) = (&invocation.event, invocation.deadline);
    let input = input_of(event, &deps.settings)?;
    if input.dry_run || !input.auto_optimize {
        return Ok(None);
    }
    crate::handlers::use_role(deps, &input, invocation).await?;
    let power = event
        .state_key("analysis")
        .and_then(|a| a.get("power"))
        .and_then(serde_json::Value::as_u64)
        .filter(|p| *p > 0)
        .ok_or_else(|| HandlerError::InvalidState("Missing or empty optimal value".to_string()))?
        as u32;
    let arn = input.lambda_arn.as_str();
    let latest = deps
        .lambda
        .get_configuration(arn, None)
        .await
        .map_err(|e| HandlerError::lambda(format!("Reading configuration of {arn}"), e))?;
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
        return Ok(Some(Applied {
            power,
            version: None,
        }));
    };
    let version = deps
        .lambda
        .publish_version(arn, applied.revision_id.as_deref())
        .await
        .map_err(|e| HandlerError::lambda(format!("Publishing a version of {arn}"), e))?
        .version;
    let context = || format!("Pointing alias {alias} of {arn} at version {version}");
    match deps.lambda.get_alias(arn, alias).await {
        Ok(_) => deps.lambda.update_alias(arn, alias, &version).await,
        Err(LambdaError::NotFound(_)) => deps.lambda.create_alias(arn, alias, &version).await,
        Err(e) => Err(e),
    }
    .map_err(|e| HandlerError::lambda(context(), e))?;
    Ok(Some(Applied {
        power,
        version: Some(version),
    }))
}

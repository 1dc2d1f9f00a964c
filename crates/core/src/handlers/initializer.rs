//! Initializer (SPEC §3.1): validate, read `$LATEST`, publish one version per configuration
//! with the run marker, restore `$LATEST`; roll everything back on error.

use std::time::Duration;

use crate::arn::FunctionArn;
use crate::error::HandlerError;
use crate::event::HandlerEvent;
use crate::handlers::cleaner;
use crate::handlers::{Deps, Invocation, input_of};
use crate::input::{TuningInput, reserved_key};
use crate::marker::{self, Marker, RunId};
use crate::ports::{Clock, LambdaApi, LambdaError};
use crate::pricing;
use crate::state::{
    Configuration, LambdaConfigurations, OriginalConfig, PublishIterator, TargetState,
};
use crate::update;
use crate::versions::VersionList;

/// Time always kept in hand at the end of a pass, on top of twice the slowest publish.
const MIN_RESERVE: Duration = Duration::from_secs(3);

/// Output of the Initializer (at `$.lambdaConfigurations`).
pub type InitializerOutput = LambdaConfigurations;

/// A continuation pass carries our own `lambdaConfigurations`; anything else under a reserved
/// key is the user's and is rejected.
fn previous_pass(
    event: &HandlerEvent,
    run_id: &RunId,
) -> Result<Option<LambdaConfigurations>, HandlerError> {
    if let Some(previous) = LambdaConfigurations::from_state(&event.state)
        && previous.iterator.continue_
        && (event.execution_id.is_none() || previous.run_id == *run_id)
        && ["stats", "analysis", "error"]
            .iter()
            .all(|k| event.state.get(k).is_none())
    {
        return Ok(Some(previous));
    }
    match reserved_key(&event.state) {
        Some(key) => Err(HandlerError::InvalidInput(format!(
            "Reserved key in input: {key}"
        ))),
        None => Ok(None),
    }
}

/// Runs one Initializer pass.
pub async fn handle<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<InitializerOutput, HandlerError> {
    let (event, deadline) = (&invocation.event, invocation.deadline);
    let run_id = invocation.run_id();
    // Everything is validated before the first Lambda call.
    let previous = previous_pass(event, &run_id)?;
    let input = input_of(event, &deps.settings)?;
    let mut run = match previous {
        Some(mut previous) => {
            previous.passes += 1;
            previous
        }
        None => start(deps, &input, run_id, deadline).await?,
    };
    let start_index = run.iterator.index;
    match publish(deps, &input, &mut run, deadline).await {
        Ok(()) if run.iterator.continue_ && run.iterator.index == start_index => {
            let error = HandlerError::UpdateTimeout(
                "Not enough time left in the Initializer to publish a single version".to_string(),
            );
            rollback(deps, &input, &run, deadline).await;
            Err(error)
        }
        Ok(()) => Ok(run),
        Err(error) => {
            tracing::error!(%error, "initializer failed, rolling back");
            rollback(deps, &input, &run, deadline).await;
            Err(error)
        }
    }
}

async fn start<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    run_id: RunId,
    deadline: Duration,
) -> Result<LambdaConfigurations, HandlerError> {
    // Every target is read (and checked) before anything changes.
    let mut targets = Vec::new();
    for arn in input.targets() {
        targets.push(read_target(deps, input, arn, &run_id, deadline).await?);
    }
    let configurations: Vec<Configuration> = targets
        .iter()
        .enumerate()
        .flat_map(|(target, t)| {
            t.power_values.iter().map(move |&power| Configuration {
                power,
                versions: VersionList::default(),
                target,
            })
        })
        .collect();
    let count = configurations.len() as u32 * input.versions_per_size();
    Ok(LambdaConfigurations {
        run_id,
        targets,
        configurations,
        passes: 1,
        iterator: PublishIterator {
            index: 0,
            count,
            continue_: true,
        },
    })
}

/// Reads a target's `$LATEST` (waiting for an update in progress) and plans its sizes.
async fn read_target<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    arn: &FunctionArn,
    run_id: &RunId,
    deadline: Duration,
) -> Result<TargetState, HandlerError> {
    let function = arn.as_str();
    let mut config = deps
        .lambda
        .get_configuration(function, None)
        .await
        .map_err(|e| HandlerError::lambda(format!("Reading configuration of {function}"), e))?;
    if config.last_update_status == Some(crate::ports::UpdateStatus::InProgress)
        || config.state.as_deref() == Some("Pending")
    {
        config = update::wait_until_ready(&deps.lambda, &deps.clock, function, deadline).await?;
    }
    pricing::lambda_base_price(&deps.settings, arn.region(), &config.architecture)
        .map_err(HandlerError::UnsupportedArchitecture)?;
    // A marker of this very run (a redriven execution) is not part of the original description.
    let description = match Marker::find(&config.description) {
        Some(m) if m.run_id == *run_id => marker::strip(&config.description).to_string(),
        _ => config.description.clone(),
    };
    let mut power_values = input.power_values.clone();
    if input.include_current && !power_values.contains(&config.memory_size) {
        power_values.push(config.memory_size);
    }
    Ok(TargetState {
        lambda_arn: function.to_string(),
        original: OriginalConfig {
            memory_size: config.memory_size,
            description,
            architecture: config.architecture,
        },
        power_values,
    })
}

async fn publish<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    run: &mut LambdaConfigurations,
    deadline: Duration,
) -> Result<(), HandlerError> {
    let copies = input.versions_per_size().max(1);
    let mut slowest = Duration::ZERO;
    while run.iterator.index < run.iterator.count {
        let reserve = MIN_RESERVE + slowest * 2;
        if deps.clock.now() + reserve > deadline {
            tracing::info!(
                index = run.iterator.index,
                count = run.iterator.count,
                "time budget reached, continuing in another pass"
            );
            return Ok(());
        }
        let started = deps.clock.now();
        let index = run.iterator.index;
        let slot = (index / copies) as usize;
        let configuration = &run.configurations[slot];
        let (power, target_index) = (configuration.power, configuration.target);
        let target = &run.targets[target_index];
        let arn = target.lambda_arn.clone();
        let marker = Marker {
            run_id: run.run_id.clone(),
            power,
            copy: index % copies,
            original_memory: target.original.memory_size,
        };
        let description = marker.describe(&target.original.description);
        update::apply(
            &deps.lambda,
            &deps.clock,
            &arn,
            power,
            &description,
            deadline,
        )
        .await?;
        let version = publish_version(deps, &arn, &marker, deadline).await?;
        let versions = &mut run.configurations[slot].versions.0;
        if !versions.contains(&version) {
            versions.push(version);
        }
        tracing::info!(function = %arn, power, version, "published version");
        // The target's last version: put its `$LATEST` back before the next target.
        let last_of_target = index + 1 == run.iterator.count
            || run.configurations[((index + 1) / copies) as usize].target != target_index;
        if last_of_target {
            let original = &run.targets[target_index].original;
            update::apply(
                &deps.lambda,
                &deps.clock,
                &arn,
                original.memory_size,
                &original.description,
                deadline,
            )
            .await?;
        }
        run.iterator.index += 1;
        slowest = slowest.max(deps.clock.now() - started);
    }
    run.iterator.continue_ = false;
    Ok(())
}

async fn publish_version<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    arn: &str,
    marker: &Marker,
    deadline: Duration,
) -> Result<u64, HandlerError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 0;
    let published = loop {
        attempt += 1;
        match deps.lambda.publish_version(arn).await {
            Ok(config) => break config,
            Err(LambdaError::Conflict(_)) if attempt < ATTEMPTS => {
                update::wait_until_ready(&deps.lambda, &deps.clock, arn, deadline).await?;
            }
            Err(e) => {
                return Err(HandlerError::lambda(
                    format!("Publishing a version of {arn} at {}MB", marker.power),
                    e,
                ));
            }
        }
    };
    // Only ever record (and later delete) a version this run created.
    match (
        published.version.parse::<u64>(),
        Marker::find(&published.description),
    ) {
        (Ok(version), Some(found)) if found == *marker => Ok(version),
        _ => Err(HandlerError::UnexpectedVersion(format!(
            "PublishVersion returned version {} of {arn}, which this run did not create (description: {:?})",
            published.version, published.description
        ))),
    }
}

async fn rollback<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    run: &LambdaConfigurations,
    deadline: Duration,
) {
    match cleaner::clean_run(deps, input, &run.run_id, Some(run), deadline).await {
        Ok(report) => tracing::info!(deleted = report.deleted.len(), "rolled back"),
        Err(error) => tracing::error!(%error, "rollback incomplete; the cleaner will retry"),
    }
}

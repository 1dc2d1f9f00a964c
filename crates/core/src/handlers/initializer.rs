//! Initializer (SPEC §3.1): validate, read `$LATEST`, publish one version per configuration
//! with the run marker, restore `$LATEST`; roll everything back on error.

use std::time::Duration;

use crate::architecture::Architecture;
use crate::arn::FunctionArn;
use crate::error::HandlerError;
use crate::event::HandlerEvent;
use crate::handlers::{self, cleaner};
use crate::handlers::{Deps, Invocation, input_of};
use crate::input::{InputError, TuningInput, reserved_key};
use crate::marker::{self, Marker, RunId};
use crate::ports::{Clock, LambdaApi, LambdaError};
use crate::pricing;
use crate::state::{
    Configuration, LambdaConfigurations, OriginalConfig, PublishIterator, TargetState,
};
use crate::update::{self, Pacing};
use crate::versions::VersionList;

/// Time always kept in hand at the end of a pass, on top of twice the slowest publish.
const MIN_RESERVE: Duration = Duration::from_secs(3);
/// Time kept for the rollback when publishing fails (waits stop this long before the end).
const ROLLBACK_RESERVE: Duration = Duration::from_secs(2);
/// Time kept for answering at all: the rollback's own waits stop this long before the end.
const ANSWER_RESERVE: Duration = Duration::from_millis(500);

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
        Some(key) => Err(InputError::ReservedKey(key).into()),
        None => Ok(None),
    }
}

/// Runs one Initializer pass.
pub async fn handle<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<InitializerOutput, HandlerError> {
    let event = &invocation.event;
    // Waits stop early enough for the rollback, and the rollback early enough to answer, so
    // a stuck update ends as UpdateTimeout rather than the Lambda timing out.
    let deadline = invocation.deadline.saturating_sub(ROLLBACK_RESERVE);
    let rollback_deadline = invocation.deadline.saturating_sub(ANSWER_RESERVE);
    let run_id = invocation.run_id();
    // Everything is validated before the first Lambda call.
    let previous = previous_pass(event, &run_id)?;
    let input = input_of(event, &deps.settings)?;
    match &previous {
        Some(previous) => previous.check_against(&input)?,
        None => {
            let input_bytes = serde_json::to_string(&event.state)
                .map(|text| text.len())
                .unwrap_or(usize::MAX);
            input.check_state_size(input_bytes)?;
        }
    }
    handlers::use_role(deps, &input, invocation).await?;
    // `$LATEST`'s revision per target as last seen (a continuation pass reads it again).
    let (mut run, revisions) = match previous {
        Some(mut previous) => {
            previous.passes = previous.passes.saturating_add(1);
            (previous, Vec::new())
        }
        None => start(deps, &input, run_id, deadline).await?,
    };
    let start_index = run.iterator.index;
    match publish(deps, &input, &mut run, revisions, deadline).await {
        Ok(()) if run.iterator.continue_ && run.iterator.index == start_index => {
            let error = HandlerError::UpdateTimeout(
                "Not enough time left in the Initializer to publish a single version".to_string(),
            );
            rollback(deps, &input, &run, rollback_deadline).await;
            Err(error)
        }
        Ok(()) => Ok(run),
        Err(error) => {
            tracing::error!(%error, "initializer failed, rolling back");
            rollback(deps, &input, &run, rollback_deadline).await;
            Err(error)
        }
    }
}

/// Plans the run: reads every target; returns the plan and each target's revision as read.
async fn start<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    run_id: RunId,
    deadline: Duration,
) -> Result<(LambdaConfigurations, Vec<Option<String>>), HandlerError> {
    // Every target is read (and checked) before anything changes.
    let mut targets = Vec::new();
    let mut revisions = Vec::new();
    let mut reserved = Vec::new();
    for arn in input.targets() {
        let (target, revision, concurrency) =
            read_target(deps, input, arn, &run_id, deadline).await?;
        targets.push(target);
        revisions.push(revision);
        reserved.push(concurrency);
    }
    if input.parallel_invocation {
        let arns: Vec<&FunctionArn> = input.targets().collect();
        assign_parallelism(deps, &mut targets, &arns, &reserved).await?;
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
    // Bounded by the state-size check (every version must fit the state).
    let count = u32::try_from(configurations.len() * input.versions_per_size() as usize)
        .map_err(|_| InputError::TooManyVersions)?;
    let run = LambdaConfigurations {
        run_id,
        started_at: deps.clock.unix_seconds(),
        targets,
        configurations,
        passes: 1,
        iterator: PublishIterator {
            index: 0,
            count,
            continue_: true,
        },
        update_latency_ms: None,
    };
    Ok((run, revisions))
}

/// `ConcurrentRun`: another run's marker is on `function`.
fn concurrent(function: &str, other: &Marker) -> HandlerError {
    let since = other
        .started
        .map(|t| format!(" since {}", marker::iso8601(t)))
        .unwrap_or_default();
    HandlerError::ConcurrentRun(format!(
        "{function} is being tuned by run {}{since}",
        other.run_id
    ))
}

/// Reads a target's `$LATEST` (waiting for an update in progress), refuses a function another
/// live run is tuning, and plans its sizes; returns the plan and the revision read.
async fn read_target<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    arn: &FunctionArn,
    run_id: &RunId,
    deadline: Duration,
) -> Result<(TargetState, Option<String>, Option<u32>), HandlerError> {
    let function = arn.as_str();
    let mut config = update::read_latest(&deps.lambda, function).await?;
    if update::in_progress(&config) {
        // Someone else's update: its latency says nothing about this run's.
        let since = deps.clock.now();
        config = update::wait_until_ready(
            &deps.lambda,
            &deps.clock,
            function,
            since,
            &mut Pacing::new(),
            deadline,
        )
        .await?;
    }
    let architecture: Architecture = config.architecture.parse()?;
    pricing::lambda_base_price(&deps.settings, arn.region(), architecture)?;
    // A marker on `$LATEST` is not part of the original description: this very run's (a
    // redriven execution), or a crashed run's (stale). A live run's stops this one.
    let description = match Marker::find(&config.description) {
        Some(m)
            if m.run_id != *run_id
                && m.is_live(
                    deps.clock.unix_seconds(),
                    deps.settings.total_execution_timeout,
                ) =>
        {
            return Err(concurrent(function, &m));
        }
        Some(m) => {
            if m.run_id != *run_id {
                tracing::warn!(function, run = %m.run_id, "a stale run marker is on $LATEST; it is not kept");
            }
            marker::strip(&config.description).to_string()
        }
        None => config.description.clone(),
    };
    // A function that cannot be invoked fails now, before anything changes (SPEC §14).
    let reserved = deps
        .lambda
        .get_function_concurrency(function)
        .await
        .map_err(|e| HandlerError::lambda(format!("Reading the concurrency of {function}"), e))?;
    if reserved == Some(0) {
        return Err(InputError::ReservedConcurrencyZero(function.to_string()).into());
    }
    let mut power_values = input.power_values.clone();
    if input.include_current && !power_values.contains(&config.memory_size) {
        power_values.push(config.memory_size);
    }
    let target = TargetState {
        lambda_arn: function.to_string(),
        original: OriginalConfig {
            memory_size: config.memory_size,
            description,
            architecture,
        },
        power_values,
        // Set with the whole run's plan (`assign_parallelism`).
        parallelism: None,
    };
    Ok((target, config.revision_id, reserved))
}

/// With `parallelInvocation`, how many invocations each target's Executors may have in flight
/// (SPEC §14), so that a run does not throttle itself: the Map runs every Executor at once, so
/// a target's reserved concurrency (`reserved[i]`, as read) is shared by its sizes, and the
/// account's unreserved concurrency by the sizes of every target without a reservation in that
/// account and region, less the run's Executors themselves (they run in the tuner's account,
/// usually the same).
async fn assign_parallelism<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    targets: &mut [TargetState],
    arns: &[&FunctionArn],
    reserved: &[Option<u32>],
) -> Result<(), HandlerError> {
    let executors: u32 = targets.iter().map(|t| t.power_values.len() as u32).sum();
    let pool_of = |arn: &FunctionArn| (arn.account().to_string(), arn.region().to_string());
    // Per account and region with targets that reserve nothing: its unreserved concurrency
    // (read once) and those targets' sizes.
    let mut pools: Vec<((String, String), u32, u32)> = Vec::new();
    for ((target, arn), _) in targets
        .iter()
        .zip(arns)
        .zip(reserved)
        .filter(|(_, r)| r.is_none())
    {
        let (pool, sizes) = (pool_of(arn), target.power_values.len() as u32);
        if let Some(entry) = pools.iter_mut().find(|(p, ..)| *p == pool) {
            entry.2 += sizes;
            continue;
        }
        let function = arn.as_str();
        let account = deps
            .lambda
            .get_account_concurrency(function)
            .await
            .map_err(|e| {
                HandlerError::lambda(format!("Reading the account concurrency of {function}"), e)
            })?;
        pools.push((pool, account.unreserved, sizes));
    }
    for ((target, arn), reserved) in targets.iter_mut().zip(arns).zip(reserved) {
        let sizes = (target.power_values.len() as u32).max(1);
        let cap = match reserved {
            Some(reserved) => reserved / sizes,
            None => {
                let pool = pool_of(arn);
                pools
                    .iter()
                    .find(|(p, ..)| *p == pool)
                    .map_or(0, |(_, unreserved, sizes)| {
                        unreserved.saturating_sub(executors) / (*sizes).max(1)
                    })
            }
        };
        target.parallelism = Some(cap.max(1));
    }
    Ok(())
}

/// How often a `RevisionId` mismatch caused by this run itself is retried.
const REVISION_RETRIES: u32 = 3;

/// After a `PreconditionFailed`: `$LATEST` changed since this run last saw it. When it still
/// carries this run's marker, the change was ours (the `RevisionId` moved on): the fresh revision
/// is returned to retry with. Anything else is another run's, or someone's, change.
async fn fresh_revision<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    function: &str,
    run_id: &RunId,
) -> Result<Option<String>, HandlerError> {
    let latest = update::read_latest(&deps.lambda, function).await?;
    match Marker::find(&latest.description) {
        Some(m) if m.run_id == *run_id => Ok(latest.revision_id),
        Some(m) => Err(concurrent(function, &m)),
        None => Err(HandlerError::ConcurrentRun(format!(
            "{function} was changed by someone else while this run was tuning it"
        ))),
    }
}

/// How [`guarded_update`] treats the update it makes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wait {
    /// Wait until it is applied (a version is published from it next).
    Applied,
    /// Only start it: the restore of `$LATEST`, which nothing of this run reads again before
    /// the Cleaner, which waits for it.
    Started,
}

/// Sets `$LATEST` (memory and description) only if it is still at `revision`, and (with
/// [`Wait::Applied`]) waits for it; `revision` follows `$LATEST`.
async fn guarded_update<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    run: &LambdaConfigurations,
    function: &str,
    update: (u32, &str),
    revision: &mut Option<String>,
    (pacing, wait): (&mut Pacing, Wait),
    deadline: Duration,
) -> Result<(), HandlerError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match wait {
            Wait::Applied => {
                update::apply(
                    &deps.lambda,
                    &deps.clock,
                    function,
                    update,
                    revision.as_deref(),
                    pacing,
                    deadline,
                )
                .await
            }
            Wait::Started => update::start(
                &deps.lambda,
                &deps.clock,
                function,
                update,
                revision.as_deref(),
                deadline,
            )
            .await
            .map(|(config, _)| config),
        };
        match result {
            Ok(config) => {
                *revision = config.revision_id;
                return Ok(());
            }
            Err(HandlerError::Lambda {
                source: LambdaError::PreconditionFailed(_),
                ..
            }) if attempt <= REVISION_RETRIES => {
                *revision = fresh_revision(deps, function, &run.run_id).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn publish<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    run: &mut LambdaConfigurations,
    known: Vec<Option<String>>,
    deadline: Duration,
) -> Result<(), HandlerError> {
    let mut known: Vec<Option<Option<String>>> = known.into_iter().map(Some).collect();
    let mut pacing = Pacing::from_millis(run.update_latency_ms);
    let result = publish_all(deps, input, run, &mut known, &mut pacing, deadline).await;
    run.update_latency_ms = pacing
        .latency()
        .map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX));
    result
}

/// [`publish`]'s loop, learning each update's latency into `pacing`.
async fn publish_all<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    run: &mut LambdaConfigurations,
    known: &mut [Option<Option<String>>],
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<(), HandlerError> {
    let copies = input.versions_per_size().max(1);
    let mut slowest = Duration::ZERO;
    // `$LATEST`'s revision of the target being published, as this pass last saw it.
    let mut revision: Option<(usize, Option<String>)> = None;
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
        let step = Step::next(run, copies);
        if revision.as_ref().is_none_or(|(t, _)| *t != step.target) {
            let arn = &run.targets[step.target].lambda_arn;
            let seen = seen_revision(deps, known, step.target, arn).await?;
            revision = Some((step.target, seen));
        }
        let Some((_, current)) = revision.as_mut() else {
            continue;
        };
        publish_step(deps, run, &step, current, pacing, deadline).await?;
        run.iterator.index += 1;
        slowest = slowest.max(deps.clock.now() - started);
    }
    run.iterator.continue_ = false;
    Ok(())
}

/// The copy of a configuration the loop publishes next.
struct Step {
    /// Its place in the publish iterator.
    index: u32,
    /// Copies of each configuration (`num` with `onlyColdStarts`, else 1).
    copies: u32,
    /// Its configuration's place in `configurations`.
    slot: usize,
    /// Its memory size.
    power: u32,
    /// Its target's place in `targets`.
    target: usize,
}

impl Step {
    /// The copy at the run's iterator.
    fn next(run: &LambdaConfigurations, copies: u32) -> Step {
        let index = run.iterator.index;
        let slot = (index / copies) as usize;
        Step {
            index,
            copies,
            slot,
            power: run.configurations[slot].power,
            target: run.configurations[slot].target,
        }
    }

    /// Whether it is its target's last copy (the next one, if any, is another target's).
    fn last_of_target(&self, run: &LambdaConfigurations) -> bool {
        self.index + 1 == run.iterator.count
            || run.configurations[((self.index + 1) / self.copies) as usize].target != self.target
    }
}

/// `$LATEST`'s revision of a target as last seen: as the pass's start read it, else read now.
async fn seen_revision<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    known: &mut [Option<Option<String>>],
    target: usize,
    arn: &str,
) -> Result<Option<String>, HandlerError> {
    match known.get_mut(target).and_then(Option::take) {
        Some(seen) => Ok(seen),
        None => Ok(update::read_latest(&deps.lambda, arn).await?.revision_id),
    }
}

/// Publishes one copy: `$LATEST` set to its memory size with the run's marker (and waited
/// for), a version published from it and recorded; after its target's last copy, `$LATEST`
/// put back (only started). `revision` follows `$LATEST`.
async fn publish_step<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    run: &mut LambdaConfigurations,
    step: &Step,
    revision: &mut Option<String>,
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<(), HandlerError> {
    let power = step.power;
    let target = &run.targets[step.target];
    let arn = target.lambda_arn.clone();
    let marker = Marker {
        run_id: run.run_id.clone(),
        power,
        copy: step.index % step.copies,
        original_memory: target.original.memory_size,
        started: Some(run.started_at),
    };
    let description = marker.describe(&target.original.description);
    guarded_update(
        deps,
        run,
        &arn,
        (power, &description),
        revision,
        (&mut *pacing, Wait::Applied),
        deadline,
    )
    .await?;
    let version = publish_version(deps, run, &arn, &marker, revision, pacing, deadline).await?;
    let versions = &mut run.configurations[step.slot].versions.0;
    if !versions.contains(&version) {
        versions.push(version);
    }
    tracing::info!(function = %arn, power, version, "published version");
    // The target's last version: put its `$LATEST` back before the next target.
    if step.last_of_target(run) {
        let original = run.targets[step.target].original.clone();
        guarded_update(
            deps,
            run,
            &arn,
            (original.memory_size, &original.description),
            revision,
            (&mut *pacing, Wait::Started),
            deadline,
        )
        .await?;
    }
    Ok(())
}

async fn publish_version<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    run: &LambdaConfigurations,
    arn: &str,
    marker: &Marker,
    revision: &mut Option<String>,
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<u64, HandlerError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 0;
    let published = loop {
        attempt += 1;
        match deps.lambda.publish_version(arn, revision.as_deref()).await {
            Ok(config) => break config,
            Err(LambdaError::Conflict(_)) if attempt < ATTEMPTS => {
                let since = deps.clock.now();
                let ready = update::wait_until_ready(
                    &deps.lambda,
                    &deps.clock,
                    arn,
                    since,
                    pacing,
                    deadline,
                )
                .await?;
                *revision = ready.revision_id;
            }
            // `$LATEST` changed after our update: publish only what this run set up.
            Err(LambdaError::PreconditionFailed(_)) if attempt < ATTEMPTS => {
                *revision = fresh_revision(deps, arn, &run.run_id).await?;
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
        (_, Some(found)) if found.run_id != marker.run_id => Err(concurrent(arn, &found)),
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

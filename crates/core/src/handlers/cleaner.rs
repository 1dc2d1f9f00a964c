//! Cleaner (SPEC §3.9): delete exactly the versions this run published — the recorded list plus
//! any version carrying this run's marker — and put `$LATEST` back if the run's marker is still
//! on it. Never touches anything else; idempotent; works with no Initializer output at all.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use crate::arn::FunctionArn;
use crate::error::HandlerError;
use crate::handlers::{self, Deps, Invocation, input_of};
use crate::input::TuningInput;
use crate::marker::{self, Marker, RunId};
use crate::ports::{Clock, FunctionConfig, LambdaApi, LambdaError};
use crate::state::LambdaConfigurations;
use crate::update::{self, Pacing};

/// What the Cleaner did (on every target of the run).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    /// Versions deleted now.
    pub deleted: Vec<String>,
    /// Versions of this run kept because an alias points at them.
    pub kept: Vec<String>,
    /// Whether `$LATEST` had to be restored.
    pub restored: bool,
}

/// Runs the Cleaner on a state-machine event: every target of the run. An invalid or missing
/// `lambdaARN` means the run never touched anything: no call is made.
pub async fn handle<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<CleanupReport, HandlerError> {
    let event = &invocation.event;
    let run = LambdaConfigurations::from_state(&event.state);
    let run_id = match &run {
        Some(run) => run.run_id.clone(),
        None => invocation.run_id(),
    };
    // The targets: those the Initializer recorded, else the input's (the Initializer failed
    // before its output: a sweep by marker finds what it published).
    let targets: Vec<FunctionArn> = match &run {
        Some(run) => run
            .targets
            .iter()
            .filter_map(|t| FunctionArn::parse(&t.lambda_arn))
            .collect(),
        None => match input_of(event, &deps.settings) {
            Ok(input) => input.targets().cloned().collect(),
            Err(_) => event
                .state_key("lambdaARN")
                .and_then(|v| v.as_str())
                .and_then(FunctionArn::parse)
                .into_iter()
                .collect(),
        },
    };
    // The targets' account may need the run's role (an invalid input touched nothing).
    let role = match input_of(event, &deps.settings) {
        Ok(input) => handlers::use_role(deps, &input, invocation).await,
        Err(_) => deps
            .lambda
            .use_role(None)
            .await
            .map_err(|e| HandlerError::lambda("Dropping the role", e)),
    };
    role?;
    // Stop waiting half a second before the end, so the Cleaner answers rather than times out.
    let deadline = invocation
        .deadline
        .saturating_sub(std::time::Duration::from_millis(500));
    clean_targets(deps, &targets, &run_id, run.as_ref(), deadline).await
}

/// Cleans every target of a run (shared with the Initializer's rollback).
pub async fn clean_run<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    input: &TuningInput,
    run_id: &RunId,
    run: Option<&LambdaConfigurations>,
    deadline: Duration,
) -> Result<CleanupReport, HandlerError> {
    let targets: Vec<FunctionArn> = input.targets().cloned().collect();
    clean_targets(deps, &targets, run_id, run, deadline).await
}

async fn clean_targets<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    targets: &[FunctionArn],
    run_id: &RunId,
    run: Option<&LambdaConfigurations>,
    deadline: Duration,
) -> Result<CleanupReport, HandlerError> {
    let mut report = CleanupReport::default();
    let mut first_error = None;
    for arn in targets {
        let recorded = run.and_then(|r| {
            let index = r
                .targets
                .iter()
                .position(|t| t.lambda_arn == arn.as_str())?;
            Some((
                r.versions_of(index).collect::<Vec<_>>(),
                &r.targets[index].original,
            ))
        });
        let (versions, original) = match &recorded {
            Some((versions, original)) => (
                versions.as_slice(),
                Some((original.memory_size, original.description.clone())),
            ),
            None => (&[][..], None),
        };
        let pacing = Pacing::from_millis(run.and_then(|r| r.update_latency_ms));
        // One target failing to clean does not stop the others.
        match clean(deps, arn, run_id, versions, original, pacing, deadline).await {
            Ok(one) => {
                report.deleted.extend(one.deleted);
                report.kept.extend(one.kept);
                report.restored |= one.restored;
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Deletes one function's versions of the run (the `recorded` ones, then any carrying the run's
/// marker) and restores its `$LATEST` (to `original`, else the marker's record of it), waiting
/// for the restore (and for one the Initializer started) as `pacing` says.
pub async fn clean<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    arn: &FunctionArn,
    run_id: &RunId,
    recorded: &[u64],
    original: Option<(u32, String)>,
    mut pacing: Pacing,
    deadline: Duration,
) -> Result<CleanupReport, HandlerError> {
    let function = arn.as_str();
    let mut report = CleanupReport::default();
    let mut first_error: Option<HandlerError> = None;
    let mut handled = BTreeSet::new();

    for version in recorded.iter().map(u64::to_string) {
        handled.insert(version.clone());
        if let Err(e) = delete(deps, function, &version, &mut report).await {
            first_error.get_or_insert(e);
        }
    }

    // Sweep by marker: versions whose publish response was lost, or published before a crash.
    // A function that no longer exists has nothing left to clean.
    let listed = match list_versions(deps, function).await {
        Err(HandlerError::Lambda {
            source: LambdaError::NotFound(_),
            ..
        }) => {
            tracing::warn!(function, "the function no longer exists: nothing to clean");
            return match first_error {
                Some(error) => Err(error),
                None => Ok(report),
            };
        }
        other => other?,
    };
    for version in listed {
        let ours = Marker::find(&version.description).is_some_and(|m| m.run_id == *run_id);
        if ours
            && handled.insert(version.version.clone())
            && let Err(e) = delete(deps, function, &version.version, &mut report).await
        {
            first_error.get_or_insert(e);
        }
    }

    // `$LATEST` still carries this run's marker: the run was interrupted before restoring it.
    report.restored = restore_latest(
        deps,
        function,
        |m| m.run_id == *run_id,
        original,
        false,
        &mut pacing,
        deadline,
    )
    .await?
    .is_some();

    if !report.kept.is_empty() {
        tracing::warn!(function, versions = ?report.kept, "versions of this run are used by an alias and were kept");
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Reads `$LATEST`; when its description carries a marker that `ours` accepts, puts back the
/// memory and description from before the run (`original`, else the marker's record of them),
/// unless `dry_run`. Returns the marker found. With `original` known and `$LATEST` already
/// back to it, an update still in progress is the Initializer's restore: it is waited for, so
/// the run ends with `$LATEST` applied as found (or with the reason it failed).
async fn restore_latest<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    function: &str,
    ours: impl Fn(&Marker) -> bool,
    original: Option<(u32, String)>,
    dry_run: bool,
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<Option<Marker>, HandlerError> {
    let latest = settled_latest(deps, function, &ours, pacing, deadline).await?;
    let Some(found) = Marker::find(&latest.description).filter(|m| ours(m)) else {
        let restoring = original.as_ref().is_some_and(|(memory, description)| {
            latest.memory_size == *memory && latest.description == *description
        });
        if restoring && !dry_run {
            await_restore(deps, function, &latest, pacing, deadline).await?;
        }
        return Ok(None);
    };
    if !dry_run {
        let (memory, description) = original.unwrap_or_else(|| {
            (
                found.original_memory,
                marker::strip(&latest.description).to_string(),
            )
        });
        let original = (memory, description.as_str());
        if !put_back(deps, function, &latest, original, pacing, deadline).await? {
            return Ok(None);
        }
    }
    Ok(Some(found))
}

/// Reads `$LATEST`, and when it carries a marker that `ours` accepts with its update still in
/// progress, reads it again once that update is over.
async fn settled_latest<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    function: &str,
    ours: &impl Fn(&Marker) -> bool,
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<FunctionConfig, HandlerError> {
    let latest = update::read_latest(&deps.lambda, function).await?;
    if !(Marker::find(&latest.description).is_some_and(|m| ours(&m))
        && update::in_progress(&latest))
    {
        return Ok(latest);
    }
    // Our own update still applying (an Initializer that ran out of time): Lambda gives
    // `$LATEST` a new `RevisionId` when it completes, so the revision read now would refuse
    // the restore. Wait it out (a failed one too), then read the revision it ended at.
    let since = deps.clock.now();
    match update::wait_until_ready(&deps.lambda, &deps.clock, function, since, pacing, deadline)
        .await
    {
        Ok(ready) => Ok(ready),
        Err(HandlerError::UpdateFailed(_)) => update::read_latest(&deps.lambda, function).await,
        Err(other) => Err(other),
    }
}

/// `$LATEST` is back at the original already: waits for the update that put it back (the
/// Initializer's restore) to be applied, or fails with the reason it failed.
async fn await_restore<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    function: &str,
    latest: &FunctionConfig,
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<(), HandlerError> {
    let restored = |e| match e {
        HandlerError::UpdateFailed(reason) => {
            HandlerError::UpdateFailed(format!("Restoring $LATEST of {function}: {reason}"))
        }
        other => other,
    };
    if !update::is_ready(latest).map_err(restored)? {
        let since = deps.clock.now();
        update::wait_until_ready(&deps.lambda, &deps.clock, function, since, pacing, deadline)
            .await
            .map_err(restored)?;
    }
    Ok(())
}

/// Puts `$LATEST` back to `original` (memory, description), only if it is still as `latest`
/// was read. Returns whether it was put back (not when it changed since).
async fn put_back<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    function: &str,
    latest: &FunctionConfig,
    original: (u32, &str),
    pacing: &mut Pacing,
    deadline: Duration,
) -> Result<bool, HandlerError> {
    // Only `$LATEST` as just read: a change made since (another run, a deploy) is not undone.
    match update::apply(
        &deps.lambda,
        &deps.clock,
        function,
        original,
        latest.revision_id.as_deref(),
        pacing,
        deadline,
    )
    .await
    {
        Err(HandlerError::Lambda {
            source: LambdaError::PreconditionFailed(_),
            ..
        }) => {
            tracing::warn!(function, "$LATEST changed since it was read; not restored");
            Ok(false)
        }
        other => other.map(|_| true),
    }
}

/// Every published version (not `$LATEST`), all pages.
pub async fn list_versions<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    function: &str,
) -> Result<Vec<FunctionConfig>, HandlerError> {
    let mut versions = Vec::new();
    let mut page_marker: Option<String> = None;
    loop {
        let page = deps
            .lambda
            .list_versions(function, page_marker.as_deref())
            .await
            .map_err(|e| HandlerError::lambda(format!("Listing versions of {function}"), e))?;
        versions.extend(page.versions.into_iter().filter(|v| v.version != "$LATEST"));
        match page.next_marker {
            Some(next) if Some(&next) != page_marker.as_ref() => page_marker = Some(next),
            _ => return Ok(versions),
        }
    }
}

/// What `power-tuning cleanup` found (and did).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftoversReport {
    /// Versions carrying a run marker: (version, run id).
    pub found: Vec<(String, String)>,
    /// The run id on `$LATEST`'s description, if a run left it there.
    pub latest_marker: Option<String>,
    /// Versions deleted and kept, and whether `$LATEST` was restored.
    #[serde(flatten)]
    pub cleanup: CleanupReport,
}

/// Finds what interrupted runs left (any run's marker) and, unless `dry_run`, deletes those
/// versions and restores `$LATEST` from its marker. Never touches a version without a marker.
pub async fn clean_leftovers<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    arn: &FunctionArn,
    dry_run: bool,
    deadline: Duration,
) -> Result<LeftoversReport, HandlerError> {
    let function = arn.as_str();
    let mut out = LeftoversReport::default();
    for version in list_versions(deps, function).await? {
        if let Some(marker) = Marker::find(&version.description) {
            out.found
                .push((version.version.clone(), marker.run_id.to_string()));
            if !dry_run {
                delete(deps, function, &version.version, &mut out.cleanup).await?;
            }
        }
    }
    let mut pacing = Pacing::new();
    let found = restore_latest(
        deps,
        function,
        |_| true,
        None,
        dry_run,
        &mut pacing,
        deadline,
    )
    .await?;
    out.latest_marker = found.map(|m| m.run_id.to_string());
    out.cleanup.restored = !dry_run && out.latest_marker.is_some();
    if !out.cleanup.kept.is_empty() {
        tracing::warn!(versions = ?out.cleanup.kept, "versions left by runs are used by an alias and were kept");
    }
    Ok(out)
}

async fn delete<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    function: &str,
    version: &str,
    report: &mut CleanupReport,
) -> Result<(), HandlerError> {
    match deps.lambda.delete_version(function, version).await {
        Ok(()) => {
            report.deleted.push(version.to_string());
            Ok(())
        }
        Err(LambdaError::NotFound(_)) => Ok(()),
        Err(LambdaError::Conflict(_)) => {
            report.kept.push(version.to_string());
            Ok(())
        }
        Err(e) => Err(HandlerError::lambda(
            format!("Deleting version {version} of {function}"),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeClock, FakeLambda, FakePayloads, cpu_bound};
    use crate::settings::Settings;

    #[test]
    fn leftovers_are_found_and_only_they_are_removed() {
        let clock = FakeClock::new();
        let fake = FakeLambda::new(clock.clone());
        let arn = fake.add_function("f", 256, "mine", cpu_bound());
        let deps = Deps {
            lambda: fake.clone(),
            payloads: FakePayloads::default(),
            clock: clock.clone(),
            settings: Settings::default(),
        };
        let user = fake.publish_now("f");
        let marker = Marker {
            run_id: RunId::derive("x"),
            power: 512,
            copy: 0,
            original_memory: 256,
            started: None,
        };
        futures::executor::block_on(deps.lambda.update_configuration(
            &arn,
            crate::ports::ConfigUpdate::new(512, &marker.describe("mine")),
        ))
        .expect("update");
        let leftover = fake.publish_now("f");
        let held = {
            futures::executor::block_on(
                deps.lambda.update_configuration(
                    &arn,
                    crate::ports::ConfigUpdate {
                        memory_size: 1024,
                        description: &Marker {
                            power: 1024,
                            ..marker.clone()
                        }
                        .describe("mine"),
                        revision: None,
                    },
                ),
            )
            .expect("update");
            fake.publish_now("f")
        };
        fake.alias_now("f", "pinned", held);
        let arn = FunctionArn::parse(&arn).expect("arn");
        let dry = futures::executor::block_on(clean_leftovers(
            &deps,
            &arn,
            true,
            clock.now() + Duration::from_secs(60),
        ))
        .expect("dry run");
        assert_eq!(dry.found.len(), 2);
        assert_eq!(dry.latest_marker.as_deref(), Some(marker.run_id.as_str()));
        assert!(dry.cleanup.deleted.is_empty() && !dry.cleanup.restored);
        assert_eq!(fake.versions("f").len(), 3, "dry run changes nothing");
        let done = futures::executor::block_on(clean_leftovers(
            &deps,
            &arn,
            false,
            clock.now() + Duration::from_secs(60),
        ))
        .expect("cleanup");
        assert_eq!(done.cleanup.deleted, vec![leftover.to_string()]);
        assert_eq!(done.cleanup.kept, vec![held.to_string()]);
        assert!(done.cleanup.restored);
        assert_eq!(fake.latest("f"), (256, "mine".to_string()));
        assert_eq!(
            fake.versions("f").keys().copied().collect::<Vec<_>>(),
            vec![user, held]
        );
    }
}

//! Cleaner (SPEC §3.9): delete exactly the versions this run published — the recorded list plus
//! any version carrying this run's marker — and put `$LATEST` back if the run's marker is still
//! on it. Never touches anything else; idempotent; works with no Initializer output at all.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use crate::arn::FunctionArn;
use crate::error::HandlerError;
use crate::handlers::{Deps, Invocation};
use crate::marker::{self, Marker, RunId};
use crate::ports::{Clock, LambdaApi, LambdaError};
use crate::state::LambdaConfigurations;
use crate::update;

/// What the Cleaner did.
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

/// Runs the Cleaner on a state-machine event. An invalid or missing `lambdaARN` means the run
/// never touched anything: no call is made.
pub async fn handle<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    invocation: &Invocation,
) -> Result<CleanupReport, HandlerError> {
    let event = &invocation.event;
    let Some(arn) = event
        .state_key("lambdaARN")
        .and_then(|v| v.as_str())
        .and_then(FunctionArn::parse)
    else {
        return Ok(CleanupReport::default());
    };
    let run = LambdaConfigurations::from_state(&event.state);
    let run_id = match &run {
        Some(run) => run.run_id.clone(),
        None => invocation.run_id(),
    };
    clean(deps, &arn, &run_id, run.as_ref(), invocation.deadline).await
}

/// Deletes the run's versions and restores `$LATEST` (shared with the Initializer's rollback).
pub async fn clean<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    arn: &FunctionArn,
    run_id: &RunId,
    run: Option<&LambdaConfigurations>,
    deadline: Duration,
) -> Result<CleanupReport, HandlerError> {
    let function = arn.as_str();
    let mut report = CleanupReport::default();
    let mut first_error: Option<HandlerError> = None;
    let mut handled = BTreeSet::new();

    let recorded: Vec<String> = run
        .map(|r| r.all_versions().map(|v| v.to_string()).collect())
        .unwrap_or_default();
    for version in recorded {
        handled.insert(version.clone());
        if let Err(e) = delete(deps, function, &version, &mut report).await {
            first_error.get_or_insert(e);
        }
    }

    // Sweep by marker: versions whose publish response was lost, or published before a crash.
    for version in list_versions(deps, function).await? {
        let ours = Marker::find(&version.description).is_some_and(|m| m.run_id == *run_id);
        if ours
            && handled.insert(version.version.clone())
            && let Err(e) = delete(deps, function, &version.version, &mut report).await
        {
            first_error.get_or_insert(e);
        }
    }

    // `$LATEST` still carries this run's marker: the run was interrupted before restoring it.
    let original = run.map(|r| (r.original.memory_size, r.original.description.clone()));
    report.restored = restore_latest(
        deps,
        function,
        |m| m.run_id == *run_id,
        original,
        false,
        deadline,
    )
    .await?
    .is_some();

    if !report.kept.is_empty() {
        tracing::warn!(versions = ?report.kept, "versions of this run are used by an alias and were kept");
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Reads `$LATEST`; when its description carries a marker that `ours` accepts, puts back the
/// memory and description from before the run (`original`, else the marker's record of them),
/// unless `dry_run`. Returns the marker found.
async fn restore_latest<L: LambdaApi, P, C: Clock>(
    deps: &Deps<L, P, C>,
    function: &str,
    ours: impl Fn(&Marker) -> bool,
    original: Option<(u32, String)>,
    dry_run: bool,
    deadline: Duration,
) -> Result<Option<Marker>, HandlerError> {
    let latest = deps
        .lambda
        .get_configuration(function, None)
        .await
        .map_err(|e| HandlerError::lambda(format!("Reading configuration of {function}"), e))?;
    let Some(found) = Marker::find(&latest.description).filter(|m| ours(m)) else {
        return Ok(None);
    };
    if !dry_run {
        let (memory, description) = original.unwrap_or_else(|| {
            (
                found.original_memory,
                marker::strip(&latest.description).to_string(),
            )
        });
        update::apply(
            &deps.lambda,
            &deps.clock,
            function,
            memory,
            &description,
            deadline,
        )
        .await?;
    }
    Ok(Some(found))
}

/// Every published version (not `$LATEST`), all pages.
pub async fn list_versions<L: LambdaApi, P, C>(
    deps: &Deps<L, P, C>,
    function: &str,
) -> Result<Vec<crate::ports::FunctionConfig>, HandlerError> {
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
    let found = restore_latest(deps, function, |_| true, None, dry_run, deadline).await?;
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
        };
        futures::executor::block_on(deps.lambda.update_configuration(
            &arn,
            512,
            &marker.describe("mine"),
        ))
        .expect("update");
        let leftover = fake.publish_now("f");
        let held = {
            futures::executor::block_on(
                deps.lambda.update_configuration(
                    &arn,
                    1024,
                    &Marker {
                        power: 1024,
                        ..marker.clone()
                    }
                    .describe("mine"),
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

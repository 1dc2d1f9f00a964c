//! The fake Lambda's inner state: each function's `$LATEST`, versions, aliases and warm
//! environments, the injected errors and interferences, and Lambda's rules on them.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::fake::model::{Behavior, Call, FakeLogFormat, Op};
use crate::ports::LambdaError;

/// A configuration: `$LATEST`'s or a published version's.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Conf {
    pub(super) memory: u32,
    pub(super) description: String,
}

/// One function of the fake.
pub(super) struct Function {
    pub(super) arn: String,
    /// Bumped by every update of `$LATEST` (its `RevisionId` is `rev-<n>`).
    pub(super) revision: u64,
    pub(super) architecture: String,
    pub(super) latest: Conf,
    pub(super) update_done_at: Duration,
    pub(super) update_fails: Option<String>,
    pub(super) versions: BTreeMap<u64, Conf>,
    pub(super) next_version: u64,
    pub(super) aliases: BTreeMap<String, String>,
    pub(super) idle_environments: HashMap<String, u32>,
    pub(super) behavior: Behavior,
    pub(super) log_format: FakeLogFormat,
    /// Reserved concurrency, when set.
    pub(super) reserved: Option<u32>,
    /// Invocations in flight.
    pub(super) in_flight: u32,
}

/// Calls of `op` fail with `error`, `times` times after `skip` more succeed.
pub(super) struct Injection {
    pub(super) op: Op,
    pub(super) skip: u32,
    pub(super) times: u32,
    pub(super) error: LambdaError,
}

/// Someone else changes a function's `$LATEST` description just before a call.
pub(super) struct Interference {
    pub(super) op: Op,
    pub(super) skip: u32,
    pub(super) function: String,
    pub(super) description: String,
}

/// How the next updates behave.
#[derive(Default)]
pub(super) struct UpdateKnobs {
    pub(super) delay: Duration,
    /// Updates to let succeed first, and the reason the next one then fails with.
    pub(super) fail_next: Option<(u32, String)>,
}

/// Everything the fake holds, behind one lock.
#[derive(Default)]
pub(super) struct State {
    pub(super) functions: BTreeMap<String, Function>,
    pub(super) calls: Vec<Call>,
    pub(super) injections: Vec<Injection>,
    pub(super) interferences: Vec<Interference>,
    pub(super) updates: UpdateKnobs,
    pub(super) role: Option<crate::ports::AssumedRole>,
    pub(super) denied_roles: Vec<String>,
    pub(super) assumed: Vec<(String, String)>,
    pub(super) in_flight: u32,
    pub(super) max_in_flight: u32,
    /// The account's concurrency limit (Lambda's default quota, 1000, unless set).
    pub(super) account_limit: Option<u32>,
    /// Invocations in flight of functions without a reservation.
    pub(super) unreserved_in_flight: u32,
}

impl State {
    /// The account's unreserved concurrency: its limit less every function's reservation.
    pub(super) fn unreserved(&self) -> u32 {
        let limit = self.account_limit.unwrap_or(1000);
        let reserved: u32 = self.functions.values().filter_map(|f| f.reserved).sum();
        limit.saturating_sub(reserved)
    }
}

impl Function {
    /// Lambda's rule: nothing changes `$LATEST` or publishes while an update is in progress.
    pub(super) fn ensure_idle(&self, now: Duration) -> Result<(), LambdaError> {
        if now < self.update_done_at {
            return Err(LambdaError::Conflict(format!(
                "The operation cannot be performed at this time. An update is in progress for resource: {}",
                self.arn
            )));
        }
        Ok(())
    }

    /// Lambda's optimistic concurrency: a `RevisionId` given must be `$LATEST`'s.
    pub(super) fn ensure_revision(
        &self,
        revision: Option<&str>,
        now: Duration,
    ) -> Result<(), LambdaError> {
        match revision {
            Some(r) if r != self.revision_id(now) => Err(LambdaError::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id.".to_string(),
            )),
            _ => Ok(()),
        }
    }

    /// `$LATEST`'s `RevisionId`: a new one when an update completes, as on Lambda (the one the
    /// update answered with is stale once it is done).
    pub(super) fn revision_id(&self, now: Duration) -> String {
        if now < self.update_done_at {
            format!("rev-{}-updating", self.revision)
        } else {
            format!("rev-{}", self.revision)
        }
    }

    /// A published version's number, else `ResourceNotFoundException`.
    pub(super) fn existing_version(&self, version: &str) -> Result<u64, LambdaError> {
        version
            .parse::<u64>()
            .ok()
            .filter(|n| self.versions.contains_key(n))
            .ok_or_else(|| not_found(&format!("{}:{version}", self.arn)))
    }
}

/// The function name in an ARN, a qualified ARN or a plain name, and the qualifier if any.
pub(super) fn split_function(function: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = function.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" {
        (parts[6].to_string(), parts.get(7).map(|q| q.to_string()))
    } else {
        (function.to_string(), None)
    }
}

/// Lambda's `ResourceNotFoundException` for a function (or a qualified one).
pub(super) fn not_found(what: &str) -> LambdaError {
    LambdaError::NotFound(format!("Function not found: {what}"))
}

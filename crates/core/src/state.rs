//! What flows between the states (SPEC §3.1): the Initializer's output at
//! `$.lambdaConfigurations` (the run id, `$LATEST` as found, the configurations the Map iterates
//! over, the publishing iterator), and [`StateError`], what a handler reports when the state
//! handed over by the state machine is not one it can use.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::architecture::Architecture;
use crate::input::InputError;
use crate::versions::VersionList;

/// A state handed over by the state machine that is missing something or contradicts itself.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    /// The Analyzer got no `stats`.
    #[error("Missing stats in the state")]
    MissingStats,
    /// `stats` that are not the executors' output.
    #[error("Invalid stats in the state: {0}")]
    InvalidStats(String),
    /// A Map result count that is not the configuration count.
    #[error("{stats} stats for {configurations} configurations")]
    StatsCount {
        /// Stats in the state.
        stats: usize,
        /// Configurations of the run.
        configurations: usize,
    },
    /// A configuration whose `target` is not one of the run's.
    #[error("A configuration names target {0}, which the run does not have")]
    UnknownTarget(usize),
    /// The Executor got no `configuration`.
    #[error("Missing configuration in the Executor input")]
    MissingConfiguration,
    /// A `configuration` that is not a Map item.
    #[error("Invalid configuration in the Executor input: {0}")]
    InvalidConfiguration(String),
    /// No `lambdaConfigurations`.
    #[error("Missing lambdaConfigurations in the state")]
    MissingRun,
    /// A target ARN that does not parse.
    #[error("Invalid target {0}")]
    InvalidTarget(String),
    /// A configuration without versions.
    #[error("No version was published for {0}MB")]
    NoVersions(u32),
    /// The Optimizer got no chosen power.
    #[error("Missing or empty optimal value")]
    MissingOptimal,
}

/// `$LATEST` as the run found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginalConfig {
    /// Memory size (MB).
    pub memory_size: u32,
    /// Description.
    pub description: String,
    /// Architecture.
    pub architecture: Architecture,
}

/// One Map item: a target's memory size and the versions published for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    /// Memory size (MB).
    pub power: u32,
    /// Versions to invoke (one, or `num` with `onlyColdStarts`).
    pub versions: VersionList,
    /// Index of the target in [`LambdaConfigurations::targets`] (0, `lambdaARN`, is omitted).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub target: usize,
}

fn is_zero(index: &usize) -> bool {
    *index == 0
}

/// A function the run tunes: `lambdaARN` first, then each `compareWith`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetState {
    /// The function.
    #[serde(rename = "lambdaARN")]
    pub lambda_arn: String,
    /// Its `$LATEST` before the run.
    pub original: OriginalConfig,
    /// Its memory sizes, in the order they are measured (the input's, then its current size
    /// with `includeCurrent`).
    pub power_values: Vec<u32>,
    /// With `parallelInvocation`: how many invocations each of its Executors may have in
    /// flight, from its reserved concurrency, else the account's unreserved concurrency, shared
    /// by every Executor of the run (SPEC §14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
}

/// Progress of the publishing loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishIterator {
    /// Configurations published so far.
    pub index: u32,
    /// Configurations to publish in all.
    pub count: u32,
    /// Whether the Initializer must run again.
    #[serde(rename = "continue")]
    pub continue_: bool,
}

/// The Initializer's output, at `$.lambdaConfigurations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaConfigurations {
    /// The run id in every marker of this run.
    pub run_id: crate::marker::RunId,
    /// When the run started (seconds since the Unix epoch), in every marker of this run.
    #[serde(default)]
    pub started_at: u64,
    /// The functions tuned, in input order.
    pub targets: Vec<TargetState>,
    /// What the Map iterates over: each target's sizes in power-value order, target by target.
    pub configurations: Vec<Configuration>,
    /// Initializer invocations so far.
    pub passes: u32,
    /// Publishing progress.
    pub iterator: PublishIterator,
    /// How long the run's last update took to apply (milliseconds), for later waits to check
    /// first at that latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_latency_ms: Option<u64>,
}

impl LambdaConfigurations {
    /// Reads `$.lambdaConfigurations` from a state, if present and well-formed.
    pub fn from_state(state: &Value) -> Option<LambdaConfigurations> {
        state
            .get("lambdaConfigurations")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The versions recorded for one target, in publishing order.
    pub fn versions_of(&self, target: usize) -> impl Iterator<Item = u64> + '_ {
        self.configurations
            .iter()
            .filter(move |c| c.target == target)
            .flat_map(|c| c.versions.0.iter().copied())
    }

    /// Checks a continuation state (a later Initializer pass) against the input before any of it
    /// is used: the same targets and sizes, in the planned order, and a consistent iterator, so
    /// a forged or damaged `lambdaConfigurations` is an input error, never an index panic.
    pub fn check_against(&self, input: &crate::input::TuningInput) -> Result<(), InputError> {
        let invalid = |why: &'static str| Err(InputError::LambdaConfigurations(why));
        let arns: Vec<&str> = input.targets().map(|a| a.as_str()).collect();
        if self.targets.len() != arns.len()
            || self
                .targets
                .iter()
                .zip(&arns)
                .any(|(t, a)| t.lambda_arn != *a)
        {
            return invalid("its targets are not the input's lambdaARN and compareWith");
        }
        for target in &self.targets {
            let planned = &target.power_values;
            let extra = planned.len().checked_sub(input.power_values.len());
            if !planned.starts_with(&input.power_values)
                || !matches!(extra, Some(0) | Some(1))
                || (extra == Some(1) && !input.include_current)
            {
                return invalid("its memory sizes are not the input's powerValues");
            }
        }
        let expected = self
            .targets
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.power_values.iter().map(move |p| (i, *p)));
        if self.configurations.len()
            != self
                .targets
                .iter()
                .map(|t| t.power_values.len())
                .sum::<usize>()
            || !self
                .configurations
                .iter()
                .zip(expected)
                .all(|(c, (target, power))| c.target == target && c.power == power)
        {
            return invalid("its configurations are not the planned ones");
        }
        let copies = input.versions_per_size() as usize;
        let count = self.configurations.len().checked_mul(copies);
        let index = self.iterator.index as usize;
        let recorded: usize = self.configurations.iter().map(|c| c.versions.0.len()).sum();
        if count != Some(self.iterator.count as usize)
            || index > self.iterator.count as usize
            || !self.iterator.continue_
            || recorded > index
            || self
                .configurations
                .iter()
                .any(|c| c.versions.0.len() > copies)
        {
            return invalid("its publishing progress is inconsistent");
        }
        Ok(())
    }

    /// The target of a configuration, if it names one of the run's targets.
    pub fn target_of(&self, configuration: &Configuration) -> Option<&TargetState> {
        self.targets.get(configuration.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forged_continuation_states_are_rejected() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:a";
        let input = crate::input::TuningInput::from_state(
            &json!({"lambdaARN": arn, "num": 5, "powerValues": [128, 256]}),
            &[128],
        )
        .expect("input");
        let good = json!({
            "runId": "0123456789ab",
            "targets": [{"lambdaARN": arn, "powerValues": [128, 256],
                "original": {"memorySize": 1024, "description": "d", "architecture": "x86_64"}}],
            "configurations": [{"power": 128, "versions": ["7"]}, {"power": 256, "versions": [], "target": 0}],
            "passes": 1, "iterator": {"index": 1, "count": 2, "continue": true}
        });
        let parse =
            |v: &Value| serde_json::from_value::<LambdaConfigurations>(v.clone()).expect("shape");
        assert_eq!(parse(&good).check_against(&input), Ok(()));
        let forge = |pointer: &str, value: Value| {
            let mut v = good.clone();
            *v.pointer_mut(pointer).expect("pointer") = value;
            parse(&v)
                .check_against(&input)
                .expect_err("forged")
                .to_string()
        };
        assert!(forge("/iterator/index", json!(99)).contains("publishing progress"));
        assert!(forge("/iterator/count", json!(4_000_000_000u64)).contains("publishing progress"));
        assert!(forge("/configurations/1/target", json!(7)).contains("configurations"));
        assert!(forge("/configurations/0/power", json!(512)).contains("configurations"));
        assert!(
            forge("/configurations/0/versions", json!(["1-3"])).contains("publishing progress")
        );
        assert!(
            forge(
                "/targets/0/lambdaARN",
                json!("arn:aws:lambda:us-east-1:123456789012:function:b")
            )
            .contains("targets")
        );
        assert!(forge("/targets/0/powerValues", json!([128, 256, 512])).contains("memory sizes"));
        assert!(forge("/configurations", json!([])).contains("configurations"));
    }

    #[test]
    fn configurations_round_trip() {
        let value = json!({
            "runId": "0123456789ab", "startedAt": 1764645123,
            "targets": [
                {"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:a", "powerValues": [128, 256],
                 "original": {"memorySize": 1024, "description": "d", "architecture": "arm64"}},
                {"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:b", "powerValues": [128],
                 "original": {"memorySize": 512, "description": "", "architecture": "x86_64"}}
            ],
            "configurations": [{"power": 128, "versions": ["7"]}, {"power": 256, "versions": ["8-9"]},
                {"power": 128, "versions": ["3"], "target": 1}],
            "passes": 1, "iterator": {"index": 3, "count": 3, "continue": false}
        });
        let parsed =
            LambdaConfigurations::from_state(&json!({"lambdaConfigurations": value.clone()}))
                .expect("parses");
        assert_eq!(parsed.versions_of(0).collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!(parsed.versions_of(1).collect::<Vec<_>>(), vec![3]);
        assert_eq!(
            parsed
                .target_of(&parsed.configurations[2])
                .map(|t| t.original.memory_size),
            Some(512)
        );
        assert_eq!(serde_json::to_value(&parsed).expect("serialize"), value);
    }
}

//! What flows between the states (SPEC §3.1): the Initializer's output at
//! `$.lambdaConfigurations` (the run id, `$LATEST` as found, the configurations the Map iterates
//! over, the publishing iterator), and [`StateView`], the typed view of a whole state that the
//! command-line tool reads from an execution's history.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::output::{Analysis, Stat};
use crate::versions::VersionList;

/// `$LATEST` as the run found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginalConfig {
    /// Memory size (MB).
    pub memory_size: u32,
    /// Description.
    pub description: String,
    /// Architecture.
    pub architecture: String,
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
    /// The functions tuned, in input order.
    pub targets: Vec<TargetState>,
    /// What the Map iterates over: each target's sizes in power-value order, target by target.
    pub configurations: Vec<Configuration>,
    /// Initializer invocations so far.
    pub passes: u32,
    /// Publishing progress.
    pub iterator: PublishIterator,
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

    /// The target of a configuration, if it names one of the run's targets.
    pub fn target_of(&self, configuration: &Configuration) -> Option<&TargetState> {
        self.targets.get(configuration.target)
    }
}

/// The parts of a state machine state the tools read (every key optional): what the
/// Initializer, the Map and the Analyzer added.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    /// The Initializer's output.
    #[serde(default)]
    pub lambda_configurations: Option<LambdaConfigurations>,
    /// The executors' results, in configuration order.
    #[serde(default)]
    pub stats: Option<Vec<Stat>>,
    /// The Analyzer's output (`null` with `dryRun`).
    #[serde(default)]
    pub analysis: Option<Analysis>,
}

impl StateView {
    /// Reads a state's JSON text; anything unreadable is an empty view.
    pub fn parse(text: &str) -> StateView {
        serde_json::from_str(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configurations_round_trip() {
        let value = json!({
            "runId": "0123456789ab",
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
        let view = StateView::parse(&json!({"lambdaARN": "x", "lambdaConfigurations": value, "stats": [{"value": 128, "invocations": 5}]}).to_string());
        assert_eq!(view.lambda_configurations, Some(parsed));
        assert_eq!(view.stats.map(|s| s.len()), Some(1));
        assert_eq!(view.analysis, None);
        assert_eq!(StateView::parse("not json"), StateView::default());
    }
}

//! What the handlers receive from the state machine, and the state they hand over.
//!
//! The state machine passes `{"state.$": "$", "executionId.$": "$$.Execution.Id"}` (plus the Map
//! item as `configuration` for the Executor), so every handler can derive the run id even when
//! the Initializer left nothing in the state. A handler invoked directly with the bare state (as
//! the original's were) works too.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::versions::VersionList;

/// One handler invocation's input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HandlerEvent {
    /// The state machine's state (the execution input plus state keys).
    pub state: Value,
    /// `$$.Execution.Id` (or name), when the state machine passed it.
    pub execution_id: Option<String>,
    /// The Map item (Executor only).
    pub configuration: Option<Value>,
}

impl HandlerEvent {
    /// Reads either the wrapped form or a bare state.
    pub fn from_value(value: Value) -> HandlerEvent {
        let wrapped = value.as_object().is_some_and(|o| {
            o.get("state").is_some_and(Value::is_object)
                && !o.contains_key("lambdaARN")
                && (o.contains_key("executionId") || o.contains_key("configuration"))
        });
        if !wrapped {
            return HandlerEvent {
                state: value,
                execution_id: None,
                configuration: None,
            };
        }
        let mut object = match value {
            Value::Object(o) => o,
            _ => serde_json::Map::new(),
        };
        HandlerEvent {
            state: object.remove("state").unwrap_or(Value::Null),
            execution_id: object
                .remove("executionId")
                .and_then(|v| v.as_str().map(str::to_string)),
            configuration: object.remove("configuration"),
        }
    }

    /// A key of the state.
    pub fn state_key(&self, key: &str) -> Option<&Value> {
        self.state.get(key).filter(|v| !v.is_null())
    }
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
    pub architecture: String,
}

/// One Map item: a memory size and the versions published for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    /// Memory size (MB).
    pub power: u32,
    /// Versions to invoke (one, or `num` with `onlyColdStarts`).
    pub versions: VersionList,
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
    /// The resolved power values.
    pub power_values: Vec<u32>,
    /// `$LATEST` before the run.
    pub original: OriginalConfig,
    /// What the Map iterates over, in power-value order.
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

    /// Every version recorded, in publishing order.
    pub fn all_versions(&self) -> impl Iterator<Item = u64> + '_ {
        self.configurations
            .iter()
            .flat_map(|c| c.versions.0.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrapped_and_bare_events() {
        let wrapped = HandlerEvent::from_value(
            json!({"state": {"lambdaARN": "a"}, "executionId": "arn:exec", "configuration": {"power": 128, "versions": ["3"]}}),
        );
        assert_eq!(wrapped.state, json!({"lambdaARN": "a"}));
        assert_eq!(wrapped.execution_id.as_deref(), Some("arn:exec"));
        assert!(wrapped.configuration.is_some());
        let bare = HandlerEvent::from_value(json!({"lambdaARN": "a", "num": 5, "state": {}}));
        assert_eq!(bare.state, json!({"lambdaARN": "a", "num": 5, "state": {}}));
        assert_eq!(bare.execution_id, None);
    }

    #[test]
    fn configurations_round_trip() {
        let value = json!({
            "runId": "0123456789ab", "powerValues": [128, 256],
            "original": {"memorySize": 1024, "description": "d", "architecture": "arm64"},
            "configurations": [{"power": 128, "versions": ["7"]}, {"power": 256, "versions": ["8-9"]}],
            "passes": 1, "iterator": {"index": 2, "count": 2, "continue": false}
        });
        let parsed =
            LambdaConfigurations::from_state(&json!({"lambdaConfigurations": value.clone()}))
                .expect("parses");
        assert_eq!(parsed.all_versions().collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!(serde_json::to_value(&parsed).expect("serialize"), value);
    }
}

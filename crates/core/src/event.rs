//! What the handlers receive from the state machine, and the state they hand over.
//!
//! The state machine passes `{"state.$": "$", "executionId.$": "$$.Execution.Id"}` (plus the Map
//! item as `configuration` for the Executor), so every handler can derive the run id even when
//! the Initializer left nothing in the state. A handler invoked directly with the bare state (as
//! the original's were) works too.

use serde_json::Value;

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
}

//! What `local` and `run` share about the execution input: reading JSON files, and the flags
//! that override the input's keys.

use std::path::Path;

use clap::Args;
use serde_json::{Map, Value, json};

/// Input keys that `local` and `run` both take as flags.
#[derive(Debug, Clone, Default, Args)]
pub struct InputFlags {
    /// `powerValues`: memory sizes to try (overrides the input's).
    #[arg(long, value_delimiter = ',')]
    pub power_values: Option<Vec<u32>>,
    /// `num`: invocations per memory size (overrides the input's).
    #[arg(long)]
    pub num: Option<u32>,
    /// `strategy`: cost, speed or balanced (overrides the input's).
    #[arg(long, value_parser = ["cost", "speed", "balanced"])]
    pub strategy: Option<String>,
}

impl InputFlags {
    /// Sets the given flags on the input object.
    pub fn apply(&self, object: &mut Map<String, Value>) {
        if let Some(values) = &self.power_values {
            object.insert("powerValues".into(), json!(values));
        }
        if let Some(num) = self.num {
            object.insert("num".into(), json!(num));
        }
        if let Some(strategy) = &self.strategy {
            object.insert("strategy".into(), json!(strategy));
        }
    }
}

/// The input file's object (empty without a file).
pub fn input_object(file: Option<Value>) -> Result<Map<String, Value>, String> {
    match file {
        None => Ok(Map::new()),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err("the input must be a JSON object".into()),
    }
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", path.display()))
}

//! The state machine definition (embedded from `statemachine/statemachine.asl.json`) and its
//! `DefinitionSubstitutions`, as SAM applies them.

use std::collections::BTreeMap;

/// The definition with `${...}` placeholders.
pub const DEFINITION: &str = include_str!("../../../statemachine/statemachine.asl.json");

/// The five handlers, in state order; binary names = function names.
pub use power_tuning_functions::HANDLERS;

/// The template's default `totalExecutionTimeout`.
pub const DEFAULT_TIMEOUT: u32 = 300;

/// The `${name}` placeholders of a text, in order of first appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].to_string();
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end..];
    }
    out
}

/// Replaces every placeholder; a placeholder without a value is an error.
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = text.to_string();
    for name in placeholders(text) {
        let value = values
            .get(&name)
            .ok_or_else(|| format!("no substitution for ${{{name}}}"))?;
        out = out.replace(&format!("${{{name}}}"), value);
    }
    Ok(out)
}

/// The template's substitutions for handlers at `arn_of(name)`.
pub fn substitutions(arn_of: impl Fn(&str) -> String, timeout: u32) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = HANDLERS
        .iter()
        .map(|h| (format!("{h}Arn"), arn_of(h)))
        .collect();
    values.insert("totalExecutionTimeout".to_string(), timeout.to_string());
    values
}

/// The definition ready for CreateStateMachine.
pub fn definition(arn_of: impl Fn(&str) -> String, timeout: u32) -> Result<String, String> {
    substitute(DEFINITION, &substitutions(arn_of, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_every_placeholder() {
        let text = definition(
            |h| format!("arn:aws:lambda:us-east-1:123456789012:function:{h}"),
            120,
        )
        .expect("complete");
        assert!(!text.contains("${"));
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            json["States"]["Initializer"]["Resource"],
            "arn:aws:lambda:us-east-1:123456789012:function:initializer"
        );
        assert_eq!(json["States"]["Initializer"]["TimeoutSeconds"], 120);
        assert!(
            substitute(
                "${a} ${b}",
                &BTreeMap::from([("a".to_string(), "1".to_string())])
            )
            .is_err()
        );
    }
}

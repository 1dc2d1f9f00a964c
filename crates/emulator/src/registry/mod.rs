//! Functions, versions and aliases: the emulated control-plane state, with Lambda's rules on
//! the model ([`function`]), what a function is made of ([`spec`]) and its `LoggingConfig`
//! ([`logging`]).

mod function;
mod logging;
mod refusal;
mod spec;

use std::collections::BTreeMap;

pub use function::{Alias, ConfigChange, Function, Resolved, Snapshot};
pub use logging::{LogFormat, LogLevel, Logging};
pub use refusal::Refusal;
pub use spec::{Architecture, FunctionSpec, valid_name};

/// All functions.
#[derive(Debug, Default)]
pub struct Registry {
    /// By name.
    pub functions: BTreeMap<String, Function>,
}

impl Registry {
    /// Σ reserved concurrency of every function.
    pub fn reserved_total(&self) -> u32 {
        self.reserved_except(None)
    }

    /// Σ reserved concurrency of every function but `name`.
    fn reserved_except(&self, name: Option<&str>) -> u32 {
        self.functions
            .iter()
            .filter(|(n, _)| Some(n.as_str()) != name)
            .filter_map(|(_, f)| f.reserved_concurrency)
            .fold(0, u32::saturating_add)
    }

    /// `PutFunctionConcurrency` of `name` to `value` in an account of `limit` (0: unlimited):
    /// at least the account minimum must stay unreserved, 100 or the limit when it is lower
    /// (API reference, `PutFunctionConcurrency`; the error message is Lambda's).
    pub fn reserve(
        &mut self,
        name: &str,
        value: &serde_json::Value,
        limit: u32,
    ) -> Result<u32, Refusal> {
        let reserved = value
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| Refusal::Invalid(format!(
                "1 validation error detected: Value '{value}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"
            )))?;
        let others = self.reserved_except(Some(name));
        let minimum = limit.min(100);
        if limit > 0
            && reserved > 0
            && limit.saturating_sub(others.saturating_add(reserved)) < minimum
        {
            return Err(Refusal::Invalid(format!(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )));
        }
        let function = self
            .functions
            .get_mut(name)
            .ok_or_else(|| Refusal::function_not_found(name))?;
        function.reserved_concurrency = Some(reserved);
        Ok(reserved)
    }
}

/// Splits a `FunctionName` parameter: a name, `name:qualifier`, a full or partial ARN.
pub fn split_function_name(raw: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] => (name.to_string(), None),
        ["arn", _, "lambda", _, _, "function", name, q] => (name.to_string(), Some(q.to_string())),
        [_account, "function", name] => (name.to_string(), None),
        [_account, "function", name, q] => (name.to_string(), Some(q.to_string())),
        [name, q] => (name.to_string(), Some(q.to_string())),
        _ => (raw.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_in_every_form() {
        assert_eq!(split_function_name("f"), ("f".into(), None));
        assert_eq!(split_function_name("f:3"), ("f".into(), Some("3".into())));
        assert_eq!(
            split_function_name("arn:aws-cn:lambda:cn-north-1:123456789012:function:f"),
            ("f".into(), None)
        );
        assert_eq!(
            split_function_name("arn:aws:lambda:eu-west-1:123456789012:function:f:live"),
            ("f".into(), Some("live".into()))
        );
        assert_eq!(
            split_function_name("123456789012:function:f"),
            ("f".into(), None)
        );
    }
}

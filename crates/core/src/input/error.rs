//! Why an input is invalid (SPEC §2, §8–§14): every message is the contract's, so tests and
//! users match them to the byte. An invalid input is refused before anything changes.

use serde_json::Value;

use crate::arn::InvalidArn;
use crate::payload::PayloadError;

/// Largest `num` (SPEC §12): more is a typo that would invoke the target for the whole timeout.
pub const MAX_NUM: u32 = 100_000;

/// Renders a JSON value the way the original's messages show it: strings raw, others as JSON,
/// integral numbers without a fraction.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// An invalid execution input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// No `lambdaARN`.
    #[error("Missing or empty lambdaARN")]
    MissingLambdaArn,
    /// A value that is not an unqualified function ARN.
    #[error(transparent)]
    Arn(#[from] InvalidArn),
    /// No `num`, or below 5.
    #[error("Missing num or num below 5")]
    MissingNum,
    /// `num` above [`MAX_NUM`].
    #[error("Invalid num: {0} (at most {MAX_NUM})")]
    NumTooLarge(String),
    /// A power value out of 128..10240 or not a whole number.
    #[error("Invalid power value: {0}")]
    PowerValue(String),
    /// A key's value that is not what the key takes.
    #[error("Invalid {key}: {value}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// The value, as the messages show it.
        value: String,
    },
    /// `autoOptimize` with `compareWith`.
    #[error("autoOptimize applies to one function: remove compareWith or autoOptimize")]
    AutoOptimizeWithCompareWith,
    /// `assumeRoleARN` in another account than a target.
    #[error("assumeRoleARN is in account {role_account} but {target} is in account {account}")]
    RoleAccount {
        /// The role's account.
        role_account: String,
        /// The target in another account.
        target: String,
        /// Its account.
        account: String,
    },
    /// `requireSignificance` without `autoOptimize`.
    #[error("requireSignificance needs autoOptimize")]
    RequireSignificanceWithoutAutoOptimize,
    /// A payload that cannot be planned, or a `payloadS3` path.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// An inline payload that would take the state over Step Functions' limit.
    #[error(
        "The payload is {0} bytes: with it the execution state would exceed Step Functions' 256 KiB limit (the input is carried through every state). Put the payload in S3 and pass payloadS3 instead."
    )]
    PayloadTooLarge(usize),
    /// A run whose state would exceed Step Functions' limit.
    #[error(
        "{configurations} memory sizes with {versions} versions would make the execution state exceed Step Functions' 256 KiB limit (about {estimate} bytes). Use fewer memory sizes or targets, a smaller num with onlyColdStarts, or move a large payload to S3 with payloadS3."
    )]
    StateTooLarge {
        /// Configurations (Map items).
        configurations: usize,
        /// Versions to publish.
        versions: usize,
        /// The state's estimated size.
        estimate: usize,
    },
    /// One of the state machine's own keys in the user's input.
    #[error("Reserved key in input: {0}")]
    ReservedKey(&'static str),
    /// A continuation state that is not this run's plan.
    #[error("Invalid lambdaConfigurations: {0}")]
    LambdaConfigurations(&'static str),
    /// More versions than a state can count.
    #[error("Too many versions to publish")]
    TooManyVersions,
    /// A target whose reserved concurrency is 0 (SPEC §14).
    #[error("{0} has reserved concurrency 0: it cannot be invoked")]
    ReservedConcurrencyZero(String),
}

impl InputError {
    /// `Invalid <key>: <value>`, the value shown as the original's messages show it.
    pub fn invalid(key: &'static str, value: &Value) -> InputError {
        InputError::Invalid {
            key,
            value: display_value(value),
        }
    }
}

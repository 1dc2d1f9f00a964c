//! Reading one key of an input object: JSON `null` is absent, booleans may be the strings
//! `"true"`/`"false"`, whole numbers and decimals may be numeric strings (SPEC §2).

use serde_json::{Map, Value};

use super::error::{InputError, display_value};
use crate::arn::{FunctionArn, InvalidArn};

/// The value of `key`, treating JSON `null` as absent.
pub(super) fn get<'a>(state: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    state.get(key).filter(|v| !v.is_null())
}

/// A boolean key: JSON booleans or the strings "true"/"false"; absent → false.
pub(super) fn boolean(state: &Map<String, Value>, key: &'static str) -> Result<bool, InputError> {
    match get(state, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(other) => Err(InputError::invalid(key, other)),
    }
}

/// A whole number from a JSON number with no fraction or a decimal-integer string.
pub(super) fn whole_number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    }
}

/// A decimal number from a JSON number or a numeric string.
pub(super) fn decimal(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// An optional decimal key within `range`, else `Invalid <key>: <value>`.
pub(super) fn decimal_in(
    state: &Map<String, Value>,
    key: &'static str,
    valid: impl Fn(f64) -> bool,
) -> Result<Option<f64>, InputError> {
    get(state, key)
        .map(|v| {
            decimal(v)
                .filter(|d| valid(*d))
                .ok_or_else(|| InputError::invalid(key, v))
        })
        .transpose()
}

/// An optional function ARN key (empty is absent).
pub(super) fn function_arn(
    state: &Map<String, Value>,
    key: &str,
) -> Result<Option<FunctionArn>, InputError> {
    match get(state, key) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(value) => parse_arn(value).map(Some),
    }
}

/// A function ARN, else `Invalid ARN: …`.
pub(super) fn parse_arn(value: &Value) -> Result<FunctionArn, InputError> {
    value
        .as_str()
        .and_then(FunctionArn::parse)
        .ok_or_else(|| InvalidArn(display_value(value)).into())
}

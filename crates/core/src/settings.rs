//! Function configuration from the environment (SPEC §5), with built-in defaults equal to the
//! template's, so a binary also runs with none of the variables set.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::architecture::Architecture;

/// Default `defaultPowerValues` (the template's `PowerValues` default).
pub const DEFAULT_POWER_VALUES: [u32; 6] = [128, 256, 512, 1024, 1536, 3008];
/// Default `visualizationURL`.
pub const DEFAULT_VISUALIZATION_URL: &str = "https://lambda-power-tuning.show/";
/// Default `baseCosts`: $ per ms at 128 MB, per architecture and region.
pub const DEFAULT_BASE_COSTS: &str = r#"{"x86_64": {"ap-east-1": 2.9e-9, "af-south-1": 2.8e-9, "me-south-1": 2.6e-9, "eu-south-1": 2.4e-9, "ap-northeast-3": 2.7e-9, "cn-north-1": 1.42e-8, "cn-northwest-1": 1.42e-8, "default": 2.1e-9}, "arm64": {"default": 1.7e-9}}"#;
/// Default `sfCosts`: $ per Step Functions state transition, per region.
pub const DEFAULT_SF_COSTS: &str = r#"{"default": 0.000025, "us-gov-west-1": 0.00003, "us-gov-east-1": 0.00003, "ap-northeast-2": 0.0000271, "eu-south-1": 0.00002625, "af-south-1": 0.00002975, "us-west-1": 0.0000279, "eu-west-3": 0.0000297, "ap-east-1": 0.0000275, "me-south-1": 0.0000275, "ap-south-1": 0.0000285, "sa-east-1": 0.0000375, "cn-north-1": 0.0001891, "cn-northwest-1": 0.0001891}"#;
/// Default `requestCost`: Lambda's request charge, $ per request.
pub const DEFAULT_REQUEST_COST: f64 = 2e-7;
/// Default `totalExecutionTimeout` (s), the template's.
pub const DEFAULT_TOTAL_EXECUTION_TIMEOUT: u64 = 300;
/// The handlers' memory when `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` is not set (the template's).
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Region used when `AWS_REGION` is not set (only outside Lambda).
pub const DEFAULT_REGION: &str = "us-east-1";

/// A price table: region → price, with a `default` entry.
pub type PriceMap = BTreeMap<String, f64>;

/// The tuner's own configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Power values used when the input has none.
    pub default_power_values: Vec<u32>,
    /// Lambda base price per architecture.
    pub base_costs: BTreeMap<Architecture, PriceMap>,
    /// Step Functions price per transition.
    pub sf_costs: PriceMap,
    /// Base URL of the web visualization.
    pub visualization_url: String,
    /// The tuner's own region (`AWS_REGION`).
    pub region: String,
    /// Lambda's request charge, $ per request (`requestCost`).
    pub request_cost: f64,
    /// The deployment's `totalExecutionTimeout` (s): a run marker younger than this may belong
    /// to a live run.
    pub total_execution_timeout: u64,
    /// The handler's own memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, MB): what an Executor's
    /// kept responses must fit in.
    pub memory_mb: u32,
}

/// A malformed environment variable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Invalid environment variable {name}: {reason}")]
pub struct SettingsError {
    /// Variable name.
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: SettingsProblem,
}

/// What is wrong with a variable's value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsProblem {
    /// A list item that is not a whole number.
    #[error("not a power value: {0}")]
    NotAPowerValue(String),
    /// A power value outside 128..10240.
    #[error("power value out of range: {0}")]
    PowerOutOfRange(u32),
    /// Text that is not JSON.
    #[error("{0}")]
    Json(String),
    /// JSON that is not an object of the expected entries.
    #[error("expected a JSON object of {0}")]
    NotAnObject(&'static str),
    /// A `baseCosts` key that is not a Lambda architecture.
    #[error("unknown architecture: {0}")]
    UnknownArchitecture(String),
    /// A region's price that is not a non-negative number.
    #[error("price for {0} is not a number")]
    PriceNotANumber(String),
    /// A price map without `default`.
    #[error("missing \"default\" price")]
    MissingDefault,
    /// `requestCost` that is not a non-negative number.
    #[error("not a price: {0}")]
    NotAPrice(String),
    /// `totalExecutionTimeout` that is not a whole number of seconds.
    #[error("not a number of seconds: {0}")]
    NotSeconds(String),
}

impl SettingsProblem {
    /// The problem as the error of variable `name`.
    fn of(name: &'static str) -> impl FnOnce(SettingsProblem) -> SettingsError {
        move |reason| SettingsError { name, reason }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_lookup(|_| None).unwrap_or_else(|_| unreachable_defaults())
    }
}

// The built-in defaults are constants that parse; this is only reached if they were edited badly.
fn unreachable_defaults() -> Settings {
    Settings {
        default_power_values: DEFAULT_POWER_VALUES.to_vec(),
        base_costs: BTreeMap::new(),
        sf_costs: PriceMap::new(),
        visualization_url: DEFAULT_VISUALIZATION_URL.to_string(),
        region: DEFAULT_REGION.to_string(),
        request_cost: DEFAULT_REQUEST_COST,
        total_execution_timeout: DEFAULT_TOTAL_EXECUTION_TIMEOUT,
        memory_mb: DEFAULT_MEMORY_MB,
    }
}

impl Settings {
    /// Reads the settings through `lookup` (for example `std::env::var(..).ok()`).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let default_power_values = match get("defaultPowerValues") {
            None => DEFAULT_POWER_VALUES.to_vec(),
            Some(list) => {
                parse_power_list(&list).map_err(SettingsProblem::of("defaultPowerValues"))?
            }
        };
        let base_costs_text = get("baseCosts").unwrap_or_else(|| DEFAULT_BASE_COSTS.to_string());
        let base_costs =
            parse_base_costs(&base_costs_text).map_err(SettingsProblem::of("baseCosts"))?;
        let sf_text = get("sfCosts").unwrap_or_else(|| DEFAULT_SF_COSTS.to_string());
        let sf_costs = serde_json::from_str::<Value>(&sf_text)
            .map_err(|e| SettingsProblem::Json(e.to_string()))
            .and_then(|v| parse_price_map(&v))
            .map_err(SettingsProblem::of("sfCosts"))?;
        Ok(Settings {
            default_power_values,
            base_costs,
            sf_costs,
            visualization_url: get("visualizationURL")
                .unwrap_or_else(|| DEFAULT_VISUALIZATION_URL.to_string()),
            region: get("AWS_REGION").unwrap_or_else(|| DEFAULT_REGION.to_string()),
            request_cost: match get("requestCost") {
                None => DEFAULT_REQUEST_COST,
                Some(text) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|c| c.is_finite() && *c >= 0.0)
                    .ok_or_else(|| SettingsError {
                        name: "requestCost",
                        reason: SettingsProblem::NotAPrice(text.clone()),
                    })?,
            },
            total_execution_timeout: match get("totalExecutionTimeout") {
                None => DEFAULT_TOTAL_EXECUTION_TIMEOUT,
                Some(text) => text.trim().parse::<u64>().map_err(|_| SettingsError {
                    name: "totalExecutionTimeout",
                    reason: SettingsProblem::NotSeconds(text.clone()),
                })?,
            },
            memory_mb: get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .and_then(|text| text.trim().parse::<u32>().ok())
                .filter(|mb| *mb >= crate::input::MIN_POWER)
                .unwrap_or(DEFAULT_MEMORY_MB),
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }
}

fn parse_power_list(list: &str) -> Result<Vec<u32>, SettingsProblem> {
    let mut values = Vec::new();
    for item in list.split(',') {
        let value: u32 = item
            .trim()
            .parse()
            .map_err(|_| SettingsProblem::NotAPowerValue(item.trim().to_string()))?;
        if !(crate::input::MIN_POWER..=crate::input::MAX_POWER).contains(&value) {
            return Err(SettingsProblem::PowerOutOfRange(value));
        }
        if !values.contains(&value) {
            values.push(value);
        }
    }
    Ok(values)
}

fn parse_base_costs(text: &str) -> Result<BTreeMap<Architecture, PriceMap>, SettingsProblem> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| SettingsProblem::Json(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or(SettingsProblem::NotAnObject("architectures"))?;
    object
        .iter()
        .map(|(name, prices)| {
            let arch = name
                .parse::<Architecture>()
                .map_err(|_| SettingsProblem::UnknownArchitecture(name.clone()))?;
            Ok((arch, parse_price_map(prices)?))
        })
        .collect()
}

fn parse_price_map(value: &Value) -> Result<PriceMap, SettingsProblem> {
    let object = value
        .as_object()
        .ok_or(SettingsProblem::NotAnObject("prices"))?;
    let map = object
        .iter()
        .map(|(region, price)| {
            price
                .as_f64()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .map(|p| (region.clone(), p))
                .ok_or_else(|| SettingsProblem::PriceNotANumber(region.clone()))
        })
        .collect::<Result<PriceMap, SettingsProblem>>()?;
    if !map.contains_key("default") {
        return Err(SettingsProblem::MissingDefault);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_environment() {
        let s = Settings::from_lookup(|_| None).expect("defaults parse");
        assert_eq!(
            s.default_power_values,
            vec![128, 256, 512, 1024, 1536, 3008]
        );
        assert_eq!(s.base_costs[&Architecture::X86_64]["default"], 2.1e-9);
        assert_eq!(s.base_costs[&Architecture::X86_64]["cn-north-1"], 1.42e-8);
        assert_eq!(s.base_costs[&Architecture::Arm64]["default"], 1.7e-9);
        assert_eq!(s.sf_costs["default"], 0.000025);
        assert_eq!(s.sf_costs["sa-east-1"], 0.0000375);
        assert_eq!(s.visualization_url, "https://lambda-power-tuning.show/");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.request_cost, 2e-7);
        assert_eq!(s.total_execution_timeout, 300);
        assert_eq!(Settings::default(), s);
    }

    #[test]
    fn environment_overrides() {
        let s = Settings::from_lookup(|name| match name {
            "defaultPowerValues" => Some("512, 1024,512".into()),
            "baseCosts" => Some(r#"{"x86_64": {"default": 3e-9}}"#.into()),
            "sfCosts" => Some(r#"{"default": 0.00003}"#.into()),
            "visualizationURL" => Some("https://example.com/".into()),
            "AWS_REGION" => Some("eu-west-1".into()),
            "requestCost" => Some("2.5e-7".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(s.request_cost, 2.5e-7);
        assert_eq!(s.default_power_values, vec![512, 1024]);
        assert_eq!(s.base_costs[&Architecture::X86_64]["default"], 3e-9);
        assert!(!s.base_costs.contains_key(&Architecture::Arm64));
        assert_eq!(s.sf_costs["default"], 0.00003);
        assert_eq!(s.visualization_url, "https://example.com/");
        assert_eq!(s.region, "eu-west-1");
    }

    #[test]
    fn malformed_environment_is_an_error() {
        let err = Settings::from_lookup(|name| (name == "baseCosts").then(|| "{".into()))
            .expect_err("bad json");
        assert_eq!(err.name, "baseCosts");
        let err = Settings::from_lookup(|name| (name == "sfCosts").then(|| r#"{"x": 1}"#.into()))
            .expect_err("no default");
        assert_eq!(
            err.to_string(),
            "Invalid environment variable sfCosts: missing \"default\" price"
        );
        let err =
            Settings::from_lookup(|name| (name == "defaultPowerValues").then(|| "128,abc".into()))
                .expect_err("bad list");
        assert_eq!(err.name, "defaultPowerValues");
        let err = Settings::from_lookup(|name| (name == "requestCost").then(|| "cheap".into()))
            .expect_err("bad price");
        assert_eq!(
            err.to_string(),
            "Invalid environment variable requestCost: not a price: cheap"
        );
        let err = Settings::from_lookup(|name| {
            (name == "baseCosts").then(|| r#"{"x86-64": {"default": 1e-9}}"#.into())
        })
        .expect_err("typo");
        assert_eq!(
            err.reason,
            SettingsProblem::UnknownArchitecture("x86-64".into())
        );
    }
}

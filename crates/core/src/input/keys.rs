//! The execution input's key names (SPEC §2, §8–§13), owned here: the parser reads them, and
//! [`InputOverrides`], the one struct the command-line tool fills from its flags, writes them.
//! A key renamed here is renamed for both; a field renamed in the struct is a compile error for
//! the tool.

use serde_json::{Map, Value, json};

use crate::strategy::Strategy;

/// `lambdaARN`.
pub const LAMBDA_ARN: &str = "lambdaARN";
/// `num`.
pub const NUM: &str = "num";
/// `powerValues`.
pub const POWER_VALUES: &str = "powerValues";
/// `payload`.
pub const PAYLOAD: &str = "payload";
/// `payloadS3`.
pub const PAYLOAD_S3: &str = "payloadS3";
/// `parallelInvocation`.
pub const PARALLEL_INVOCATION: &str = "parallelInvocation";
/// `maxParallelInvocations`.
pub const MAX_PARALLEL_INVOCATIONS: &str = "maxParallelInvocations";
/// `strategy`.
pub const STRATEGY: &str = "strategy";
/// `balancedWeight`.
pub const BALANCED_WEIGHT: &str = "balancedWeight";
/// `autoOptimize`.
pub const AUTO_OPTIMIZE: &str = "autoOptimize";
/// `autoOptimizeAlias`.
pub const AUTO_OPTIMIZE_ALIAS: &str = "autoOptimizeAlias";
/// `dryRun`.
pub const DRY_RUN: &str = "dryRun";
/// `preProcessorARN`.
pub const PRE_PROCESSOR_ARN: &str = "preProcessorARN";
/// `postProcessorARN`.
pub const POST_PROCESSOR_ARN: &str = "postProcessorARN";
/// `discardTopBottom`.
pub const DISCARD_TOP_BOTTOM: &str = "discardTopBottom";
/// `sleepBetweenRunsMs`.
pub const SLEEP_BETWEEN_RUNS_MS: &str = "sleepBetweenRunsMs";
/// `disablePayloadLogs`.
pub const DISABLE_PAYLOAD_LOGS: &str = "disablePayloadLogs";
/// `includeOutputResults`.
pub const INCLUDE_OUTPUT_RESULTS: &str = "includeOutputResults";
/// `onlyColdStarts`.
pub const ONLY_COLD_STARTS: &str = "onlyColdStarts";
/// `allowedExceptions`.
pub const ALLOWED_EXCEPTIONS: &str = "allowedExceptions";
/// `compareWith`.
pub const COMPARE_WITH: &str = "compareWith";
/// `includeCurrent`.
pub const INCLUDE_CURRENT: &str = "includeCurrent";
/// `responseStreaming`.
pub const RESPONSE_STREAMING: &str = "responseStreaming";
/// `assumeRoleARN`.
pub const ASSUME_ROLE_ARN: &str = "assumeRoleARN";
/// `maxDuration`.
pub const MAX_DURATION: &str = "maxDuration";
/// `durationPercentile`.
pub const DURATION_PERCENTILE: &str = "durationPercentile";
/// `coldStartRatio`.
pub const COLD_START_RATIO: &str = "coldStartRatio";
/// `monthlyInvocations`.
pub const MONTHLY_INVOCATIONS: &str = "monthlyInvocations";
/// `confidenceLevel`.
pub const CONFIDENCE_LEVEL: &str = "confidenceLevel";
/// `requireSignificance`.
pub const REQUIRE_SIGNIFICANCE: &str = "requireSignificance";

/// Values set over an execution input (the command-line tool's flags): every `Some` replaces
/// the input's key, `None` leaves it as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputOverrides {
    /// `lambdaARN`.
    pub lambda_arn: Option<String>,
    /// `compareWith`.
    pub compare_with: Option<Vec<String>>,
    /// `powerValues`.
    pub power_values: Option<Vec<u32>>,
    /// `num`.
    pub num: Option<u32>,
    /// `strategy`.
    pub strategy: Option<Strategy>,
    /// `payload`.
    pub payload: Option<Value>,
    /// `includeCurrent`; with `include_current_default`, set only when the input lacks it.
    pub include_current: Option<bool>,
    /// Whether `include_current` is a default (the input's own key wins) rather than a flag.
    pub include_current_default: bool,
    /// `maxDuration`.
    pub max_duration: Option<f64>,
    /// `durationPercentile`.
    pub duration_percentile: Option<u8>,
    /// `coldStartRatio`.
    pub cold_start_ratio: Option<f64>,
    /// `monthlyInvocations`.
    pub monthly_invocations: Option<u64>,
    /// `responseStreaming`.
    pub response_streaming: Option<bool>,
    /// `confidenceLevel`.
    pub confidence_level: Option<f64>,
    /// `requireSignificance`.
    pub require_significance: Option<bool>,
    /// `autoOptimize`.
    pub auto_optimize: Option<bool>,
    /// `autoOptimizeAlias`.
    pub auto_optimize_alias: Option<String>,
    /// `parallelInvocation`.
    pub parallel_invocation: Option<bool>,
    /// `assumeRoleARN`.
    pub assume_role_arn: Option<String>,
}

impl InputOverrides {
    /// Sets the values on an input object.
    pub fn apply(&self, object: &mut Map<String, Value>) {
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                object.insert(key.to_string(), value);
            }
        };
        set(LAMBDA_ARN, self.lambda_arn.as_ref().map(|v| json!(v)));
        set(
            COMPARE_WITH,
            self.compare_with
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| json!(v)),
        );
        set(POWER_VALUES, self.power_values.as_ref().map(|v| json!(v)));
        set(NUM, self.num.map(|v| json!(v)));
        set(STRATEGY, self.strategy.map(|s| json!(s.name())));
        set(PAYLOAD, self.payload.clone());
        set(MAX_DURATION, self.max_duration.map(|v| json!(v)));
        set(
            DURATION_PERCENTILE,
            self.duration_percentile.map(|v| json!(v)),
        );
        set(COLD_START_RATIO, self.cold_start_ratio.map(|v| json!(v)));
        set(
            MONTHLY_INVOCATIONS,
            self.monthly_invocations.map(|v| json!(v)),
        );
        set(
            RESPONSE_STREAMING,
            self.response_streaming.map(|v| json!(v)),
        );
        set(CONFIDENCE_LEVEL, self.confidence_level.map(|v| json!(v)));
        set(
            REQUIRE_SIGNIFICANCE,
            self.require_significance.map(|v| json!(v)),
        );
        set(AUTO_OPTIMIZE, self.auto_optimize.map(|v| json!(v)));
        set(
            AUTO_OPTIMIZE_ALIAS,
            self.auto_optimize_alias.as_ref().map(|v| json!(v)),
        );
        set(
            PARALLEL_INVOCATION,
            self.parallel_invocation.map(|v| json!(v)),
        );
        set(
            ASSUME_ROLE_ARN,
            self.assume_role_arn.as_ref().map(|v| json!(v)),
        );
        if let Some(include) = self.include_current {
            if self.include_current_default {
                object
                    .entry(INCLUDE_CURRENT.to_string())
                    .or_insert(json!(include));
            } else {
                object.insert(INCLUDE_CURRENT.to_string(), json!(include));
            }
        }
    }

    /// A new input object from these values alone.
    pub fn to_object(&self) -> Map<String, Value> {
        let mut object = Map::new();
        self.apply(&mut object);
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_write_the_keys_the_parser_reads() {
        let overrides = InputOverrides {
            lambda_arn: Some("arn:aws:lambda:us-east-1:123456789012:function:f".into()),
            compare_with: Some(Vec::new()),
            num: Some(20),
            strategy: Some(Strategy::Speed),
            include_current: Some(true),
            include_current_default: true,
            confidence_level: Some(0.99),
            ..InputOverrides::default()
        };
        let mut object = Map::new();
        object.insert(INCLUDE_CURRENT.into(), json!(false));
        overrides.apply(&mut object);
        assert_eq!(
            Value::Object(object.clone()),
            json!({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f", "num": 20,
                "strategy": "speed", "includeCurrent": false, "confidenceLevel": 0.99})
        );
        let input = super::super::TuningInput::from_state(&Value::Object(object), &[128])
            .expect("the parser reads what the overrides wrote");
        assert_eq!((input.num, input.confidence_level), (20, 0.99));
        assert!(
            !input.include_current,
            "the input's own key wins over a default"
        );
    }
}

//! The execution input (SPEC §2): every key validated up front, with the contract's messages.
//!
//! [`TuningInput::from_state`] is the one parser: the Initializer runs it before any Lambda call,
//! and the later handlers run it again on the same state (cheap, and it keeps one source of truth).
//! The key names live in [`keys`], the messages in [`InputError`].

mod error;
pub mod keys;
mod values;

use serde_json::{Map, Value};

use crate::arn::{FunctionArn, RoleArn};
use crate::payload::{self, PayloadSpec, S3Location};
use crate::strategy::Strategy;

pub use error::{InputError, MAX_NUM, display_value};
use keys as k;
pub use keys::InputOverrides;
use values::{boolean, decimal, decimal_in, function_arn, get, parse_arn, whole_number};

/// Smallest memory size Lambda accepts (MB).
pub const MIN_POWER: u32 = 128;
/// Largest memory size Lambda accepts (MB).
pub const MAX_POWER: u32 = 10240;
/// Keys of the state machine's own state, rejected in the user's input.
pub const RESERVED_KEYS: [&str; 4] = ["lambdaConfigurations", "stats", "analysis", "error"];

/// A validated execution input.
#[derive(Debug, Clone, PartialEq)]
pub struct TuningInput {
    /// The function to tune.
    pub lambda_arn: FunctionArn,
    /// Invocations per memory size.
    pub num: u32,
    /// Memory sizes to try, deduplicated, in input order.
    pub power_values: Vec<u32>,
    /// What each invocation sends.
    pub payload: PayloadSpec,
    /// Invoke concurrently instead of in series.
    pub parallel_invocation: bool,
    /// Cap on in-flight invocations per memory size in parallel mode.
    pub max_parallel_invocations: u32,
    /// Strategy used to choose the optimum.
    pub strategy: Strategy,
    /// Weight of cost in the balanced strategy, in [0, 1].
    pub balanced_weight: f64,
    /// Apply the optimum after the run.
    pub auto_optimize: bool,
    /// Alias to point at the optimum.
    pub auto_optimize_alias: Option<String>,
    /// One invocation per memory size, no analysis.
    pub dry_run: bool,
    /// Invoked before every invocation.
    pub pre_processor_arn: Option<FunctionArn>,
    /// Invoked after every invocation.
    pub post_processor_arn: Option<FunctionArn>,
    /// Fraction trimmed from each end before averaging, in [0, 0.4].
    pub discard_top_bottom: f64,
    /// Sleep after each invocation in series mode.
    pub sleep_between_runs_ms: u64,
    /// Keep payloads out of logs and error messages.
    pub disable_payload_logs: bool,
    /// Add per-size stats to the output.
    pub include_output_results: bool,
    /// One version per invocation, so every invocation is a cold start.
    pub only_cold_starts: bool,
    /// Error types that count as success.
    pub allowed_exceptions: Vec<String>,
    /// More functions tuned with the same inputs (SPEC §9), in input order.
    pub compare_with: Vec<FunctionArn>,
    /// Also measure the function's current memory size (SPEC §8).
    pub include_current: bool,
    /// Latency target: only sizes whose constrained percentile is at most this are eligible.
    pub latency_target: Option<LatencyTarget>,
    /// Share of production invocations that are cold starts.
    pub cold_start_ratio: Option<f64>,
    /// Invocations per month, for monthly projections.
    pub monthly_invocations: Option<u64>,
    /// Invoke with `InvokeWithResponseStream` (SPEC §10).
    pub response_streaming: bool,
    /// Call the targets with this role's credentials (SPEC §11).
    pub assume_role_arn: Option<RoleArn>,
    /// The confidence level of the intervals and the verdict (SPEC §13).
    pub confidence_level: f64,
    /// With `autoOptimize`: apply the choice only when its saving against the current
    /// setting is significant (SPEC §13).
    pub require_significance: bool,
}

/// The percentiles a latency target can constrain.
pub const DURATION_PERCENTILES: [u8; 4] = [50, 90, 95, 99];

/// A latency target (SPEC §8): `p<percentile>Duration` ≤ `max_duration` ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyTarget {
    /// 50, 90, 95 or 99.
    pub percentile: u8,
    /// Milliseconds.
    pub max_duration: f64,
}

/// Step Functions' limit on a state's payload (input, output, and so the whole state).
pub const STATE_LIMIT: usize = 256 * 1024;

/// Bytes one executor result (a stat) can take in the state, at most: every figure of a
/// successful size, or a failed size with its error texts (capped, see `output::StatError`).
pub const STAT_BYTES: usize = 1_100;

/// Most functions `compareWith` may add.
pub const MAX_COMPARE_WITH: usize = 4;

/// `lambdaARN`: required, an unqualified function ARN.
fn lambda_arn(state: &Map<String, Value>) -> Result<FunctionArn, InputError> {
    match get(state, k::LAMBDA_ARN) {
        None => Err(InputError::MissingLambdaArn),
        Some(Value::String(s)) if s.is_empty() => Err(InputError::MissingLambdaArn),
        Some(value) => parse_arn(value),
    }
}

/// `num`: a whole number from 5 to [`MAX_NUM`].
fn num(state: &Map<String, Value>) -> Result<u32, InputError> {
    let value = get(state, k::NUM);
    // An integral number too large for an i64 is "too big", not "missing".
    let huge = value
        .and_then(decimal)
        .is_some_and(|f| f.fract() == 0.0 && f > f64::from(MAX_NUM));
    let num = value
        .and_then(whole_number)
        .filter(|n| *n >= 5)
        .or(huge.then_some(i64::MAX))
        .ok_or(InputError::MissingNum)?;
    if num > i64::from(MAX_NUM) {
        return Err(InputError::NumTooLarge(
            value.map(display_value).unwrap_or_default(),
        ));
    }
    Ok(num as u32)
}

/// `compareWith`: 1..4 unqualified function ARNs, none repeated and none the `lambdaARN`.
fn compare_with(
    state: &Map<String, Value>,
    lambda_arn: &FunctionArn,
) -> Result<Vec<FunctionArn>, InputError> {
    let Some(value) = get(state, k::COMPARE_WITH) else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .filter(|items| (1..=MAX_COMPARE_WITH).contains(&items.len()))
        .ok_or_else(|| InputError::invalid(k::COMPARE_WITH, value))?;
    let mut arns: Vec<FunctionArn> = Vec::with_capacity(items.len());
    for item in items {
        let arn = parse_arn(item)?;
        if arn == *lambda_arn || arns.contains(&arn) {
            return Err(InputError::invalid(k::COMPARE_WITH, item));
        }
        arns.push(arn);
    }
    Ok(arns)
}

/// `assumeRoleARN`: a role in the account of every target.
fn assume_role(
    state: &Map<String, Value>,
    targets: &[&FunctionArn],
) -> Result<Option<RoleArn>, InputError> {
    let Some(value) = get(state, k::ASSUME_ROLE_ARN) else {
        return Ok(None);
    };
    let role = value
        .as_str()
        .and_then(RoleArn::parse)
        .ok_or_else(|| InputError::invalid(k::ASSUME_ROLE_ARN, value))?;
    if let Some(other) = targets.iter().find(|t| t.account() != role.account()) {
        return Err(InputError::RoleAccount {
            role_account: role.account().to_string(),
            target: other.to_string(),
            account: other.account().to_string(),
        });
    }
    Ok(Some(role))
}

/// All power values of `"ALL"`: 128 to 3008 in steps of 64.
pub fn all_power_values() -> Vec<u32> {
    (MIN_POWER..=3008).step_by(64).collect()
}

fn power_values(state: &Map<String, Value>, defaults: &[u32]) -> Result<Vec<u32>, InputError> {
    let items = match get(state, k::POWER_VALUES) {
        None => return Ok(defaults.to_vec()),
        Some(Value::String(s)) if s == "ALL" => return Ok(all_power_values()),
        Some(Value::Array(items)) if items.is_empty() => return Ok(defaults.to_vec()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(InputError::PowerValue(display_value(other))),
    };
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let value = whole_number(item)
            .filter(|v| (i64::from(MIN_POWER)..=i64::from(MAX_POWER)).contains(v))
            .ok_or_else(|| InputError::PowerValue(display_value(item)))?;
        let value = value as u32;
        if !values.contains(&value) {
            values.push(value);
        }
    }
    Ok(values)
}

/// Lambda alias names: 1–128 of `[a-zA-Z0-9-_]`, not all digits.
pub fn is_alias_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.chars().all(|c| c.is_ascii_digit())
}

/// The reserved state keys present in a user's input, in the order of [`RESERVED_KEYS`].
pub fn reserved_key(state: &Value) -> Option<&'static str> {
    let object = state.as_object()?;
    RESERVED_KEYS.into_iter().find(|k| object.contains_key(*k))
}

/// `strategy` and `balancedWeight`.
fn strategy(state: &Map<String, Value>) -> Result<(Strategy, f64), InputError> {
    let strategy = match get(state, k::STRATEGY) {
        None => Strategy::Cost,
        Some(value) => value
            .as_str()
            .and_then(Strategy::parse)
            .ok_or_else(|| InputError::invalid(k::STRATEGY, value))?,
    };
    let weight = match get(state, k::BALANCED_WEIGHT) {
        None => 0.5,
        Some(value) => decimal(value)
            .ok_or_else(|| InputError::invalid(k::BALANCED_WEIGHT, value))?
            .clamp(0.0, 1.0),
    };
    Ok((strategy, weight))
}

/// `maxParallelInvocations` (default `num`).
fn max_parallel(state: &Map<String, Value>, num: u32) -> Result<u32, InputError> {
    match get(state, k::MAX_PARALLEL_INVOCATIONS) {
        None => Ok(num),
        Some(value) => whole_number(value)
            .filter(|n| *n >= 1 && *n <= i64::from(u32::MAX))
            .map(|n| n as u32)
            .ok_or_else(|| InputError::invalid(k::MAX_PARALLEL_INVOCATIONS, value)),
    }
}

/// `autoOptimizeAlias`: an alias name, empty is none.
fn alias(state: &Map<String, Value>) -> Result<Option<String>, InputError> {
    match get(state, k::AUTO_OPTIMIZE_ALIAS) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if is_alias_name(s) => Ok(Some(s.clone())),
        Some(other) => Err(InputError::invalid(k::AUTO_OPTIMIZE_ALIAS, other)),
    }
}

/// `discardTopBottom` (0 with `onlyColdStarts`).
fn discard(state: &Map<String, Value>, only_cold_starts: bool) -> Result<f64, InputError> {
    if only_cold_starts {
        return Ok(0.0);
    }
    match get(state, k::DISCARD_TOP_BOTTOM) {
        None => Ok(0.2),
        Some(value) => Ok(decimal(value)
            .ok_or_else(|| InputError::invalid(k::DISCARD_TOP_BOTTOM, value))?
            .clamp(0.0, 0.4)),
    }
}

/// `allowedExceptions`: strings.
fn allowed_exceptions(state: &Map<String, Value>) -> Result<Vec<String>, InputError> {
    match get(state, k::ALLOWED_EXCEPTIONS) {
        None => Ok(Vec::new()),
        Some(value @ Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| InputError::invalid(k::ALLOWED_EXCEPTIONS, value)),
        Some(other) => Err(InputError::invalid(k::ALLOWED_EXCEPTIONS, other)),
    }
}

/// `maxDuration` and `durationPercentile`.
fn latency_target(state: &Map<String, Value>) -> Result<Option<LatencyTarget>, InputError> {
    let max_duration = decimal_in(state, k::MAX_DURATION, |d| d > 0.0)?;
    let percentile = match get(state, k::DURATION_PERCENTILE) {
        None => 99,
        Some(v) => whole_number(v)
            .and_then(|p| u8::try_from(p).ok())
            .filter(|p| DURATION_PERCENTILES.contains(p))
            .ok_or_else(|| InputError::invalid(k::DURATION_PERCENTILE, v))?,
    };
    Ok(max_duration.map(|max_duration| LatencyTarget {
        percentile,
        max_duration,
    }))
}

/// `monthlyInvocations`: a whole number ≥ 0.
fn monthly_invocations(state: &Map<String, Value>) -> Result<Option<u64>, InputError> {
    get(state, k::MONTHLY_INVOCATIONS)
        .map(|v| {
            whole_number(v)
                .and_then(|m| u64::try_from(m).ok())
                .ok_or_else(|| InputError::invalid(k::MONTHLY_INVOCATIONS, v))
        })
        .transpose()
}

/// `payload` or `payloadS3`; weighted payload errors depend on `num`, raised now.
fn payload_spec(state: &Map<String, Value>, num: u32) -> Result<PayloadSpec, InputError> {
    match get(state, k::PAYLOAD_S3) {
        Some(path) => Ok(PayloadSpec::S3(S3Location::parse(path)?)),
        None => {
            let inline = state.get(k::PAYLOAD).cloned();
            payload::PayloadPlan::new(num, inline.as_ref())?;
            Ok(PayloadSpec::Inline(inline))
        }
    }
}

/// `confidenceLevel` and `requireSignificance` (which needs `autoOptimize`).
fn confidence(state: &Map<String, Value>, auto_optimize: bool) -> Result<(f64, bool), InputError> {
    let level = decimal_in(state, k::CONFIDENCE_LEVEL, |l| (0.5..=0.999).contains(&l))?
        .unwrap_or(crate::confidence::DEFAULT_LEVEL);
    let require = boolean(state, k::REQUIRE_SIGNIFICANCE)?;
    if require && !auto_optimize {
        return Err(InputError::RequireSignificanceWithoutAutoOptimize);
    }
    Ok((level, require))
}

impl TuningInput {
    /// Validates a state object (the execution input, possibly with state keys added by the
    /// state machine, which are ignored here). `defaults` are the deploy-time power values.
    pub fn from_state(state: &Value, defaults: &[u32]) -> Result<TuningInput, InputError> {
        let empty = Map::new();
        let state = state.as_object().unwrap_or(&empty);
        let lambda_arn = lambda_arn(state)?;
        let num = num(state)?;
        let power_values = power_values(state, defaults)?;
        let (strategy, balanced_weight) = strategy(state)?;
        let parallel_invocation = boolean(state, k::PARALLEL_INVOCATION)?;
        let auto_optimize = boolean(state, k::AUTO_OPTIMIZE)?;
        let dry_run = boolean(state, k::DRY_RUN)?;
        let disable_payload_logs = boolean(state, k::DISABLE_PAYLOAD_LOGS)?;
        let include_output_results = boolean(state, k::INCLUDE_OUTPUT_RESULTS)?;
        let only_cold_starts = boolean(state, k::ONLY_COLD_STARTS)?;
        let max_parallel_invocations = max_parallel(state, num)?;
        let auto_optimize_alias = alias(state)?;
        let pre_processor_arn = function_arn(state, k::PRE_PROCESSOR_ARN)?;
        let post_processor_arn = function_arn(state, k::POST_PROCESSOR_ARN)?;
        let discard_top_bottom = discard(state, only_cold_starts)?;
        // Like the original's parseInt: non-numeric means no sleep.
        let sleep_between_runs_ms = get(state, k::SLEEP_BETWEEN_RUNS_MS)
            .and_then(decimal)
            .map(|ms| ms.max(0.0).floor().min(u64::MAX as f64) as u64)
            .unwrap_or(0);
        let allowed_exceptions = allowed_exceptions(state)?;
        let compare_with = compare_with(state, &lambda_arn)?;
        if auto_optimize && !compare_with.is_empty() {
            return Err(InputError::AutoOptimizeWithCompareWith);
        }
        let response_streaming = boolean(state, k::RESPONSE_STREAMING)?;
        let targets: Vec<&FunctionArn> =
            std::iter::once(&lambda_arn).chain(&compare_with).collect();
        let assume_role_arn = assume_role(state, &targets)?;
        let latency_target = latency_target(state)?;
        let cold_start_ratio =
            decimal_in(state, k::COLD_START_RATIO, |r| (0.0..=1.0).contains(&r))?;
        let monthly_invocations = monthly_invocations(state)?;
        let (confidence_level, require_significance) = confidence(state, auto_optimize)?;
        // `requireSignificance` measures nothing by itself (SPEC §13): without `includeCurrent`
        // there is no `change.significant`, so the Optimizer changes nothing and says why.
        let include_current = boolean(state, k::INCLUDE_CURRENT)?;
        let payload = payload_spec(state, num)?;
        Ok(TuningInput {
            lambda_arn,
            num,
            power_values,
            payload,
            parallel_invocation,
            max_parallel_invocations,
            strategy,
            balanced_weight,
            auto_optimize,
            auto_optimize_alias,
            dry_run,
            pre_processor_arn,
            post_processor_arn,
            discard_top_bottom,
            sleep_between_runs_ms,
            disable_payload_logs,
            include_output_results,
            only_cold_starts,
            allowed_exceptions,
            compare_with,
            include_current,
            latency_target,
            cold_start_ratio,
            monthly_invocations,
            response_streaming,
            assume_role_arn,
            confidence_level,
            require_significance,
        })
    }
    /// Every target: `lambdaARN` first, then `compareWith` in input order.
    pub fn targets(&self) -> impl Iterator<Item = &FunctionArn> {
        std::iter::once(&self.lambda_arn).chain(&self.compare_with)
    }

    /// Invocations per memory size actually made (1 with `dryRun`).
    pub fn invocations_per_size(&self) -> u32 {
        if self.dry_run { 1 } else { self.num }
    }

    /// Versions published per memory size (`num` with `onlyColdStarts`, else 1).
    pub fn versions_per_size(&self) -> u32 {
        if self.only_cold_starts { self.num } else { 1 }
    }

    /// At most how many configurations (Map items) the run has: every power value of every
    /// target, plus each target's current size with `includeCurrent`.
    pub fn max_configurations(&self) -> usize {
        (self.power_values.len() + usize::from(self.include_current))
            * (1 + self.compare_with.len())
    }

    /// Checks that the run's state fits Step Functions' 256 KiB (SPEC §12), for an execution
    /// input of `input_bytes` (its JSON text). The estimate is an upper bound: the input (carried
    /// through every state), the Initializer's output with every version number written out,
    /// one result per configuration, and the analysis with its copies of them.
    pub fn check_state_size(&self, input_bytes: usize) -> Result<(), InputError> {
        let configurations = self.max_configurations();
        let versions = configurations.saturating_mul(self.versions_per_size() as usize);
        let targets = 1 + self.compare_with.len();
        let initializer = 400 + targets * 900 + configurations * 60 + versions.saturating_mul(10);
        let copies = if self.include_output_results { 3 } else { 1 };
        let results = configurations * STAT_BYTES * copies + targets * 1_500 + 4_000;
        let estimate = input_bytes
            .saturating_add(initializer)
            .saturating_add(results);
        if estimate <= STATE_LIMIT {
            return Ok(());
        }
        let payload_bytes = match &self.payload {
            PayloadSpec::Inline(Some(value)) => value.to_string().len(),
            _ => 0,
        };
        if payload_bytes > 0 && estimate - payload_bytes.min(estimate) <= STATE_LIMIT {
            return Err(InputError::PayloadTooLarge(payload_bytes));
        }
        Err(InputError::StateTooLarge {
            configurations,
            versions,
            estimate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:my-fn";
    const DEFAULTS: [u32; 6] = [128, 256, 512, 1024, 1536, 3008];

    fn parse(mut extra: Value) -> Result<TuningInput, InputError> {
        let object = extra.as_object_mut().expect("object");
        object.entry("lambdaARN").or_insert(json!(ARN));
        object.entry("num").or_insert(json!(10));
        TuningInput::from_state(&extra, &DEFAULTS)
    }

    fn err(extra: Value) -> String {
        parse(extra).expect_err("must be rejected").to_string()
    }

    #[test]
    fn minimal_input_gets_defaults() {
        let input = parse(json!({})).expect("valid");
        assert_eq!(input.lambda_arn.as_str(), ARN);
        assert_eq!(input.num, 10);
        assert_eq!(input.power_values, DEFAULTS.to_vec());
        assert_eq!(input.payload, PayloadSpec::Inline(None));
        assert!(!input.parallel_invocation);
        assert_eq!(input.max_parallel_invocations, 10);
        assert_eq!(input.strategy, Strategy::Cost);
        assert_eq!(input.balanced_weight, 0.5);
        assert!(!input.auto_optimize);
        assert_eq!(input.auto_optimize_alias, None);
        assert!(!input.dry_run);
        assert_eq!(input.pre_processor_arn, None);
        assert_eq!(input.post_processor_arn, None);
        assert_eq!(input.discard_top_bottom, 0.2);
        assert_eq!(input.sleep_between_runs_ms, 0);
        assert!(!input.disable_payload_logs);
        assert!(!input.include_output_results);
        assert!(!input.only_cold_starts);
        assert!(input.allowed_exceptions.is_empty());
        assert!(input.compare_with.is_empty());
        assert!(!input.include_current);
        assert_eq!(input.latency_target, None);
        assert_eq!(input.cold_start_ratio, None);
        assert_eq!(input.monthly_invocations, None);
    }

    #[test]
    fn decision_rows() {
        let input = parse(
            json!({"includeCurrent": true, "maxDuration": 250.5, "durationPercentile": 95,
            "coldStartRatio": 0.05, "monthlyInvocations": 30000000}),
        )
        .expect("valid");
        assert!(input.include_current);
        assert_eq!(
            input.latency_target,
            Some(LatencyTarget {
                percentile: 95,
                max_duration: 250.5
            })
        );
        assert_eq!(input.cold_start_ratio, Some(0.05));
        assert_eq!(input.monthly_invocations, Some(30_000_000));
        // Defaults: p99; numeric strings as for the other numbers.
        assert_eq!(
            parse(json!({"maxDuration": "100"}))
                .expect("p99")
                .latency_target,
            Some(LatencyTarget {
                percentile: 99,
                max_duration: 100.0
            })
        );
        assert_eq!(
            parse(json!({"durationPercentile": 50}))
                .expect("no target")
                .latency_target,
            None
        );
        assert_eq!(
            parse(json!({"coldStartRatio": 0}))
                .expect("0")
                .cold_start_ratio,
            Some(0.0)
        );
        assert_eq!(
            parse(json!({"coldStartRatio": 1}))
                .expect("1")
                .cold_start_ratio,
            Some(1.0)
        );
        assert_eq!(
            parse(json!({"monthlyInvocations": 0}))
                .expect("0")
                .monthly_invocations,
            Some(0)
        );
        for (key, bad, message) in [
            (
                "includeCurrent",
                json!("yes"),
                "Invalid includeCurrent: yes",
            ),
            ("maxDuration", json!(0), "Invalid maxDuration: 0"),
            ("maxDuration", json!(-5), "Invalid maxDuration: -5"),
            ("maxDuration", json!("fast"), "Invalid maxDuration: fast"),
            ("maxDuration", json!([100]), "Invalid maxDuration: [100]"),
            (
                "durationPercentile",
                json!(75),
                "Invalid durationPercentile: 75",
            ),
            (
                "durationPercentile",
                json!(99.5),
                "Invalid durationPercentile: 99.5",
            ),
            (
                "durationPercentile",
                json!("p99"),
                "Invalid durationPercentile: p99",
            ),
            ("coldStartRatio", json!(1.5), "Invalid coldStartRatio: 1.5"),
            (
                "coldStartRatio",
                json!(-0.1),
                "Invalid coldStartRatio: -0.1",
            ),
            (
                "coldStartRatio",
                json!("some"),
                "Invalid coldStartRatio: some",
            ),
            (
                "monthlyInvocations",
                json!(-1),
                "Invalid monthlyInvocations: -1",
            ),
            (
                "monthlyInvocations",
                json!(1.5),
                "Invalid monthlyInvocations: 1.5",
            ),
            (
                "monthlyInvocations",
                json!("many"),
                "Invalid monthlyInvocations: many",
            ),
        ] {
            assert_eq!(err(json!({ key: bad })), message, "{key}");
        }
    }

    #[test]
    fn confidence_rows() {
        let input = parse(json!({})).expect("defaults");
        assert_eq!(
            (input.confidence_level, input.require_significance),
            (0.95, false)
        );
        assert_eq!(
            parse(json!({"confidenceLevel": "0.99"}))
                .expect("0.99")
                .confidence_level,
            0.99
        );
        for edge in [0.5, 0.999] {
            assert_eq!(
                parse(json!({"confidenceLevel": edge}))
                    .expect("edge")
                    .confidence_level,
                edge
            );
        }
        // requireSignificance adds no size by itself: includeCurrent stays the input's (SPEC §13).
        let strict = parse(json!({"autoOptimize": true, "requireSignificance": "true"}))
            .expect("with autoOptimize");
        assert!(strict.require_significance && !strict.include_current);
        for (bad, message) in [
            (
                json!({"confidenceLevel": 0.45}),
                "Invalid confidenceLevel: 0.45",
            ),
            (json!({"confidenceLevel": 1}), "Invalid confidenceLevel: 1"),
            (
                json!({"confidenceLevel": "high"}),
                "Invalid confidenceLevel: high",
            ),
            (
                json!({"requireSignificance": true}),
                "requireSignificance needs autoOptimize",
            ),
            (
                json!({"requireSignificance": "sure", "autoOptimize": true}),
                "Invalid requireSignificance: sure",
            ),
        ] {
            assert_eq!(err(bad.clone()), message, "{bad}");
        }
        // false needs nothing.
        assert!(parse(json!({"requireSignificance": false})).is_ok());
    }

    #[test]
    fn assume_role_rows() {
        let role = "arn:aws:iam::123456789012:role/tuner";
        assert_eq!(
            parse(json!({"assumeRoleARN": role}))
                .expect("valid")
                .assume_role_arn
                .map(|r| r.to_string()),
            Some(role.to_string())
        );
        assert_eq!(
            err(json!({"assumeRoleARN": "tuner"})),
            "Invalid assumeRoleARN: tuner"
        );
        assert_eq!(err(json!({"assumeRoleARN": 7})), "Invalid assumeRoleARN: 7");
        assert_eq!(
            err(json!({"assumeRoleARN": "arn:aws:iam::999999999999:role/tuner"})),
            format!(
                "assumeRoleARN is in account 999999999999 but {ARN} is in account 123456789012"
            )
        );
        let elsewhere = "arn:aws:lambda:eu-west-1:222222222222:function:f";
        assert_eq!(
            err(json!({"assumeRoleARN": role, "compareWith": [elsewhere]})),
            format!(
                "assumeRoleARN is in account 123456789012 but {elsewhere} is in account 222222222222"
            )
        );
        assert_eq!(
            parse(json!({"assumeRoleARN": null}))
                .expect("absent")
                .assume_role_arn,
            None
        );
    }

    #[test]
    fn compare_with_rows() {
        let b = "arn:aws:lambda:eu-west-1:123456789012:function:fn-arm";
        let c = "arn:aws:lambda:eu-west-1:123456789012:function:fn-c";
        let input = parse(json!({"compareWith": [b, c]})).expect("valid");
        assert_eq!(
            input.targets().map(FunctionArn::as_str).collect::<Vec<_>>(),
            vec![ARN, b, c]
        );
        assert_eq!(err(json!({"compareWith": []})), "Invalid compareWith: []");
        assert_eq!(
            err(json!({"compareWith": b})),
            format!("Invalid compareWith: {b}")
        );
        let five: Vec<String> = (0..5)
            .map(|i| format!("arn:aws:lambda:eu-west-1:123456789012:function:f{i}"))
            .collect();
        assert!(err(json!({"compareWith": five})).starts_with("Invalid compareWith: [\"arn:aws"));
        assert_eq!(
            err(json!({"compareWith": [b, b]})),
            format!("Invalid compareWith: {b}")
        );
        assert_eq!(
            err(json!({"compareWith": [ARN]})),
            format!("Invalid compareWith: {ARN}")
        );
        assert_eq!(
            err(json!({"compareWith": ["fn-arm"]})),
            "Invalid ARN: fn-arm (expected an unqualified function ARN: arn:<partition>:lambda:<region>:<account-id>:function:<name>)"
        );
        assert_eq!(
            err(json!({"compareWith": [b], "autoOptimize": true})),
            "autoOptimize applies to one function: remove compareWith or autoOptimize"
        );
        assert_eq!(
            parse(json!({"compareWith": null}))
                .expect("absent")
                .compare_with,
            vec![]
        );
    }

    #[test]
    fn lambda_arn_row() {
        for missing in [
            json!({"num": 10}),
            json!({"num": 10, "lambdaARN": ""}),
            json!({"num": 10, "lambdaARN": null}),
        ] {
            assert_eq!(
                TuningInput::from_state(&missing, &DEFAULTS).expect_err("missing"),
                InputError::MissingLambdaArn
            );
        }
        assert_eq!(
            err(json!({"lambdaARN": "my-function"})),
            "Invalid ARN: my-function (expected an unqualified function ARN: arn:<partition>:lambda:<region>:<account-id>:function:<name>)"
        );
        assert_eq!(
            err(json!({"lambdaARN": format!("{ARN}:prod")})),
            format!(
                "Invalid ARN: {ARN}:prod (expected an unqualified function ARN: arn:<partition>:lambda:<region>:<account-id>:function:<name>)"
            )
        );
        assert!(err(json!({"lambdaARN": 42})).starts_with("Invalid ARN: 42 (expected"));
        let gov = "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f";
        assert_eq!(
            parse(json!({"lambdaARN": gov}))
                .expect("gov")
                .lambda_arn
                .region(),
            "us-gov-west-1"
        );
    }

    #[test]
    fn num_row() {
        assert_eq!(parse(json!({"num": "10"})).expect("string").num, 10);
        assert_eq!(parse(json!({"num": 5})).expect("five").num, 5);
        assert_eq!(parse(json!({"num": 20.0})).expect("integral float").num, 20);
        for bad in [
            json!(4),
            json!("4"),
            json!("ten"),
            json!(null),
            json!(-10),
            json!(7.5),
            json!(true),
            json!([10]),
        ] {
            let state = json!({"lambdaARN": ARN, "num": bad});
            assert_eq!(
                TuningInput::from_state(&state, &DEFAULTS).expect_err("bad num"),
                InputError::MissingNum
            );
        }
        assert_eq!(
            TuningInput::from_state(&json!({"lambdaARN": ARN}), &DEFAULTS).expect_err("missing"),
            InputError::MissingNum
        );
        assert_eq!(
            parse(json!({"num": 100_000})).expect("at the limit").num,
            100_000
        );
        for (big, shown) in [
            (json!(100_001), "100001"),
            (json!(4_000_000_000u64), "4000000000"),
            (json!("99999999999"), "99999999999"),
            (json!(1e300), "1e+300"),
        ] {
            assert_eq!(
                err(json!({ "num": big })),
                format!("Invalid num: {shown} (at most 100000)")
            );
        }
    }

    #[test]
    fn power_values_row() {
        let all = parse(json!({"powerValues": "ALL"}))
            .expect("ALL")
            .power_values;
        assert_eq!(all.len(), 46);
        assert_eq!(all[0], 128);
        assert_eq!(all[45], 3008);
        assert!(all.windows(2).all(|w| w[1] - w[0] == 64));
        assert_eq!(
            parse(json!({"powerValues": []}))
                .expect("empty")
                .power_values,
            DEFAULTS.to_vec()
        );
        assert_eq!(
            parse(json!({"powerValues": [512, 128, 512, "1024", 10240]}))
                .expect("dedupe")
                .power_values,
            vec![512, 128, 1024, 10240]
        );
        assert_eq!(
            err(json!({"powerValues": [128, 100]})),
            "Invalid power value: 100"
        );
        assert_eq!(
            err(json!({"powerValues": [128, 10241]})),
            "Invalid power value: 10241"
        );
        assert_eq!(
            err(json!({"powerValues": [128.5]})),
            "Invalid power value: 128.5"
        );
        assert_eq!(
            err(json!({"powerValues": ["abc"]})),
            "Invalid power value: abc"
        );
        assert_eq!(
            err(json!({"powerValues": "all"})),
            "Invalid power value: all"
        );
        assert_eq!(
            err(json!({"powerValues": "128,256"})),
            "Invalid power value: 128,256"
        );
        assert_eq!(err(json!({"powerValues": 512})), "Invalid power value: 512");
    }

    #[test]
    fn strategy_and_weight_rows() {
        assert_eq!(
            parse(json!({"strategy": "speed"})).expect("speed").strategy,
            Strategy::Speed
        );
        assert_eq!(
            parse(json!({"strategy": "balanced"})).expect("b").strategy,
            Strategy::Balanced
        );
        assert_eq!(
            err(json!({"strategy": "fastest"})),
            "Invalid strategy: fastest"
        );
        assert_eq!(err(json!({"strategy": ""})), "Invalid strategy: ");
        assert_eq!(err(json!({"strategy": 3})), "Invalid strategy: 3");
        assert_eq!(
            parse(json!({"balancedWeight": 0.3}))
                .expect("w")
                .balanced_weight,
            0.3
        );
        assert_eq!(
            parse(json!({"balancedWeight": "0.7"}))
                .expect("w")
                .balanced_weight,
            0.7
        );
        assert_eq!(
            parse(json!({"balancedWeight": 7}))
                .expect("clamp")
                .balanced_weight,
            1.0
        );
        assert_eq!(
            parse(json!({"balancedWeight": -1}))
                .expect("clamp")
                .balanced_weight,
            0.0
        );
        assert_eq!(
            err(json!({"balancedWeight": "heavy"})),
            "Invalid balancedWeight: heavy"
        );
        assert_eq!(
            err(json!({"balancedWeight": {"w": 1}})),
            "Invalid balancedWeight: {\"w\":1}"
        );
    }

    #[test]
    fn boolean_rows() {
        for key in [
            "parallelInvocation",
            "autoOptimize",
            "dryRun",
            "disablePayloadLogs",
            "includeOutputResults",
            "onlyColdStarts",
            "includeCurrent",
            "responseStreaming",
        ] {
            let on = parse(json!({ key: true })).expect("true");
            let on_str = parse(json!({ key: "true" })).expect("\"true\"");
            let off_str = parse(json!({ key: "false" })).expect("\"false\"");
            assert_eq!(on, on_str, "{key}");
            assert_ne!(on, off_str, "{key}");
            assert_eq!(off_str, parse(json!({})).expect("default"), "{key}");
            assert_eq!(err(json!({ key: "yes" })), format!("Invalid {key}: yes"));
            assert_eq!(err(json!({ key: 1 })), format!("Invalid {key}: 1"));
        }
        let input = parse(
            json!({"parallelInvocation": true, "autoOptimize": "true", "dryRun": true,
            "disablePayloadLogs": true, "includeOutputResults": true, "onlyColdStarts": true}),
        )
        .expect("valid");
        assert!(input.parallel_invocation && input.auto_optimize && input.dry_run);
        assert!(
            input.disable_payload_logs && input.include_output_results && input.only_cold_starts
        );
    }

    #[test]
    fn max_parallel_invocations_row() {
        assert_eq!(
            parse(json!({"maxParallelInvocations": 3}))
                .expect("3")
                .max_parallel_invocations,
            3
        );
        assert_eq!(
            parse(json!({"maxParallelInvocations": "4"}))
                .expect("4")
                .max_parallel_invocations,
            4
        );
        assert_eq!(
            err(json!({"maxParallelInvocations": 0})),
            "Invalid maxParallelInvocations: 0"
        );
        assert_eq!(
            err(json!({"maxParallelInvocations": "many"})),
            "Invalid maxParallelInvocations: many"
        );
    }

    #[test]
    fn alias_and_processor_rows() {
        let input =
            parse(json!({"autoOptimize": true, "autoOptimizeAlias": "live"})).expect("alias");
        assert_eq!(input.auto_optimize_alias.as_deref(), Some("live"));
        assert_eq!(
            err(json!({"autoOptimizeAlias": "123"})),
            "Invalid autoOptimizeAlias: 123"
        );
        assert_eq!(
            err(json!({"autoOptimizeAlias": "a b"})),
            "Invalid autoOptimizeAlias: a b"
        );
        let pre = "arn:aws:lambda:us-west-2:123456789012:function:pre";
        let input = parse(json!({"preProcessorARN": pre, "postProcessorARN": ""})).expect("pre");
        assert_eq!(
            input
                .pre_processor_arn
                .map(|a| a.region().to_string())
                .as_deref(),
            Some("us-west-2")
        );
        assert_eq!(input.post_processor_arn, None);
        assert_eq!(
            err(json!({"postProcessorARN": "post"})),
            "Invalid ARN: post (expected an unqualified function ARN: arn:<partition>:lambda:<region>:<account-id>:function:<name>)"
        );
    }

    #[test]
    fn discard_and_sleep_rows() {
        assert_eq!(
            parse(json!({"discardTopBottom": 0.1}))
                .expect("d")
                .discard_top_bottom,
            0.1
        );
        assert_eq!(
            parse(json!({"discardTopBottom": 0.9}))
                .expect("clamp")
                .discard_top_bottom,
            0.4
        );
        assert_eq!(
            parse(json!({"discardTopBottom": -0.1}))
                .expect("clamp")
                .discard_top_bottom,
            0.0
        );
        assert_eq!(
            parse(json!({"discardTopBottom": 0.3, "onlyColdStarts": true}))
                .expect("forced")
                .discard_top_bottom,
            0.0
        );
        assert_eq!(
            err(json!({"discardTopBottom": "lots"})),
            "Invalid discardTopBottom: lots"
        );
        assert_eq!(
            parse(json!({"sleepBetweenRunsMs": 250}))
                .expect("s")
                .sleep_between_runs_ms,
            250
        );
        assert_eq!(
            parse(json!({"sleepBetweenRunsMs": "100"}))
                .expect("s")
                .sleep_between_runs_ms,
            100
        );
        assert_eq!(
            parse(json!({"sleepBetweenRunsMs": "soon"}))
                .expect("s")
                .sleep_between_runs_ms,
            0
        );
        assert_eq!(
            parse(json!({"sleepBetweenRunsMs": -5}))
                .expect("s")
                .sleep_between_runs_ms,
            0
        );
    }

    #[test]
    fn allowed_exceptions_row() {
        let input = parse(json!({"allowedExceptions": ["HandledError", "Other"]})).expect("list");
        assert_eq!(input.allowed_exceptions, vec!["HandledError", "Other"]);
        assert_eq!(
            err(json!({"allowedExceptions": "HandledError"})),
            "Invalid allowedExceptions: HandledError"
        );
        assert_eq!(
            err(json!({"allowedExceptions": [1]})),
            "Invalid allowedExceptions: [1]"
        );
    }

    #[test]
    fn payload_rows() {
        let input = parse(json!({"payload": {"a": 1}})).expect("payload");
        assert_eq!(input.payload, PayloadSpec::Inline(Some(json!({"a": 1}))));
        assert_eq!(
            err(
                json!({"num": 5, "payload": [{"weight": 1, "payload": 1}, {"weight": 1, "payload": 2}, {"weight": 1, "payload": 3},
                {"weight": 1, "payload": 4}, {"weight": 1, "payload": 5}, {"weight": 1, "payload": 6}]})
            ),
            "You have 6 payloads and only \"num\"=5. Please increase \"num\"."
        );
        assert_eq!(
            err(
                json!({"num": 10, "payload": [{"weight": 1, "payload": 1}, {"weight": 100, "payload": 2}]})
            ),
            "Invalid payload weight (num is too small)"
        );
        let s3 = parse(json!({"payloadS3": "s3://bucket/dir/key.json", "payload": [{"weight": 1, "payload": 1}, {"weight": 100, "payload": 2}]}))
            .expect("payloadS3 overrides payload");
        assert_eq!(
            s3.payload,
            PayloadSpec::S3(S3Location {
                bucket: "bucket".into(),
                key: "dir/key.json".into()
            })
        );
        assert_eq!(
            err(json!({"payloadS3": "bucket/key"})),
            "Invalid S3 path, not a string in the format s3://BUCKET/KEY"
        );
        assert_eq!(
            err(json!({"payloadS3": 3})),
            "Invalid S3 path, not a string in the format s3://BUCKET/KEY"
        );
        assert_eq!(
            err(json!({"payloadS3": "s3://bucket/"})),
            "Invalid S3 path: \"s3://bucket/\" (bucket: bucket, key: )"
        );
        assert_eq!(
            err(json!({"payloadS3": "s3:///key"})),
            "Invalid S3 path: \"s3:///key\" (bucket: , key: key)"
        );
    }

    #[test]
    fn the_state_must_fit_256_kib() {
        let input = parse(json!({})).expect("valid");
        assert_eq!(input.check_state_size(200), Ok(()));
        // A 300 KB inline payload: the advice is payloadS3.
        let big = json!({"payload": "x".repeat(300_000)});
        let input = parse(big.clone()).expect("valid keys");
        let message = input
            .check_state_size(big.to_string().len())
            .expect_err("too big")
            .to_string();
        assert!(
            message.starts_with("The payload is 300002 bytes:")
                && message.ends_with("pass payloadS3 instead."),
            "{message}"
        );
        // Too many versions: every size, five targets, num = 100000 with onlyColdStarts.
        let others: Vec<String> = (0..4)
            .map(|i| format!("arn:aws:lambda:eu-west-1:123456789012:function:f{i}"))
            .collect();
        let input = parse(json!({"powerValues": "ALL", "onlyColdStarts": true, "num": 100000, "compareWith": others}))
            .expect("valid keys");
        let message = input
            .check_state_size(500)
            .expect_err("too many versions")
            .to_string();
        assert!(
            message.starts_with(
                "230 memory sizes with 23000000 versions would make the execution state exceed"
            ),
            "{message}"
        );
        assert!(message.contains("payloadS3"));
        // Every size of one function, with results in the output, fits.
        let all = parse(
            json!({"powerValues": "ALL", "includeOutputResults": true, "includeCurrent": true}),
        )
        .expect("valid");
        assert_eq!(all.check_state_size(300), Ok(()));
    }

    #[test]
    fn reserved_keys_are_found() {
        assert_eq!(reserved_key(&json!({"lambdaARN": ARN})), None);
        for key in RESERVED_KEYS {
            assert_eq!(reserved_key(&json!({"lambdaARN": ARN, key: {}})), Some(key));
        }
    }

    #[test]
    fn unknown_keys_are_ignored() {
        assert_eq!(
            parse(json!({"whatever": [1, 2, 3]})).expect("ignored"),
            parse(json!({})).expect("same")
        );
    }
}

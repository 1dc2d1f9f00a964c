//! The execution input as the commands build it: JSON files, and the flags that override the
//! input's keys (shared by `local` and `run`).

use std::path::Path;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use power_tuning_core::input::{DURATION_PERCENTILES, InputOverrides, TuningInput};
use power_tuning_core::settings::DEFAULT_POWER_VALUES;
use power_tuning_core::strategy::Strategy;
use serde_json::{Map, Value};

use crate::error::CliError;

/// clap's parser for a strategy name: the names come from [`Strategy::ALL`].
pub fn strategy_parser() -> impl clap::builder::TypedValueParser<Value = Strategy> {
    PossibleValuesParser::new(Strategy::names())
        .try_map(|name| Strategy::parse(&name).ok_or_else(|| format!("unknown strategy {name}")))
}

/// `--percentile`: one of the percentiles core accepts.
fn percentile(text: &str) -> Result<u8, String> {
    text.parse::<u8>()
        .ok()
        .filter(|p| DURATION_PERCENTILES.contains(p))
        .ok_or_else(|| format!("expected one of {DURATION_PERCENTILES:?}"))
}

/// Input keys that `local` and `run` both take as flags.
#[derive(Debug, Clone, Default, Args)]
pub struct InputFlags {
    /// `powerValues`: memory sizes to try (overrides the input's).
    #[arg(long, value_delimiter = ',')]
    pub power_values: Option<Vec<u32>>,
    /// `num`: invocations per memory size (overrides the input's).
    #[arg(long)]
    pub num: Option<u32>,
    /// `strategy` (overrides the input's).
    #[arg(long, value_parser = strategy_parser())]
    pub strategy: Option<Strategy>,
    /// Do not measure the function's current memory size (measured by default:
    /// `includeCurrent`, so the result states the change against it).
    #[arg(long)]
    pub no_current: bool,
    /// Latency target (`maxDuration`, ms): only sizes whose duration at `--percentile` is at most
    /// this are eligible; a missed target is reported, and fails only with `--require-target`.
    #[arg(long, value_name = "MS")]
    pub max_duration: Option<f64>,
    /// The percentile `--max-duration` constrains (`durationPercentile`, default 99).
    #[arg(long, value_parser = percentile, value_name = "50|90|95|99")]
    pub percentile: Option<u8>,
    /// Share of production invocations that are cold starts (`coldStartRatio`, 0..1): prices
    /// include their INIT phase.
    #[arg(long, value_name = "R")]
    pub cold_start_ratio: Option<f64>,
    /// Invocations per month (`monthlyInvocations`): adds the monthly bill per size.
    #[arg(long, value_name = "N")]
    pub monthly_invocations: Option<u64>,
    /// Invoke with `InvokeWithResponseStream` (`responseStreaming`): time to first byte, no
    /// 6 MB limit.
    #[arg(long)]
    pub response_streaming: bool,
    /// The confidence level of the intervals and the verdict (`confidenceLevel`, 0.5–0.999,
    /// default 0.95).
    #[arg(long, value_name = "LEVEL")]
    pub confidence_level: Option<f64>,
    /// With autoOptimize: apply the choice only when its saving against the current setting is
    /// significant (`requireSignificance`; the current setting is measured, so not with
    /// --no-current).
    #[arg(long, conflicts_with = "no_current")]
    pub require_significance: bool,
}

impl InputFlags {
    /// The flags as overrides of the input's keys (core owns the key names).
    pub fn overrides(&self) -> InputOverrides {
        InputOverrides {
            power_values: self.power_values.clone(),
            num: self.num,
            strategy: self.strategy,
            // Measured by default: the input's own key wins unless --no-current says otherwise.
            include_current: Some(!self.no_current),
            include_current_default: !self.no_current,
            max_duration: self.max_duration,
            duration_percentile: self.percentile,
            cold_start_ratio: self.cold_start_ratio,
            monthly_invocations: self.monthly_invocations,
            response_streaming: self.response_streaming.then_some(true),
            confidence_level: self.confidence_level,
            require_significance: self.require_significance.then_some(true),
            ..InputOverrides::default()
        }
    }
}

/// The input file's object (empty without a file).
pub fn input_object(file: Option<Value>) -> Result<Map<String, Value>, CliError> {
    match file {
        None => Ok(Map::new()),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(CliError::Invalid("the input must be a JSON object".into())),
    }
}

/// Reads and parses a JSON file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::read(path))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Invalid(format!("{} is not valid: {e}", path.display())))
}

/// The Initializer's validation, run before anything starts: bad input never starts an
/// execution.
pub fn validate(input: &Value) -> Result<TuningInput, CliError> {
    let tuning = TuningInput::from_state(input, &DEFAULT_POWER_VALUES)
        .and_then(|tuning| {
            tuning
                .check_state_size(input.to_string().len())
                .map(|()| tuning)
        })
        .map_err(|e| CliError::Invalid(format!("invalid input: {e}")))?;
    Ok(tuning)
}

//! Traffic from history (SPEC §15) for the commands: the options, reading it through the SDK,
//! filling the input's `monthlyInvocations` and `coldStartRatio`, and how it reads in a
//! terminal. The formulas are core's ([`power_tuning_core::traffic`]).

use clap::Args;
use power_tuning_aws::{SdkHistory, TokioClock};
use power_tuning_core::input::keys;
use power_tuning_core::settings::Settings;
use power_tuning_core::traffic::{self, ColdStarts, HistoryError, Traffic, TrafficOptions};
use serde_json::{Map, Value, json};

use crate::error::CliError;
use crate::format::{bytes, money};

/// `--window`, `--logs-window`, `--max-logs-scan-gb`, `--no-logs`.
#[derive(Debug, Clone, Default, Args)]
pub struct HistoryOptions {
    /// Days of CloudWatch metrics to read (default 28: four whole weeks).
    #[arg(long, value_name = "DAYS")]
    pub window: Option<u32>,
    /// Days of REPORT records to read for the cold starts (default 7).
    #[arg(long, value_name = "DAYS")]
    pub logs_window: Option<u32>,
    /// Refuse the Logs Insights query when it would scan more than this (GB, 2^30 bytes; default
    /// 5): Logs Insights bills the bytes it scans.
    #[arg(long, value_name = "GB", conflicts_with = "no_logs")]
    pub max_logs_scan_gb: Option<f64>,
    /// Read metrics only: no Logs Insights query (the cold-start ratio stays unset).
    #[arg(long)]
    pub no_logs: bool,
}

impl HistoryOptions {
    /// Core's options, defaults filled in.
    pub fn options(&self) -> TrafficOptions {
        let defaults = TrafficOptions::default();
        TrafficOptions {
            window_days: self.window.unwrap_or(defaults.window_days),
            logs_window_days: self
                .logs_window
                .unwrap_or(defaults.logs_window_days)
                .min(self.window.unwrap_or(u32::MAX)),
            max_scan_gb: self.max_logs_scan_gb.unwrap_or(defaults.max_scan_gb),
            no_logs: self.no_logs,
        }
    }

    /// Whether any option was given.
    fn any(&self) -> bool {
        self.window.is_some()
            || self.logs_window.is_some()
            || self.max_logs_scan_gb.is_some()
            || self.no_logs
    }
}

/// `--traffic-from-history` and its options, on `run` and `report`.
#[derive(Debug, Clone, Default, Args)]
pub struct HistoryFlags {
    /// Fill monthlyInvocations and coldStartRatio (when not given) from the function's own
    /// CloudWatch history, and add the `traffic` object to the result.
    #[arg(long)]
    pub traffic_from_history: bool,
    /// The history's options.
    #[command(flatten)]
    pub options: HistoryOptions,
}

impl HistoryFlags {
    /// The options, when history is asked for; options without the flag are a mistake.
    pub fn wanted(&self) -> Result<Option<TrafficOptions>, CliError> {
        if !self.traffic_from_history {
            if self.options.any() {
                return Err(CliError::Invalid(
                    "--window, --logs-window, --max-logs-scan-gb and --no-logs need --traffic-from-history".into(),
                ));
            }
            return Ok(None);
        }
        Ok(Some(self.options.options()))
    }
}

impl From<HistoryError> for CliError {
    fn from(error: HistoryError) -> CliError {
        match error {
            HistoryError::Invalid(message) => CliError::Invalid(message),
            other => CliError::Aws(format!("reading the traffic from history: {other}")),
        }
    }
}

/// Reads `function`'s traffic (a name or an ARN) through the SDK.
pub async fn read(
    config: &aws_config::SdkConfig,
    function: &str,
    options: &TrafficOptions,
) -> Result<Traffic, CliError> {
    // traffic::read checks the options before any call.
    let source = SdkHistory::for_function(config, function);
    Ok(traffic::read(
        &source,
        &TokioClock,
        function,
        options,
        &Settings::default(),
    )
    .await?)
}

/// Fills `monthlyInvocations` and `coldStartRatio` into an input that does not set them (a
/// key the input or a flag sets wins); says what it did.
pub fn fill(input: &mut Map<String, Value>, traffic: &Traffic) -> Vec<String> {
    let mut notes = Vec::new();
    // No invocations in the window is a measurement too (SPEC §15 fills the number whenever
    // the input does not set it): the monthly bill is then the requests' and nothing more.
    notes.push(set(
        input,
        keys::MONTHLY_INVOCATIONS,
        json!(traffic.monthly_invocations),
        format!(
            "{} invocations in {} days",
            traffic.invocations, traffic.window.days
        ),
    ));
    notes.push(match &traffic.cold_starts {
        ColdStarts::Measured(m) => set(
            input,
            keys::COLD_START_RATIO,
            json!(m.ratio),
            format!(
                "{} cold starts in {} REPORT records over {} days",
                m.cold, m.reports, m.window_days
            ),
        ),
        ColdStarts::Skipped { skipped } => {
            format!("{} not set: {skipped}", keys::COLD_START_RATIO)
        }
    });
    notes
}

/// Sets `key` unless the input has it; the note says which.
fn set(input: &mut Map<String, Value>, key: &str, value: Value, what: String) -> String {
    if input.get(key).is_some_and(|v| !v.is_null()) {
        format!("{key} given: the history's {value} ({what}) is not used")
    } else {
        let note = format!("{key} = {value} ({what})");
        input.insert(key.to_string(), value);
        note
    }
}

/// The execution output text with the `traffic` object added (an output that is not a JSON
/// object, a dry run's `null`, stays as it is).
pub fn with_traffic(output: &str, traffic: &Traffic) -> String {
    match serde_json::from_str::<Value>(output) {
        Ok(Value::Object(mut object)) => {
            object.insert(
                "traffic".into(),
                serde_json::to_value(traffic).unwrap_or(Value::Null),
            );
            Value::Object(object).to_string()
        }
        _ => output.to_string(),
    }
}

fn percent(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn grouped(n: u64) -> String {
    crate::format::grouped(&n.to_string())
}

/// The cold starts in one line.
pub fn cold_start_line(traffic: &Traffic) -> String {
    match &traffic.cold_starts {
        ColdStarts::Measured(m) => {
            let init = m
                .average_init_ms
                .map(|ms| format!(", average INIT {ms:.1} ms"))
                .unwrap_or_default();
            format!(
                "{} of {} REPORT records in {} days: {} (95 % interval {}–{}){init}; coverage {:.2}, {} scanned",
                grouped(m.cold),
                grouped(m.reports),
                m.window_days,
                percent(m.ratio),
                percent(m.interval[0]),
                percent(m.interval[1]),
                m.coverage,
                bytes(m.bytes_scanned),
            )
        }
        ColdStarts::Skipped { skipped } => format!("not measured: {skipped}"),
    }
}

/// The traffic in a run's summary: what filled the input, and the current bill.
pub fn summary_line(traffic: &Traffic) -> String {
    format!(
        "Traffic (CloudWatch, {} days): {} invocations a month; cold starts {}; current bill {} a month ({})\n",
        traffic.window.days,
        grouped(traffic.monthly_invocations),
        cold_start_line(traffic),
        money(traffic.current_monthly_cost.total),
        match traffic.current_monthly_cost.basis {
            traffic::BillBasis::Reports => "from the REPORT records",
            traffic::BillBasis::Metrics => "from the metrics, a lower bound",
        }
    )
}

/// `power-tuning traffic`'s text.
pub fn text(function: &str, traffic: &Traffic) -> String {
    let w = &traffic.window;
    let mut out = format!(
        "Traffic of {function} ({}), CloudWatch {} .. {} ({} days, {} with invocations)\n",
        traffic.region, w.start, w.end, w.days, w.days_with_data
    );
    if w.days_with_data < w.days && traffic.invocations > 0 {
        out.push_str(&format!(
            "  Note: only {} of {} days have invocations; if the function is younger than the window, the monthly figures are low\n",
            w.days_with_data, w.days
        ));
    }
    out.push_str(&format!(
        "  Invocations       {} ({} a month)\n  Errors, throttles {}, {}\n",
        grouped(traffic.invocations),
        grouped(traffic.monthly_invocations),
        grouped(traffic.errors),
        grouped(traffic.throttles)
    ));
    if let Some(ms) = traffic.average_duration_ms {
        out.push_str(&format!("  Average duration  {ms:.1} ms\n"));
    }
    if let Some(peak) = traffic.max_concurrency {
        out.push_str(&format!("  Peak concurrency  {peak}\n"));
    }
    out.push_str(&format!(
        "  Cold starts       {}\n",
        cold_start_line(traffic)
    ));
    let bill = &traffic.current_monthly_cost;
    let basis = match bill.basis {
        traffic::BillBasis::Reports => "from the REPORT records: billed durations, INIT included",
        traffic::BillBasis::Metrics => {
            "from the metrics: Σ Duration + 0.5 ms an invocation, a lower bound without INIT"
        }
    };
    out.push_str(&format!(
        "  Current bill      {} a month (duration {}, requests {}; {basis})\n",
        money(bill.total),
        money(bill.duration),
        money(bill.requests)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;
    use power_tuning_core::traffic::{Bill, BillBasis, Measured, WindowView};

    fn traffic(cold_starts: ColdStarts) -> Traffic {
        Traffic {
            source: "cloudwatch".into(),
            region: "eu-west-1".into(),
            window: WindowView {
                start: "2026-11-08T11:00:00Z".into(),
                end: "2026-12-06T11:00:00Z".into(),
                days: 28,
                days_with_data: 20,
            },
            invocations: 28_000,
            monthly_invocations: 30_417,
            errors: 3,
            throttles: 0,
            average_duration_ms: Some(100.0),
            max_concurrency: Some(12),
            cold_starts,
            current_monthly_cost: Bill {
                duration: 12.5,
                requests: 0.5,
                total: 13.0,
                basis: BillBasis::Reports,
            },
        }
    }

    fn measured() -> ColdStarts {
        ColdStarts::Measured(Measured {
            window_days: 7,
            reports: 7000,
            cold: 70,
            ratio: 0.01,
            interval: [0.0079, 0.0126],
            average_init_ms: Some(200.0),
            coverage: 1.0,
            bytes_scanned: 7e6,
            gb_seconds_per_invocation: 0.0,
        })
    }

    #[test]
    fn history_fills_only_what_is_not_given() {
        let mut input = Map::new();
        let notes = fill(&mut input, &traffic(measured()));
        assert_eq!(
            Value::Object(input),
            json!({"monthlyInvocations": 30417, "coldStartRatio": 0.01})
        );
        assert_eq!(
            notes,
            [
                "monthlyInvocations = 30417 (28000 invocations in 28 days)",
                "coldStartRatio = 0.01 (70 cold starts in 7000 REPORT records over 7 days)"
            ]
        );
        // A key given wins; a skipped ratio is never guessed.
        let mut input = Map::new();
        input.insert("monthlyInvocations".into(), json!(5));
        let skipped = ColdStarts::Skipped {
            skipped: "not read (--no-logs)".into(),
        };
        let notes = fill(&mut input, &traffic(skipped));
        assert_eq!(Value::Object(input), json!({"monthlyInvocations": 5}));
        assert_eq!(
            notes,
            [
                "monthlyInvocations given: the history's 30417 (28000 invocations in 28 days) is not used",
                "coldStartRatio not set: not read (--no-logs)"
            ]
        );
        // Without invocations: 0 a month (measured, not guessed), no ratio.
        let mut idle = traffic(ColdStarts::Skipped {
            skipped: "no invocations in the last 7 days".into(),
        });
        idle.invocations = 0;
        idle.monthly_invocations = 0;
        let mut input = Map::new();
        let notes = fill(&mut input, &idle);
        assert_eq!(Value::Object(input), json!({"monthlyInvocations": 0}));
        assert_eq!(
            notes,
            [
                "monthlyInvocations = 0 (0 invocations in 28 days)",
                "coldStartRatio not set: no invocations in the last 7 days"
            ]
        );
    }

    #[test]
    fn the_output_gains_the_traffic_object() {
        let t = traffic(measured());
        let text = with_traffic(r#"{"power":512}"#, &t);
        let value: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["power"], 512);
        assert_eq!(value["traffic"]["monthlyInvocations"], 30417);
        assert_eq!(value["traffic"]["coldStarts"]["ratio"], 0.01);
        assert_eq!(with_traffic("null", &t), "null");
    }

    #[test]
    fn the_text_says_where_the_numbers_come_from() {
        let text = text("orders", &traffic(measured()));
        assert!(text.starts_with("Traffic of orders (eu-west-1), CloudWatch 2026-11-08T11:00:00Z .. 2026-12-06T11:00:00Z (28 days, 20 with invocations)\n"), "{text}");
        assert!(
            text.contains("only 20 of 28 days have invocations"),
            "{text}"
        );
        assert!(
            text.contains("Invocations       28,000 (30,417 a month)"),
            "{text}"
        );
        assert!(text.contains("70 of 7,000 REPORT records in 7 days: 1.00 % (95 % interval 0.79 %–1.26 %), average INIT 200.0 ms; coverage 1.00, 7.0 MB scanned"), "{text}");
        assert!(text.contains("Current bill      $13.00 a month (duration $12.50, requests $0.50; from the REPORT records"), "{text}");
    }

    #[derive(Debug, clap::Parser)]
    struct Flags {
        #[command(flatten)]
        history: HistoryFlags,
    }

    #[test]
    fn options_need_the_flag() {
        let parse = |args: &[&str]| {
            Flags::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
                .expect("parses")
                .history
                .wanted()
        };
        assert_eq!(parse(&[]).expect("none"), None);
        assert!(parse(&["--window", "14"]).is_err());
        let options = parse(&["--traffic-from-history", "--window", "14"])
            .expect("ok")
            .expect("some");
        assert_eq!((options.window_days, options.logs_window_days), (14, 7));
        let short = parse(&["--traffic-from-history", "--window", "3"])
            .expect("ok")
            .expect("some");
        assert_eq!(short.logs_window_days, 3, "the logs window fits the window");
        assert!(
            Flags::try_parse_from([
                "x",
                "--traffic-from-history",
                "--no-logs",
                "--max-logs-scan-gb",
                "1"
            ])
            .is_err()
        );
    }
}

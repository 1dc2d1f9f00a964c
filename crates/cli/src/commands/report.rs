//! `power-tuning report`: a result's table, projections for a traffic, the two-run comparison
//! link of the web visualization, and a self-contained HTML report.

use std::path::{Path, PathBuf};

use clap::Args;
use power_tuning_core::architecture::Architecture;
use power_tuning_core::output::Analysis;

use crate::error::{CliError, Exit};
use crate::history::{self, HistoryFlags};
use crate::input::read_json;
use crate::report::{self, Prices, ResultView, Traffic, html};

/// Arguments of `power-tuning report`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  power-tuning report result.json --rps 50\n  power-tuning report result.json --html report.html --compare before.json --monthly-invocations 10000000"
)]
pub struct ReportArgs {
    /// An execution output (JSON), e.g. from `power-tuning run --json > result.json`.
    pub result: PathBuf,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Another result to compare with (adds the comparison link and a second series).
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Legends of the two runs in the comparison (default: the file names).
    #[arg(long, value_delimiter = ',', num_args = 2)]
    pub legends: Option<Vec<String>>,
    /// Traffic in requests per second, for concurrency (Little's law) and monthly cost.
    #[arg(long)]
    pub rps: Option<f64>,
    /// Invocations per month, for the monthly bill (default: rps × 30 days).
    #[arg(long)]
    pub monthly_invocations: Option<u64>,
    /// Share of invocations that are cold starts, for the monthly bill (their INIT is billed).
    #[arg(long, value_name = "R", value_parser = ratio)]
    pub cold_start_ratio: Option<f64>,
    /// The function's architecture, for prices and tiers (default: the result's, else x86_64).
    #[arg(long)]
    pub architecture: Option<Architecture>,
    /// The function the result is about, for --traffic-from-history (default: the result's
    /// `lambdaARN` or its `traffic`'s).
    #[arg(long, value_name = "ARN")]
    pub function: Option<String>,
    /// Traffic from the function's CloudWatch history.
    #[command(flatten)]
    pub history: HistoryFlags,
}

/// A share in 0..1.
fn ratio(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| "expected a number from 0 to 1".to_string())
}

fn read_result(path: &Path) -> Result<ResultView, CliError> {
    let analysis: Option<Analysis> = read_json(path)?;
    let analysis = analysis.ok_or_else(|| {
        CliError::Invalid(format!(
            "{}: a dry run's output (null) has nothing to report",
            path.display()
        ))
    })?;
    ResultView::new(analysis).map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("run")
        .to_string()
}

impl ReportArgs {
    /// The traffic of the projections: the flags, else the result's traffic from history.
    fn traffic(&self, view: &ResultView) -> Traffic {
        let history = view.analysis.traffic.as_ref();
        Traffic {
            rps: self.rps,
            // --rps or --monthly-invocations given explicitly win over the history.
            monthly_invocations: self.monthly_invocations.or_else(|| {
                history
                    .filter(|_| self.rps.is_none())
                    .map(|t| t.monthly_invocations)
            }),
            cold_start_ratio: self
                .cold_start_ratio
                .or_else(|| history.and_then(|t| t.cold_start_ratio()))
                .unwrap_or(0.0),
        }
    }

    /// The prices of the result's function: its region (from `lambdaARN` when the result names
    /// it, else `region`, else us-east-1) and architecture.
    fn prices(&self, view: &ResultView, region: Option<&str>) -> Result<Prices, CliError> {
        let analysis = &view.analysis;
        let winner = analysis
            .targets
            .iter()
            .flatten()
            .find(|t| Some(t.lambda_arn.as_str()) == analysis.lambda_arn.as_deref());
        let architecture = self
            .architecture
            .or(winner.map(|t| t.architecture))
            .unwrap_or(Architecture::X86_64);
        let region = analysis
            .lambda_arn
            .as_deref()
            .and_then(power_tuning_core::arn::region_of)
            .or(region)
            .unwrap_or("us-east-1");
        Prices::of(
            &power_tuning_core::Settings::default(),
            region,
            architecture,
        )
        .map_err(|e| CliError::Invalid(e.to_string()))
    }

    /// Runs `power-tuning report`; `region` is the global `--region`.
    pub async fn run(
        self,
        region: Option<&str>,
        config: Option<&aws_config::SdkConfig>,
    ) -> Result<Exit, CliError> {
        let mut first = read_result(&self.result)?;
        if let (Some(options), Some(config)) = (self.history.wanted()?, config) {
            let function = self.function.clone().or_else(|| first.analysis.lambda_arn.clone()).ok_or_else(|| {
                CliError::Invalid("--traffic-from-history needs --function: a single-function result does not name its function".into())
            })?;
            first.analysis.traffic = Some(history::read(config, &function, &options).await?);
        }
        let traffic = self.traffic(&first);
        let prices = self.prices(&first, region)?;
        let projections = report::project(&first.sizes, &traffic, &prices);
        let names = match &self.legends {
            Some(l) if l.len() == 2 => (l[0].clone(), l[1].clone()),
            _ => (
                stem(&self.result),
                self.compare.as_deref().map(stem).unwrap_or_default(),
            ),
        };
        let second = self.compare.as_deref().map(read_result).transpose()?;
        let comparison = second
            .as_ref()
            .map(|s| report::comparison_url(&first, s, (&names.0, &names.1)));
        print!(
            "{}",
            report::text(&first, &projections, comparison.as_deref())
        );
        if let Some(path) = &self.html {
            let other = second
                .as_ref()
                .zip(comparison.as_deref())
                .map(|(view, link)| html::Other {
                    view,
                    name: &names.1,
                    link,
                });
            let page = html::Page {
                view: &first,
                name: &names.0,
                projections: &projections,
                prices: &prices,
                other,
            };
            std::fs::write(path, page.render()).map_err(CliError::write(path))?;
            println!("HTML report: {}", path.display());
        }
        Ok(Exit::Success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(Debug, clap::Parser)]
    struct Cmd {
        #[command(flatten)]
        args: ReportArgs,
    }

    fn args(extra: &[&str]) -> ReportArgs {
        Cmd::try_parse_from(["report", "result.json"].iter().chain(extra))
            .expect("parses")
            .args
    }

    #[test]
    fn projections_use_the_results_traffic_unless_told_otherwise() {
        let mut value = crate::report::tests::output();
        value["traffic"] = crate::report::tests::traffic_from_history();
        let view = crate::report::tests::view_of(value);
        let t = args(&[]).traffic(&view);
        assert_eq!(
            (t.monthly_invocations, t.cold_start_ratio),
            (Some(30417), 0.0105)
        );
        let t = args(&["--monthly-invocations", "5", "--cold-start-ratio", "0.5"]).traffic(&view);
        assert_eq!((t.monthly_invocations, t.cold_start_ratio), (Some(5), 0.5));
        // --rps says the traffic: the history's month is not used.
        let t = args(&["--rps", "2"]).traffic(&view);
        assert_eq!((t.monthly(), t.cold_start_ratio), (Some(5_184_000), 0.0105));
        let plain = crate::report::tests::view_of(crate::report::tests::output());
        assert_eq!(args(&[]).traffic(&plain).monthly(), None);
        assert!(args(&["--window", "3"]).history.wanted().is_err());
    }
}

//! `power-tuning report`: a result's table, projections for a traffic, the two-run comparison
//! link of the web visualization, and a self-contained HTML report.

use std::path::{Path, PathBuf};

use clap::Args;
use power_tuning_core::output::Analysis;

use crate::error::{CliError, Exit};
use crate::input::read_json;
use crate::report::{self, ResultView, html};

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
    /// Invocations per month, for monthly cost (default: rps × 30 days).
    #[arg(long)]
    pub monthly_invocations: Option<f64>,
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
    /// Runs `power-tuning report`.
    pub async fn run(self) -> Result<Exit, CliError> {
        let first = read_result(&self.result)?;
        let projections = report::project(&first.sizes, self.rps, self.monthly_invocations);
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
            std::fs::write(path, html::page(&first, &names.0, &projections, other))
                .map_err(CliError::write(path))?;
            println!("HTML report: {}", path.display());
        }
        Ok(Exit::Success)
    }
}

//! `power-tuning-bench`: the tuner's own cost and speed (B1–B9), measured on the local
//! emulator with emulated target work, so only the tuner's overhead shows. Writes a markdown
//! table and a JSON file with the method and the machine. It lives outside the `power-tuning`
//! command so users do not ship its probes.
//!
//! Every figure is a median with its spread (min–max) over repeated runs, under the helpers'
//! own Lambda size (a CPU quota of 128/1769 of a core, via the emulator's cgroups) and
//! unconstrained. Nothing here asserts timings; the verdict column compares with the targets.

mod binaries;
mod executor_figures;
mod figure;
mod probes;
mod render;
mod scenarios;
mod stability;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use power_tuning_emulator::{Emulator, Options};
use serde_json::json;

use crate::scenarios::{Bench, Mode, QUOTA, UNCONSTRAINED};

/// A benchmark failure, as text.
pub type BenchResult<T> = Result<T, String>;

/// Arguments of `power-tuning-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "power-tuning-bench",
    version,
    about = "Measure power-tuning's own overhead on the local emulator; write benches/results.{md,json}",
    after_help = "Examples:\n  cargo run --release -p power-tuning-bench\n  cargo run --release -p power-tuning-bench -- --repeat 5 --out benches\n  cargo run --release -p power-tuning-bench -- --only B1,B6 --unconstrained-only"
)]
pub struct BenchArgs {
    /// Directory for `results.md` and `results.json`.
    #[arg(long, default_value = "benches")]
    pub out: PathBuf,
    /// Repetitions of each measurement.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Cold starts per binary for B5.
    #[arg(long, default_value_t = 30)]
    pub starts: usize,
    /// Only these benchmarks (e.g. B1,B5).
    #[arg(long, value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    /// Skip the constrained mode (CPU quota of 128/1769 of a core).
    #[arg(long)]
    pub unconstrained_only: bool,
    /// Directory with arm64 builds (`<dir>/<Name>Function/bootstrap` as `sam build` leaves them,
    /// or `<dir>/<bin>/bootstrap` as `cargo lambda build` does). Default: `.aws-sam/build`
    /// (a real `sam build`), when it holds arm64 files.
    #[arg(long)]
    pub arm64_dir: Option<PathBuf>,
    /// The `power-tuning` command B10 runs (default: the `local` profile's build, built when
    /// missing, as the README's first command).
    #[arg(long)]
    pub cli: Option<PathBuf>,
    /// Runs of each B10 series (the choice, then with requireSignificance).
    #[arg(long, default_value_t = 20)]
    pub stability_runs: usize,
}

/// Runs the benchmarks.
async fn run(args: BenchArgs) -> BenchResult<()> {
    if !cfg!(target_os = "linux") {
        return Err("power-tuning-bench needs Linux (process CPU clocks, /proc)".into());
    }
    if args.repeat == 0 || args.starts == 0 {
        return Err("--repeat and --starts must be at least 1".into());
    }
    let wanted = selection(&args)?;
    let only = |id: &str| wanted.as_ref().is_none_or(|w| w.iter().any(|x| x == id));
    let exe_dir = binaries::exe_dir()?;
    if exe_dir.file_name().is_none_or(|n| n != "release") {
        eprintln!(
            "warning: not a release build: the handlers measured are those next to this executable; use `cargo run --release -p power-tuning-bench`"
        );
    }
    binaries::ensure_built(&exe_dir, &["emulated_work"]).await?;
    let started = Instant::now();
    let mut bench = Bench {
        dir: exe_dir,
        repeat: args.repeat,
        starts: args.starts,
        figures: Vec::new(),
    };
    let (modes, cgroups) = modes(&args).await?;

    for mode in &modes {
        if only("B1") || only("B2") || only("B6") {
            bench.executor_benchmarks(mode, &only).await?;
        }
        if only("B3") || only("B4") {
            bench.update_benchmarks(mode, &only).await?;
        }
        if only("B5") {
            bench.start_benchmarks(mode).await?;
        }
        if only("B7") {
            bench.whole_runs(mode).await?;
        }
        if only("B9") {
            bench.response_memory(mode).await?;
        }
    }
    if only("B8") {
        bench.sizes(args.arm64_dir.as_deref())?;
    }
    // B10 runs whole local tunings (minutes each series): only when asked for by name.
    if wanted
        .as_ref()
        .is_some_and(|w| w.iter().any(|id| id == "B10"))
    {
        let cli = stability::cli(args.cli.clone()).await?;
        stability::stability(&cli, args.stability_runs.max(1), &mut bench.figures).await?;
    }
    // B1 … B10 in number order.
    bench
        .figures
        .sort_by_key(|f| f.id[1..].parse::<u32>().unwrap_or(u32::MAX));
    write_results(&args, &bench, cgroups, started)
}

/// Every benchmark's id (B10, the stability of the choice, runs only when named).
const BENCHMARKS: [&str; 10] = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10"];

/// The benchmarks `--only` names (upper-cased), `None` for all; an unknown name is an error.
fn selection(args: &BenchArgs) -> BenchResult<Option<Vec<String>>> {
    let wanted: Option<Vec<String>> = args
        .only
        .as_ref()
        .map(|o| o.iter().map(|s| s.trim().to_uppercase()).collect());
    if let Some(ids) = &wanted
        && let Some(bad) = ids.iter().find(|id| !BENCHMARKS.contains(&id.as_str()))
    {
        return Err(format!("unknown benchmark {bad} (B1..B10)"));
    }
    Ok(wanted)
}

/// The resource modes to measure in, and the cgroup version found: the quota needs writable
/// cgroups (probed with a throwaway emulator), unconstrained is always measured.
async fn modes(args: &BenchArgs) -> BenchResult<(Vec<Mode>, Option<u8>)> {
    // Which modes: the quota needs writable cgroups.
    let probe = Emulator::start(Options::default(), Vec::new())
        .await
        .map_err(|e| e.to_string())?;
    let cgroups = probe.cgroup_version();
    probe.shutdown().await;
    let mut modes = Vec::new();
    if !args.unconstrained_only {
        if cgroups.is_some() {
            modes.push(QUOTA);
        } else {
            eprintln!("warning: cgroups are not writable: measuring unconstrained only");
        }
    }
    modes.push(UNCONSTRAINED);
    Ok((modes, cgroups))
}

/// Writes `results.md` and `results.json` (with the date, the machine and the method) to
/// `--out`, and prints the table.
fn write_results(
    args: &BenchArgs,
    bench: &Bench,
    cgroups: Option<u8>,
    started: Instant,
) -> BenchResult<()> {
    let date = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    let machine = probes::machine(cgroups);
    let text = render::markdown(&date, &machine, &bench.figures, args.repeat, args.starts);
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let json_path = args.out.join("results.json");
    let md_path = args.out.join("results.md");
    let document = json!({"date": date, "machine": machine, "repeat": args.repeat, "starts": args.starts,
        "seconds": started.elapsed().as_secs_f64(), "figures": bench.figures});
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&document).map_err(|e| e.to_string())? + "\n",
    )
    .map_err(|e| format!("{}: {e}", json_path.display()))?;
    std::fs::write(&md_path, &text).map_err(|e| format!("{}: {e}", md_path.display()))?;
    println!("{text}");
    eprintln!(
        "wrote {} and {} in {:.0} s",
        md_path.display(),
        json_path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = BenchArgs::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

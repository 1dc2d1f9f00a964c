//! Traffic from history on this machine (README "Traffic from history", SPEC §15): the bundled
//! `io_bound` example runs 70 times on the local emulator (ten at a time, so ten environments
//! start cold; its REPORT records go to its log group), 28 days of its metrics are written into
//! moto's CloudWatch (the last 7 days: those 70 invocations), then the real `power-tuning
//! traffic` and `power-tuning run --traffic-from-history` run against the local endpoints.
//!
//! `./scripts/traffic-demo` builds and runs it; the `power-tuning` binary is the one built
//! beside this example (or the one `--power-tuning PATH` names). `--result FILE` also writes
//! the run's result (`--json`, with `includeOutputResults`) to FILE.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use power_tuning_cli::local_stack::{HandlerCode, LocalStack, StackOptions, embedded};
use power_tuning_cli::seed::{Day, seed};
use power_tuning_emulator::Options;

/// Invocations a day over the last 7 days (the ones made here).
const RECENT_PER_DAY: usize = 10;
/// Invocations a day over the 21 days before.
const EARLIER_PER_DAY: f64 = 12.0;

#[tokio::main]
async fn main() -> ExitCode {
    match demo().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The demo's command line: `[--power-tuning PATH] [--result FILE]`.
struct Args {
    exe: Option<PathBuf>,
    result: Option<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        exe: None,
        result: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let value = words.next().ok_or(format!("{word} needs a value"))?;
        match word.as_str() {
            "--power-tuning" => args.exe = Some(PathBuf::from(value)),
            "--result" => args.result = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument {word}")),
        }
    }
    Ok(args)
}

async fn demo() -> Result<(), String> {
    let args = args()?;
    let exe = match args.exe {
        Some(path) => path,
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .parent()
            .and_then(|examples| examples.parent())
            .map(|profile| profile.join("power-tuning"))
            .ok_or("cannot locate the power-tuning binary")?,
    };
    let mut target = embedded("io_bound", &exe);
    target.memory = 512;
    let stack = LocalStack::start(StackOptions {
        emulator: Options::default(),
        handlers: HandlerCode::Embedded(exe.clone()),
        targets: vec![target],
        timeout: 300,
    })
    .await
    .map_err(|e| e.to_string())?;
    let result = run(&stack, &exe, args.result.as_deref()).await;
    stack.shutdown().await;
    result
}

async fn run(
    stack: &LocalStack,
    exe: &PathBuf,
    result: Option<&std::path::Path>,
) -> Result<(), String> {
    let emulator = stack.emulator.endpoint().to_string();
    let moto = stack.sfn_endpoint().to_string();
    invoke(&emulator).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let days: Vec<Day> = (0..28)
        .map(|k| Day {
            days_ago: k,
            invocations: if k < 7 {
                RECENT_PER_DAY as f64
            } else {
                EARLIER_PER_DAY
            },
            average_duration_ms: 104.0,
            errors: if k == 12 { 2.0 } else { 0.0 },
            throttles: 0.0,
            concurrency: 10.0,
            log_bytes: 5_000.0,
        })
        .collect();
    seed(&moto, "io_bound", "/aws/lambda/io_bound", now, &days)
        .await
        .map_err(|e| e.to_string())?;
    let env = [
        ("AWS_ENDPOINT_URL_LAMBDA", emulator.as_str()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", emulator.as_str()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", moto.as_str()),
        ("AWS_ENDPOINT_URL_SFN", moto.as_str()),
    ];
    let arn = stack.emulator.arn("io_bound");
    let tune = [
        "run",
        "--state-machine-arn",
        &stack.state_machine_arn,
        "--function",
        &arn,
        "--num",
        "10",
        "--power-values",
        "128,256,512",
        "--traffic-from-history",
    ];
    show(exe, &["traffic", "io_bound"], &env)?;
    show(exe, &["traffic", "io_bound", "--json"], &env)?;
    // The tuning run's own invocations go to the function's log group too: the run is made
    // once, shown or written.
    match result {
        None => show(exe, &tune, &env)?,
        Some(path) => write_result(exe, &tune, &env, path)?,
    }
    Ok(())
}

/// Seven bursts of ten at once: the first starts ten environments, the others reuse them.
async fn invoke(endpoint: &str) -> Result<(), String> {
    let client = aws_sdk_lambda::Client::new(&power_tuning_aws::config::local_config(endpoint));
    for _ in 0..7 {
        let calls = (0..RECENT_PER_DAY).map(|_| client.invoke().function_name("io_bound").send());
        for result in futures::future::join_all(calls).await {
            result.map_err(|e| power_tuning_aws::errors::display_chain(&e))?;
        }
    }
    Ok(())
}

/// The `power-tuning` command with the local endpoints and throwaway credentials.
fn power_tuning(exe: &PathBuf, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(exe);
    command
        .envs(env.iter().copied())
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_REGION", "us-east-1");
    command
}

/// Runs the tuning with `--json` and its results (`includeOutputResults`) into `path`.
fn write_result(
    exe: &PathBuf,
    tune: &[&str],
    env: &[(&str, &str)],
    path: &std::path::Path,
) -> Result<(), String> {
    let input = std::env::temp_dir().join(format!("traffic-demo-{}.json", std::process::id()));
    std::fs::write(&input, r#"{"includeOutputResults": true}"#).map_err(|e| e.to_string())?;
    let output = power_tuning(exe, env)
        .args(tune)
        .args(["--json", "--input"])
        .arg(&input)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&input);
    if !output.status.success() {
        return Err(format!(
            "the run for {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(path, &output.stdout).map_err(|e| e.to_string())?;
    println!("result: {}", path.display());
    Ok(())
}

/// Runs `power-tuning ARGS` with the local endpoints and shows it as a terminal would.
fn show(exe: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    println!("$ power-tuning {}", args.join(" "));
    let output = power_tuning(exe, env)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    print!("{}", String::from_utf8_lossy(&output.stderr));
    print!("{}", String::from_utf8_lossy(&output.stdout));
    println!();
    if !output.status.success() {
        return Err(format!(
            "power-tuning {} failed: {}",
            args.join(" "),
            output.status
        ));
    }
    Ok(())
}

//! `power-tuning emulator` as a process: prints its endpoint, serves, and on SIGTERM stops every
//! function process and removes its cgroups.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;

use crate::support::{example, lambda_client, target_dir};

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| !s.contains("State:\tZ"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_command_serves_and_cleans_up() {
    let binary = target_dir().join("power-tuning");
    assert!(
        binary.exists(),
        "build the CLI first (cargo build -p power-tuning-cli)"
    );
    let mut child = Command::new(&binary)
        .args(["emulator", "--listen", "127.0.0.1:0", "--function"])
        .arg(format!("io={},memory=256", example("io_bound").display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn emulator");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let endpoint = first.rsplit(' ').next().expect("endpoint").to_string();
    assert!(
        first.starts_with("Lambda emulator listening on http://127.0.0.1:"),
        "{first}"
    );
    let port = endpoint.rsplit(':').next().expect("port").to_string();

    let client = lambda_client(&endpoint);
    let (a, b) = tokio::join!(
        client
            .invoke()
            .function_name("io")
            .payload(Blob::new("{\"sleepMs\": 100}"))
            .send(),
        client
            .invoke()
            .function_name("io")
            .payload(Blob::new("{\"sleepMs\": 100}"))
            .send(),
    );
    assert!(a.is_ok() && b.is_ok());
    let functions = children(child.id());
    assert_eq!(functions.len(), 2, "two environments: {functions:?}");
    let groups: Vec<_> = ["cpu", "memory"]
        .iter()
        .map(|c| {
            format!(
                "/sys/fs/cgroup/{c}/power-tuning-emulator-{}-{port}",
                child.id()
            )
        })
        .collect();

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "emulator did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    for pid in functions {
        assert!(!alive(pid), "function process {pid} left behind");
    }
    for group in groups {
        assert!(
            !std::path::Path::new(&group).exists(),
            "{group} left behind"
        );
    }
}

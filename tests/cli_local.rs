//! `power-tuning local` as a user runs it: the real binary, a bundled example, the latency
//! target and its gate. The example `emulated_work` sleeps `FIXED_MS + WORK_MS_AT_128 × 128 /
//! memory`, so its durations hold with or without cgroups and under load: here 450, 250, 150
//! and 100 ms at 128, 256, 512 and 1024 MB, and the cost rises with memory.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::target_dir;

fn local(extra: &[&str]) -> Output {
    let mut args = vec![
        "local",
        "--function",
        "emulated_work",
        "--env",
        "WORK_MS_AT_128=400",
        "--env",
        "FIXED_MS=50",
        "--power-values",
        "128,256,512,1024",
        "--num",
        "5",
        "--json",
    ];
    args.extend_from_slice(extra);
    Command::new(target_dir().join("power-tuning"))
        .args(&args)
        .output()
        .expect("run power-tuning local")
}

fn output(out: &Output) -> Value {
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn latency_target_picks_the_cheapest_eligible_size() {
    // p99 ≤ 220 ms: 128 (450) and 256 (250) are out; 512 (150) is the cheapest left.
    let out = local(&["--max-duration", "220"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = output(&out);
    assert_eq!(result["power"], 512);
    assert_eq!(
        result["latencyTarget"],
        serde_json::json!({"percentile": 99, "maxDuration": 220.0, "met": true})
    );
    // The current setting (1024 MB, `--memory` default) is measured and compared by default.
    assert_eq!(result["current"]["power"], 1024);
    assert!(result["change"]["costPercent"].as_f64().expect("percent") < 0.0);
    assert!(
        result["change"]["durationPercent"]
            .as_f64()
            .expect("percent")
            > 0.0
    );
}

#[test]
fn impossible_latency_target_is_reported_and_gated() {
    let out = local(&["--max-duration", "1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a missed target never fails the run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = output(&out);
    assert_eq!(result["latencyTarget"]["met"], false);
    assert_eq!(result["power"], 1024, "the lowest p99");

    let file = target_dir().join(format!("local-gate-{}.json", std::process::id()));
    let out = local(&[
        "--max-duration",
        "1",
        "--require-target",
        "--result-file",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "--require-target turns it into exit 3"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("result file")).expect("json");
    assert_eq!(
        summary["gates"],
        serde_json::json!([{"name": "requireTarget", "limit": true, "actual": false, "passed": false}])
    );
    let _ = std::fs::remove_file(file);
}

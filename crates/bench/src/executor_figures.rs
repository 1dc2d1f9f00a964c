//! The executor's own cost (B1, B2, B6), measured on a rig [`Bench::executor_benchmarks`] sets
//! up: CPU per target invocation, TCP connections per run, peak memory.

use power_tuning_core::ports::LambdaApi as _;
use power_tuning_core::stats::linear_fit;
use serde_json::json;

use crate::BenchResult;
use crate::figure::{Check, Figure};
use crate::probes::{cpu_time, newest_pid, peak_rss_mb};
use crate::scenarios::{Bench, ExecutorRig, Mode, PARALLEL_CAP, progress};

impl Bench {
    /// B1: the warm executor's CPU time per target invocation, the slope over num = 50, 500,
    /// 1000.
    pub(crate) async fn executor_cpu(
        &mut self,
        mode: &Mode,
        rig: &mut ExecutorRig<'_>,
    ) -> BenchResult<()> {
        progress(&format!("B1 executor CPU per invocation ({})", mode.name));
        rig.fresh_executor().await?;
        rig.executor(&rig.state, 5).await?;
        let pid = newest_pid(rig.emulator, "executor")?;
        let mut slopes = Vec::new();
        let mut points_all = Vec::new();
        for _ in 0..self.repeat {
            let mut points = Vec::new();
            for num in [50, 500, 1000] {
                let before = cpu_time(pid)?;
                rig.executor(&rig.state, num).await?;
                let used = cpu_time(pid)?.saturating_sub(before);
                points.push((f64::from(num), used.as_secs_f64() * 1000.0));
            }
            if let Some((slope, _)) = linear_fit(&points) {
                slopes.push(slope);
            }
            points_all.extend(points);
        }
        let intercept = linear_fit(&points_all).map(|f| f.1).unwrap_or(0.0);
        self.figures.push(Figure::new("B1", "executor CPU time per target invocation", mode.name, "ms", slopes, Check::MedianAtMost(0.25),
            format!("slope of the warm executor's user+sys CPU (process CPU clock) over num = 50, 500, 1000, zero-work target; fixed part per run {intercept:.2} ms. \
Invoke is aws-sdk-lambda's own operation (SPEC §14): its per-request orchestration (interceptors, runtime components, config bag, endpoint and \
identity resolution), signing, connection poisoning and the X-Ray header run for every invocation; kept down within the SDK by one client per \
region and role built once, SDK retries off (the core's Resilient retries), and the response read through an interceptor that keeps its first \
64 KiB. The hand-written signed path this replaced cost about 0.1 ms less per invocation, about $2e-9 at 128 MB")));
        Ok(())
    }

    /// B2: the TCP connections one cold executor opens for num = 500, in series and in
    /// parallel.
    pub(crate) async fn executor_connections(
        &mut self,
        mode: &Mode,
        rig: &mut ExecutorRig<'_>,
    ) -> BenchResult<()> {
        progress(&format!("B2 executor TCP connections ({})", mode.name));
        for (parallel, label, cap) in [
            (false, "series", 1.0),
            (true, "parallel", f64::from(PARALLEL_CAP)),
        ] {
            let mut counts = Vec::new();
            for _ in 0..self.repeat {
                rig.fresh_executor().await?;
                // The bench's own connection is open (and pooled) before counting.
                rig.lambda
                    .get_configuration("executor", None)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut state = rig.state.clone();
                if parallel {
                    state["parallelInvocation"] = json!(true);
                    state["maxParallelInvocations"] = json!(PARALLEL_CAP);
                }
                let before = rig.emulator.connections_accepted();
                rig.executor(&state, 500).await?;
                counts.push((rig.emulator.connections_accepted() - before) as f64);
            }
            self.figures.push(Figure::new("B2", format!("TCP connections opened by one executor, num = 500, {label}"), mode.name, "connections", counts, Check::AllAtMost(cap),
                if parallel { format!("parallelInvocation with maxParallelInvocations = {PARALLEL_CAP}; counted at the emulator's listener, cold executor") } else { "counted at the emulator's listener, cold executor".to_string() }));
        }
        Ok(())
    }

    /// B6: a cold executor's peak RSS after one run of num = 1000.
    pub(crate) async fn executor_peak_rss(
        &mut self,
        mode: &Mode,
        rig: &mut ExecutorRig<'_>,
    ) -> BenchResult<()> {
        progress(&format!("B6 executor peak RSS ({})", mode.name));
        let mut peaks = Vec::new();
        for _ in 0..self.repeat {
            rig.fresh_executor().await?;
            rig.executor(&rig.state, 1000).await?;
            peaks.push(peak_rss_mb(newest_pid(rig.emulator, "executor")?)?);
        }
        self.figures.push(Figure::new(
            "B6",
            "executor peak RSS, num = 1000",
            mode.name,
            "MB",
            peaks,
            Check::AllAtMost(20.0),
            "VmHWM of the executor process after one cold run of num = 1000 (series)",
        ));
        Ok(())
    }
}

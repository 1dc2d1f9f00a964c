//! The analysis (SPEC §3.7, §8, §9): which sizes are kept, the choice by strategy (under a
//! latency target, across targets), the current setting and the change against it, the run's
//! own cost and the visualization URLs.

use crate::architecture::Architecture;
use crate::confidence::{self, Confidence, Decision, Tied};
use crate::input::{LatencyTarget, TuningInput};
use crate::output::{
    Analysis, Change, Current, Failure, LatencyTargetResult, Optimization, Stat, StatError,
    StateMachineSummary, TargetResult,
};
use crate::pricing;
use crate::settings::Settings;
use crate::strategy::{Candidate, Strategy, choose, normalisers};
use crate::visualization::{self, Point};

/// One target's measured sizes, in its power-value order.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStats {
    /// The function.
    pub lambda_arn: String,
    /// Its architecture.
    pub architecture: Architecture,
    /// Its memory size before the run (the current setting), when known.
    pub current_memory: Option<u32>,
    /// Its executors' results.
    pub stats: Vec<Stat>,
}

impl TargetStats {
    fn kept(&self) -> impl Iterator<Item = &Stat> {
        self.stats.iter().filter(|s| s.is_usable())
    }

    fn name(&self) -> &str {
        self.lambda_arn
            .rsplit(':')
            .next()
            .unwrap_or(&self.lambda_arn)
    }

    /// The web UI's chart of the kept sizes (average prices: the web UI's meaning).
    fn points(&self) -> Vec<Point> {
        self.kept()
            .map(|s| Point {
                power: s.value,
                duration: s.duration(),
                cost: s.average_price.unwrap_or(0.0),
            })
            .collect()
    }

    fn failures(&self) -> Vec<Failure> {
        self.stats
            .iter()
            .filter_map(|s| {
                s.error.as_ref().map(|e| Failure {
                    value: s.value,
                    error_type: e.error_type.clone(),
                    error_message: e.error_message.clone(),
                })
            })
            .collect()
    }

    /// The current setting, when it was measured and did not fail.
    fn current(&self) -> Option<&Stat> {
        let memory = self.current_memory?;
        self.kept().find(|s| s.value == memory)
    }
}

/// How the choice is made: strategy, weight, latency target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// The strategy.
    pub strategy: Strategy,
    /// Weight of cost in `balanced`.
    pub weight: f64,
    /// The latency target, if any.
    pub latency: Option<LatencyTarget>,
}

impl Rule {
    /// The rule of an input.
    pub fn of(input: &TuningInput) -> Rule {
        Rule {
            strategy: input.strategy,
            weight: input.balanced_weight,
            latency: input.latency_target,
        }
    }

    /// The candidates the strategy chooses among, and whether the latency target is met
    /// (when there is one): every candidate without a target; with one, those whose
    /// constrained percentile is at most it, or none when no candidate meets it.
    pub fn eligible<'a, T: AsRef<Stat>>(&self, candidates: &[&'a T]) -> (Vec<&'a T>, Option<bool>) {
        let Some(target) = self.latency else {
            return (candidates.to_vec(), None);
        };
        let eligible: Vec<&T> = candidates
            .iter()
            .copied()
            .filter(|c| {
                c.as_ref()
                    .percentile_duration(target.percentile)
                    .is_some_and(|p| p <= target.max_duration)
            })
            .collect();
        let met = !eligible.is_empty();
        (eligible, Some(met))
    }

    /// The chosen candidate, and whether it meets the latency target (when there is one).
    ///
    /// Only sizes whose constrained percentile is at most the target are eligible, and
    /// `balanced` normalises over them. When none is, the choice is the size with the lowest
    /// constrained percentile (ties: candidate order) and the target is not met.
    pub fn pick<'a, T: Candidate + AsRef<Stat>>(
        &self,
        candidates: &[&'a T],
    ) -> Option<(&'a T, Option<bool>)> {
        let (eligible, met) = self.eligible(candidates);
        match (self.latency, met) {
            (Some(target), Some(false)) => {
                let constrained = |c: &T| c.as_ref().percentile_duration(target.percentile);
                candidates
                    .iter()
                    .copied()
                    .min_by(|a, b| {
                        constrained(a)
                            .unwrap_or(f64::INFINITY)
                            .total_cmp(&constrained(b).unwrap_or(f64::INFINITY))
                    })
                    .map(|c| (c, met))
            }
            _ => choose(&eligible, self.strategy, self.weight).map(|c| (c, met)),
        }
    }
}

/// The decision values of a run (SPEC §13): the strategy's per-invocation value, `balanced`
/// normalised as the choice was (over the eligible sizes, or every kept size when none is).
struct Decider {
    strategy: Strategy,
    weight: f64,
    normalisers: (f64, f64),
    level: f64,
}

impl Decider {
    fn new<T: Candidate>(rule: &Rule, among: &[&T], level: f64) -> Decider {
        Decider {
            strategy: rule.strategy,
            weight: rule.weight,
            normalisers: normalisers(among),
            level,
        }
    }

    /// A size's decision value, when its Executor gave the sample.
    fn decision(&self, stat: &Stat) -> Option<Decision> {
        let sample = stat.sample.filter(|s| s.n > 0)?;
        let (mean, std_dev) = sample.moments(self.strategy, self.weight, self.normalisers);
        Some(Decision::new(sample.n, mean, std_dev, self.level))
    }

    /// The stats as the output shows them: each measured size with its decision value.
    fn shown(&self, stats: &[Stat]) -> Vec<Stat> {
        stats
            .iter()
            .map(|s| Stat {
                decision: s.is_usable().then(|| self.decision(s)).flatten(),
                // A failed size reads `error: {errorType, errorMessage}` (SPEC §3.2); the full
                // `Invocation error (...)` text stays between the states, for the final error.
                error: s.error.clone().map(|e| StatError { detail: None, ..e }),
                ..s.clone()
            })
            .collect()
    }

    /// Welch's p-value of `candidate` against `chosen`, when both have decisions.
    fn p_value(&self, chosen: &Stat, candidate: &Stat) -> Option<f64> {
        Some(confidence::p_value(
            &self.decision(chosen)?,
            &self.decision(candidate)?,
        ))
    }
}

impl AsRef<Stat> for Stat {
    fn as_ref(&self) -> &Stat {
        self
    }
}

/// A size of one of the targets, for the choice across targets.
struct Pooled<'a> {
    target: usize,
    stat: &'a Stat,
}

impl Candidate for Pooled<'_> {
    fn price(&self) -> f64 {
        self.stat.price()
    }
    fn duration(&self) -> f64 {
        self.stat.duration()
    }
}

impl AsRef<Stat> for Pooled<'_> {
    fn as_ref(&self) -> &Stat {
        self.stat
    }
}

/// `100 × (chosen − current) / current`, rounded to 2 decimals; 0 when `current` is 0.
pub fn percent_change(chosen: f64, current: f64) -> f64 {
    if current == 0.0 {
        return 0.0;
    }
    (100.0 * (chosen - current) / current * 100.0).round() / 100.0
}

fn current_of(stat: &Stat) -> Current {
    Current {
        power: stat.value,
        cost: stat.price(),
        duration: stat.duration(),
        p99_duration: stat.p99_duration.unwrap_or(0.0),
        monthly_cost: stat.monthly_cost,
    }
}

fn change(chosen: &Stat, current: &Stat, decider: &Decider) -> Change {
    let same = std::ptr::eq(chosen, current);
    let significant = !same
        && decider
            .p_value(chosen, current)
            .is_some_and(|p| p < 1.0 - decider.level);
    Change {
        significant,
        cost_percent: percent_change(chosen.price(), current.price()),
        duration_percent: percent_change(chosen.duration(), current.duration()),
        p99_duration_percent: percent_change(
            chosen.p99_duration.unwrap_or(0.0),
            current.p99_duration.unwrap_or(0.0),
        ),
        monthly_cost_delta: chosen
            .monthly_cost
            .zip(current.monthly_cost)
            .map(|(a, b)| a - b),
    }
}

/// With `requireSignificance`: why the Optimizer must not apply the choice, when it must not
/// (SPEC §13): the saving against the current setting is not significant, the choice is the
/// current setting, or the current setting could not be measured. `None` when it may.
fn refusal(chosen: &Stat, current: Option<&Stat>, decider: &Decider) -> Option<Optimization> {
    let level = decider.level;
    let percent = |x: f64| format!("{}", (x * 1000.0).round() / 10.0);
    let reason = match current {
        None => "no current setting was measured (includeCurrent is not set, or the current size failed), so no saving can be shown significant"
            .to_string(),
        Some(current) if std::ptr::eq(chosen, current) => {
            format!("the choice, {} MB, is the current setting", chosen.value)
        }
        Some(current) => {
            let Some(p) = decider.p_value(chosen, current) else {
                return Some(Optimization {
                    applied: false,
                    reason: Some(
                        "the measurements hold no per-invocation sample to test the saving with"
                            .to_string(),
                    ),
                });
            };
            if p < 1.0 - level {
                return None;
            }
            format!(
                "the saving against the current {} MB is not significant at the {} % level (p = {p:.3}, above {:.3})",
                current.value,
                percent(level),
                1.0 - level
            )
        }
    };
    Some(Optimization {
        applied: false,
        reason: Some(reason),
    })
}

/// Why no size could be chosen (the Analyzer's `TargetFailed`), one line per failed size.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The one target had no size with a measurement.
    #[error("No memory size could be measured.\n{0}")]
    NothingMeasured(String),
    /// No target had a size with a measurement (lines prefixed with the target).
    #[error("No memory size of any function could be measured.\n{0}")]
    NothingMeasuredAnywhere(String),
}

fn failure_lines(stats: &[Stat], prefix: &str) -> String {
    stats
        .iter()
        .map(|s| match &s.error {
            Some(e) => format!(
                "{prefix}{}MB: {}",
                s.value,
                e.detail.clone().unwrap_or_else(|| format!(
                    "original error type: \"{}\", original error message: \"{}\"",
                    e.error_type, e.error_message
                ))
            ),
            None => format!("{prefix}{}MB: no duration was reported", s.value),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why no size of any target could be chosen, one line per failed size.
fn nothing_measured(targets: &[TargetStats]) -> AnalysisError {
    match targets {
        [only] => AnalysisError::NothingMeasured(failure_lines(&only.stats, "")),
        _ => AnalysisError::NothingMeasuredAnywhere(
            targets
                .iter()
                .map(|t| failure_lines(&t.stats, &format!("{} ", t.name())))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    }
}

/// What an analysis works from: the targets' stats, the input, the settings, the rule of the
/// choice and the decision values of the sizes it was made among.
struct Analyzed<'a> {
    targets: &'a [TargetStats],
    input: &'a TuningInput,
    settings: &'a Settings,
    rule: Rule,
    decider: Decider,
}

impl Analyzed<'_> {
    /// The confidence in the choice (SPEC §13): the other sizes that could have been chosen,
    /// tested against it.
    fn confidence(&self, among: &[&Pooled<'_>], chosen: &Stat) -> Option<Confidence> {
        let others: Vec<(Tied, Decision)> = among
            .iter()
            .filter(|p| !std::ptr::eq(p.stat, chosen))
            .filter_map(|p| Some((self.tied(p), self.decider.decision(p.stat)?)))
            .collect();
        self.decider
            .decision(chosen)
            .map(|c| Confidence::of(self.input.confidence_level, &c, &others))
    }

    /// How a size tied with the choice is named: its power, and its target when there are
    /// several.
    fn tied(&self, p: &Pooled<'_>) -> Tied {
        match self.targets {
            [_] => Tied::Power(p.stat.value),
            _ => Tied::Target {
                lambda_arn: self.targets[p.target].lambda_arn.clone(),
                power: p.stat.value,
            },
        }
    }

    /// A target's visualization URL.
    fn url(&self, target: &TargetStats) -> String {
        visualization::url(
            &self.settings.visualization_url,
            &self.settings.region,
            &target.points(),
        )
    }

    /// The comparison URL of two targets, when both have a kept size.
    fn comparison(&self) -> Option<String> {
        match self.targets {
            [a, b] if a.kept().next().is_some() && b.kept().next().is_some() => {
                Some(visualization::comparison_url(
                    &visualization::prefix(&self.settings.visualization_url, &self.settings.region),
                    (&a.points(), a.name()),
                    (&b.points(), b.name()),
                ))
            }
            _ => None,
        }
    }

    /// The run's own cost and charts: its state transitions and invocations.
    fn summary(
        &self,
        pooled: &[Pooled<'_>],
        passes: u32,
        winner: &TargetStats,
    ) -> StateMachineSummary {
        let configurations: usize = self.targets.iter().map(|t| t.stats.len()).sum();
        StateMachineSummary {
            execution_cost: pricing::execution_cost(
                self.settings,
                pricing::transitions(configurations, passes),
            ),
            lambda_cost: pooled
                .iter()
                .map(|p| p.stat.total_cost.unwrap_or(0.0))
                .fold(0.0, |a, b| a + b),
            visualization: self.url(winner),
            comparison: self.comparison(),
        }
    }

    /// Each target's own choice, current setting and change, when there are several.
    fn target_results(&self) -> Option<Vec<TargetResult>> {
        (self.targets.len() > 1)
            .then(|| self.targets.iter().map(|t| self.target_result(t)).collect())
    }

    /// One target's own choice (by the same rule), its current setting and the change.
    fn target_result(&self, t: &TargetStats) -> TargetResult {
        let (input, decider) = (self.input, &self.decider);
        let kept: Vec<&Stat> = t.kept().collect();
        let own = self.rule.pick(&kept).map(|(s, _)| s);
        let current = t.current().filter(|_| input.include_current);
        let failures = t.failures();
        TargetResult {
            lambda_arn: t.lambda_arn.clone(),
            architecture: t.architecture,
            power: own.map(|s| s.value),
            cost: own.map(|s| s.price()),
            duration: own.map(|s| s.duration()),
            visualization: own.map(|_| self.url(t)),
            current: current.map(current_of),
            change: own.zip(current).map(|(s, c)| change(s, c, decider)),
            stats: input
                .include_output_results
                .then(|| decider.shown(&t.stats)),
            failures: (!failures.is_empty()).then_some(failures),
        }
    }
}

/// Builds the execution output from every target's stats (`lambdaARN` first).
pub fn analyze(
    targets: &[TargetStats],
    input: &TuningInput,
    passes: u32,
    settings: &Settings,
) -> Result<Analysis, AnalysisError> {
    let rule = Rule::of(input);
    let pooled: Vec<Pooled<'_>> = targets
        .iter()
        .enumerate()
        .flat_map(|(target, t)| t.kept().map(move |stat| Pooled { target, stat }))
        .collect();
    let candidates: Vec<&Pooled<'_>> = pooled.iter().collect();
    let Some((best, met)) = rule.pick(&candidates) else {
        return Err(nothing_measured(targets));
    };
    let winner = &targets[best.target];
    let chosen = best.stat;
    // Confidence (SPEC §13): the other sizes that could have been chosen, tested against it.
    let (eligible, _) = rule.eligible(&candidates);
    let among: &[&Pooled<'_>] = if eligible.is_empty() {
        &candidates
    } else {
        &eligible
    };
    let analyzed = Analyzed {
        targets,
        input,
        settings,
        rule,
        decider: Decider::new(&rule, among, input.confidence_level),
    };
    let decider = &analyzed.decider;
    let failures = winner.failures();
    let current = targets
        .first()
        .filter(|_| input.include_current)
        .and_then(TargetStats::current);
    Ok(Analysis {
        power: chosen.value,
        cost: chosen.price(),
        duration: chosen.duration(),
        lambda_arn: (targets.len() > 1).then(|| winner.lambda_arn.clone()),
        state_machine: analyzed.summary(&pooled, passes, winner),
        stats: input
            .include_output_results
            .then(|| decider.shown(&winner.stats)),
        failures: (!failures.is_empty()).then_some(failures),
        current: current.map(current_of),
        change: current.map(|c| change(chosen, c, decider)),
        latency_target: rule.latency.zip(met).map(|(t, met)| LatencyTargetResult {
            percentile: t.percentile,
            max_duration: t.max_duration,
            met,
        }),
        monthly_cost: chosen.monthly_cost,
        targets: analyzed.target_results(),
        confidence: analyzed.confidence(among, chosen),
        optimization: input
            .require_significance
            .then(|| refusal(chosen, current, decider))
            .flatten(),
        traffic: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confidence::VerdictKind;
    use serde_json::{Value, json};

    const A: &str = "arn:aws:lambda:us-east-1:123456789012:function:fn-x86";
    const B: &str = "arn:aws:lambda:us-east-1:123456789012:function:fn-arm";

    fn stat(value: u32, price: f64, duration: f64) -> Stat {
        Stat {
            value,
            average_price: Some(price),
            average_duration: Some(duration),
            total_cost: Some(price * 10.0),
            invocations: 10,
            p50_duration: Some(duration),
            p90_duration: Some(duration * 1.5),
            p95_duration: Some(duration * 1.8),
            p99_duration: Some(duration * 2.0),
            ..Stat::default()
        }
    }

    fn failed(value: u32, error_type: &str) -> Stat {
        Stat::failed(
            value,
            1,
            1,
            StatError {
                error_type: error_type.into(),
                error_message: "oom".into(),
                detail: None,
            },
        )
    }

    fn input(extra: Value) -> TuningInput {
        let mut state = json!({"lambdaARN": A, "num": 10});
        for (k, v) in extra.as_object().expect("object") {
            state[k] = v.clone();
        }
        TuningInput::from_state(&state, &[128]).expect("valid input")
    }

    fn target(arn: &str, architecture: &str, current: u32, stats: Vec<Stat>) -> TargetStats {
        let architecture: Architecture = architecture.parse().expect("architecture");
        TargetStats {
            lambda_arn: arn.to_string(),
            architecture,
            current_memory: Some(current),
            stats,
        }
    }

    fn one(stats: Vec<Stat>) -> Vec<TargetStats> {
        vec![target(A, "x86_64", 1024, stats)]
    }

    fn sizes() -> Vec<Stat> {
        vec![
            failed(128, "Runtime.OutOfMemory"),
            stat(256, 5.04e-7, 120.0),
            stat(512, 6.72e-7, 80.0),
            stat(1024, 1.176e-6, 70.0),
            stat(2048, 0.0, 0.0),
        ]
    }

    #[test]
    fn analysis_output() {
        let settings = Settings::default();
        let out = analyze(&one(sizes()), &input(json!({})), 1, &settings).expect("analysis");
        assert_eq!(out.power, 256);
        assert_eq!(out.cost, 5.04e-7);
        assert_eq!(out.duration, 120.0);
        // 5 sizes + 6 = 11 transitions × 0.000025.
        assert_eq!(out.state_machine.execution_cost, 0.00028);
        assert_eq!(
            out.state_machine.lambda_cost,
            0.0 + 5.04e-7 * 10.0 + 6.72e-7 * 10.0 + 1.176e-6 * 10.0
        );
        let point = |power, duration, cost| Point {
            power,
            duration,
            cost,
        };
        assert_eq!(
            out.state_machine.visualization,
            visualization::url(
                "https://lambda-power-tuning.show/",
                "us-east-1",
                &[
                    point(256, 120.0, 5.04e-7),
                    point(512, 80.0, 6.72e-7),
                    point(1024, 70.0, 1.176e-6)
                ]
            )
        );
        let json = serde_json::to_value(&out).expect("json");
        assert_eq!(
            json["failures"],
            json!([{"value": 128, "errorType": "Runtime.OutOfMemory", "errorMessage": "oom"}])
        );
        // Only the original's keys (and failures) without the new inputs.
        let mut keys: Vec<&String> = json.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["cost", "duration", "failures", "power", "stateMachine"]
        );
        assert_eq!(
            json["stateMachine"].as_object().expect("object").len(),
            3,
            "no comparison with one target"
        );
        let with_stats = analyze(
            &one(sizes()),
            &input(json!({"strategy": "speed", "includeOutputResults": true})),
            2,
            &settings,
        )
        .expect("analysis");
        assert_eq!(with_stats.power, 1024);
        assert_eq!(with_stats.stats.as_ref().map(Vec::len), Some(5));
        assert_eq!(with_stats.state_machine.execution_cost, 0.00033);
    }

    #[test]
    fn nothing_usable_lists_each_failure() {
        let stats = vec![
            Stat::failed(128, 1, 1, StatError { error_type: "E".into(), error_message: "m".into(), detail: Some("Invocation error (running in series) - original error type: \"E\", original error message: \"m\"".into()) }),
            stat(256, 0.0, 0.0),
        ];
        let err = analyze(&one(stats), &input(json!({})), 1, &Settings::default())
            .expect_err("none usable");
        assert_eq!(
            err.to_string(),
            "No memory size could be measured.\n128MB: Invocation error (running in series) - original error type: \"E\", original error message: \"m\"\n256MB: no duration was reported"
        );
    }

    #[test]
    fn a_failed_size_shows_its_error_as_the_spec_writes_it() {
        let detail = "Invocation error (running in series) with payload null - original error type: \"E\", original error message: \"m\"";
        let stats = vec![
            Stat::failed(
                128,
                1,
                1,
                StatError::new("E".into(), "m".into(), Some(detail.into())),
            ),
            stat(256, 0.000001, 100.0),
        ];
        let out = analyze(
            &one(stats),
            &input(json!({"includeOutputResults": true})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        let shown = serde_json::to_value(&out.stats).expect("json");
        assert_eq!(
            shown[0],
            json!({"value": 128, "invocations": 1, "errors": 1, "error": {"errorType": "E", "errorMessage": "m"}})
        );
    }

    #[test]
    fn latency_target_picks_the_cheapest_eligible_size() {
        // p99 = 2 × duration: 240, 160, 140 ms at 256, 512, 1024.
        let out = analyze(
            &one(sizes()),
            &input(json!({"maxDuration": 200})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!(
            out.power, 512,
            "256 MB misses p99 ≤ 200; 512 is the cheapest left"
        );
        assert_eq!(
            out.latency_target,
            Some(LatencyTargetResult {
                percentile: 99,
                max_duration: 200.0,
                met: true
            })
        );
        // p50 = duration: 256 MB meets 120 ≤ 150.
        let p50 = analyze(
            &one(sizes()),
            &input(json!({"maxDuration": 150, "durationPercentile": 50})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!(p50.power, 256);
        assert_eq!(p50.latency_target.map(|t| t.percentile), Some(50));
    }

    #[test]
    fn impossible_latency_target_picks_the_lowest_percentile_and_is_not_met() {
        let mut stats = sizes();
        // Two sizes tie on the lowest p99 (140 ms): power-value order decides.
        stats.push(stat(1536, 9e-7, 70.0));
        let out = analyze(
            &one(stats),
            &input(json!({"maxDuration": 1, "strategy": "cost"})),
            1,
            &Settings::default(),
        )
        .expect("a missed target never fails the run");
        assert_eq!(
            out.power, 1024,
            "lowest p99, first in power-value order; not the strategy's"
        );
        assert_eq!(out.latency_target.map(|t| t.met), Some(false));
    }

    #[test]
    fn balanced_normalises_over_the_eligible_sizes_only() {
        // a: cheap and slow (p99 1000 ms), b and c eligible under 300 ms.
        let a = stat(128, 1.0, 500.0);
        let b = stat(512, 4.0, 100.0);
        let c = stat(1024, 6.0, 60.0);
        // Over b and c (max cost 6, max duration 100), w = 0.5:
        // b = 0.5·4/6 + 0.5·100/100 = 0.8333; c = 0.5·6/6 + 0.5·60/100 = 0.8 → c.
        // Normalised with a (max duration 500) instead: b = 0.4333, c = 0.56 → b.
        let out = analyze(
            &one(vec![a, b, c]),
            &input(json!({"strategy": "balanced", "maxDuration": 300})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!(out.power, 1024);
    }

    #[test]
    fn cold_start_ratio_prices_the_choice_with_expected_prices() {
        let mut cheap_but_cold = stat(256, 1.0e-6, 100.0);
        cheap_but_cold.init_price = Some(5.0e-6);
        cheap_but_cold.expected_price = Some(1.0e-6 + 0.2 * 5.0e-6);
        let mut warm = stat(512, 1.5e-6, 60.0);
        warm.init_price = Some(1.0e-6);
        warm.expected_price = Some(1.5e-6 + 0.2 * 1.0e-6);
        let out = analyze(
            &one(vec![cheap_but_cold, warm]),
            &input(json!({"coldStartRatio": 0.2})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        // Expected prices: 2.0e-6 against 1.7e-6.
        assert_eq!(out.power, 512);
        assert_eq!(
            out.cost,
            1.5e-6 + 0.2 * 1.0e-6,
            "cost is the expected price"
        );
        // The visualization keeps the average prices (the web UI's meaning).
        let hash = out
            .state_machine
            .visualization
            .split_once('#')
            .expect("#")
            .1;
        let points = visualization::decode_points(hash).expect("points");
        assert_eq!(points[0].cost, f64::from(1.0e-6_f32));
    }

    #[test]
    fn current_setting_and_change() {
        let mut stats = sizes();
        stats[3].monthly_cost = Some(1176.0);
        stats[1].monthly_cost = Some(504.0);
        let out = analyze(
            &one(stats),
            &input(json!({"includeCurrent": true, "monthlyInvocations": 1000000})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!(out.power, 256);
        assert_eq!(
            out.current,
            Some(Current {
                power: 1024,
                cost: 1.176e-6,
                duration: 70.0,
                p99_duration: 140.0,
                monthly_cost: Some(1176.0)
            })
        );
        // Cost: 100 × (5.04e-7 − 1.176e-6) / 1.176e-6 = −57.142857… → −57.14.
        // Duration: 100 × (120 − 70) / 70 = 71.428… → 71.43; p99 the same ratio.
        assert_eq!(
            out.change,
            Some(Change {
                cost_percent: -57.14,
                duration_percent: 71.43,
                p99_duration_percent: 71.43,
                monthly_cost_delta: Some(504.0 - 1176.0),
                // Without samples there is nothing to test: not significant.
                significant: false,
            })
        );
        assert_eq!(out.monthly_cost, Some(504.0));
        // Without includeCurrent, or when the current size failed: no current, no change.
        let plain =
            analyze(&one(sizes()), &input(json!({})), 1, &Settings::default()).expect("analysis");
        assert_eq!((plain.current, plain.change), (None, None));
        let mut stats = sizes();
        stats[3] = failed(1024, "Sandbox.Timedout");
        let gone = analyze(
            &one(stats),
            &input(json!({"includeCurrent": true})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!(gone.current, None);
    }

    #[test]
    fn percent_changes_round_to_two_decimals() {
        assert_eq!(percent_change(1.0, 3.0), -66.67);
        assert_eq!(percent_change(2.0, 3.0), -33.33);
        assert_eq!(percent_change(4.0, 3.0), 33.33);
        assert_eq!(percent_change(3.0, 3.0), 0.0);
        assert_eq!(percent_change(1.001, 1.0), 0.1);
        assert_eq!(percent_change(5.0, 0.0), 0.0);
    }

    fn two_targets(a: Vec<Stat>, b: Vec<Stat>) -> Vec<TargetStats> {
        vec![target(A, "x86_64", 1024, a), target(B, "arm64", 1024, b)]
    }

    #[test]
    fn the_best_across_targets_with_each_targets_own() {
        let x86 = vec![stat(512, 6.72e-7, 80.0), stat(1024, 1.176e-6, 70.0)];
        let arm = vec![stat(512, 5.44e-7, 85.0), stat(1024, 9.52e-7, 72.0)];
        let out = analyze(
            &two_targets(x86, arm),
            &input(json!({"compareWith": [B], "includeCurrent": true})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!((out.power, out.lambda_arn.as_deref()), (512, Some(B)));
        assert_eq!(out.cost, 5.44e-7);
        // 4 configurations + 6.
        assert_eq!(out.state_machine.execution_cost, 0.00025);
        assert_eq!(
            out.state_machine.lambda_cost,
            0.0 + 6.72e-7 * 10.0 + 1.176e-6 * 10.0 + 5.44e-7 * 10.0 + 9.52e-7 * 10.0
        );
        let targets = out.targets.as_ref().expect("targets");
        assert_eq!(targets.len(), 2);
        assert_eq!(
            (targets[0].lambda_arn.as_str(), targets[0].power),
            (A, Some(512))
        );
        assert_eq!(
            (targets[1].architecture, targets[1].power),
            (Architecture::Arm64, Some(512))
        );
        assert!(targets.iter().all(|t| t.stats.is_none()));
        // Current and change compare the overall choice with lambdaARN's current setting.
        assert_eq!(out.current.as_ref().map(|c| c.power), Some(1024));
        assert_eq!(
            out.change.as_ref().map(|c| c.cost_percent),
            Some(percent_change(5.44e-7, 1.176e-6))
        );
        assert_eq!(
            targets[1].change.as_ref().map(|c| c.cost_percent),
            Some(percent_change(5.44e-7, 9.52e-7))
        );
        // The comparison link: 8 parts, names decoded back.
        let link = out.state_machine.comparison.as_deref().expect("comparison");
        let ((one_points, a), (two_points, b)) =
            visualization::decode_comparison(link.split_once('#').expect("#").1).expect("8 parts");
        assert_eq!((a.as_str(), b.as_str()), ("fn-x86", "fn-arm"));
        assert_eq!((one_points.len(), two_points.len()), (2, 2));
        assert_eq!(
            out.state_machine.visualization,
            targets[1].visualization.clone().expect("url"),
            "the winner's visualization"
        );
        let with_stats = analyze(
            &two_targets(
                vec![stat(512, 6.72e-7, 80.0)],
                vec![stat(512, 5.44e-7, 85.0)],
            ),
            &input(json!({"compareWith": [B], "includeOutputResults": true})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        let targets = with_stats.targets.expect("targets");
        assert!(
            targets
                .iter()
                .all(|t| t.stats.as_ref().map(Vec::len) == Some(1))
        );
        assert_eq!(
            with_stats.stats.map(|s| s[0].average_price),
            Some(Some(5.44e-7))
        );
    }

    #[test]
    fn ties_across_targets_keep_input_order() {
        let same = || vec![stat(512, 6.72e-7, 80.0)];
        let out = analyze(
            &two_targets(same(), same()),
            &input(json!({"compareWith": [B]})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!(out.lambda_arn.as_deref(), Some(A));
    }

    #[test]
    fn a_failed_target_keeps_its_entry_and_only_all_failed_fails() {
        let out = analyze(
            &two_targets(
                vec![
                    failed(512, "Runtime.ExitError"),
                    failed(1024, "Runtime.ExitError"),
                ],
                vec![stat(512, 5.44e-7, 85.0)],
            ),
            &input(json!({"compareWith": [B]})),
            1,
            &Settings::default(),
        )
        .expect("one target measured");
        let targets = out.targets.expect("targets");
        assert_eq!(targets[0].power, None);
        assert_eq!(targets[0].visualization, None);
        assert_eq!(targets[0].failures.as_ref().map(Vec::len), Some(2));
        assert_eq!(out.lambda_arn.as_deref(), Some(B));
        assert_eq!(
            out.state_machine.comparison, None,
            "only one target has a result"
        );
        let json = serde_json::to_value(&targets[0]).expect("json");
        assert!(json.get("power").is_none() && json.get("cost").is_none());
        let err = analyze(
            &two_targets(vec![failed(512, "E")], vec![failed(512, "F")]),
            &input(json!({"compareWith": [B]})),
            1,
            &Settings::default(),
        )
        .expect_err("every target failed");
        assert_eq!(
            err.to_string(),
            "No memory size of any function could be measured.\nfn-x86 512MB: original error type: \"E\", original error message: \"oom\"\nfn-arm 512MB: original error type: \"F\", original error message: \"oom\""
        );
    }

    #[test]
    fn latency_target_across_targets() {
        // x86 at 1024 MB meets p99 ≤ 150 (140); arm64 only at 2048 (p99 100), dearer.
        let x86 = vec![stat(512, 6.72e-7, 80.0), stat(1024, 1.176e-6, 70.0)];
        let arm = vec![stat(512, 5.44e-7, 85.0), stat(2048, 2.0e-6, 50.0)];
        let out = analyze(
            &two_targets(x86, arm),
            &input(json!({"compareWith": [B], "maxDuration": 150})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!((out.power, out.lambda_arn.as_deref()), (1024, Some(A)));
        assert_eq!(out.latency_target.map(|t| t.met), Some(true));
        let targets = out.targets.expect("targets");
        assert_eq!(
            targets[1].power,
            Some(2048),
            "each target's own best under the target"
        );
    }

    /// A size measured `n` times: price and duration means with their spreads.
    fn measured(value: u32, price: f64, duration: f64, spread: f64, n: u32) -> Stat {
        Stat {
            sample: Some(crate::confidence::Sample {
                n,
                price_mean: price,
                price_std_dev: price * spread,
                duration_mean: duration,
                duration_std_dev: duration * spread,
                covariance: 0.0,
            }),
            ..stat(value, price, duration)
        }
    }

    #[test]
    fn a_clear_choice_a_tie_and_a_single_size() {
        let settings = Settings::default();
        // 256 MB far cheaper than the others: clear.
        let clear = analyze(
            &one(vec![
                measured(128, 4.0e-7, 200.0, 0.02, 20),
                measured(256, 2.0e-7, 100.0, 0.02, 20),
                measured(512, 6.0e-7, 80.0, 0.02, 20),
            ]),
            &input(json!({"includeOutputResults": true})),
            1,
            &settings,
        )
        .expect("analysis");
        let c = clear.confidence.expect("confidence");
        assert_eq!((clear.power, c.verdict), (256, VerdictKind::Clear));
        assert!(c.tied_with.is_empty() && c.p_value.expect("p") < 0.05);
        assert_eq!(c.level, 0.95);
        // Each measured size shows its decision value (the price) beside its sample.
        let stats = clear.stats.expect("stats");
        assert!(stats.iter().all(|s| s.sample.is_some()));
        let d = stats[1].decision.expect("decision");
        assert_eq!((d.n, d.mean, d.std_dev), (20, 2.0e-7, 2.0e-7 * 0.02));
        // 512 MB within 1 % of 256 MB with 10 % spread: a tie naming it, with a separation
        // estimate.
        let tie = analyze(
            &one(vec![
                measured(256, 2.0e-7, 100.0, 0.1, 10),
                measured(512, 2.02e-7, 50.0, 0.1, 10),
                measured(1024, 9.0e-7, 40.0, 0.1, 10),
            ]),
            &input(json!({"confidenceLevel": 0.9})),
            1,
            &settings,
        )
        .expect("analysis");
        let t = tie.confidence.expect("confidence");
        assert_eq!((tie.power, t.verdict), (256, VerdictKind::Tie));
        assert_eq!(t.tied_with, [Tied::Power(512)]);
        assert_eq!(t.level, 0.9);
        let chosen = Decision::new(10, 2.0e-7, 2.0e-7 * 0.1, 0.9);
        let closest = Decision::new(10, 2.02e-7, 2.02e-7 * 0.1, 0.9);
        assert_eq!(t.p_value, Some(confidence::p_value(&chosen, &closest)));
        assert_eq!(
            t.invocations_for_clear,
            confidence::invocations_for_clear(&chosen, &closest, 0.9)
        );
        // One size: single, no p-value.
        let single = analyze(
            &one(vec![measured(256, 2.0e-7, 100.0, 0.1, 10)]),
            &input(json!({})),
            1,
            &settings,
        )
        .expect("analysis");
        let s = single.confidence.expect("confidence");
        assert_eq!((s.verdict, s.p_value), (VerdictKind::Single, None));
    }

    #[test]
    fn ties_across_targets_name_the_function_in_output_order() {
        // Both functions within noise at 512 MB, the x86 one chosen (cheaper by a hair).
        let x86 = vec![
            measured(512, 5.0e-7, 80.0, 0.1, 10),
            measured(1024, 5.05e-7, 40.0, 0.1, 10),
        ];
        let arm = vec![
            measured(512, 5.02e-7, 85.0, 0.1, 10),
            measured(1024, 9.0e-7, 45.0, 0.1, 10),
        ];
        let out = analyze(
            &two_targets(x86, arm),
            &input(json!({"compareWith": [B]})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!((out.power, out.lambda_arn.as_deref()), (512, Some(A)));
        let c = out.confidence.expect("confidence");
        assert_eq!(
            c.tied_with,
            [
                Tied::Target {
                    lambda_arn: A.into(),
                    power: 1024
                },
                Tied::Target {
                    lambda_arn: B.into(),
                    power: 512
                }
            ]
        );
        let json = serde_json::to_value(&c).expect("json");
        assert_eq!(json["tiedWith"][1], json!({"lambdaARN": B, "power": 512}));
    }

    #[test]
    fn the_saving_against_the_current_setting_is_tested() {
        let settings = Settings::default();
        // Current (1024 MB) far dearer than the choice: significant.
        let stats = vec![
            measured(256, 2.0e-7, 100.0, 0.05, 20),
            measured(1024, 8.0e-7, 25.0, 0.05, 20),
        ];
        let out = analyze(
            &one(stats),
            &input(json!({"includeCurrent": true})),
            1,
            &settings,
        )
        .expect("analysis");
        assert_eq!(out.change.map(|c| c.significant), Some(true));
        // Within noise: not significant.
        let stats = vec![
            measured(256, 2.0e-7, 100.0, 0.2, 5),
            measured(1024, 2.01e-7, 25.0, 0.2, 5),
        ];
        let out = analyze(
            &one(stats),
            &input(json!({"includeCurrent": true})),
            1,
            &settings,
        )
        .expect("analysis");
        assert_eq!(out.power, 256);
        assert_eq!(out.change.map(|c| c.significant), Some(false));
        // The choice is the current size: false.
        let stats = vec![
            measured(256, 4.0e-7, 200.0, 0.05, 20),
            measured(1024, 2.0e-7, 25.0, 0.05, 20),
        ];
        let out = analyze(
            &one(stats),
            &input(json!({"includeCurrent": true})),
            1,
            &settings,
        )
        .expect("analysis");
        assert_eq!(out.power, 1024);
        let change = out.change.expect("change");
        assert!(!change.significant);
        assert_eq!(change.cost_percent, 0.0);
    }

    #[test]
    fn only_sizes_that_meet_the_latency_target_are_candidates() {
        // p99 = 2 × duration: 128 MB (p99 400) misses 300; 256 and 512 meet it.
        let out = analyze(
            &one(vec![
                measured(128, 1.0e-7, 200.0, 0.01, 10),
                measured(256, 2.0e-7, 100.0, 0.01, 10),
                measured(512, 4.0e-7, 60.0, 0.01, 10),
            ]),
            &input(json!({"maxDuration": 300})),
            1,
            &Settings::default(),
        )
        .expect("analysis");
        assert_eq!(out.power, 256);
        let c = out.confidence.expect("confidence");
        // 128 MB, cheaper but ineligible, is no candidate: the only candidate is 512 MB.
        assert_eq!(c.verdict, VerdictKind::Clear);
        let p512 = confidence::p_value(
            &Decision::new(10, 2.0e-7, 2.0e-9, 0.95),
            &Decision::new(10, 4.0e-7, 4.0e-9, 0.95),
        );
        assert_eq!(c.p_value, Some(p512));
    }
}
